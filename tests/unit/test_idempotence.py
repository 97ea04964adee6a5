"""A refused idempotent session is renewed on the real aiokafka producer: the next batch
is numbered from 0 under the producer id the broker gives next, and nothing else is."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    KafkaTimeoutError,
    LeaderNotAvailableError,
    OutOfOrderSequenceNumber,
    RequestTimedOutError,
)
from aiokafka.record.memory_records import MemoryRecords

from streams.settings import Settings
from streams.topics.follow import Publisher
from streams.topics.idempotence import SessionNotRenewable, renew_if_broken

pytestmark = pytest.mark.asyncio
TP = TopicPartition("t.notify.school.v1", 2)


def _numbered(producer: AIOKafkaProducer, pid: int, records: int) -> None:
    """As after a session with the broker: an id, and ``records`` numbered on TP."""
    producer._txn_manager.set_pid_and_epoch(pid, 0)
    producer._txn_manager.increment_sequence_number(TP, records)


async def _next_batch(producer: AIOKafkaProducer) -> Any:
    """The next batch for TP as the sender would take it from the accumulator and send
    it: its header, as the broker reads it."""
    await producer._message_accumulator.add_message(TP, b"k", b"v", timeout=1)
    sent = producer._message_accumulator._pop_batch(TP).get_data_buffer()
    return MemoryRecords(bytes(sent)).next_batch()


async def test_a_spent_sequence_starts_a_new_session_numbered_from_zero() -> None:
    producer = AIOKafkaProducer(enable_idempotence=True, acks="all")
    try:
        _numbered(producer, pid=7, records=5)  # one of them expired unsent: the broker has 4
        assert renew_if_broken(producer, OutOfOrderSequenceNumber())
        manager = producer._txn_manager
        assert not manager.has_pid()  # the sender asks for a new id before the next batch
        manager.set_pid_and_epoch(8, 0)  # as the broker's answer does; no second result
        await manager.wait_for_pid()
        batch = await _next_batch(producer)
        assert (batch.producer_id, batch.base_sequence) == (8, 0)
    finally:
        await producer.stop()


@pytest.mark.parametrize("error", [LeaderNotAvailableError(), OutOfOrderSequenceNumber()])
async def test_a_batch_that_expired_unsent_or_was_refused_renews(error: Exception) -> None:
    producer = AIOKafkaProducer(enable_idempotence=True)
    try:
        _numbered(producer, pid=3, records=2)
        assert renew_if_broken(producer, error)
        assert producer._txn_manager.sequence_number(TP) == 0
    finally:
        await producer.stop()


@pytest.mark.parametrize("error", [KafkaTimeoutError(), RequestTimedOutError(), ValueError()])
async def test_any_other_error_leaves_the_session_as_it_is(error: Exception) -> None:
    producer = AIOKafkaProducer(enable_idempotence=True)
    try:
        _numbered(producer, pid=3, records=2)
        assert not renew_if_broken(producer, error)
        assert (producer._txn_manager.producer_id, producer._txn_manager.sequence_number(TP)) == (
            3,
            2,
        )
    finally:
        await producer.stop()


async def test_no_session_yet_or_no_idempotence_has_nothing_to_renew() -> None:
    waiting = AIOKafkaProducer(enable_idempotence=True)
    plain = AIOKafkaProducer(acks=1)
    try:
        assert not renew_if_broken(waiting, OutOfOrderSequenceNumber())
        assert not renew_if_broken(plain, OutOfOrderSequenceNumber())
    finally:
        await waiting.stop()
        await plain.stop()


async def test_a_transactional_producer_is_not_renewed_but_said_so() -> None:
    producer = AIOKafkaProducer(transactional_id="frontdoor-test")
    try:
        _numbered(producer, pid=3, records=2)
        with pytest.raises(SessionNotRenewable):
            renew_if_broken(producer, OutOfOrderSequenceNumber())
    finally:
        await producer.stop()


async def test_the_gateways_and_consoles_publisher_renews_then_reports_the_failure() -> None:
    publisher = Publisher(Settings(topic_prefix="t."))
    producer = publisher._producer
    _numbered(producer, pid=11, records=9)

    async def refused(*args: object, **kwargs: object) -> None:
        raise OutOfOrderSequenceNumber()

    producer.send_and_wait = refused  # type: ignore[method-assign]
    try:
        with pytest.raises(OutOfOrderSequenceNumber):  # the caller answers 503 / retries
            await publisher.send("t.police.MPS.incidents.v1", "MPS:1", b"{}")
        assert not producer._txn_manager.has_pid()
    finally:
        await publisher.stop()
