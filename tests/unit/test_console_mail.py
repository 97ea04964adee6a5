"""Alert emails: which are owed (pure), and sending them through a real SMTP server on
127.0.0.1 (aiosmtpd): no personal data in any of them, one per organisation and kind,
none twice, and a relay that is down or an address that bounces retried and counted."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from schemas import InboxActivity, Notification
from schemas.enums import AckStatus, Agency
from streams.console.mail import Mailer, due
from streams.console.settings import ConsoleSettings
from streams.inbox import acknowledge
from streams.tools.platform.mailrelay import MailRelay, free_port
from tests.console_support import NOW, build, notifications_for_two_schools, with_inbox

A, B = "urn:100000", "urn:100001"
SCHOOL_A, SCHOOL_B = (Agency.SCHOOL, A), (Agency.SCHOOL, B)


def personal_values(n: Notification) -> set[str]:
    """Every value in what was sent that could identify a child or tell what happened."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and len(value) >= 4:
            found.add(value)
        elif isinstance(value, date):
            found.update({value.isoformat(), f"{value.day} {value:%B %Y}"})

    walk(n.payload.model_dump())
    walk([n.person_reference, n.incident_reference])
    closed = {"school", "social_care", "domestic_abuse", "victim", "female", "male"}
    schools = {"100000", "100001"}  # the recipients' own URNs: an alert names its recipient
    return found - closed - schools


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def mailer(console, port: int, addresses, now: datetime, ticks: Ticks, **config) -> Mailer:  # type: ignore[no-untyped-def]
    settings = ConsoleSettings(
        insecure_http=True,
        public_url="https://console.example",
        smtp_host="127.0.0.1",
        smtp_port=port,
        mail_from="frontdoor@council.example",
        mail_retry_s=10,
        **config,
    )
    return Mailer(
        config=settings,
        inbox=console.inbox,
        activity=console.activity,
        metrics=console.metrics,
        addresses=addresses,
        zone=console.policy.calendar().zone,
        reminder_before=timedelta(minutes=60),
        clock=lambda: now,
        monotonic=ticks,
        record=console.record,
        ready=lambda: True,
    )


def counted(console, outcome: str) -> float:  # type: ignore[no-untyped-def]
    return (
        console.metrics.registry.get_sample_value(
            "frontdoor_console_mail_total", {"outcome": outcome}
        )
        or 0.0
    )


def test_what_is_owed_one_per_organisation_and_kind_and_nothing_twice() -> None:
    console, _, _ = build()
    sent = with_inbox(console, notifications_for_two_schools())
    early = NOW - timedelta(hours=8)  # 01:00: the schools' deadlines (08:30) are hours away
    owed = due(console.inbox, console.activity, {SCHOOL_A, SCHOOL_B}, early, timedelta(hours=1))
    assert [(a.owner, a.kind, len(a.notification_ids)) for a in owed] == [
        (SCHOOL_A, "arrival", 1),
        (SCHOOL_B, "arrival", 1),
    ]
    console.activity.apply(
        InboxActivity(
            event_id="act-1",
            source="console",
            produced_at=early,
            agency=Agency.SCHOOL,
            organisation=A,
            action="alerted",
            at=early,
            notification_ids=[sent[A].notification_id],
            alert="arrival",
        )
    )
    ack = acknowledge(sent[B].notification_id, Agency.SCHOOL, B, AckStatus.RECEIVED, early)
    console.inbox.acknowledgement(ack)  # type: ignore[arg-type]
    assert (
        due(console.inbox, console.activity, {SCHOOL_A, SCHOOL_B}, early, timedelta(hours=1)) == []
    )
    # An hour before the deadline, nobody at A has acknowledged: the whole school is reminded.
    before = sent[A].deadline - timedelta(minutes=59)
    (reminder,) = due(console.inbox, console.activity, {SCHOOL_A}, before, timedelta(hours=1))
    assert reminder.kind == "reminder" and reminder.due == sent[A].deadline
    after = sent[A].deadline + timedelta(minutes=1)  # past it: the duty board's, not a reminder
    assert due(console.inbox, console.activity, {SCHOOL_A}, after, timedelta(hours=1)) == []


async def test_alerts_reach_the_relay_say_nothing_personal_and_are_sent_once() -> None:
    console, publisher, _ = build()
    notifications = notifications_for_two_schools()
    sent = with_inbox(console, notifications)
    addresses = {
        SCHOOL_A: ["dsl@a.example", "deputy@a.example"],
        SCHOOL_B: ["safeguarding@b.example"],
    }
    early = NOW - timedelta(hours=8)
    with MailRelay() as relay:
        m = mailer(console, relay.port, addresses, early, Ticks())
        await m.scan()
        await m.scan()  # nothing twice
        received = relay.received
    assert sorted(tuple(sorted(r.recipients)) for r in received) == [
        ("deputy@a.example", "dsl@a.example"),
        ("safeguarding@b.example",),
    ]
    to_a = next(r for r in received if "dsl@a.example" in r.recipients)
    assert str(to_a.message["Subject"]).strip() == (
        "1 new notification for School (URN 100000), due before Thu 26 Nov 08:30"
    )
    assert "https://console.example/inbox" in to_a.text
    for r in received:  # nothing of any notification's content, nor its ids
        leaked = [v for n in notifications for v in personal_values(n) if v in r.text]
        assert leaked == []
        assert not re.search(r"ntf-[0-9a-f-]{36}", r.text)
    recorded = [
        InboxActivity.model_validate_json(v)
        for t, _, v in publisher.sent
        if t.endswith("console.inbox-activity.v1") and v
    ]
    assert sorted((e.organisation, e.alert) for e in recorded) == [(A, "arrival"), (B, "arrival")]
    assert recorded[0].notification_ids in ([sent[A].notification_id], [sent[B].notification_id])
    assert counted(console, "sent") == 2


async def test_a_relay_that_is_down_is_retried_and_a_bounce_is_counted() -> None:
    console, _, _ = build()
    sent = with_inbox(console, notifications_for_two_schools())
    port = free_port()
    ticks = Ticks()
    addresses = {
        SCHOOL_A: ["dsl@a.example", "gone@bounce.invalid"],
        SCHOOL_B: ["nobody@bounce.invalid"],
    }
    m = mailer(console, port, addresses, NOW - timedelta(hours=8), ticks, mail_attempts=3)
    await m.scan()  # nothing listens: both kept for later
    assert counted(console, "retried") == 2 and len(m.pending) == 2
    assert console.metrics.registry.get_sample_value("frontdoor_console_mail_queued") == 2
    with MailRelay(port=port) as relay:
        await m.scan()  # too soon to try again
        assert relay.received == []
        ticks.now += 11
        await m.scan()
        (taken,) = relay.received
        assert taken.recipients == ("dsl@a.example",)  # the good address; the other bounced
        assert counted(console, "sent") == 1 and counted(console, "bounced") == 2
        ticks.now += 100
        await m.scan()  # B's only address bounces again: the third try, then given up
    assert counted(console, "given_up") == 1 and m.pending == {}
    assert console.activity.alerted(sent[B].notification_id, "arrival")  # not tried for ever
