"""What the gateway shows, followed from the topics: every partition of the notification
topics, ``notify.acks.v1`` and the webhook registrations, from the beginning and with no
consumer group (every gateway holds all of it), into the ``Inbox`` and the
``Registrations``; the gateway is ready once it has caught up."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from schemas import Acknowledgement, Notification, WebhookRegistration
from streams import topics
from streams.edge.inbox import Inbox
from streams.edge.metrics import EdgeMetrics
from streams.settings import Settings
from streams.topics import topic_name

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
        consumer = AIOKafkaConsumer(
            **self.settings.aiokafka_options(),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            partitions = [
                TopicPartition(t, p)
                for t in sorted({*notify, acks, hooks})
                for p in sorted(await _partitions(consumer, t))
            ]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            behind = {tp for tp, end in ends.items() if end > 0}
            if not behind:
                self.caught_up.set()
            while True:
                batch = await consumer.getmany(timeout_ms=200, max_records=2000)
                for tp, records in batch.items():
                    for record in records:
                        self._apply(record.topic, record.key, record.value, notify, acks)
                    if tp in behind and records[-1].offset + 1 >= ends[tp]:
                        behind.discard(tp)
                if behind:
                    for tp in list(behind):
                        if await consumer.position(tp) >= ends[tp]:
                            behind.discard(tp)
                if not behind and not self.caught_up.is_set():
                    self.caught_up.set()
                self.metrics.held.set(len(self.inbox))
        finally:
            await consumer.stop()

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


async def _partitions(consumer: AIOKafkaConsumer, topic: str, timeout_s: float = 30) -> set[int]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = consumer.partitions_for_topic(topic)
        if found:
            return set(found)
        if time.monotonic() > deadline:
            raise RuntimeError(f"topic {topic} not found; run `frontdoor topics create`")
        await consumer._client.force_metadata_update()  # aiokafka: no public refresh
        await asyncio.sleep(0.2)
