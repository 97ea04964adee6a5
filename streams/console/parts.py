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

from starlette.templating import Jinja2Templates

from schemas import ReviewDecision
from streams import topics
from streams.access import Acting, Operation, Permissions
from streams.console.book import Pair, ReviewBook
from streams.console.claims import Claims
from streams.console.metrics import ConsoleMetrics
from streams.console.sessions import Sessions, Staff
from streams.console.settings import ConsoleSettings
from streams.console.signin import SignIn
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

    def may(self, staff: Staff | None, operation: Operation, spec: TopicSpec) -> bool:
        """Whether any party the person acts as may do this on the topic (the access plan)."""
        return staff is not None and any(self.acting(staff, operation, spec))

    def acting(self, staff: Staff, operation: Operation, spec: TopicSpec) -> list[Acting]:
        return [a for a in staff.acting if self.permissions.allows(a.principal, operation, spec)]

    def reviewer(self, staff: Staff | None) -> bool:
        return self.may(staff, Operation.READ, topics.REVIEW_MATCHES)

    def decides(self, staff: Staff | None) -> bool:
        return self.may(staff, Operation.WRITE, topics.REVIEW_DECISIONS)

    async def publish(self, pair: Pair, decision: ReviewDecision) -> None:
        """Publish a decision (answered once the broker has it) and show it at once."""
        name = topic_name(topics.REVIEW_DECISIONS, self.settings)
        await self.publisher.send(name, pair.key, decision.model_dump_json().encode())
        self.book.decision(decision)
        self.metrics.decisions.labels(decision.decision).inc()
