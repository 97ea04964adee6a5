"""A partition the Committer sends back to a gap is read again, whatever faust's fetch loop
was handing over at that moment (streams/worker/app.py, ``_EveryRecord``), and so is one
whose last records were skipped, with no later record to show the gap (``unstall``).

faust's own fetch loop (``Consumer._drain_messages``) runs here on the worker's real
consumer, unstarted, with a fetch stood in for the broker's: the seek comes in the
middle of handing over a fetch from beyond the gap, as it did in CI."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from aiokafka import TopicPartition
from aiokafka.structs import OffsetAndMetadata
from faust.types import TP

from streams.routing import default_policy_text, parse_policy
from streams.settings import Settings
from streams.worker.app import create_app
from streams.worker.committer import RESEEK_S, STALLED_S, Committer

PARTITION = TP("frontdoor.police.incidents.v1", 0)


def test_records_read_again_after_a_seek_back_are_handed_over_not_dropped(tmp_path: Any) -> None:
    handed: list[int] = []
    fetches = [[100, 101, 102], [50, 51, 52, 100, 101, 102, 103]]  # then again from 50

    async def drain() -> None:
        app = create_app(  # in the loop: faust's services take the loop they are made in
            Settings(topic_prefix="", partitions=4, state_dir=tmp_path),
            lambda: datetime(2026, 12, 7, tzinfo=UTC),
            parse_policy(default_policy_text()),
        )
        consumer: Any = app.consumer
        stopped = asyncio.Event()

        async def seek_in_the_fetcher(tp: TP, offset: int) -> None:
            return None  # aiokafka would move its fetch position: the fetches stand in

        async def on_message(message: Any) -> None:
            handed.append(message.offset)
            if message.offset == 100 and len(handed) == 1:  # a gap found before 100
                await consumer.seek(PARTITION, 50)

        def getmany(timeout: float) -> AsyncIterator[tuple[TP, Any]]:
            async def fetched() -> AsyncIterator[tuple[TP, Any]]:
                if not fetches:
                    stopped.set()
                    return
                for offset in fetches.pop(0):
                    yield (
                        PARTITION,
                        SimpleNamespace(
                            topic=PARTITION.topic, partition=0, offset=offset, key=b"k", value=b"v"
                        ),
                    )

            return fetched()

        consumer._seek = seek_in_the_fetcher
        consumer.callback = on_message
        consumer.getmany = getmany
        fetcher = SimpleNamespace(_stopped=stopped)
        await asyncio.wait_for(consumer._drain_messages(fetcher), timeout=10)

    asyncio.run(drain())
    # faust's own read offsets would have dropped 50, 51 and 52 (below 102, handed over
    # after the seek), and the repeats of 100-102
    assert handed == [100, 101, 102, 50, 51, 52, 100, 101, 102, 103]


class Partitions:
    """What the Committer asks aiokafka's consumer: assignment, end and committed offsets."""

    def __init__(self, ends: dict[TopicPartition, int], committed: dict[TopicPartition, int]):
        self.ends, self.committed_at = ends, committed
        self.asked: list[set[TopicPartition]] = []  # each request for committed offsets
        self._coordinator = self  # aiokafka's: it takes many partitions a request

    def assignment(self) -> set[TopicPartition]:
        return set(self.ends)

    def highwater(self, tp: TopicPartition) -> int:
        return self.ends[tp]

    async def fetch_committed_offsets(
        self, tps: list[TopicPartition]
    ) -> dict[TopicPartition, OffsetAndMetadata]:
        self.asked.append(set(tps))
        return {tp: OffsetAndMetadata(self.committed_at.get(tp, -1), "") for tp in tps}

    async def beginning_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return dict.fromkeys(tps, 0)


def test_records_waiting_past_the_commit_with_nothing_settled_are_read_again_then_less_often() -> (
    None
):
    incidents = TopicPartition(PARTITION.topic, 0)
    caught_up = TopicPartition(PARTITION.topic, 1)
    never_read = TopicPartition(PARTITION.topic, 2)
    changelog = TopicPartition("frontdoor-history-changelog", 0)  # another agent's or faust's
    consumer = Partitions(
        {incidents: 153, caught_up: 150, never_read: 40, changelog: 99},
        {incidents: 150, caught_up: 150, changelog: 3},  # never_read: nothing committed
    )
    committer = Committer(
        SimpleNamespace(consumer_generation_id=1),  # type: ignore[arg-type]
        "incident_arrived",
        {PARTITION.topic},
        busy=lambda: False,
    )

    def stalled_at(now: float) -> dict[TopicPartition, int]:
        return asyncio.run(committer._stalled(consumer, now))

    assert stalled_at(0.0) == {}  # first seen waiting
    # this agent's partitions' commits asked once, in one request, not one a partition
    assert consumer.asked == [{incidents, caught_up, never_read}]
    assert stalled_at(STALLED_S - 0.1) == {}
    assert stalled_at(STALLED_S) == {incidents: 150, never_read: 0}
    assert stalled_at(2 * STALLED_S) == {}  # not again after STALLED_S ...
    assert stalled_at(3 * STALLED_S) == {incidents: 150, never_read: 0}  # ... but 2 x
    committer.next[incidents] = 152  # two of the three settled: waiting afresh
    assert stalled_at(3.5 * STALLED_S) == {}
    assert stalled_at(4.5 * STALLED_S) == {incidents: 152}
    committer.next[never_read] = 40  # all settled
    assert never_read not in stalled_at(100 * STALLED_S)


def test_a_gap_is_sought_once_not_again_for_every_batch_that_still_shows_it() -> None:
    """Records fetched from beyond a gap keep coming after the seek: one seek, in the
    consumer's thread, until RESEEK_S has passed with the gap still open."""
    incidents = TopicPartition(PARTITION.topic, 0)
    committer = Committer(
        SimpleNamespace(consumer_generation_id=1),  # type: ignore[arg-type]
        "incident_arrived",
        {PARTITION.topic},
        busy=lambda: False,
    )
    seeks: list[dict[TopicPartition, int]] = []

    async def in_thread(call: Any, offsets: dict[TopicPartition, int]) -> None:
        assert call == committer._seek
        seeks.append(offsets)

    committer._in_thread = in_thread  # type: ignore[method-assign]
    for _ in range(5):  # five batches from beyond the gap, one after another
        asyncio.run(committer._read_again({incidents: 150}, "events missing before"))
    assert seeks == [{incidents: 150}]
    asyncio.run(committer._read_again({incidents: 151}, "events missing before"))  # another
    assert seeks[-1] == {incidents: 151}
    committer.sought[incidents] = (151, time.monotonic() - RESEEK_S)  # still open
    asyncio.run(committer._read_again({incidents: 151}, "events missing before"))
    assert len(seeks) == 3


def _event(tp: TopicPartition, offset: int) -> Any:
    return SimpleNamespace(
        message=SimpleNamespace(topic=tp.topic, partition=tp.partition, offset=offset)
    )


def test_records_handed_over_again_after_they_were_settled_are_skipped_not_processed_twice() -> (
    None
):
    """A stall judged just before the batch in hand settled (the worker was only slow):
    the seek back hands the settled records over again. They are not processed twice
    (a re-read incident was counted twice in /metrics: CI, 2026-12-08)."""
    incidents, other = TopicPartition(PARTITION.topic, 0), TopicPartition(PARTITION.topic, 1)
    app = SimpleNamespace(consumer_generation_id=1)
    committer = Committer(app, "incident_arrived", {PARTITION.topic}, busy=lambda: False)  # type: ignore[arg-type]
    committer._same_generation()
    committer.next[incidents] = 2  # 0 and 1 settled and committed
    handed = [_event(incidents, 0), _event(incidents, 1), _event(incidents, 2), _event(other, 0)]
    fresh = committer.unsettled(handed)
    assert [(e.message.partition, e.message.offset) for e in fresh] == [(0, 2), (1, 0)]

    seeks: list[tuple[TopicPartition, int]] = []
    consumer = SimpleNamespace(
        assignment=lambda: {incidents, other}, seek=lambda tp, o: seeks.append((tp, o))
    )
    # judged stalled at 0 and 0; 0 has settled to 2 since: only the other is sought
    asyncio.run(committer._seek(consumer, {incidents: 0, other: 0}))
    assert seeks == [(other, 0)]

    app.consumer_generation_id = 2  # a new generation: what was settled here may not be
    assert len(committer.unsettled(handed)) == 4
