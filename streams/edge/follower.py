"""What the gateway shows, followed from the topics: every partition of the notification
topics, ``notify.acks.v1`` and the webhook registrations, from the beginning and with no
consumer group (every gateway holds all of it), into the ``Inbox`` and the
``Registrations``; the gateway is ready once it has caught up."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from pydantic import ValidationError

from schemas import Acknowledgement, Notification, WebhookRegistration
from streams import topics
from streams.edge.metrics import EdgeMetrics
from streams.inbox import Inbox
from streams.settings import Settings
from streams.topics import topic_name
from streams.topics.follow import follow

log = logging.getLogger("frontdoor.edge")


class Registrations:
    """Each organisation's webhook, as registered (``<agency>/<organisation>`` keys)."""

    def __init__(self) -> None:
        self._by_key: dict[str, WebhookRegistration] = {}

    def get(self, key: str) -> WebhookRegistration | None:
        return self._by_key.get(key)

    def put(self, key: str, registration: WebhookRegistration | None) -> None:
        if registration is None:
            self._by_key.pop(key, None)
        else:
            self._by_key[key] = registration


@dataclass
class Follower:
    settings: Settings
    inbox: Inbox
    registrations: Registrations
    metrics: EdgeMetrics
    caught_up: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        notify = {topic_name(s, self.settings) for s in topics.NOTIFY.values()}
        acks = topic_name(topics.ACKS, self.settings)
        hooks = topic_name(topics.WEBHOOKS, self.settings)

        def apply(topic: str, key: bytes | None, value: bytes | None) -> None:
            self._apply(topic, key, value, notify, acks)

        def counted() -> None:
            self.metrics.held.set(len(self.inbox))

        await follow(self.settings, [*notify, acks, hooks], apply, self.caught_up, counted)

    def _apply(
        self, topic: str, key: bytes | None, value: bytes | None, notify: set[str], acks: str
    ) -> None:
        try:
            if topic in notify and value is not None:
                self.inbox.notification(Notification.model_validate_json(value))
            elif topic == acks and value is not None:
                self.inbox.acknowledgement(Acknowledgement.model_validate_json(value))
            elif key is not None and topic not in notify and topic != acks:
                registration = (
                    WebhookRegistration.model_validate_json(value) if value is not None else None
                )
                self.registrations.put(key.decode(), registration)
        except (ValidationError, UnicodeDecodeError):
            kind = (
                "notification"
                if topic in notify
                else "acknowledgement"
                if topic == acks
                else "webhook"
            )
            self.metrics.unreadable.labels(kind).inc()
            log.warning("unreadable record on a %s topic skipped", kind)
