"""The console's parts, held by the application (``app.state.console``): what it shows
(the review book), who is signed in (sessions) and working on what (claims), how people
sign in, what they may do (the access plan), how decisions are published, the pages'
templates, the metrics and the two clocks (the deployment's, for deadlines; the real one,
for sessions)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from starlette.templating import Jinja2Templates

from schemas import Acknowledgement, InboxActivity, ReviewDecision
from streams import topics
from streams.access import Acting, Operation, Permissions
from streams.console.activity import Activity
from streams.console.alerts import AlertLog
from streams.console.book import Pair, ReviewBook
from streams.console.claims import Claims
from streams.console.metrics import ConsoleMetrics
from streams.console.sessions import Sessions, Staff
from streams.console.settings import ConsoleSettings
from streams.console.signin import SignIn
from streams.console.whatifs import Jobs
from streams.inbox import Inbox
from streams.routing import Policy
from streams.settings import Settings
from streams.topics import TopicSpec, topic_name


class Publishes(Protocol):
    async def send(self, topic: str, key: str, value: bytes | None) -> None: ...


@dataclass
class Console:
    settings: Settings
    config: ConsoleSettings
    policy: Policy
    permissions: Permissions
    book: ReviewBook
    sessions: Sessions
    claims: Claims
    signin: SignIn | None
    publisher: Publishes
    metrics: ConsoleMetrics
    templates: Jinja2Templates
    clock: Callable[[], datetime]
    ready: Callable[[], bool]
    names: dict[str, str] = field(default_factory=dict)  # staff id -> name, of those signed in
    inbox: Inbox = field(default_factory=Inbox)  # every organisation's notifications
    activity: Activity = field(default_factory=Activity)  # who has what, alerts sent
    alerts: AlertLog = field(default_factory=AlertLog)  # recent compliance alerts (duty board)
    whatifs: Jobs | None = None  # policy officers' what-if jobs (made by ``assemble``)

    def may(self, staff: Staff | None, operation: Operation, spec: TopicSpec) -> bool:
        """Whether any party the person acts as may do this on the topic (the access plan)."""
        return staff is not None and any(self.acting(staff, operation, spec))

    def acting(self, staff: Staff, operation: Operation, spec: TopicSpec) -> list[Acting]:
        return [a for a in staff.acting if self.permissions.allows(a.principal, operation, spec)]

    @property
    def zone(self) -> ZoneInfo:
        """Local time for every page (the policy's calendar, built once with the book)."""
        return self.book.calendar.zone

    def inboxes(self, staff: Staff | None) -> list[Acting]:
        """The organisations whose notifications the person may read (the access plan:
        their party may read the agency's topic), in the order their token named them."""
        if staff is None:
            return []
        return [
            a
            for a in staff.acting
            if a.agency is not None
            and self.permissions.allows(a.principal, Operation.READ, topics.NOTIFY[a.agency])
        ]

    def duty(self, staff: Staff | None) -> bool:
        """Whether the person may read the duty board: the alerts (the access plan)."""
        return self.may(staff, Operation.READ, topics.COMPLIANCE_ALERTS)

    def policy_officer(self, staff: Staff | None) -> bool:
        """Whether the person may run a what-if: their party may read every topic one
        reads (the access plan)."""
        return staff is not None and all(
            self.may(staff, Operation.READ, spec) for spec in topics.WHATIF_READS
        )

    def reviewer(self, staff: Staff | None) -> bool:
        return self.may(staff, Operation.READ, topics.REVIEW_MATCHES)

    def decides(self, staff: Staff | None) -> bool:
        return self.may(staff, Operation.WRITE, topics.REVIEW_DECISIONS)

    async def acknowledge(self, acting: Acting, ack: Acknowledgement) -> None:
        """Publish a person's acknowledgement on the agency's own topic, as the gateway does
        for a system (answered once the broker has it), and show it at once."""
        assert acting.agency is not None
        spec = topics.AGENCY_ACKS[acting.agency]
        assert self.permissions.allows(acting.principal, Operation.WRITE, spec)
        name = topic_name(spec, self.settings)
        await self.publisher.send(name, ack.notification_id, ack.model_dump_json().encode())
        self.inbox.acknowledgement(ack)
        self.metrics.acknowledgements.labels(acting.agency.value, ack.status.value).inc()

    async def record(self, event: InboxActivity) -> None:
        """Keep what someone did in an inbox (the audit, and who has what after a restart)."""
        name = topic_name(topics.INBOX_ACTIVITY, self.settings)
        key = f"{event.agency.value}/{event.organisation}"
        await self.publisher.send(name, key, event.model_dump_json().encode())
        self.activity.apply(event)
        self.metrics.inbox_activity.labels(event.action).inc()

    async def publish(self, pair: Pair, decision: ReviewDecision) -> None:
        """Publish a decision (answered once the broker has it) and show it at once."""
        name = topic_name(topics.REVIEW_DECISIONS, self.settings)
        await self.publisher.send(name, pair.key, decision.model_dump_json().encode())
        self.book.decision(decision)
        self.metrics.decisions.labels(decision.decision).inc()
