"""The duty board, in-process: what needs a person now, as the front door's duty manager
sees it (the real application, access plan, templates and core; a fake publisher)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from schemas import Acknowledgement, ComplianceAlert, InboxActivity
from schemas.enums import AckStatus, Agency
from streams.compliance import build_report
from streams.inbox import acknowledge
from tests import factories
from tests.console_support import (
    NOW,
    build,
    client,
    notifications_for_two_schools,
    sign_in,
    with_inbox,
)

A, B = "urn:100000", "urn:100001"


def alert(kind: str, number: int, minutes_ago: float, **subject: Any) -> ComplianceAlert:
    data = factories.example(
        "compliance-alert",
        alert_id=f"alr-{kind}-{number}",
        kind=kind,
        subject=subject,
        observed_at=(NOW - timedelta(minutes=minutes_ago)).isoformat(),
    )
    return ComplianceAlert.model_validate(data)


def board_console(now_shift: timedelta = timedelta(0)):  # type: ignore[no-untyped-def]
    # The notifications were sent at 02:15; the board is read at 06:00 the same day: the
    # front door's (due 02:15) missed today, the schools' (08:30) due within 4 hours.
    console, publisher, _ = build(now=NOW - timedelta(hours=3) + now_shift)
    sent = with_inbox(console, notifications_for_two_schools())
    return console, publisher, sent


async def test_the_board_shows_what_falls_due_and_what_was_missed_today_front_door_first() -> None:
    console, _, sent = board_console()
    cookie, _ = sign_in(console, "manager")
    async with client(console, cookie) as http:
        shown = await http.get("/duty")
    assert shown.status_code == 200
    text = shown.text
    due = text[text.index("Due in the next 4 hours") : text.index("Missed today")]
    assert "School (2)" in due and "URN 100000" in due and "URN 100001" in due
    missed = text[text.index("Missed today") : text.index("Sent back")]
    assert "Missed today (2)" in missed and "the front door (E09000030)" in missed
    assert missed.count("govuk-tag--red") == 2
    for organisation in (A, B, "E09000030:front-door"):  # each row links to it, by id only
        assert f'href="/duty/notifications/{sent[organisation].notification_id}"' in text
    assert sent["E09000030:idva"].notification_id not in text  # due tomorrow: not yet
    assert "Possible matches waiting (1" in text  # the book's pair
    assert all("Zebedee" not in h for h in re.findall(r'href="([^"]*)"', text))


async def test_a_rejection_reaches_the_board_until_the_front_door_routes_it_by_hand() -> None:
    console, publisher, sent = board_console()
    school = sent[A].notification_id
    rejected = acknowledge(
        school,
        Agency.SCHOOL,
        A,
        AckStatus.REJECTED,
        console.clock(),
        reason_code="wrong_recipient",
        by="6f1c1d0e-0000-4000-8000-00000000000a",
        note="Left us in July",
    )
    assert isinstance(rejected, Acknowledgement)
    console.inbox.acknowledgement(rejected)
    cookie, csrf = sign_in(console, "manager")
    async with client(console, cookie) as http:
        board = await http.get("/duty")
        page = await http.get(f"/duty/notifications/{school}")
        empty = await http.post(f"/duty/notifications/{school}/routed", data={"csrf_token": csrf})
        no_token = await http.post(f"/duty/notifications/{school}/routed", data={"note": "x"})
        done = await http.post(
            f"/duty/notifications/{school}/routed",
            data={"csrf_token": csrf, "note": "Phoned St Anne's DSL, who has her now"},
        )
        after = await http.get("/duty")
    part = board.text[board.text.index("Sent back as not for the recipient (1)") :]
    assert "not for them" in part and "Left us in July" in part
    assert "Mark it as routed" in page.text and "sent back by" in page.text
    assert empty.status_code == 400 and "Say what you did with it" in empty.text
    assert no_token.status_code == 403 and done.status_code == 303
    (event,) = [
        InboxActivity.model_validate_json(v)
        for t, _, v in publisher.sent
        if t.endswith("console.inbox-activity.v1") and v
    ]
    assert event.action == "routed" and event.notification_ids == [school]
    assert event.organisation == A and event.note == "Phoned St Anne's DSL, who has her now"
    assert "Sent back as not for the recipient (0)" in after.text


async def test_police_side_alerts_by_force_and_webhooks_given_up_on() -> None:
    console, _, sent = board_console(timedelta(hours=3))
    for a in (
        alert("sequence_gap", 1, 30, police_source="MPS", sequence_from=41, sequence_to=43),
        alert("late_police_report", 2, 60, police_source="MPS", incident_reference="CAD-1"),
        alert("batching", 3, 90, police_source="KENT"),
        alert("late_to_frontdoor", 4, 60 * 30, police_source="KENT"),  # more than a day ago
        alert(
            "undeliverable",
            5,
            10,
            organisation=A,
            notification_id=sent[A].notification_id,
        ),
    ):
        console.alerts.add(a)
    cookie, _ = sign_in(console, "manager")
    async with client(console, cookie) as http:
        text = (await http.get("/duty")).text
    police = text[text.index("Police-side alerts") : text.index("Webhooks given up on")]
    assert "KENT: 1 batching" in police and "MPS: 1 late reports, 1 sequence gaps" in police
    assert "sequence numbers 41 to 43 not received" in police and "late to frontdoor" not in police
    hooks = text[text.index("Webhooks given up on") :]
    assert "(1)" in hooks and f"/duty/notifications/{sent[A].notification_id}" in hooks


async def test_only_the_duty_board_party_sees_it() -> None:
    console, _, sent = board_console()
    lead, _ = sign_in(console, "lead-a")
    reviewer, _ = sign_in(console, "reviewer")
    async with client(console, lead) as http:
        refused = [
            await http.get("/duty"),
            await http.get(f"/duty/notifications/{sent[A].notification_id}"),
        ]
    async with client(console, reviewer) as http:
        refused.append(await http.get("/duty"))
    assert [r.status_code for r in refused] == [403, 403, 403]


async def test_the_compliance_report_is_made_for_whole_days_on_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    console, _, _ = board_console()
    asked: list[Any] = []

    def from_topics(settings, since, until, now):  # type: ignore[no-untyped-def]
        asked.append((since, until))
        sent = [h.notification for h in console.inbox]
        return build_report(sent, [], [], since, until, now)

    monkeypatch.setattr("streams.console.routes.duty.from_topics", from_topics)
    cookie, _ = sign_in(console, "manager")
    async with client(console, cookie) as http:
        form = await http.get("/duty/report")
        wrong = await http.get(
            "/duty/report?since-day=31&since-month=2&since-year=2026"
            "&until-day=1&until-month=1&until-year=2026"
        )
        made = await http.get(
            "/duty/report?since-day=26&since-month=11&since-year=2026"
            "&until-day=26&until-month=11&until-year=2026"
        )
    assert form.status_code == 200 and wrong.status_code == 400
    assert "Enter the first day as a real date" in wrong.text
    assert made.status_code == 200 and "<style nonce=" in made.text
    (since, until) = asked[0]
    assert until - since == timedelta(days=1) and since.hour == 0  # London in November: UTC
    nonce = re.search(r"'nonce-([^']+)'", made.headers["content-security-policy"])
    assert nonce is not None and f'<style nonce="{nonce.group(1)}">' in made.text
