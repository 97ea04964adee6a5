import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from streams.compliance import DeadlineCommand
from streams.topics import DeadlineCommands
from streams.worker.outbox import Outbox, deliver, partition_of


class _Producer:
    """Records sends; delivery completes only when the test says so."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes | None, int | None]] = []
        self.futures: list[asyncio.Future[Any]] = []

    async def send(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> asyncio.Future[Any]:
        self.sent.append((topic, value, key, partition))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures.append(future)
        return future


def test_partition_of_matches_kafkas_default_partitioner() -> None:
    # murmur2 values from Kafka's own UtilsTest; the partitioner takes toPositive(h) % n.
    assert partition_of(b"21", 12) == (-973932308 & 0x7FFFFFFF) % 12
    assert partition_of(b"foobar", 100) == (-790332482 & 0x7FFFFFFF) % 100


def test_internal_events_travel_as_one_batch_per_partition_in_order() -> None:
    out = Outbox(partitions=4)
    ids = [f"notification-{n}" for n in range(40)]
    for item_id in ids:
        out.send_internal("deadlines", item_id, DeadlineCommand(op="close", id=item_id))
    out.send("audit", "K-1", b"{}")
    records = list(out.messages())
    assert records[0].topic == "audit" and records[0].key == b"K-1"
    batches = records[1:]
    assert len(batches) == len({partition_of(i.encode(), 4) for i in ids}) <= 4
    seen: list[str] = []
    for record in batches:
        assert record.key is None and record.partition is not None
        items = DeadlineCommands.model_validate_json(record.value).items
        assert {partition_of(c.id.encode(), 4) for c in items} == {record.partition}
        got = [c.id for c in items]
        assert got == [i for i in ids if i in got]  # arrival order kept within a partition
        seen += got
    assert sorted(seen) == sorted(ids)


def test_deliver_returns_only_once_every_message_is_acknowledged() -> None:
    async def scenario() -> None:
        producer = _Producer()
        out = Outbox(partitions=2)
        out.send("notify", "n-1", b"a")
        out.send_internal("history", "child-1", DeadlineCommand(op="check", id="x"))
        observed: list[str] = []
        out.then(lambda: observed.append("after"))
        task = asyncio.create_task(deliver(producer, out))
        while len(producer.futures) < 2:
            await asyncio.sleep(0)
        producer.futures[0].set_result(None)
        await asyncio.sleep(0.01)
        assert not task.done() and observed == []
        producer.futures[1].set_result(None)
        assert await asyncio.wait_for(task, 5) == 2
        assert observed == ["after"]

    asyncio.run(scenario())


def test_a_tables_changelog_is_sent_only_once_what_the_batch_sent_is_on_the_broker() -> None:
    """Killed between the two, the next owner's table does not say done what was not sent."""

    async def scenario() -> None:
        producer = _Producer()
        out = Outbox(partitions=2)
        offsets: list[int] = []
        out.send_to("history-changelog", b"child-1", b"[escalated]", 0, offsets.append)
        out.send("notify", "n-1", b"R12")
        out.send_internal("audit-batch", "child-1", DeadlineCommand(op="check", id="x"))
        task = asyncio.create_task(deliver(producer, out))
        while len(producer.futures) < 2:
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        assert [t for t, *_ in producer.sent] == ["notify", "audit-batch"]  # not the state yet
        producer.futures[0].set_result(SimpleNamespace(offset=7))
        await asyncio.sleep(0.01)
        assert len(producer.sent) == 2  # one of the two still unacknowledged
        producer.futures[1].set_result(SimpleNamespace(offset=8))
        while len(producer.futures) < 3:
            await asyncio.sleep(0)
        assert producer.sent[2][0] == "history-changelog" and not task.done()
        producer.futures[2].set_result(SimpleNamespace(offset=41))
        assert await asyncio.wait_for(task, 5) == 3
        assert offsets == [41]

    asyncio.run(scenario())


def test_a_failed_delivery_is_raised_not_swallowed() -> None:
    async def scenario() -> None:
        producer = _Producer()
        out = Outbox(partitions=1)
        out.send("notify", "n-1", b"a")
        task = asyncio.create_task(deliver(producer, out))
        while not producer.futures:
            await asyncio.sleep(0)
        producer.futures[0].set_exception(RuntimeError("broker said no"))
        with pytest.raises(RuntimeError, match="broker said no"):
            await asyncio.wait_for(task, 5)

    asyncio.run(scenario())


def test_a_rollback_undoes_one_events_output_but_keeps_table_changelog_writes() -> None:
    out = Outbox(partitions=4)
    out.send("audit", "k1", b"first")
    out.send_internal("deadlines", "n1", DeadlineCommand(op="check", id="n1"))
    mark = out.checkpoint()
    out.send("audit", "k2", b"second")
    out.send_internal("deadlines", "n1", DeadlineCommand(op="check", id="n2"))
    out.send_internal("history", "c1", DeadlineCommand(op="check", id="c1"))
    out.send_to("pending-changelog", b"k2", b"state", 1, on_delivered=lambda offset: None)
    out.then(lambda: None)

    out.rollback(mark)

    assert [(r.topic, r.value) for r in out.records] == [
        ("audit", b"first"),
        ("pending-changelog", b"state"),  # the table holds it: its changelog must say so
    ]
    internal = [r for r in out.messages() if r.topic in {"deadlines", "history"}]
    assert [(r.topic, r.value) for r in internal] == [
        ("deadlines", b'{"items":[{"op":"check","id":"n1","item":null}]}')
    ]
    assert out.after_delivery == []


@pytest.mark.asyncio
async def test_the_workers_producer_is_idempotent_and_gives_a_request_30_s_not_20_minutes() -> None:
    """The aiokafka producer the worker delivers through: idempotent (a retried request
    is not written twice) and giving up on a produce response after 30 s, so that one
    lost response is retried, not waited on for faust's default 20 minutes."""
    from streams.settings import Settings
    from streams.worker.app import create_app

    app = create_app(Settings(topic_prefix="t."))
    producer = app.producer._new_producer()
    try:
        assert producer._txn_manager is not None  # idempotence on
        assert producer.client._request_timeout_ms == 30_000
        assert producer._sender._request_timeout_ms == 30_000
    finally:
        await producer.stop()
