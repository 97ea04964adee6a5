"""The one inbox every channel shows (``streams.inbox``): what an organisation sees, and
the one way an acknowledgement is made for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas import Acknowledgement, DeadLetter
from schemas.enums import AckStatus, Agency
from streams.inbox import Inbox, Status, acknowledge
from tests.edge_support import notification

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
A, B = "urn:100000", "urn:100001"


def ack(
    number: int, organisation: str, status: AckStatus, minutes: int, **extra: str
) -> Acknowledgement:
    made = acknowledge(
        f"ntf-00000000-0000-0000-0000-{number:012d}",
        Agency.SCHOOL,
        organisation,
        status,
        NOW + timedelta(minutes=minutes),
        **extra,  # type: ignore[arg-type]
    )
    assert isinstance(made, Acknowledgement)
    return made


def test_an_organisation_sees_only_its_own_notifications_latest_revision_soonest_first() -> None:
    inbox = Inbox()
    inbox.notification(notification(1, A, "2026-11-27T08:30:00+00:00"))
    inbox.notification(notification(2, A, "2026-11-26T12:00:00+00:00"))
    inbox.notification(notification(3, B, "2026-11-26T11:00:00+00:00"))
    revised = notification(1, A, "2026-11-27T08:30:00+00:00").model_copy(update={"revision": 2})
    assert inbox.notification(revised) and not inbox.notification(
        notification(1, A, "2026-11-27T08:30:00+00:00")
    )
    mine = inbox.of(Agency.SCHOOL, A)
    assert [h.notification.notification_id[-1] for h in mine] == ["2", "1"]
    assert mine[1].revised and mine[1].notification.revision == 2 and not mine[0].revised
    assert inbox.get(Agency.SCHOOL, A, mine[0].notification.notification_id) is mine[0]
    other = inbox.of(Agency.SCHOOL, B)[0].notification.notification_id
    assert inbox.get(Agency.SCHOOL, A, other) is None  # another school's: as if none
    assert inbox.get(Agency.HEALTH, B, other) is None  # the same name in another agency


def test_the_earliest_acknowledgement_closes_the_deadline_and_the_latest_says_where_it_stands() -> (
    None
):
    inbox = Inbox()
    actioned = ack(1, A, AckStatus.ACTIONED, 30)
    inbox.acknowledgement(actioned)  # read before the notification it closes
    inbox.notification(notification(1, A, "2026-11-27T08:30:00+00:00"))
    received = ack(1, A, AckStatus.RECEIVED, 5, by="staff-1")
    held = inbox.acknowledgement(received)
    assert held is not None and held.acknowledged_at == received.acknowledged_at
    assert held.acknowledged is AckStatus.ACTIONED and held.first_ack is received
    assert inbox.acknowledgement(received) is held and len(held.acks) == 2  # a repeat: nothing new
    assert held.view()["status"] == "acknowledged" and held.view()["acknowledgement"] == "actioned"
    assert inbox.acknowledgement(ack(1, B, AckStatus.RECEIVED, 1)) is None  # not the recipient's
    assert len(held.acks) == 2
    items, _ = inbox.page(Agency.SCHOOL, A, Status.OPEN)
    assert items == []


def test_an_acknowledgement_is_made_the_same_way_for_every_channel() -> None:
    ident = "ntf-00000000-0000-0000-0000-000000000001"
    first = acknowledge(ident, Agency.SCHOOL, A, AckStatus.RECEIVED, NOW, by="staff-1")
    again = acknowledge(ident, Agency.SCHOOL, A, AckStatus.RECEIVED, NOW + timedelta(minutes=1))
    assert isinstance(first, Acknowledgement) and isinstance(again, Acknowledgement)
    assert first.event_id == again.event_id  # a repeat, not a second acknowledgement
    assert first.acknowledged_at == first.produced_at == NOW and first.acknowledged_by == "staff-1"
    assert first.source == A and first.schema_version == "1.1"
    no_reason = acknowledge(ident, Agency.SCHOOL, A, AckStatus.REJECTED, NOW)
    assert isinstance(no_reason, DeadLetter)
    assert "reason_code" in " ".join(r.message for r in no_reason.reasons)
    rejected = acknowledge(
        ident,
        Agency.SCHOOL,
        A,
        AckStatus.REJECTED,
        NOW,
        reason_code="wrong_recipient",
        note="Left in July",
    )
    assert isinstance(rejected, Acknowledgement) and rejected.note == "Left in July"
    noted = acknowledge(ident, Agency.SCHOOL, A, AckStatus.RECEIVED, NOW, note="not a rejection")
    assert isinstance(noted, DeadLetter)
    email = acknowledge(ident, Agency.SCHOOL, A, AckStatus.RECEIVED, NOW, by="alan@school.example")
    assert isinstance(email, DeadLetter)  # a person is a staff id, never an email address
