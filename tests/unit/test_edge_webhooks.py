"""Webhook pushes against a real local HTTP receiver that fails, times out and recovers."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from schemas import ComplianceAlert, WebhookRegistration
from streams.edge import (
    Backoff,
    Delivery,
    Dispatcher,
    EdgeMetrics,
    Registrations,
    derive_secret,
    verify,
)
from streams.settings import Settings
from tests.edge_support import FakePublisher, Receiver, notification
from tests.factories import PERSONAL_VALUES

KEY = b"g" * 32
REG = "school/urn:100000"


@pytest.fixture
def registrations() -> Iterator[Registrations]:
    yield Registrations()


@dataclass(frozen=True)
class Recording(Backoff):
    """The dispatcher's backoff, noting each wait it chose (not the wall clock's gaps)."""

    waits: list[float] = field(default_factory=list)

    def delay(self, attempt: int, rng: random.Random) -> float:
        wait = super().delay(attempt, rng)
        self.waits.append(wait)
        return wait


def dispatcher(
    registrations: Registrations, publisher: FakePublisher, give_up_s: float
) -> tuple[Dispatcher, EdgeMetrics]:
    metrics = EdgeMetrics()
    d = Dispatcher(
        Settings(topic_prefix="t."),
        registrations,
        publisher,  # type: ignore[arg-type]
        metrics,
        KEY,
        Backoff(first_s=0.05, cap_s=0.2, give_up_after_s=give_up_s),
        lambda: datetime(2026, 11, 26, 10, 0, tzinfo=UTC),
        attempt_timeout_s=0.3,
    )
    d._rng = random.Random(1)
    return d, metrics


def register(registrations: Registrations, url: str) -> None:
    registrations.put(
        REG,
        WebhookRegistration(
            event_id="whk-1",
            source="frontdoor",
            produced_at=datetime(2026, 11, 26, tzinfo=UTC),
            agency="school",
            organisation="urn:100000",
            url=url,
            secret_version=1,
        ),
    )


def sample(metrics: EdgeMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.mark.asyncio
async def test_a_receiver_that_fails_and_times_out_gets_it_signed_once_it_recovers(
    registrations: Registrations,
) -> None:
    held = notification(1, "urn:100000", "2026-11-27T09:00:00+00:00")
    body = held.model_dump_json().encode()
    publisher = FakePublisher()
    with Receiver([500, 503, "hang"]) as receiver:
        register(registrations, receiver.url)
        d, metrics = dispatcher(registrations, publisher, give_up_s=30)
        backoff = Recording(first_s=0.05, cap_s=0.2, give_up_after_s=30)
        d._backoff = backoff
        outcome = await d.deliver(Delivery(REG, held, body))
    assert outcome == "delivered"
    assert len(receiver.received) == 4
    secret = derive_secret(KEY, REG, 1)
    ids = {headers["webhook-id"] for headers, _, _ in receiver.received}
    assert ids == {
        f"{held.notification_id}.r0"
    }  # the same id on every retry: receivers drop repeats
    for headers, received, _ in receiver.received:
        assert received == body and verify(secret, headers, received, time.time())
    assert not verify(secret, receiver.received[-1][0], body + b" ", time.time())
    # Backing off, not hammering: each wait longer than the last, up to the cap.
    assert len(backoff.waits) == 3
    assert backoff.waits[0] < backoff.waits[1] < backoff.waits[2] <= 0.2
    assert (
        sample(metrics, "frontdoor_edge_webhook_attempts_total", agency="school", result="http_5xx")
        == 2
    )
    assert (
        sample(metrics, "frontdoor_edge_webhook_attempts_total", agency="school", result="timeout")
        == 1
    )
    assert sample(metrics, "frontdoor_edge_webhook_retries_total", agency="school") == 3
    assert (
        sample(
            metrics, "frontdoor_edge_webhook_deliveries_total", agency="school", outcome="delivered"
        )
        == 1
    )
    assert publisher.sent == []


@pytest.mark.asyncio
async def test_an_unreachable_receiver_is_given_up_on_in_bounded_time_with_an_alert(
    registrations: Registrations,
) -> None:
    held = notification(2, "urn:100000", "2026-11-27T09:00:00+00:00")
    publisher = FakePublisher()
    with Receiver([500] * 1000) as receiver:
        register(registrations, receiver.url)
        d, metrics = dispatcher(registrations, publisher, give_up_s=1.0)
        started = time.monotonic()
        outcome = await d.deliver(Delivery(REG, held, held.model_dump_json().encode()))
        took = time.monotonic() - started
    # Given up at its window (1 s), not after a retry for ever; the margin is for a machine
    # busy with the lint beside it.
    assert outcome == "gave_up" and took < 2.5
    assert len(receiver.received) >= 4
    ((topic, key, value),) = publisher.sent
    alert = ComplianceAlert.model_validate_json(value or b"")
    assert topic == "t.compliance.alerts.v1" and key == alert.alert_id
    assert alert.kind.value == "undeliverable" and alert.agency is not None
    assert (alert.subject.notification_id, alert.subject.organisation) == (
        held.notification_id,
        "urn:100000",
    )
    assert not any(v in (value or b"").decode() for v in PERSONAL_VALUES)
    assert (
        sample(
            metrics, "frontdoor_edge_webhook_deliveries_total", agency="school", outcome="gave_up"
        )
        == 1
    )


@pytest.mark.asyncio
async def test_a_receiver_that_unregisters_stops_the_retries(registrations: Registrations) -> None:
    held = notification(3, "urn:100000", "2026-11-27T09:00:00+00:00")
    with Receiver([500] * 1000) as receiver:
        register(registrations, receiver.url)
        d, _ = dispatcher(registrations, FakePublisher(), give_up_s=30)

        def unregister_soon() -> None:
            time.sleep(0.3)
            registrations.put(REG, None)

        threading.Thread(target=unregister_soon).start()
        assert await d.deliver(Delivery(REG, held, b"{}")) == "unregistered"


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    backoff = Backoff(first_s=1, cap_s=60, give_up_after_s=3600)
    rng = random.Random(3)
    delays = [backoff.delay(n, rng) for n in range(12)]
    assert all(2**n / 2 <= d <= 2**n for n, d in enumerate(delays[:5]))
    assert all(30 <= d <= 60 for d in delays[6:])
    assert len({round(d, 6) for d in delays}) == len(delays)
    assert json.dumps(delays)
