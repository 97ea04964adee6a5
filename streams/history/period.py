"""A period read back from the bus and replayed under two policies: the shell of the
what-if, shared by ``frontdoor whatif`` (as ``operations``) and the console's what-if
screen (as ``console``, for a policy officer). Both principals may only read.

``read`` scans what the replay needs (incidents, records, decisions, audit) and
``read_actual`` what was sent (notify topics, audit, acknowledgements); ``replay`` takes
each child's match as the worker made it (the audit; matched now where it does not
reach) and replays each policy with the worker's core (``streams.whatif``), the two side
by side in forked processes for a long period; ``analyse`` does it all, what was sent
read by a process of its own beside, and compares (fidelity and the diff). Progress goes
to ``Bars`` (a terminal's bars, or a console job's messages): counts only, never data.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import orjson
from pydantic import ValidationError

from schemas import ChildRecord, InvolvedChild, PoliceIncident, ReviewDecision
from schemas.enums import MatchDecision
from streams.incidents import Origin, validate
from streams.matching import Matcher, MatchModel, MatchResult, Replica
from streams.routing import Policy
from streams.settings import Settings
from streams.topics import catalogue as topics
from streams.topics.io import Record, scan
from streams.whatif import (
    Arrival,
    Decided,
    Diff,
    Fidelity,
    Notified,
    Replay,
    Replayed,
    Sent,
    compare,
    fidelity,
    merge,
    pack,
    unpack,
)

TOPICS = topics.WHATIF_READS  # every topic a what-if reads


class Bar(Protocol):
    def update(self, n: int) -> None: ...
    def __enter__(self) -> Bar: ...
    def __exit__(self, *exc: object) -> None: ...


# (what, unit, total or None) -> a bar counting it
Bars = Callable[[str, str, int | None], AbstractContextManager[Bar]]


class _Quiet:
    def update(self, n: int) -> None: ...
    def __enter__(self) -> _Quiet:
        return self

    def __exit__(self, *exc: object) -> None: ...


def quiet(what: str, unit: str, total: int | None) -> _Quiet:
    """No progress shown."""
    return _Quiet()


M = TypeVar("M", ChildRecord, ReviewDecision)


@dataclass(frozen=True, slots=True)
class Audited:
    """What a what-if reads of one audit record."""

    stage: str
    police_source: str
    incident_reference: str
    person_reference: str
    decision: str
    record_id: str | None
    notification_ids: tuple[str, ...]
    produced_at: datetime
    review_id: str | None


@dataclass
class History:
    """What a replay needs from the topics: the period's arrivals in order, reviewers'
    decisions, the council records, and the audit (when and how each child was routed)."""

    arrivals: list[Arrival]
    decisions: list[Decided]
    records: list[ChildRecord]
    audit: list[Audited]
    invalid: int  # incidents in the period that fail validation (dead-lettered live too)
    oldest: datetime | None  # retention removed earlier incidents: when the first left arrived


# frontdoor's own outputs and the acknowledgements are read for a few fields each with
# orjson (a year is millions of records: a full validation would take five times as
# long, the standard parser three); one that does not parse is skipped, as the worker
# skipped it.
def _notified(raw: bytes | None) -> Notified | None:
    try:
        n = orjson.loads(raw or b"")
        recipient = n["recipient"]
        return Notified(
            n["notification_id"],
            n["incident_reference"],
            n["person_reference"],
            recipient["agency"],
            recipient["organisation"],
            tuple(n["rules"]),
            datetime.fromisoformat(n["deadline"]),
            datetime.fromisoformat(n["produced_at"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


def _audited(raw: bytes | None) -> Audited | None:
    try:
        a = orjson.loads(raw or b"")
        child = a["child"]
        review = a.get("review") or {}
        return Audited(
            a["stage"],
            a["police_source"],
            a["incident_reference"],
            child["person_reference"],
            child.get("decision") or "",
            child.get("record_id"),
            tuple(made["notification_id"] for made in child.get("notifications", ())),
            datetime.fromisoformat(a["produced_at"]),
            review.get("review_id"),
        )
    except (ValueError, KeyError, TypeError):
        return None


def _acknowledged(raw: bytes | None) -> tuple[str, datetime] | None:
    try:
        ack = orjson.loads(raw or b"")
        return ack["notification_id"], datetime.fromisoformat(ack["acknowledged_at"])
    except (ValueError, KeyError, TypeError):
        return None


def _at(record: Record) -> datetime:
    return datetime.fromtimestamp(record.timestamp / 1000, UTC)


def read(
    settings: Settings, since: datetime, until: datetime, as_at: datetime, bars: Bars = quiet
) -> History:
    """Everything a what-if of ``[since, until)`` needs, as the topics stand now.

    An incident arrived when the worker first routed it (its audit records' time: the
    worker's clock, simulated in the demo), or, never routed, at its record time."""
    incidents: list[tuple[datetime, int, int, bytes | None, bytes | None]] = []
    decided: list[tuple[ReviewDecision, str]] = []
    records: dict[str, ChildRecord | None] = {}
    audit: list[Audited] = []
    specs = [topics.POLICE_INCIDENTS, topics.CHILD_RECORDS, topics.REVIEW_DECISIONS, topics.AUDIT]
    by_name = {topics.topic_name(spec, settings): spec for spec in specs}
    incidents_topic = topics.topic_name(topics.POLICE_INCIDENTS, settings)

    def visit(record: Record) -> None:
        spec = by_name.get(record.topic)
        if spec is topics.POLICE_INCIDENTS:
            incidents.append(
                (_at(record), record.partition, record.offset, record.key, record.value)
            )
        elif spec is topics.CHILD_RECORDS:
            key = (record.key or b"").decode(errors="replace")
            records[key] = _model(ChildRecord, record.value) if record.value else None
        elif spec is topics.REVIEW_DECISIONS:
            if (decision := _model(ReviewDecision, record.value)) is not None:
                decided.append((decision, (record.key or b"").decode(errors="replace")))
        elif spec is topics.AUDIT and (a := _audited(record.value)) is not None:
            audit.append(a)

    with bars("reading the topics", "records", None) as bar:

        def counted(record: Record) -> None:
            visit(record)
            bar.update(1)

        scan(settings, specs, counted)
    routed_at: dict[str, datetime] = {}
    reviewed_at: dict[str, datetime] = {}
    for a in audit:
        if a.stage == "routed":
            ref = f"{a.police_source}:{a.incident_reference}"
            routed_at[ref] = min(routed_at.get(ref, a.produced_at), a.produced_at)
        elif a.stage == "review_decided" and a.review_id is not None:
            reviewed_at.setdefault(a.review_id, a.produced_at)
    arrivals: list[Arrival] = []
    invalid = 0
    for stamp, partition, offset, key, value in incidents:
        at = routed_at.get((key or b"").decode(errors="replace"), stamp)
        if not since <= at < until:
            continue
        origin = Origin(incidents_topic, partition, offset, key)
        result = validate(PoliceIncident, value, origin, at)
        if isinstance(result, PoliceIncident):
            arrivals.append(Arrival(result, at, stamp))
        else:
            invalid += 1
    arrivals.sort(key=lambda a: (a.at, a.incident.key))
    decisions = sorted(
        (
            Decided(d, key, at)
            for d, key in decided
            if since <= (at := reviewed_at.get(d.review_id, d.decided_at)) <= as_at
        ),
        key=lambda d: d.at,
    )
    kept = [r for r in records.values() if r is not None]
    # Retention has removed incidents when a partition no longer starts at offset 0; then
    # the earliest one left (on the period's clock: when the worker took it in) says how
    # far back the topic reaches.
    first: dict[int, int] = {}
    for _, partition, offset, _, _ in incidents:
        first[partition] = min(first.get(partition, offset), offset)
    truncated = any(offset > 0 for offset in first.values())
    oldest = (
        None
        if not truncated
        else min(
            (
                routed_at.get((key or b"").decode(errors="replace"), stamp)
                for stamp, _, _, key, _ in incidents
            ),
            default=None,
        )
    )
    return History(arrivals, decisions, kept, audit, invalid, oldest)


@dataclass
class Actual:
    """What frontdoor actually sent (every version merged by id), each child's match as
    first routed, and when each notification was first acknowledged."""

    sent: dict[str, Sent]
    matches: dict[tuple[str, str, str], tuple[str, str | None]]
    first_ack: dict[str, datetime]

    def packed(self) -> tuple[Any, ...]:
        return pack(self.sent), self.matches, self.first_ack

    @classmethod
    def unpacked(cls, packed: tuple[Any, ...]) -> Actual:
        sent, matches, first_ack = packed
        return cls(unpack(sent), matches, first_ack)


def read_actual(settings: Settings, as_at: datetime) -> Actual:
    """What was sent up to ``as_at``, from the notify topics, the audit and the
    acknowledgements (what fidelity and met/missed are judged on)."""
    sent: list[Notified] = []
    audit: list[Audited] = []
    acks: list[tuple[str, datetime]] = []
    notify = {topics.topic_name(s, settings) for s in topics.NOTIFY.values()}
    audit_topic = topics.topic_name(topics.AUDIT, settings)

    def visit(record: Record) -> None:
        if record.topic in notify:
            if (n := _notified(record.value)) is not None:
                sent.append(n)
        elif record.topic == audit_topic:
            if (a := _audited(record.value)) is not None:
                audit.append(a)
        elif (ack := _acknowledged(record.value)) is not None:
            acks.append(ack)

    scan(settings, [*topics.NOTIFY.values(), topics.AUDIT, topics.ACKS], visit)
    sources = {nid: a.police_source for a in audit for nid in a.notification_ids}
    stages: dict[str, set[str]] = {}
    for a in audit:
        for nid in a.notification_ids:
            stages.setdefault(nid, set()).add(a.stage)
    matches = {
        (a.police_source, a.incident_reference, a.person_reference): (a.decision, a.record_id)
        for a in audit
        if a.stage == "routed"
    }
    first_ack: dict[str, datetime] = {}
    for nid, acked in acks:
        held = first_ack.get(nid)
        if acked <= as_at and (held is None or acked < held):
            first_ack[nid] = acked
    return Actual(merge(sent, sources, stages, as_at), matches, first_ack)


def _read_actual_packed(settings: Settings, as_at: datetime) -> tuple[Any, ...]:
    return read_actual(settings, as_at).packed()


def _model(model: type[M], value: bytes | None) -> M | None:
    try:
        return model.model_validate_json(value or b"")
    except ValidationError:
        return None  # dead-lettered, or never valid: the worker did not act on it either


# What forked processes work with: set before the fork, read-only after it (the replica,
# the arrivals and their matches are shared copy-on-write, never pickled).
_SHARED: dict[str, Any] = {}
CHUNK = 400  # children per matching task: large enough to pay for its pickling
PARALLEL_FROM = 3_000  # fewer incidents than this are replayed in-process
REPORT_EVERY = 500  # incidents between a forked replay's progress reports


def recorded_matches(audit: list[Audited]) -> dict[tuple[str, str, str], MatchResult]:
    """Each child's match as the worker made it when it first routed the child (the
    audit's ``routed`` record: decision and record id). The match does not depend on the
    policy, so a replay under any policy takes it as it was."""
    made: dict[tuple[str, str, str], MatchResult] = {}
    for a in audit:
        if a.stage != "routed" or not a.decision:
            continue
        key = (a.police_source, a.incident_reference, a.person_reference)
        if key not in made:
            made[key] = MatchResult(MatchDecision(a.decision), a.record_id, (), ())
    return made


def _match_span(span: tuple[int, int]) -> list[tuple[str, str | None]]:
    """The matcher's decision and record id for each child of ``children[span]``."""
    replica: Replica = _SHARED["replica"]
    children: list[InvolvedChild] = _SHARED["children"]
    return [
        (result.decision.value, result.record_id)
        for child in children[span[0] : span[1]]
        for result in (replica.matcher.match(child),)
    ]


def _matches(
    arrivals: list[Arrival],
    recorded: dict[tuple[str, str, str], MatchResult],
    replica: Replica,
    processes: int,
) -> list[list[MatchResult]]:
    """Each arrival's children's matches: as the worker made them (``recorded``), else
    made now against the records as they stand (in forked processes when there are many:
    an audit that no longer reaches back so far)."""
    missing = [
        child
        for arrival in arrivals
        for child in arrival.incident.children
        if (arrival.incident.source, arrival.incident.incident_reference, child.person_reference)
        not in recorded
    ]
    spans = [(i, min(i + CHUNK, len(missing))) for i in range(0, len(missing), CHUNK)]
    _SHARED.update(replica=replica, children=missing)
    try:
        if processes < 2 or len(missing) < PARALLEL_FROM:
            made = [m for span in spans for m in _match_span(span)]
        else:
            with multiprocessing.get_context("fork").Pool(processes) as pool:
                made = [m for chunk in pool.imap(_match_span, spans) for m in chunk]
    finally:
        _SHARED.clear()
    fresh = iter(made)
    matches = []
    for arrival in arrivals:
        incident = arrival.incident
        row = []
        for child in incident.children:
            key = (incident.source, incident.incident_reference, child.person_reference)
            found = recorded.get(key)
            if found is None:
                decision, record_id = next(fresh)
                found = MatchResult(MatchDecision(decision), record_id, (), ())
            row.append(found)
        matches.append(row)
    return matches


def _replay_one(which: int) -> tuple[Any, ...]:
    """One policy's whole replay, in order (its own routing, R12 history and reviews),
    packed for the way back (plain tuples pickle ten times faster than dataclasses)."""
    began, cpu = time.monotonic(), time.process_time()
    policy: Policy = _SHARED["policies"][which]
    run = Replay(policy, _SHARED["replica"])
    done = _SHARED.get("done")
    arrivals: list[Arrival] = _SHARED["arrivals"]
    matches: list[list[MatchResult]] = _SHARED["matches"]
    count = 0
    for kind, n in _in_order(arrivals, _SHARED["decisions"]):
        if kind == "incident":
            run.incident(arrivals[n], matches[n])
            count += 1
            if done is not None and count % REPORT_EVERY == 0:
                with done.get_lock():
                    done.value += REPORT_EVERY
        else:
            run.review(_SHARED["decisions"][n])
    replayed = time.monotonic() - began, time.process_time() - cpu
    return run.result.packed(), replayed, time.process_time() - cpu


def replay(
    history: History,
    live: Policy,
    draft: Policy,
    model: MatchModel,
    bars: Bars = quiet,
    processes: int | None = None,
    timings: dict[str, Any] | None = None,
) -> tuple[Replayed, Replayed]:
    """Both policies over the period, each child's match as the worker made it (or made
    once now): a long period's two replays run side by side in forked processes."""
    processes = processes or os.cpu_count() or 1
    replica = Replica(Matcher(model=model))
    with bars("council records", "records", len(history.records)) as bar:
        for record in history.records:
            replica.upsert(record)
            bar.update(1)
    arrivals = history.arrivals
    matches = _matches(arrivals, recorded_matches(history.audit), replica, processes)
    forked = processes >= 2 and len(arrivals) >= PARALLEL_FROM
    context = multiprocessing.get_context("fork")
    done = context.Value("q", 0) if forked else None
    _SHARED.update(
        replica=replica,
        arrivals=arrivals,
        matches=matches,
        decisions=history.decisions,
        policies=(live, draft),
        done=done,
    )
    try:
        with bars("replaying", "incidents", len(arrivals)) as bar:
            if not forked:
                packed = [_replay_one(0), _replay_one(1)]
                bar.update(len(arrivals))
            else:
                with context.Pool(2) as pool:
                    running = pool.map_async(_replay_one, [0, 1])
                    shown = 0
                    while not running.ready():
                        running.wait(0.5)
                        assert done is not None
                        now = min(done.value // 2, len(arrivals))
                        bar.update(now - shown)
                        shown = now
                    packed = running.get()
                    bar.update(len(arrivals) - shown)
    finally:
        _SHARED.clear()
    if timings is not None:
        for name, (_, (wall, cpu), packing) in zip(("live", "draft"), packed, strict=True):
            timings[f"the {name} policy's replay"] = (wall, cpu, packing)
    return Replayed.unpacked(packed[0][0]), Replayed.unpacked(packed[1][0])


def _in_order(arrivals: list[Arrival], decisions: list[Decided]) -> Iterator[tuple[str, int]]:
    """Incidents and decisions merged by arrival time (an incident first at a tie), by
    their index in each list."""
    d = 0
    for n, arrival in enumerate(arrivals):
        while d < len(decisions) and decisions[d].at < arrival.at:
            yield "review", d
            d += 1
        yield "incident", n
    for rest in range(d, len(decisions)):
        yield "review", rest


@dataclass(frozen=True)
class Outcome:
    """A what-if's result: the diff, how far to trust it, and what it took."""

    diff: Diff
    trust: Fidelity
    incidents: int  # replayed
    invalid: int  # in the period but invalid (dead-lettered live too)
    oldest: datetime | None  # retention: the earliest incident the topic still holds
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    inside: dict[str, Any] = field(default_factory=dict)  # each forked replay's own times


@contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """Millions of long-lived objects and no cycles among them: the cyclic collector would
    walk the whole heap again and again as it grows (and, in a forked process, write to
    every inherited object's header, copying the parent's pages). Reference counting
    still frees everything; the collector runs again afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def analyse(
    settings: Settings,
    since: datetime,
    until: datetime,
    live: Policy,
    draft: Policy,
    as_at: datetime,
    bars: Bars = quiet,
) -> Outcome:
    """Read ``[since, until)``, replay it under both policies, and compare: the live replay
    with what was sent (fidelity), the draft with the live replay (the diff), judged
    against the acknowledgements known at ``as_at``. What was sent is read by a forked
    process of its own, beside the replay's reading and the replay."""
    took: dict[str, float] = {}
    inside: dict[str, Any] = {}
    began = time.monotonic()
    with without_cyclic_gc(), multiprocessing.get_context("fork").Pool(1) as beside:
        reading = beside.apply_async(_read_actual_packed, (settings, as_at))
        history = read(settings, since, until, as_at, bars)
        took["reading the topics"] = time.monotonic() - began
        step = time.monotonic()
        model = MatchModel.load(settings.match_model)
        live_run, draft_run = replay(history, live, draft, model, bars, timings=inside)
        took["records replica, matching, routing twice"] = time.monotonic() - step
        step = time.monotonic()
        with bars("reading what was sent", "topics", None):
            actual = Actual.unpacked(reading.get())
    took["waiting for what was sent"] = time.monotonic() - step
    step = time.monotonic()
    trust = fidelity(actual.sent, live_run.sent, actual.matches, live_run.matches, since, until)
    diff = compare(live_run.sent, draft_run.sent, actual.first_ack, since, until, as_at)
    took["fidelity and diff"] = time.monotonic() - step
    return Outcome(
        diff,
        trust,
        len(history.arrivals),
        history.invalid,
        history.oldest,
        time.monotonic() - began,
        took,
        inside,
    )
