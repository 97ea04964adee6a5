"""Webhook pushes: each new notification (and each new revision) POSTed to its
organisation's registered URL, signed (``streams.edge.signing``), retried with bounded
backoff, and given up on with an ``undeliverable`` compliance alert, never silently.

The dispatcher is a consumer group that commits an offset only once it and everything
before it on the partition were delivered or given up (the alert published), so a
restart re-sends what was under way and loses nothing (receivers drop repeats by
``webhook-id``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from pydantic import ValidationError

from schemas import Notification, WebhookRegistration
from schemas.compliance import AlertSubject
from schemas.enums import AlertKind
from schemas.webhook import registration_key
from streams import topics
from streams.compliance import compliance_alert, join_rules
from streams.edge.follower import Registrations
from streams.edge.gateway import Publishes
from streams.edge.metrics import EdgeMetrics
from streams.edge.signing import Backoff, derive_secret, sign
from streams.settings import Settings
from streams.topics import topic_name

log = logging.getLogger("frontdoor.edge")


@dataclass
class Delivery:
    """One notification to push: where to, and its bytes exactly as published."""

    registration_key: str
    notification: Notification
    body: bytes


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        registrations: Registrations,
        publisher: Publishes,
        metrics: EdgeMetrics,
        gateway_key: bytes,
        backoff: Backoff,
        clock: Callable[[], datetime],
        attempt_timeout_s: float = 10.0,
        in_flight: int = 1000,
    ) -> None:
        self._settings = settings
        self._registrations = registrations
        self._publisher = publisher
        self._metrics = metrics
        self._key = gateway_key
        self._backoff = backoff
        self._clock = clock
        self._timeout_s = attempt_timeout_s
        self._slots = asyncio.Semaphore(in_flight)
        self._rng = random.Random()
        self._client = httpx.AsyncClient(follow_redirects=False)

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            *(topic_name(s, self._settings) for s in topics.NOTIFY.values()),
            **self._settings.aiokafka_options(),
            group_id=f"{self._settings.topic_prefix}edge-webhooks",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        pending: dict[TopicPartition, deque[list[Any]]] = {}
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=200, max_records=500)
                for tp, records in batch.items():
                    queue = pending.setdefault(tp, deque())
                    for record in records:
                        entry: list[Any] = [record.offset, False]
                        queue.append(entry)
                        delivery = self._delivery(record.value)
                        if delivery is None:
                            entry[1] = True
                            continue
                        await self._slots.acquire()
                        task = asyncio.create_task(self._deliver(delivery, entry))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                await self._commit(consumer, pending)
        finally:
            for task in tasks:
                task.cancel()
            await self._client.aclose()
            await consumer.stop()

    async def _commit(
        self, consumer: AIOKafkaConsumer, pending: dict[TopicPartition, deque[list[Any]]]
    ) -> None:
        """Commit, per partition, past every record delivered or given up so far in order."""
        offsets: dict[TopicPartition, int] = {}
        for tp, queue in pending.items():
            last = None
            while queue and queue[0][1]:
                last = queue.popleft()[0]
            if last is not None:
                offsets[tp] = last + 1
        if offsets:
            try:
                await consumer.commit(offsets)
            except (CommitFailedError, KafkaError) as exc:  # a rebalance: redelivered later
                log.warning(
                    "webhook offsets not committed (%s); redelivery follows", type(exc).__name__
                )

    def _delivery(self, value: bytes | None) -> Delivery | None:
        if value is None:
            return None
        try:
            notification = Notification.model_validate_json(value)
        except ValidationError:
            self._metrics.unreadable.labels("notification").inc()
            return None
        recipient = notification.recipient
        hook = registration_key(recipient.agency, recipient.organisation)
        if self._registrations.get(hook) is None:
            return None
        return Delivery(hook, notification, value)

    async def _deliver(self, delivery: Delivery, entry: list[Any]) -> None:
        self._metrics.in_flight.inc()
        try:
            await self.deliver(delivery)
        except Exception as exc:  # never lose the offset's place silently: alert instead
            log.error("webhook delivery failed unexpectedly (%s)", type(exc).__name__)
            await self._give_up(delivery)
        finally:
            entry[1] = True
            self._metrics.in_flight.dec()
            self._slots.release()

    async def deliver(self, delivery: Delivery) -> str:
        """Push one notification until the receiver answers 2xx or the time is up;
        returns the outcome (``delivered``, ``gave_up``, ``unregistered``)."""
        notification = delivery.notification
        agency = notification.recipient.agency.value
        message_id = f"{notification.notification_id}.r{notification.revision}"
        started = time.monotonic()
        attempt = 0
        while True:
            registration = self._registrations.get(delivery.registration_key)
            if registration is None:
                self._metrics.deliveries.labels(agency, "unregistered").inc()
                return "unregistered"
            if attempt:
                self._metrics.retries.labels(agency).inc()
            result = await self._attempt(registration, message_id, delivery.body)
            self._metrics.attempts.labels(agency, result).inc()
            if result == "ok":
                self._metrics.deliveries.labels(agency, "delivered").inc()
                self._metrics.delivery_time.labels(agency).observe(time.monotonic() - started)
                return "delivered"
            wait = self._backoff.delay(attempt, self._rng)
            if time.monotonic() - started + wait > self._backoff.give_up_after_s:
                await self._give_up(delivery)
                return "gave_up"
            await asyncio.sleep(wait)
            attempt += 1

    async def _attempt(
        self, registration: WebhookRegistration, message_id: str, body: bytes
    ) -> str:
        secret = derive_secret(
            self._key,
            registration_key(registration.agency, registration.organisation),
            registration.secret_version,
        )
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, message_id, timestamp, body),
            "user-agent": "frontdoor-webhooks/1",
        }
        try:
            response = await self._client.post(
                registration.url, content=body, headers=headers, timeout=self._timeout_s
            )
        except httpx.TimeoutException:
            return "timeout"
        except httpx.HTTPError:
            return "connect_error"
        if 200 <= response.status_code < 300:
            return "ok"
        return "http_4xx" if response.status_code < 500 else "http_5xx"

    async def _give_up(self, delivery: Delivery) -> None:
        """The agency could not be reached: a compliance alert, never a silent drop."""
        notification = delivery.notification
        recipient = notification.recipient
        self._metrics.deliveries.labels(recipient.agency.value, "gave_up").inc()
        alert = compliance_alert(
            AlertKind.UNDELIVERABLE,
            f"{notification.notification_id}:r{notification.revision}",
            AlertSubject(
                notification_id=notification.notification_id,
                incident_reference=notification.incident_reference,
                organisation=recipient.organisation,
            ),
            self._clock(),
            deadline=notification.deadline,
            agency=recipient.agency,
            rule=join_rules(notification.rules),
        )
        topic = topic_name(topics.COMPLIANCE_ALERTS, self._settings)
        while True:  # the alert must land; the offset waits for it
            try:
                await self._publisher.send(topic, alert.alert_id, alert.model_dump_json().encode())
                return
            except KafkaError as exc:
                log.warning(
                    "undeliverable alert not yet published (%s); retrying", type(exc).__name__
                )
                await asyncio.sleep(1)
