"""Which input offsets an agent commits: over settled events only, never past a gap,
and never leaving a partition's last records unread.

Why frontdoor commits and faust does not: see ``streams.worker.running``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from streams.worker import metrics

if TYPE_CHECKING:
    from streams.worker.app import FrontdoorApp

log = logging.getLogger(__name__)

# A partition with records beyond its committed offset, nothing settled on it for
# STALLED_S and no batch in hand, is read again from that offset (``Committer.unstall``).
UNSTALL_EVERY_S, STALLED_S = 2.0, 5.0
RESEEK_S = 2.0  # a gap still open this long after its seek is sought again


class Committer:
    """Commits an agent's input offsets over settled events only, and never past a gap.

    Per partition it knows the offset after the last event it committed (at a new
    group generation: what the group has committed). It advances only over a run of
    consecutive settled offsets from there. Events past a gap are processed, not
    committed, and the partition is read again from the gap: faust, around a
    rebalance, may hand over messages fetched from the old position before it seeks
    back, having skipped the ones before them.

    Runs in faust's consumer thread, with the consumer's current generation: a
    partition this worker no longer owns is left alone, and so is a commit the group
    refuses mid-rebalance (the new owner reads those events again; deterministic ids
    make that harmless). A partition whose records wait beyond its commit with nothing
    settled is read again too (``unstall``): a gap at its end has no later record to show it."""

    def __init__(
        self, app: FrontdoorApp, agent: str, topics: set[str], busy: Callable[[], bool]
    ) -> None:
        self.app = app
        self.agent = agent
        self.topics = topics
        self.busy = busy  # a batch is in hand
        self.generation: int | None = None
        self.next: dict[TopicPartition, int] = {}
        self.waiting: dict[TopicPartition, tuple[int, float, int]] = {}  # offset, since, tries
        self.sought: dict[TopicPartition, tuple[int, float]] = {}  # offset, when

    def _same_generation(self) -> None:
        if self.app.consumer_generation_id != self.generation:
            self.generation = self.app.consumer_generation_id
            self.next.clear()
            self.waiting.clear()
            self.sought.clear()

    async def _in_thread(self, call: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        thread: Any = self.app.consumer._thread  # type: ignore[attr-defined]  # faust's
        return await thread.call_thread(call, thread._ensure_consumer(), *args)

    def unsettled(self, events: list[Any]) -> list[Any]:
        """The events not yet settled: a seek back (to a gap, or a stall that was only
        slow) hands over again records this worker has since settled and committed in
        this generation; they are skipped, not processed twice."""
        self._same_generation()
        fresh = []
        for event in events:
            message = event.message
            mark = self.next.get(TopicPartition(message.topic, message.partition))
            if mark is None or message.offset >= mark:
                fresh.append(event)
        if len(fresh) < len(events):
            metrics.EVENTS_ALREADY_SETTLED.labels(agent=self.agent).inc(len(events) - len(fresh))
        return fresh

    async def settled(self, events: list[Any]) -> None:
        offsets: dict[TopicPartition, set[int]] = {}
        for event in events:
            message = event.message
            tp = TopicPartition(message.topic, message.partition)
            offsets.setdefault(tp, set()).add(message.offset)
        self._same_generation()
        gaps: dict[TopicPartition, int] = await self._in_thread(self._commit, offsets)
        await self._read_again(gaps, "events missing before")

    async def unstall(self, now: float) -> None:
        """Read again any partition of this agent's whose records beyond the committed
        offset have waited STALLED_S, nothing settled and no batch in hand.

        A gap shows when a later record arrives; when the records faust skipped are the
        last a force sent (around a rebalance, as in ``settled``), none arrives, and
        without this they would wait for the next incident on that partition: at night,
        hours. Reading again is harmless if they were only slow (deterministic ids)."""
        if self.busy():
            return  # records held behind the batch in hand are not stalled
        self._same_generation()
        stalled: dict[TopicPartition, int] = await self._in_thread(self._stalled, now)
        await self._read_again(stalled, "records waiting, none settled, from")

    async def _read_again(self, offsets: dict[TopicPartition, int], why: str) -> None:
        """Seek each partition back to its offset, once: records fetched from beyond the
        gap before the seek keep arriving for a while, each batch of them showing the same
        gap; it is sought again only if still open after RESEEK_S."""
        now = time.monotonic()
        fresh = {
            tp: offset
            for tp, offset in offsets.items()
            if self.sought.get(tp, (-1, 0.0))[0] != offset or now - self.sought[tp][1] >= RESEEK_S
        }
        for tp, offset in fresh.items():
            metrics.COMMIT_GAPS.labels(agent=self.agent).inc()
            log.info(
                "%s: %s %s[%d] offset %d; reading again from there",
                self.agent,
                why,
                tp.topic,
                tp.partition,
                offset,
            )
            self.sought[tp] = (offset, now)
        if fresh:
            await self._in_thread(self._seek, fresh)

    async def _seek(self, consumer: Any, offsets: dict[TopicPartition, int]) -> None:
        """In the consumer's own thread: faust's ``Consumer.seek`` calls aiokafka's from
        the caller's, and aiokafka's fetcher, mid-fetch in its thread, then read a
        partition's records just deleted (KeyError: the worker crashed, fault suite,
        2026-12-07). A partition settled past the offset since it was judged stalled or
        gapped (the batch in hand was only slow) is left where it is."""
        owned = consumer.assignment()
        for tp, offset in offsets.items():
            if tp in owned and self.next.get(tp, offset) <= offset:
                consumer.seek(tp, offset)

    async def _stalled(self, consumer: Any, now: float) -> dict[TopicPartition, int]:
        stalled: dict[TopicPartition, int] = {}
        try:  # aiokafka asserts a partition is still assigned: a rebalance may be under way
            ends = {
                tp: consumer.highwater(tp)
                for tp in consumer.assignment()
                if tp.topic in self.topics
            }
            ends = {tp: end for tp, end in ends.items() if end is not None}
            await self._learn(consumer, list(ends))
        except (AssertionError, KafkaError):
            return {}  # the next check, in the next generation
        for tp, end in ends.items():
            start = self.next[tp]
            if start >= end:
                self.waiting.pop(tp, None)
                continue
            offset, since, tries = self.waiting.setdefault(tp, (start, now, 0))
            if offset != start:
                self.waiting[tp] = (start, now, 0)
            elif now - since >= STALLED_S * 2**tries:
                stalled[tp] = start
                # Again after twice as long, up to 10 min: what never settles is no record
                # (a force's transaction markers count in the end offset, never delivered)
                self.waiting[tp] = (start, now, min(tries + 1, 7))
        return stalled

    async def _learn(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        """Where the group's commits stand, for the partitions not known this generation:
        one request for them all. Asked a partition at a time, a new generation's first
        checks held faust's consumer thread (two callers at a time, fetches included)
        for 6-12 s after every rebalance: the fault suite's take-overs took up to 62 s."""
        unknown = [tp for tp in partitions if tp not in self.next]
        if not unknown:
            return
        # aiokafka's committed() asks one partition a request; its coordinator takes many
        commits = await consumer._coordinator.fetch_committed_offsets(unknown)
        found = {tp: commits[tp].offset for tp in unknown if tp in commits}
        never = [tp for tp in unknown if found.get(tp, -1) < 0]
        if never:  # nothing committed yet: from the beginning
            found.update(await consumer.beginning_offsets(never))
        for tp in unknown:
            self.next.setdefault(tp, int(found[tp]))

    async def _commit(
        self, consumer: Any, offsets: dict[TopicPartition, set[int]]
    ) -> dict[TopicPartition, int]:
        owned = consumer.assignment()
        commits: dict[TopicPartition, OffsetAndMetadata] = {}
        gaps: dict[TopicPartition, int] = {}
        await self._learn(consumer, [tp for tp in offsets if tp in owned])
        for tp, seen in offsets.items():
            if tp not in owned:
                continue
            start = run = self.next[tp]
            for offset in sorted(seen):
                if offset == run:
                    run += 1
                elif offset > run:
                    gaps[tp] = run
                    break
            self.next[tp] = run
            if run > start:
                commits[tp] = OffsetAndMetadata(run, "")
        if commits:
            try:
                await consumer.commit(commits)
            except KafkaError as error:
                metrics.COMMITS_REFUSED.inc()
                refused = type(error).__name__
                log.info("commit refused (%s): those events will be read again", refused)
                self.next.clear()
        return gaps
