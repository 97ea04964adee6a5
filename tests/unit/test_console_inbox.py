"""The agency inbox, in-process: what each organisation's staff see and do (the real
application, access plan, templates and core; a fake publisher)."""

from __future__ import annotations

import re

from schemas import Acknowledgement, InboxActivity
from schemas.enums import AckStatus, Agency
from streams.inbox import acknowledge
from tests.console_support import (
    build,
    client,
    notifications_for_two_schools,
    sign_in,
    with_inbox,
)

A, B = "urn:100000", "urn:100001"


def inbox_console():  # type: ignore[no-untyped-def]
    console, publisher, _ = build()
    sent = with_inbox(console, notifications_for_two_schools())
    return console, publisher, sent


def published(publisher, kind):  # type: ignore[no-untyped-def]
    model = {"acks": Acknowledgement, "activity": InboxActivity}[kind]
    topic = {"acks": "notify.school.acks.v1", "activity": "console.inbox-activity.v1"}[kind]
    return [model.model_validate_json(v) for t, _, v in publisher.sent if t.endswith(topic) and v]


async def test_a_school_sees_its_own_notification_as_sent_and_another_schools_is_not_there() -> (
    None
):
    console, publisher, sent = inbox_console()
    mine, theirs = sent[A].notification_id, sent[B].notification_id
    cookie, csrf = sign_in(console, "lead-a")
    async with client(console, cookie) as http:
        listed = await http.get("/inbox")
        shown = await http.get(f"/inbox/{mine}")
        refused = {
            "page": await http.get(f"/inbox/{theirs}"),
            "print": await http.get(f"/inbox/{theirs}/print"),
            "rejection form": await http.get(f"/inbox/{theirs}/rejection"),
            **{
                action: await http.post(
                    f"/inbox/{theirs}/{action}", data={"csrf_token": csrf, "status": "received"}
                )
                for action in ("take", "release", "acknowledgement", "rejection", "hand")
            },
        }
    assert listed.status_code == shown.status_code == 200
    assert "Zebedee" in listed.text and "Yolanda" not in listed.text and theirs not in listed.text
    assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(refused, 404)
    assert all("Yolanda" not in r.text for r in refused.values())
    # As sent: the school's payload, no more (the front door's copy has the address).
    assert "Larkspur" not in shown.text and "Larkspur" in str(sent["E09000030:front-door"].payload)
    assert "Domestic incident" in shown.text or "domestic abuse" in shown.text.lower()
    assert "Overdue" in shown.text and "before school starts" in shown.text
    assert publisher.sent == []
    # No name in any address a page links to, nor in its title.
    for text in (listed.text, shown.text):
        assert all(
            "Zebedee" not in h and "Quillfeather" not in h
            for h in re.findall(r'href="([^"]*)"', text)
        )
        assert "Zebedee" not in re.search(r"<title>(.*?)</title>", text, re.S).group(1)  # type: ignore[union-attr]


async def test_someone_serving_two_schools_works_in_one_at_a_time_and_the_server_holds_it() -> None:
    console, _, sent = inbox_console()
    cookie, csrf = sign_in(console, "both")
    async with client(console, cookie) as http:
        first = await http.get("/inbox")
        b_before = await http.get(f"/inbox/{sent[B].notification_id}")
        switched = await http.post(
            "/inbox/organisation", data={"csrf_token": csrf, "organisation": B}
        )
        second = await http.get("/inbox")
        a_after = await http.get(f"/inbox/{sent[A].notification_id}")
        b_after = await http.get(f"/inbox/{sent[B].notification_id}")
        elsewhere = await http.post(
            "/inbox/organisation", data={"csrf_token": csrf, "organisation": "urn:100002"}
        )
    assert "Zebedee" in first.text and "Yolanda" not in first.text and b_before.status_code == 404
    assert switched.status_code == 303
    assert "Yolanda" in second.text and "Zebedee" not in second.text
    assert a_after.status_code == 404 and b_after.status_code == 200
    assert elsewhere.status_code == 404


async def test_an_acknowledgement_is_the_agencys_event_stamped_by_the_console_and_named() -> None:
    console, publisher, sent = inbox_console()
    ident = sent[A].notification_id
    cookie, csrf = sign_in(console, "lead-a")
    async with client(console, cookie) as http:
        done = await http.post(
            f"/inbox/{ident}/acknowledgement", data={"csrf_token": csrf, "status": "received"}
        )
        again = await http.post(
            f"/inbox/{ident}/acknowledgement", data={"csrf_token": csrf, "status": "received"}
        )
        shown = await http.get(f"/inbox/{ident}")
        no_token = await http.post(f"/inbox/{ident}/acknowledgement", data={"status": "actioned"})
    assert done.status_code == again.status_code == 303 and no_token.status_code == 403
    first, repeat = published(publisher, "acks")
    gateway_would = acknowledge(ident, Agency.SCHOOL, A, AckStatus.RECEIVED, console.clock())
    assert isinstance(gateway_would, Acknowledgement)
    assert first.event_id == repeat.event_id == gateway_would.event_id  # the same, once
    assert first.acknowledged_at == console.clock() and first.organisation == A
    assert first.acknowledged_by == "6f1c1d0e-0000-4000-8000-00000000000a"
    assert "Recorded as received" in shown.text and "We have received it" not in shown.text
    assert "received by you" in shown.text


async def test_a_rejection_needs_a_reason_and_reaches_the_front_door_with_its_note() -> None:
    console, publisher, sent = inbox_console()
    ident = sent[A].notification_id
    cookie, csrf = sign_in(console, "lead-a")
    async with client(console, cookie) as http:
        form = await http.get(f"/inbox/{ident}/rejection")
        none = await http.post(f"/inbox/{ident}/rejection", data={"csrf_token": csrf})
        other = await http.post(
            f"/inbox/{ident}/rejection", data={"csrf_token": csrf, "reason": "other"}
        )
        done = await http.post(
            f"/inbox/{ident}/rejection",
            data={"csrf_token": csrf, "reason": "wrong_recipient", "note": "Left us in July"},
        )
        listed = await http.get("/inbox")
    assert form.status_code == 200
    assert none.status_code == other.status_code == 400
    assert "Select why this notification is not for you" in none.text
    assert "Say why in the note" in other.text
    assert done.status_code == 303
    (rejected,) = published(publisher, "acks")
    assert rejected.status is AckStatus.REJECTED and rejected.reason_code == "wrong_recipient"
    assert rejected.note == "Left us in July"
    assert "Nothing is waiting for you" in listed.text and "Rejected" in listed.text


async def test_a_notification_is_taken_seen_as_taken_and_handed_to_a_colleague() -> None:
    console, publisher, sent = inbox_console()
    ident = sent[A].notification_id
    lead, lead_csrf = sign_in(console, "lead-a")
    deputy, deputy_csrf = sign_in(console, "deputy-a")
    async with client(console, deputy) as http:  # the deputy looks in: a colleague now
        await http.post(f"/inbox/{ident}/take", data={"csrf_token": deputy_csrf})
        await http.post(f"/inbox/{ident}/release", data={"csrf_token": deputy_csrf})
    async with client(console, lead) as http:
        await http.post(f"/inbox/{ident}/take", data={"csrf_token": lead_csrf})
        nobody = await http.post(f"/inbox/{ident}/hand", data={"csrf_token": lead_csrf, "to": "x"})
        handed = await http.post(
            f"/inbox/{ident}/hand",
            data={"csrf_token": lead_csrf, "to": "6f1c1d0e-0000-4000-8000-0000000000da"},
        )
    async with client(console, deputy) as http:
        theirs = await http.get(f"/inbox/{ident}")
        listed = await http.get("/inbox")
    assert nobody.status_code == 400 and "Choose the colleague" in nobody.text
    assert handed.status_code == 303
    assert "You have it" in theirs.text and "handed by Alan Moss to you" in theirs.text
    assert "Give it back" in theirs.text
    actions = [(e.action, e.staff_id, e.to_staff_id) for e in published(publisher, "activity")]
    assert [a for a, _, _ in actions] == ["taken", "released", "taken", "handed"]
    assert actions[-1][2] == "6f1c1d0e-0000-4000-8000-0000000000da"
    assert all(e.notification_ids == [ident] for e in published(publisher, "activity"))
    assert re.search(r"<td[^>]*>\s*you\s*</td>", listed.text)


async def test_the_print_view_is_watermarked_and_kept_in_the_audit_and_the_screen_hides() -> None:
    console, publisher, sent = inbox_console()
    ident = sent[A].notification_id
    cookie, _ = sign_in(console, "lead-a")
    async with client(console, cookie) as http:
        printed = await http.get(f"/inbox/{ident}/print")
        shown = await http.get(f"/inbox/{ident}")
        hidden = await http.get("/hidden")
    assert printed.status_code == 200 and "Zebedee" in printed.text
    mark = re.search(r"<text[^>]*>(.*?)</text>", printed.text)
    assert mark is not None
    assert "School (URN 100000)" in mark.group(1) and "Alan Moss" in mark.group(1)
    assert "Thu 26 Nov 09:00" in mark.group(1)
    (event,) = published(publisher, "activity")
    assert event.action == "printed" and event.notification_ids == [ident]
    assert "printed by you" in shown.text
    assert 'href="/hidden"' in shown.text and "govuk-exit-this-page" in shown.text
    assert hidden.status_code == 200 and "Zebedee" not in hidden.text
    assert "govuk-exit-this-page" not in hidden.text


async def test_roles_without_an_inbox_are_refused_and_a_health_team_sees_its_own() -> None:
    console, _, sent = inbox_console()
    reviewer, _ = sign_in(console, "reviewer")
    health, _ = sign_in(console, "health")
    async with client(console, reviewer) as http:
        refused = await http.get("/inbox")
    async with client(console, health) as http:
        theirs = await http.get("/inbox")
        school = await http.get(f"/inbox/{sent[A].notification_id}")
    assert refused.status_code == 403
    assert theirs.status_code == 200 and "Health (health-visiting)" in theirs.text
    assert school.status_code == 404
