"""The HTTPS gateway on the real secured broker, as a real `frontdoor gateway` process:
end to end with a real worker (publish over HTTPS, receive, acknowledge, webhook), the
authorisation matrix (each party x each endpoint), schemathesis's hostile input, and a
webhook receiver that fails, times out, recovers or never answers."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from schemas import Acknowledgement, ComplianceAlert, Notification
from schemas.enums import Agency
from streams import topics
from streams.edge import derive_secret, verify
from streams.routing import load_policy
from streams.settings import Settings
from streams.tools.platform import localkafka
from streams.tools.platform.gateway_process import GatewayProcess, start_gateway
from streams.tools.platform.localkafka import LocalKafkaSettings
from streams.tools.platform.worker_process import WorkerProcess, wait_for
from streams.topics.io import produce, read_all
from tests.edge_support import PARTIES, Receiver, notification
from tests.factories import PERSONAL_VALUES, example, incident
from tests.integration.conftest import namespace

pytestmark = pytest.mark.integration
FORCES = set(load_policy(None).signals.police_sources)
MATRIX = Path(".local/security/edge-matrix.txt")
FUZZ = Path(".local/security/edge-schemathesis.txt")
WEBHOOKS = Path(".local/security/edge-webhooks.txt")


def _observed(line: str) -> None:
    WEBHOOKS.parent.mkdir(parents=True, exist_ok=True)
    with WEBHOOKS.open("a") as out:
        out.write(line + "\n")


EDGE = {
    "webhook_allow_http": "true",
    "webhook_first_retry_s": "0.2",
    "webhook_max_retry_s": "0.5",
    "webhook_give_up_s": "4",
    "webhook_timeout_s": "0.4",
    "rate_per_second": "100000",
    "rate_burst": "100000",
}


@contextmanager
def running_gateway(
    local_kafka: LocalKafkaSettings, settings: Settings, home: Path, **changes: str
) -> Iterator[tuple[GatewayProcess, dict[str, str]]]:
    """A `frontdoor gateway` on ``settings``' namespace, a key for each party; its log
    checked for personal data once it has stopped."""
    running, keys = start_gateway(
        local_kafka, settings, home, PARTIES, FORCES, **{**EDGE, **changes}
    )
    try:
        running.wait_ready(60)
        yield running, keys
    finally:
        running.stop()
        log = running.log_path.read_text(errors="replace")
        assert not any(value in log for value in PERSONAL_VALUES)


@pytest.fixture
def gateway(
    local_kafka: LocalKafkaSettings, settings: Settings, tmp_path: Path
) -> Iterator[tuple[GatewayProcess, dict[str, str]]]:
    with running_gateway(local_kafka, settings, tmp_path / "edge") as started:
        yield started


@pytest.fixture(scope="module")
def shared_gateway(
    local_kafka: LocalKafkaSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[GatewayProcess, dict[str, str]]]:
    """One gateway for the tests that only call it (the matrix, schemathesis): neither
    needs a namespace the other has not touched."""
    home = tmp_path_factory.mktemp("shared-edge")
    with (
        namespace(local_kafka, home / "state", 2) as settings,
        running_gateway(local_kafka, settings, home / "edge") as started,
    ):
        yield started


def _records(settings: Settings, spec: topics.TopicSpec) -> list[tuple[bytes | None, bytes | None]]:
    return [(r.key, r.value) for r in read_all(settings, [spec], 60)]


def test_a_force_and_a_council_publish_over_https_and_a_school_receives_acknowledges_and_is_pushed(
    gateway: tuple[GatewayProcess, dict[str, str]], settings: Settings, start: object
) -> None:
    gw, keys = gateway
    with Receiver([500, "hang"]) as receiver:  # fails, times out, then recovers
        status, hook = gw.request("PUT", "/v1/webhook", keys["school"], {"url": receiver.url})
        assert status == 200
        record = example("child-record")
        assert gw.request("PUT", "/v1/child-records/C-100", keys["council"], record)[0] == 202
        worker: WorkerProcess = start()  # type: ignore[operator]
        assert worker is not None
        body = incident()
        first = gw.request("POST", "/v1/incidents", keys["force"], body)
        retry = gw.request("POST", "/v1/incidents", keys["force"], body)
        assert first == retry and first[0] == 202
        on_topic = _records(settings, topics.force_incidents("MPS"))
        assert len(on_topic) == 1 and json.loads(on_topic[0][1] or b"{}") == body

        def listed() -> list[dict[str, object]] | None:
            return gw.request("GET", "/v1/notifications", keys["school"])[1]["items"] or None

        (item,) = wait_for(listed, 90, "the school's notification over HTTPS")
        sent = Notification.model_validate(item["notification"])
        assert sent.recipient.organisation == "urn:100000"
        assert gw.request("GET", "/v1/notifications", keys["other_school"])[1]["items"] == []
        assert gw.request("GET", "/v1/notifications", keys["health"])[1]["items"] == []

        path = f"/v1/notifications/{sent.notification_id}/acknowledgement"
        assert gw.request("POST", path, keys["other_school"], {"status": "received"})[0] == 404
        assert gw.request("POST", path, keys["school"], {"status": "actioned"})[0] == 202

        def acknowledged() -> list[Acknowledgement] | None:
            found = [
                Acknowledgement.model_validate_json(v or b"")
                for _, v in _records(settings, topics.ACKS)
            ]
            return found or None

        (ack,) = wait_for(acknowledged, 60, "the worker to take the acknowledgement in")
        assert (ack.notification_id, ack.organisation) == (sent.notification_id, "urn:100000")

        def pushed() -> list[tuple[dict[str, str], bytes, float]] | None:
            ok = [r for r in receiver.received if r[1]]
            return ok if len(ok) >= 3 else None

        received = wait_for(pushed, 60, "the webhook to be retried until it answers")
        secret = hook["secret"]
        assert secret == derive_secret(gw.webhook_key(), "school/urn:100000", 1)
        for headers, raw, _ in received:
            assert verify(secret, headers, raw, time.time())
            assert Notification.model_validate_json(raw).notification_id == sent.notification_id
        assert len({h["webhook-id"] for h, _, _ in received}) == 1
        times = [t for _, _, t in receiver.received]
        gaps = ", ".join(f"{b - a:.2f} s" for a, b in itertools.pairwise(times))
        _observed(
            f"  fails (500), times out (> 0.4 s), recovers: delivered on attempt "
            f"{len(receiver.received)}, gaps between attempts {gaps}, same webhook-id, "
            "every signature verified"
        )
    metrics = gw.text("/metrics")
    assert re.search(
        r'frontdoor_edge_webhook_deliveries_total\{agency="school",outcome="delivered"\} 1', metrics
    )
    assert 'frontdoor_edge_webhook_attempts_total{agency="school",result="timeout"} 1.0' in metrics


def test_a_webhook_that_never_answers_is_given_up_on_with_an_alert(
    gateway: tuple[GatewayProcess, dict[str, str]], settings: Settings
) -> None:
    gw, keys = gateway
    with Receiver([503] * 10_000) as receiver:
        assert gw.request("PUT", "/v1/webhook", keys["school"], {"url": receiver.url})[0] == 200
        held = notification(7, "urn:100000", "2026-11-27T09:00:00+00:00")
        produce(
            settings,
            topics.NOTIFY[Agency.SCHOOL],
            [(held.notification_id.encode(), held.model_dump_json().encode())],
        )

        def alerted() -> list[ComplianceAlert] | None:
            found = [
                ComplianceAlert.model_validate_json(v or b"")
                for _, v in _records(settings, topics.COMPLIANCE_ALERTS)
            ]
            return found or None

        started = time.monotonic()
        (alert,) = wait_for(alerted, 30, "the undeliverable alert")
        first, last = receiver.received[0][2], receiver.received[-1][2]
        _observed(
            f"  never answers (503): {len(receiver.received)} attempts over {last - first:.1f} s "
            f"(bound 4 s), then the undeliverable alert (seen {time.monotonic() - started:.1f} s "
            "after the notification was published)"
        )
    assert alert.kind.value == "undeliverable"
    assert (alert.subject.notification_id, alert.subject.organisation) == (
        held.notification_id,
        "urn:100000",
    )
    assert len(receiver.received) >= 4  # retried before giving up, within the bound


# -- the authorisation matrix ---------------------------------------------------------------

NTF = "ntf-00000000-0000-0000-0000-000000000001"


def _calls() -> dict[str, tuple[str, str, object]]:
    return {
        "POST /v1/incidents": ("POST", "/v1/incidents", None),  # the body is the party's own
        "PUT /v1/child-records/{id}": ("PUT", "/v1/child-records/C-100", example("child-record")),
        "DELETE /v1/child-records/{id}": ("DELETE", "/v1/child-records/C-100", None),
        "GET /v1/notifications": ("GET", "/v1/notifications", None),
        "GET /v1/notifications/{id}": ("GET", f"/v1/notifications/{NTF}", None),
        "POST /v1/notifications/{id}/acknowledgement": (
            "POST",
            f"/v1/notifications/{NTF}/acknowledgement",
            {"status": "received"},
        ),
        "PUT /v1/webhook": ("PUT", "/v1/webhook", {"url": "https://hooks.example/frontdoor"}),
        "GET /v1/webhook": ("GET", "/v1/webhook", None),
        "DELETE /v1/webhook": ("DELETE", "/v1/webhook", None),
    }


def intended(party: str, endpoint: str) -> int:
    """What each party may do, from its role (DOMAIN.md, docs/security.md), not the code:
    a force publishes incidents, the council its records, an agency receives its own."""
    principal, _ = PARTIES.get(party, ("", None))
    if party == "none":
        return 401
    if endpoint == "POST /v1/incidents":
        return 202 if principal.startswith("police-") else 403
    if "child-records" in endpoint:
        return 202 if principal == "council-records" else 403
    if not principal.startswith("agency-"):
        return 403
    return {
        "GET /v1/notifications/{id}": 404,
        "POST /v1/notifications/{id}/acknowledgement": 404,
        "GET /v1/webhook": 200,
        "DELETE /v1/webhook": 204,
    }.get(endpoint, 200)


@pytest.mark.xdist_group("shared-gateway")
def test_every_party_may_call_exactly_what_its_role_needs(
    shared_gateway: tuple[GatewayProcess, dict[str, str]],
) -> None:
    gw, keys = shared_gateway
    cells = []
    for party in [*PARTIES, "none"]:
        for endpoint, (method, path, body) in _calls().items():
            if endpoint == "POST /v1/incidents":
                force = PARTIES.get(party, ("police-MPS",))[0].removeprefix("police-")
                body = incident(source=force if force in FORCES else "MPS", event_id=f"m-{party}")
            status, _ = gw.request(method, path, keys.get(party), body)
            cells.append((party, endpoint, status, intended(party, endpoint)))
    wrong = [c for c in cells if c[2] != c[3]]
    allowed = sum(1 for c in cells if c[3] < 400 or c[3] == 404)
    lines = [
        f"gateway authorisation matrix: {len(PARTIES) + 1} parties x {len(_calls())} endpoints = "
        f"{len(cells)} cells, {allowed} allowed (404: allowed but nothing there), "
        f"{len(cells) - allowed} refused, {len(wrong)} not as intended"
    ]
    for party in [*PARTIES, "none"]:
        mine = [
            f"{e.split(' ', 1)[0]} {e.split(' ', 1)[1]}={s}" for p, e, s, _ in cells if p == party
        ]
        lines.append(f"  {party:<13} " + ", ".join(mine))
    MATRIX.parent.mkdir(parents=True, exist_ok=True)
    MATRIX.write_text("\n".join(lines) + "\n")
    assert not wrong, wrong


# -- hostile input ---------------------------------------------------------------------------


# The operations each party may call, fuzzed as that party: there hostile input reaches
# the parsing and the checks behind the key. Every other party is refused before the body
# is read, each operation proved by the authorisation matrix (and fuzzed in make faults).
OWN_OPERATIONS = {
    "force": "^/v1/incidents$",
    "council": "^/v1/child-records/",
    "school": "^/(v1/notifications|v1/webhook|health$|metrics$)",
}


@pytest.mark.long
@pytest.mark.xdist_group("shared-gateway")
@pytest.mark.parametrize("scope", ["own", pytest.param("every", marks=pytest.mark.full)])
def test_schemathesis_finds_no_server_error_and_every_invalid_request_rejected(
    shared_gateway: tuple[GatewayProcess, dict[str, str]], scope: str
) -> None:
    gw, keys = shared_gateway
    parties = ("force", "council", "school")
    # The three parties at once (each its own `st run` process, the same seed and examples):
    # one after another they were the longest chain of the parallel broker tests.
    runs = {
        party: subprocess.Popen(
            [
                str(Path(sys.executable).with_name("st")),
                "run",
                "schemas/openapi.json",
                *(["--include-path-regex", OWN_OPERATIONS[party]] if scope == "own" else []),
                "--url",
                gw.base_url,
                "-H",
                f"Authorization: Bearer {keys[party]}",
                "--tls-verify",
                str(gw.ca_file),
                "--checks",
                "not_a_server_error,negative_data_rejection,status_code_conformance,"
                "content_type_conformance,response_schema_conformance",
                "--max-examples",
                "30",
                "--seed",
                "1",
                "--no-shrink",
                "--suppress-health-check",
                "all",
                "--warnings",
                "off",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for party in parties
    }
    summary = []
    for party in parties:
        stdout, _ = runs[party].communicate(timeout=600)
        counted = re.search(r"(\d+) generated, (\d+) passed", stdout)
        assert runs[party].returncode == 0 and counted, stdout[-4000:]
        summary.append(
            f"  as {party:<8} {counted.group(1)} generated requests, {counted.group(2)} passed"
        )
    FUZZ.parent.mkdir(parents=True, exist_ok=True)
    FUZZ.write_text(
        "schemathesis (coverage, fuzzing, stateful; checks: no 5xx, invalid rejected, "
        "documented statuses, content types and bodies), "
        + ("each party on the operations it may call" if scope == "own" else "every operation")
        + "\n"
        + "\n".join(summary)
        + "\n"
    )


# -- a paused broker -------------------------------------------------------------------------

PAUSE_S = 4.0


@pytest.mark.serial  # it pauses the shared broker
def test_a_retry_after_a_503_from_a_paused_broker_is_answered_and_not_published_again(
    local_kafka: LocalKafkaSettings, settings: Settings, tmp_path: Path
) -> None:
    """The broker stops answering (SIGSTOP, 4 s) while a force posts an incident: the
    answer is 503, and the incident waits in the gateway's producer; the force sends the
    same bytes again once the broker is back, as told. It must get the first attempt's
    answer, and the force's topic must hold the incident once."""
    body = incident()
    force_topic = topics.force_incidents("MPS")
    with running_gateway(local_kafka, settings, tmp_path / "edge", publish_timeout_s="1") as (
        gw,
        keys,
    ):
        with localkafka.paused(local_kafka):
            paused_at = time.monotonic()
            during = gw.exchange("POST", "/v1/incidents", keys["force"], body)
            time.sleep(max(0.0, PAUSE_S - (time.monotonic() - paused_at)))  # the fault itself
        wait_for(lambda: _records(settings, force_topic) or None, 60, "the incident on the topic")
        retries: list[int] = []

        def answered() -> tuple[int, object, dict[str, str]] | None:
            status, reply, headers = gw.exchange("POST", "/v1/incidents", keys["force"], body)
            retries.append(status)
            return (status, reply, headers) if status != 503 else None

        status, reply, headers = wait_for(answered, 60, "an answer other than 503")
        on_topic = _records(settings, force_topic)
    assert during[0] == 503 and during[2]["retry-after"]
    assert (status, headers.get("idempotent-replayed")) == (202, "true"), (status, reply)
    assert len(on_topic) == 1 and json.loads(on_topic[0][1] or b"{}") == body
    _observed(
        f"  broker paused {PAUSE_S:.0f} s during a POST: 503; the same bytes again after it "
        f"resumed: {len(retries)} request(s), then 202 Idempotent-Replayed; "
        f"{len(on_topic)} record on the force's topic"
    )
