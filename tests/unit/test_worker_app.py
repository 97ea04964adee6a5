"""The worker's faust app as ``/health`` sees it while it starts, and as a rebalance
takes its partitions."""

from __future__ import annotations

import asyncio
import warnings

import faust
import pytest
from faust.exceptions import ConsumerNotStarted

from streams.settings import Settings
from streams.worker.app import create_app


class _ThreadNotStarted:
    """faust's consumer made, its thread not started yet (a moment at every start)."""

    def assignment(self) -> set[object]:
        raise ConsumerNotStarted("Consumer thread not yet started")


@pytest.mark.asyncio
async def test_a_consumer_whose_thread_has_not_started_owns_nothing_and_is_not_ready() -> None:
    """A fault test asked /health at that moment and got a 500 (ConsumerNotStarted)."""
    app = create_app(Settings(topic_prefix="t."))
    app._consumer = _ThreadNotStarted()
    assert app.assigned() == set()
    assert not app.is_ready()


class _Owning:
    """faust's consumer owning partitions, its flow stoppable."""

    def __init__(self) -> None:
        self.flowing = True

    def assignment(self) -> set[object]:
        return {("frontdoor.police.incidents.v1", 0)}

    def stop_flow(self) -> None:
        self.flowing = False


@pytest.mark.asyncio
async def test_partitions_are_given_up_only_once_the_batch_in_hand_is_delivered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A table write delivered after the next owner rebuilt its table lands behind the new
    owner's: a later rebuild reads a child's history as it was before (R12 escalations
    never sent, the fault suite's kill test). The old owner delivers first."""
    app = create_app(Settings(topic_prefix="t."))
    consumer = _Owning()
    app._consumer = consumer  # type: ignore[assignment]
    delivering = [True]
    app.holding.append(lambda: delivering[0])
    handed: list[bool] = []  # at faust's revocation: was a batch still in hand?

    async def faust_revokes(self: object, revoked: object) -> None:
        handed.append(delivering[0])

    monkeypatch.setattr(faust.App, "_on_partitions_revoked", faust_revokes)

    async def deliver_later() -> None:
        await asyncio.sleep(0.3)
        delivering[0] = False

    delivered = asyncio.ensure_future(deliver_later())
    await app._on_partitions_revoked(set())
    await delivered
    assert handed == [False]
    assert not consumer.flowing  # no new batch taken meanwhile

    delivering[0] = True  # a batch that never settles (the broker away): not forever
    with warnings.catch_warnings():  # faust warns of a setting changed after use: read anew
        warnings.simplefilter("ignore")
        app.conf.broker_rebalance_timeout = 0.5
    await app._on_partitions_revoked(set())
    assert handed == [False, True]
