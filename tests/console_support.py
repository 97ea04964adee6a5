"""A console in-process for tests: a fake publisher and sessions made directly (the real
provider is in the browser tests), real everything else: the application, the access
plan, the book fed the core's own possible match, the templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from schemas import ChildRecord, Notification, PoliceIncident, ReviewDecision
from schemas.police import incident_key
from streams.access import Permissions, acting_as
from streams.console import (
    COOKIE,
    Claims,
    Console,
    ConsoleMetrics,
    ConsoleSettings,
    ReviewBook,
    Sessions,
    Staff,
    create_console,
    templates,
)
from streams.incidents import process_incident
from streams.matching import Replica
from streams.routing import Policy, load_policy
from streams.settings import Settings
from tests import factories

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # a Thursday in term
POLICY = load_policy()
ONE_PAIR_OF_EYES = POLICY.model_copy(update={"review_four_eyes": False})
TWIN = "E09000030:C-101"


@dataclass
class FakePublisher:
    sent: list[tuple[str, str, bytes | None]] = field(default_factory=list)
    failing: bool = False

    async def send(self, topic: str, key: str, value: bytes | None) -> None:
        if self.failing:
            raise TimeoutError("the broker did not answer")
        self.sent.append((topic, key, value))

    def decisions(self) -> list[ReviewDecision]:
        return [ReviewDecision.model_validate_json(v) for _, _, v in self.sent if v]


@dataclass
class Clock:
    """The real clock sessions and claims run on, moved by hand."""

    now: float = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def records() -> list[ChildRecord]:
    """The council's: the child (a digit off in the date of birth, no NHS number) and a
    twin in the same household."""
    before = (NOW - timedelta(days=1)).isoformat()
    child = factories.example(
        "child-record",
        date_of_birth="2016-02-27",
        nhs_number=None,
        household_id="H-1",
        updated_at=before,
    )
    twin = factories.example(
        "child-record",
        child_id="C-101",
        given_name="Zachary",
        date_of_birth="2016-02-26",
        nhs_number=None,
        household_id="H-1",
        allocated_worker=None,
        updated_at=before,
    )
    return [ChildRecord.model_validate(r) for r in (child, twin)]


def incident() -> PoliceIncident:
    data = factories.incident(risk_grade="medium")
    data["children"][0]["nhs_number"] = None
    return PoliceIncident.model_validate(data)


def book_with_a_pair(now: datetime = NOW, policy: Policy = POLICY) -> tuple[ReviewBook, str]:
    """A book holding what the worker would have published: the incident, the records
    and the core's own possible match for the first child."""
    book = ReviewBook(policy)
    for record in records():
        book.record(record.key, record)
    inc = incident()
    key = incident_key(inc.source, inc.incident_reference)
    book.incident(key, inc, now)
    replica = Replica()
    for record in records():
        replica.upsert(record)
    outcomes = process_incident(inc, replica, POLICY, POLICY.calendar(), now)
    reviews = [o.review for o in outcomes if o.review is not None]
    assert reviews, "the factories' first child should need a person"
    for review in reviews:
        book.possible_match(key, review)
    return book, reviews[0].review_id


def build(
    book: ReviewBook | None = None, now: datetime = NOW, policy: Policy = POLICY, **config: Any
) -> tuple[Console, FakePublisher, Clock]:
    clock = Clock()
    publisher = FakePublisher()
    settings = Settings(topic_prefix="t.")
    console_settings = ConsoleSettings(
        insecure_http=True,
        oidc_metadata_url="https://idp.example/realms/x/.well-known/openid-configuration",
        **config,
    )
    console = Console(
        settings=settings,
        config=console_settings,
        policy=policy,
        permissions=Permissions(policy, settings),
        book=book if book is not None else book_with_a_pair(now, policy)[0],
        sessions=Sessions(console_settings.session_idle_s, console_settings.session_max_s, clock),
        claims=Claims(console_settings.claim_s, clock),
        signin=None,
        publisher=publisher,
        metrics=ConsoleMetrics(),
        templates=templates(),
        clock=lambda: now,
        ready=lambda: True,
    )
    return console, publisher, clock


# People, as the provider's token would name them.
PEOPLE: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "reviewer": ("6f1c1d0e-0000-4000-8000-000000000001", "Priya Shah", ("reviewer",), ()),
    "second": ("6f1c1d0e-0000-4000-8000-000000000002", "Tom Becker", ("reviewer",), ()),
    "manager": ("6f1c1d0e-0000-4000-8000-000000000003", "Grace Obi", ("duty_manager",), ()),
    "officer": ("6f1c1d0e-0000-4000-8000-000000000005", "Ada Quist", ("policy_officer",), ()),
    "officer2": ("6f1c1d0e-0000-4000-8000-000000000006", "Ben Rowe", ("policy_officer",), ()),
    "lead": (
        "6f1c1d0e-0000-4000-8000-000000000004",
        "Alan Moss",
        ("safeguarding_lead",),
        ("urn:100000",),
    ),
}


def sign_in(console: Console, who: str) -> tuple[str, str]:
    """A signed-in session for one of ``PEOPLE``: (cookie value, CSRF token)."""
    staff_id, name, roles, organisations = PEOPLE[who]
    staff = Staff(
        staff_id, name, roles, organisations, tuple(acting_as(roles, organisations, POLICY))
    )
    session = console.sessions.signed_in(console.sessions.new(), staff)
    console.names[staff_id] = name
    return session.id, session.csrf


def client(console: Console, cookie: str | None = None) -> httpx.AsyncClient:
    cookies = {COOKIE: cookie} if cookie else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_console(console)),
        base_url="https://console.test",
        cookies=cookies,
        follow_redirects=False,
    )


def later(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)


# Inbox staff: two schools' leads, a deputy, one person serving both schools, a health
# visitor; each organisation a group in the provider.
INBOX_PEOPLE: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "lead-a": (
        "6f1c1d0e-0000-4000-8000-00000000000a",
        "Alan Moss",
        ("safeguarding_lead",),
        ("urn:100000",),
    ),
    "deputy-a": (
        "6f1c1d0e-0000-4000-8000-0000000000da",
        "Dee Patel",
        ("safeguarding_lead",),
        ("urn:100000",),
    ),
    "lead-b": (
        "6f1c1d0e-0000-4000-8000-00000000000b",
        "Ruth Ng",
        ("safeguarding_lead",),
        ("urn:100001",),
    ),
    "both": (
        "6f1c1d0e-0000-4000-8000-0000000000ab",
        "Sam Ito",
        ("safeguarding_lead",),
        ("urn:100000", "urn:100001"),
    ),
    "health": (
        "6f1c1d0e-0000-4000-8000-0000000000he",
        "Hana Lee",
        ("team_member",),
        ("E09000030:health-visiting",),
    ),
}
PEOPLE.update(INBOX_PEOPLE)


def notifications_for_two_schools(now: datetime = NOW) -> list[Notification]:
    """What the core sends for two incidents: a child of school A (urn:100000) and one of
    school B (urn:100001), each a victim of domestic abuse; the front door, the idva and the
    schools are told."""
    replica = Replica()
    sent: list[Notification] = []
    for number, urn in ((1, "100000"), (2, "100001")):
        data = factories.incident(incident_reference=f"CAD-2026-00012{number}", risk_grade="high")
        data["children"] = data["children"][:1]
        data["children"][0].update(
            school_urn=urn, given_name=("Zebedee", "Yolanda")[number - 1], nhs_number=None
        )
        inc = PoliceIncident.model_validate(data)
        for outcome in process_incident(inc, replica, POLICY, POLICY.calendar(), now):
            sent += outcome.notifications
    return sent


def with_inbox(console: Console, notifications: list[Notification]) -> dict[str, Notification]:
    """The console holding ``notifications``; each school's by its URN."""
    for n in notifications:
        console.inbox.notification(n)
    return {n.recipient.organisation: n for n in notifications}
