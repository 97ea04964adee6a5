"""What every fault test needs: the load, the clean run to compare with, what the workers
actually wrote, and a row in the faults table.

A fault run is judged against a **clean run** of the same input through the same
topology in-process (``WorkerTestDriver``), on the same frozen clock: every notification
id of the clean run must be delivered, no (id, revision) may carry two contents, and
every child's decision must equal the clean run's. Repeat escalation (R12) is on: the
workers take a child's incidents in whatever order they happen to read them, and must
still escalate the same incidents, under the same ids, as the clean run in order.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import json
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from schemas import AuditRecord, ChildRecord, Notification
from streams import access, topics
from streams.operations import acl, verify
from streams.routing import Policy, default_policy_text, parse_policy
from streams.settings import Settings
from streams.tools.platform.localkafka import acting_as
from streams.tools.platform.worker_process import WorkerProcess, free_port, start_worker, wait_for
from streams.tools.synthetic import Council, Incidents, IncidentStream, council, incidents
from streams.topics.io import produce, scan
from streams.worker import WorkerTestDriver

FULL = os.environ.get("FRONTDOOR_FAULTS", "quick") == "full"
RESULTS = Path(os.environ.get("FRONTDOOR_FAULTS_RESULTS", ".local/faults/results.jsonl"))
FROZEN = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # after the synthetic day's reports


def record(**row: Any) -> None:
    """One line of the faults table (``make faults`` prints them)."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as out:
        out.write(json.dumps({"at": datetime.now(UTC).isoformat(), **row}) + "\n")


def frozen(settings: Settings, policy_file: Path, partitions: int = 4) -> Settings:
    """Settings of the test's own (topics with ``partitions`` partitions, created here) on
    the frozen clock (a microsecond a second), with the fault policy."""
    policy_file.write_text(default_policy_text())
    made = settings.model_copy(
        update={
            "topic_prefix": f"{settings.topic_prefix}p{partitions}.",
            "app_id": f"{settings.app_id}-p{partitions}",
            "partitions": partitions,
            "policy_file": policy_file,
            "clock_start": FROZEN,
            "clock_epoch": time.time(),
            "clock_speed": 1e-6,
        }
    )
    acl.provision(made)
    return made


@dataclass
class Load:
    council: Council
    day: Incidents

    @property
    def children(self) -> int:
        return len(self.day.truth)


def load(seed: int, records: int, count: int) -> Load:
    known = council(seed, records)
    return Load(known, incidents(IncidentStream(seed=seed), count, known))


@dataclass
class Outcome:
    """Notifications by id and revision (each distinct content seen), decisions by child."""

    contents: dict[str, dict[int, set[str]]] = field(default_factory=dict)
    decisions: dict[tuple[str, str], str] = field(default_factory=dict)

    def add_notification(self, value: bytes) -> None:
        n = Notification.model_validate_json(value)
        content = n.model_dump_json(exclude={"produced_at", "incident_published_at"})
        self.contents.setdefault(n.notification_id, {}).setdefault(n.revision, set()).add(content)

    def add_audit(self, value: bytes) -> None:
        a = AuditRecord.model_validate_json(value)
        if a.stage == "routed":
            self.decisions[(a.incident_reference, a.child.person_reference)] = str(a.child.decision)

    def latest(self, nid: str) -> set[str]:
        revisions = self.contents[nid]
        return revisions[max(revisions)]


def clean_run(the_load: Load) -> Outcome:
    """The same input through the same topology, in-process, one incident at a time."""
    policy: Policy = parse_policy(default_policy_text())
    outcome = Outcome()
    settings = Settings(topic_prefix="", partitions=4)
    with WorkerTestDriver(FROZEN, policy=policy, settings=settings) as driver:
        driver.council(ChildRecord.model_validate_json(v) for _, v in the_load.council.events())
        for key, value in the_load.day.events:
            driver.send(topics.POLICE_INCIDENTS, key, value)
        notify = {driver.ctx.name(s) for s in topics.NOTIFY.values()}
        for sent in driver.sent:
            if sent.topic in notify and sent.value is not None:
                outcome.add_notification(sent.value)
            elif sent.topic == driver.ctx.name(topics.AUDIT) and sent.value is not None:
                outcome.add_audit(sent.value)
    return outcome


def written(settings: Settings) -> Outcome:
    outcome = Outcome()
    scan(settings, list(topics.NOTIFY.values()), lambda m: outcome.add_notification(m.value))
    scan(settings, [topics.AUDIT], lambda m: outcome.add_audit(m.value))
    return outcome


@dataclass(frozen=True)
class Judgement:
    missing: int  # notification ids of the clean run never delivered
    extra: int  # ids the clean run did not make
    conflicting: int  # (id, revision) pairs delivered with two different contents
    different_final: int  # ids whose latest content differs from the clean run's
    decisions_differing: int  # children decided otherwise than in the clean run

    @property
    def clean(self) -> bool:
        return not (
            self.missing
            or self.extra
            or self.conflicting
            or self.different_final
            or self.decisions_differing
        )


def converged(settings: Settings, clean: Outcome, timeout_s: float) -> Outcome:
    """What the run delivered, once it has caught up with the clean run (or after
    ``timeout_s``: the judgement then says what is still missing or different). Every
    incident audited is not the end of the run: a repeat escalation (R12) comes from a
    child's history a second step later, and on a loaded machine that step lags."""
    seen: list[Outcome] = [written(settings)]

    def caught_up() -> bool:
        seen[0] = written(settings)
        verdict = judge(clean, seen[0])
        return not (verdict.missing or verdict.different_final)

    with contextlib.suppress(TimeoutError):  # judge() says what was left
        wait_for(caught_up, timeout_s, "the run to deliver what the clean run did", 2)
    return seen[0]


def missing_rules(clean: Outcome, seen: Outcome) -> dict[str, int]:
    """The rules of the clean run's notifications the run never delivered (ids, rule
    names and agencies only), to say what was lost when something was."""
    counts: dict[str, int] = defaultdict(int)
    for nid in set(clean.contents) - set(seen.contents):
        latest = json.loads(next(iter(clean.latest(nid))))  # without its produced_at
        counts[f"{latest['recipient']['agency']}:{'+'.join(latest['rules'])}"] += 1
    return dict(counts)


def judge(clean: Outcome, seen: Outcome) -> Judgement:
    ids = set(clean.contents)
    common = ids & set(seen.contents)
    return Judgement(
        missing=len(ids - set(seen.contents)),
        extra=len(set(seen.contents) - ids),
        conflicting=sum(
            len(c) > 1 for revisions in seen.contents.values() for c in revisions.values()
        ),
        different_final=sum(seen.latest(nid) != clean.latest(nid) for nid in common),
        decisions_differing=sum(
            seen.decisions.get(child) != decision for child, decision in clean.decisions.items()
        ),
    )


def outcome(accounting: verify.Accounting, verdict: Judgement) -> dict[str, int]:
    """The columns every fault row shares: what was lost, conflicting or decided otherwise."""
    return {
        "unaccounted": len(accounting.unaccounted),
        "missing_ids": verdict.missing,
        "conflicting": verdict.conflicting,
        "decisions_differing": verdict.decisions_differing,
        "different_final": verdict.different_final,
        "extra_ids": verdict.extra,
    }


def settle(settings: Settings, since: datetime, timeout_s: float) -> verify.Accounting:
    """Wait until every incident published since ``since`` is audited or dead-lettered."""
    until = datetime.now(UTC) + timedelta(hours=1)
    found: list[verify.Accounting] = []

    def complete() -> bool:
        found[:] = [verify.collect(settings, since, until)]
        return found[0].complete

    with contextlib.suppress(TimeoutError):  # the caller says what was left
        wait_for(complete, timeout_s, "every incident audited or dead-lettered", interval_s=3)
    return found[-1]


def group_members(settings: Settings) -> int:
    """How many members the worker's consumer group has now, as its coordinator says."""

    async def ask() -> int:
        from aiokafka.admin import AIOKafkaAdminClient

        client = AIOKafkaAdminClient(**settings.aiokafka_options())
        await client.start()
        try:
            (response,) = await client.describe_consumer_groups([settings.app_id])
            (group,) = response.groups
            return len(group[5])  # (error, id, state, protocol type, protocol, members, ...)
        finally:
            await client.close()

    return asyncio.run(ask())


# Every worker a test launched: those still running when it ends (it failed half-way) are
# stopped by the fault suite's fixture, not left to spin against a namespace that is gone.
LAUNCHED: list[WorkerProcess] = []


def launch(
    run: Settings, tmp_path: Path, n: int, instance_id: str | None = None, web_port: int = 0
) -> WorkerProcess:
    """Worker ``n`` of a run, with its own web port (or ``web_port``), state directory and
    log; for static membership, the group instance id it stands for."""
    own = acting_as(run, access.WORKER).model_copy(
        update={
            "web_port": web_port or free_port(),
            "state_dir": tmp_path / f"s{n}",
            "instance_id": instance_id,
        }
    )
    started = start_worker(own, tmp_path / f"worker-{n}.log")
    LAUNCHED.append(started)
    return started


class Publisher(threading.Thread):
    """Publishes events at a steady rate in the background, as a force would."""

    def __init__(
        self, settings: Settings, events: Iterable[tuple[bytes, bytes]], per_second: float
    ) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.events = list(events)
        self.per_second = per_second
        self.error: BaseException | None = None
        self.retries = 0

    def run(self) -> None:
        try:
            step = max(int(self.per_second / 4), 1)
            for start in range(0, len(self.events), step):
                began = time.monotonic()
                self._send(self.events[start : start + step])
                time.sleep(max(0.25 - (time.monotonic() - began), 0))
        except BaseException as error:  # reported by the test
            self.error = error

    def _send(self, chunk: list[tuple[bytes, bytes]]) -> None:
        """As a force's system would: retry until the broker has it (a retry may repeat
        part of a chunk; frontdoor must take repeats in its stride)."""
        give_up = time.monotonic() + 120
        while time.monotonic() < give_up:
            try:  # each attempt bounded: a producer stuck after a broker restart is dropped
                produce(self.settings, topics.POLICE_INCIDENTS, chunk, timeout_s=15)
                return
            except Exception:
                self.retries += 1
                time.sleep(1)
        raise TimeoutError("could not publish for 120 s")


@dataclass(frozen=True)
class Kill:
    at: float  # wall-clock seconds
    victim: frozenset[int]  # the incidents topic's partitions the killed worker owned
    survivor: frozenset[int]  # and those the survivor owned, before the kill
    until: float  # when its replacement was launched (its join is another rebalance)


@dataclass(frozen=True)
class Recovery:
    """One kill, timed from the audit records the workers wrote (each stamped when sent):
    an incident's first is written when the incidents agent processed it, on the
    partition the incident came in on."""

    takeover_s: float  # until every partition the dead worker owned was processed again
    stall_s: float  # the survivor's own partitions: the longest pause in their processing
    flowing_s: float  # until every partition flowed again, the survivor's stall included


def recoveries(
    settings: Settings, kills: list[Kill], stalled_s: float = 1.0, grace_s: float = 2.0
) -> list[Recovery]:
    """Per kill: the dead worker's partitions taken over, and the survivor's own stalled.

    Timed by processing, not by any one incident's wait (behind a backlog an incident
    waits however long the backlog takes, taken over or not): a partition of the dead
    worker's is taken over when its new owner first writes an audit record for one of
    its incidents; a survivor's partition stalls for the longest pause between audit
    records for its incidents from the kill until ``grace_s`` after the replacement's
    launch (the replacement takes longer than that to start and join), and one whose
    pause is over ``stalled_s`` flows again when it ends."""
    partition_of: dict[bytes, int] = {}
    first: dict[bytes, float] = {}  # an incident's first audit record: the incidents agent's
    scan(
        settings,
        [topics.POLICE_INCIDENTS],
        lambda m: partition_of.setdefault(m.key or b"", m.partition),
    )

    def audited(m: Any) -> None:  # an escalation's (later, by whoever owns the child) is not
        key = m.key or b""
        first[key] = min(first.get(key, m.timestamp / 1000), m.timestamp / 1000)

    scan(settings, [topics.AUDIT], audited)
    processed: defaultdict[int, list[float]] = defaultdict(list)
    for key, at in first.items():
        if key in partition_of:
            processed[partition_of[key]].append(at)
    for times in processed.values():
        times.sort()

    found = []
    for kill in kills:
        end = kill.until + grace_s
        takeover, stall, flowing = 0.0, 0.0, 0.0
        for partition in kill.victim:
            times = processed.get(partition, [])
            i = bisect.bisect_right(times, kill.at)
            if i < len(times):
                takeover = max(takeover, times[i] - kill.at)
        for partition in kill.survivor:
            times = processed.get(partition, [])
            i = max(bisect.bisect_right(times, kill.at) - 1, 0)  # the last before the kill
            j = bisect.bisect_right(times, end)
            window = times[i : j + 1]
            for before, after in itertools.pairwise(window):
                pause = after - max(before, kill.at)
                stall = max(stall, pause)
                if pause > stalled_s:
                    flowing = max(flowing, after - kill.at)
        found.append(
            Recovery(round(takeover, 2), round(stall, 2), round(max(takeover, flowing), 2))
        )
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] if ordered else 0.0


def counts(outcome: Outcome) -> defaultdict[str, int]:
    per = defaultdict(int)
    for revisions in outcome.contents.values():
        per["ids"] += 1
        per["revisions"] += len(revisions)
    return per
