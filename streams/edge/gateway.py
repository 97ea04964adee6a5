"""Everything the gateway's routes need, as one object on ``app.state``: built by the
shell (``streams.edge.service``) from settings, or by a test with fakes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from schemas import WebhookRegistration
from streams.access import Permissions
from streams.clock import Clock
from streams.edge.credentials import Credentials
from streams.edge.metrics import EdgeMetrics
from streams.edge.ratelimit import RateLimiter
from streams.edge.replies import Replies
from streams.inbox import Inbox
from streams.settings import Settings


class Publishes(Protocol):
    """Put one record on a topic; returns once the broker has it (acks=all)."""

    async def send(self, topic: str, key: str, value: bytes | None) -> None: ...


class Registers(Protocol):
    """Each organisation's webhook, by ``<agency>/<organisation>``."""

    def get(self, key: str) -> WebhookRegistration | None: ...
    def put(self, key: str, registration: WebhookRegistration | None) -> None: ...


@dataclass
class Gateway:
    settings: Settings
    permissions: Permissions
    credentials: Credentials
    publisher: Publishes
    inbox: Inbox
    registrations: Registers
    replies: Replies
    limiter: RateLimiter
    metrics: EdgeMetrics
    clock: Clock
    gateway_key: bytes
    ready: Callable[[], bool]
    publish_timeout_s: float = 15.0
    allow_http_webhooks: bool = False
