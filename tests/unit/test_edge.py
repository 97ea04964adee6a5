"""The HTTPS edge in-process: the real FastAPI application, access plan, validator and
inbox over a fake publisher (the real broker is in tests/integration/test_edge.py)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import httpx
import pytest

from schemas import Acknowledgement
from streams.edge import Gateway, create_gateway
from tests.edge_support import build, notification
from tests.factories import PERSONAL_VALUES, example, incident

pytestmark = pytest.mark.asyncio


def client(gw) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_gateway(gw)), base_url="http://gw"
    )


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


async def test_an_incident_is_published_on_the_forces_topic_once_and_a_retry_gets_the_first_answer(
    tmp_path: Path,
) -> None:
    gw, keys, publisher = build(tmp_path)
    raw = json.dumps(incident()).encode()
    async with client(gw) as http:
        first = await http.post("/v1/incidents", content=raw, headers=auth(keys["force"]))
        again = await http.post("/v1/incidents", content=raw, headers=auth(keys["force"]))
        changed = json.dumps(incident(incident_reference="CAD-2026-999999")).encode()
        conflict = await http.post("/v1/incidents", content=changed, headers=auth(keys["force"]))
    assert first.status_code == 202 and first.json()["event_id"] == "mps-evt-0001"
    assert again.status_code == 202 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert conflict.status_code == 409
    assert publisher.sent == [("t.police.MPS.incidents.v1", "MPS:CAD-2026-000123", raw)]


async def test_an_invalid_incident_is_refused_with_every_reason_and_no_value(
    tmp_path: Path,
) -> None:
    gw, keys, publisher = build(tmp_path)
    bad = incident(incident_type="burglary", risk_grade=None)
    bad["children"][0]["given_name"] = "Zebedee\u202e"
    async with client(gw) as http:
        answer = await http.post(
            "/v1/incidents", content=json.dumps(bad), headers=auth(keys["force"])
        )
        not_json = await http.post(
            "/v1/incidents", content=b'{"a": NaN}', headers=auth(keys["force"])
        )
        huge = await http.post("/v1/incidents", content=b" " * 300_000, headers=auth(keys["force"]))
    assert answer.status_code == 422
    locations = {r["location"] for r in answer.json()["reasons"]}
    assert {"incident_type", "risk_grade", "children[0].given_name"} <= locations
    assert not any(value in answer.text for value in PERSONAL_VALUES)
    assert (
        not_json.status_code == 422
        and not_json.json()["reasons"][0]["error_type"] == "json_invalid"
    )
    assert huge.status_code == 413
    assert publisher.sent == []


async def test_the_force_is_the_keys_not_the_bodys(tmp_path: Path) -> None:
    gw, keys, publisher = build(tmp_path)
    async with client(gw) as http:
        answer = await http.post(
            "/v1/incidents", content=json.dumps(incident()), headers=auth(keys["other_force"])
        )
    assert answer.status_code == 403
    assert answer.json()["reasons"][0]["error_type"] == "not_this_topics_force"
    assert publisher.sent == []


async def test_without_a_key_or_with_another_partys_nothing_is_published(tmp_path: Path) -> None:
    gw, keys, publisher = build(tmp_path)
    body = json.dumps(incident())
    async with client(gw) as http:
        none = await http.post("/v1/incidents", content=body)
        forged = await http.post("/v1/incidents", content=body, headers=auth("fdk_" + "x" * 43))
        school = await http.post("/v1/incidents", content=body, headers=auth(keys["school"]))
    assert none.status_code == 401 and none.headers["www-authenticate"] == "Bearer"
    assert forged.status_code == 401
    assert school.status_code == 403
    assert publisher.sent == []


async def test_a_broker_that_refuses_is_a_503_and_the_retry_publishes(tmp_path: Path) -> None:
    gw, keys, publisher = build(tmp_path)
    body = json.dumps(incident())
    async with client(gw) as http:
        publisher.failing = True
        down = await http.post("/v1/incidents", content=body, headers=auth(keys["force"]))
        publisher.failing = False
        back = await http.post("/v1/incidents", content=body, headers=auth(keys["force"]))
    assert down.status_code == 503 and down.headers["retry-after"]
    assert back.status_code == 202 and "idempotent-replayed" not in back.headers
    assert len(publisher.sent) == 1


async def settled(gw: Gateway, timeout_s: float = 5) -> None:
    async with asyncio.timeout(timeout_s):
        while gw.replies.unsettled:
            await asyncio.sleep(0.01)


async def test_a_retry_after_a_503_joins_the_attempt_still_under_way_and_publishes_nothing_more(
    tmp_path: Path,
) -> None:
    """A broker that takes the record but does not acknowledge in time (paused): 503, yet
    the record is in the producer's buffer and reaches the broker later. A retry while
    it waits is 503 again without a second send; one after it is the first's answer."""
    gw, keys, publisher = build(tmp_path)
    gw.publish_timeout_s = 0.2
    body = json.dumps(incident())
    publisher.hold()
    async with client(gw) as http:
        down = await http.post("/v1/incidents", content=body, headers=auth(keys["force"]))
        still = await http.post("/v1/incidents", content=body, headers=auth(keys["force"]))
        publisher.release()
        await settled(gw)
        back = await http.post("/v1/incidents", content=body, headers=auth(keys["force"]))
        incident_sends = (publisher.attempts, len(publisher.sent))
        ack_body = {"status": "received"}
        held = notification(1, "urn:100000", "2026-11-27T09:00:00+00:00")
        gw.inbox.notification(held)
        path = f"/v1/notifications/{held.notification_id}/acknowledgement"
        publisher.hold()
        ack_down = await http.post(path, json=ack_body, headers=auth(keys["school"]))
        publisher.release()
        ack_back = await http.post(path, json=ack_body, headers=auth(keys["school"]))
    assert (down.status_code, still.status_code) == (503, 503)
    assert back.status_code == 202 and back.headers["idempotent-replayed"] == "true"
    assert incident_sends == (1, 1)
    assert ack_down.status_code == 503
    assert ack_back.status_code == 202 and ack_back.headers["idempotent-replayed"] == "true"
    assert publisher.attempts == 2 and len(publisher.sent) == 2


async def test_the_council_puts_and_deletes_only_its_own_records(tmp_path: Path) -> None:
    gw, keys, publisher = build(tmp_path)
    record = example("child-record")
    other = example("child-record", council_code="E09000033", event_id="x-1")
    async with client(gw) as http:
        put = await http.put(
            "/v1/child-records/C-100", content=json.dumps(record), headers=auth(keys["council"])
        )
        wrong_path = await http.put(
            "/v1/child-records/C-101", content=json.dumps(record), headers=auth(keys["council"])
        )
        foreign = await http.put(
            "/v1/child-records/C-100", content=json.dumps(other), headers=auth(keys["council"])
        )
        gone = await http.delete("/v1/child-records/C-100", headers=auth(keys["council"]))
        by_force = await http.delete("/v1/child-records/C-100", headers=auth(keys["force"]))
    assert (put.status_code, wrong_path.status_code, foreign.status_code) == (202, 422, 403)
    assert gone.status_code == 202 and by_force.status_code == 403
    assert [(t, k, v is None) for t, k, v in publisher.sent] == [
        ("t.council.child-records.v1", "E09000030:C-100", False),
        ("t.council.child-records.v1", "E09000030:C-100", True),
    ]


async def test_an_organisation_sees_only_its_own_notifications_due_soonest_first_page_by_page(
    tmp_path: Path,
) -> None:
    gw, keys, _ = build(tmp_path)
    for number, hour in enumerate((15, 9, 12, 9, 18)):
        gw.inbox.notification(
            notification(number, "urn:100000", f"2026-11-27T{hour:02d}:00:00+00:00")
        )
    gw.inbox.notification(notification(99, "urn:200000", "2026-11-27T08:00:00+00:00"))
    seen: list[str] = []
    async with client(gw) as http:
        cursor = None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (
                await http.get("/v1/notifications", params=params, headers=auth(keys["school"]))
            ).json()
            seen += [i["notification_id"][-2:] for i in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        theirs = await http.get(
            "/v1/notifications/ntf-00000000-0000-0000-0000-000000000099",
            headers=auth(keys["school"]),
        )
        bad_cursor = await http.get(
            "/v1/notifications", params={"cursor": "bm9wZQ"}, headers=auth(keys["school"])
        )
        health = await http.get("/v1/notifications", headers=auth(keys["health"]))
    assert seen == ["01", "03", "02", "00", "04"]
    assert theirs.status_code == 404
    assert bad_cursor.status_code == 422
    assert health.json()["items"] == []


async def test_only_the_recipient_acknowledges_and_it_becomes_the_acknowledgement_event(
    tmp_path: Path,
) -> None:
    gw, keys, publisher = build(tmp_path)
    held = notification(1, "urn:100000", "2026-11-27T09:00:00+00:00")
    gw.inbox.notification(held)
    path = f"/v1/notifications/{held.notification_id}/acknowledgement"
    async with client(gw) as http:
        other = await http.post(
            path, json={"status": "received"}, headers=auth(keys["other_school"])
        )
        unreasoned = await http.post(
            path, json={"status": "rejected"}, headers=auth(keys["school"])
        )
        ok = await http.post(path, json={"status": "received"}, headers=auth(keys["school"]))
        repeat = await http.post(path, json={"status": "received"}, headers=auth(keys["school"]))
        still_open = await http.get("/v1/notifications", headers=auth(keys["school"]))
        everything = await http.get(
            "/v1/notifications", params={"status": "all"}, headers=auth(keys["school"])
        )
    assert (other.status_code, unreasoned.status_code, ok.status_code) == (404, 422, 202)
    assert repeat.json() == ok.json()
    assert len(publisher.sent) == 1
    topic, key, value = publisher.sent[0]
    ack = Acknowledgement.model_validate_json(value or b"")
    assert (topic, key) == ("t.notify.school.acks.v1", held.notification_id)
    assert (ack.agency.value, ack.organisation, ack.status.value) == (
        "school",
        "urn:100000",
        "received",
    )
    assert still_open.json()["items"] == []
    assert everything.json()["items"][0]["status"] == "acknowledged"


async def test_a_webhook_must_be_https_and_its_secret_is_shown_once(tmp_path: Path) -> None:
    gw, keys, publisher = build(tmp_path)
    gw.allow_http_webhooks = False
    async with client(gw) as http:
        plain = await http.put(
            "/v1/webhook", json={"url": "http://school.example/hook"}, headers=auth(keys["school"])
        )
        made = await http.put(
            "/v1/webhook", json={"url": "https://school.example/hook"}, headers=auth(keys["school"])
        )
        again = await http.put(
            "/v1/webhook", json={"url": "https://school.example/hook"}, headers=auth(keys["school"])
        )
        shown = await http.get("/v1/webhook", headers=auth(keys["school"]))
        by_force = await http.put(
            "/v1/webhook", json={"url": "https://x.example/"}, headers=auth(keys["force"])
        )
    assert plain.status_code == 422
    assert made.json()["secret"].startswith("whsec_") and made.json()["secret_version"] == 1
    assert again.json()["secret_version"] == 2 and again.json()["secret"] != made.json()["secret"]
    assert shown.json()["secret"] is None and shown.json()["url"] == "https://school.example/hook"
    assert by_force.status_code == 403
    assert [t for t, _, _ in publisher.sent] == ["t.frontdoor.webhooks.v1"] * 2


async def test_a_party_over_its_rate_is_told_when_to_come_back(tmp_path: Path) -> None:
    gw, keys, _ = build(tmp_path, rate=1.0, burst=3)
    async with client(gw) as http:
        answers = [
            await http.get("/v1/notifications", headers=auth(keys["school"])) for _ in range(5)
        ]
        other = await http.get("/v1/notifications", headers=auth(keys["other_school"]))
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert other.status_code == 200


async def test_the_access_log_and_metrics_carry_no_personal_data(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gw, keys, _ = build(tmp_path)
    caplog.set_level(logging.DEBUG)
    bad = incident()
    bad["children"][0]["date_of_birth"] = "not a date Zebedee"
    async with client(gw) as http:
        await http.post(
            "/v1/incidents", content=json.dumps(incident()), headers=auth(keys["force"])
        )
        await http.post("/v1/incidents", content=json.dumps(bad), headers=auth(keys["force"]))
        await http.put(
            "/v1/child-records/C-100",
            content=json.dumps(example("child-record")),
            headers=auth(keys["council"]),
        )
        await http.get("/v1/notifications?cursor=Zebedee", headers=auth(keys["school"]))
        metrics = (await http.get("/metrics")).text
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert "POST /v1/incidents 202" in logged and "/v1/child-records/{child_id}" in logged
    for text in (logged, metrics):
        assert not any(value in text for value in PERSONAL_VALUES)
        assert "C-100" not in text and keys["force"] not in text
    assert 'frontdoor_edge_published_total{kind="incident"} 1.0' in metrics


async def test_hostile_requests_get_a_reason_not_a_500(tmp_path: Path) -> None:
    gw, keys, _ = build(tmp_path)
    key = auth(keys["school"])
    async with client(gw) as http:
        answers = [
            await http.post(
                "/v1/notifications/ntf-x/acknowledgement", json={"status": "received"}, headers=key
            ),
            await http.post(
                "/v1/notifications/ntf-00000000-0000-0000-0000-000000000001/acknowledgement",
                content=b"\xff\xfe",
                headers=key,
            ),
            await http.get("/v1/notifications", params={"limit": "lots"}, headers=key),
            await http.get("/v1/notifications", params={"status": "Zebedee"}, headers=key),
            await http.put("/v1/webhook", content=b'{"url": "https://[::1"}', headers=key),
            await http.put(
                "/v1/webhook", content=b"[]", headers={**key, "content-type": "text/plain"}
            ),
            await http.request("PATCH", "/v1/incidents", headers=key),
            await http.get("/nowhere"),
        ]
    assert [a.status_code for a in answers] == [422, 422, 422, 422, 422, 415, 405, 404]
    for answer in answers:
        assert answer.headers["content-type"] == "application/problem+json"
        assert "Zebedee" not in answer.text and "lots" not in answer.text
