"""``frontdoor whatif``: a period replayed under the live policy and a draft, read from the
topics as the ``operations`` principal (which may read, never write).

Reads the period's incidents (``police.incidents.v1``, each at the moment the worker
first routed it: its audit records' time, or its record time if never routed), the
council records as they stand, the reviewers' decisions, the notifications actually
sent, the audit and the acknowledgements; matches each child once and routes it under
both policies with the worker's core (``streams.whatif``), in forked processes for a
long period;
compares the live replay with what was sent (fidelity) and the draft with the live
replay (the diff). Output holds ids, closed-list values and numbers only.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO, TypeVar

from pydantic import ValidationError
from tqdm import tqdm

from schemas import (
    ChildRecord,
    PoliceIncident,
    ReviewDecision,
)
from streams.incidents import Origin, validate
from streams.matching import Matcher, MatchModel, Replica
from streams.routing import Calendar, Policy, PolicyError, load_policy
from streams.settings import Settings
from streams.topics import catalogue as topics
from streams.topics.io import Record, scan
from streams.whatif import (
    Arrival,
    Decided,
    Notified,
    Planned,
    Replay,
    Replayed,
    compare,
    fidelity,
    merge,
    plan,
    render,
)

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
    """What the topics hold for a what-if: the period's arrivals in order, and the rest."""

    arrivals: list[Arrival]
    decisions: list[Decided]
    records: list[ChildRecord]
    sent: list[Notified]
    audit: list[Audited]
    acks: list[tuple[str, datetime]]  # (notification id, acknowledged at)
    invalid: int  # incidents in the period that fail validation (dead-lettered live too)
    oldest: datetime | None  # retention removed earlier incidents: when the first left arrived


# frontdoor's own outputs and the acknowledgements are read for a few fields each with
# the standard JSON parser (a fifth of a full validation's time; a year is millions of
# records); one that does not parse is skipped, as the worker skipped it.
def _notified(raw: bytes | None) -> Notified | None:
    try:
        n = json.loads(raw or b"")
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
        a = json.loads(raw or b"")
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
        ack = json.loads(raw or b"")
        return ack["notification_id"], datetime.fromisoformat(ack["acknowledged_at"])
    except (ValueError, KeyError, TypeError):
        return None


def _at(record: Record) -> datetime:
    return datetime.fromtimestamp(record.timestamp / 1000, UTC)


def read(
    settings: Settings, since: datetime, until: datetime, as_at: datetime, say: TextIO | None
) -> History:
    """Everything a what-if of ``[since, until)`` needs, as the topics stand now.

    An incident arrived when the worker first routed it (its audit records' time: the
    worker's clock, simulated in the demo), or, never routed, at its record time."""
    incidents: list[tuple[datetime, int, int, bytes | None, bytes | None]] = []
    decided: list[tuple[ReviewDecision, str]] = []
    records: dict[str, ChildRecord | None] = {}
    sent: list[Notified] = []
    audit: list[Audited] = []
    acks: list[tuple[str, datetime]] = []
    specs = [
        topics.POLICE_INCIDENTS,
        topics.CHILD_RECORDS,
        topics.REVIEW_DECISIONS,
        *topics.NOTIFY.values(),
        topics.AUDIT,
        topics.ACKS,
    ]
    by_name = {topics.topic_name(spec, settings): spec for spec in specs}
    notify = {topics.topic_name(s, settings) for s in topics.NOTIFY.values()}
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
        elif record.topic in notify:
            if (n := _notified(record.value)) is not None:
                sent.append(n)
        elif spec is topics.AUDIT:
            if (a := _audited(record.value)) is not None:
                audit.append(a)
        elif spec is topics.ACKS and (ack := _acknowledged(record.value)) is not None:
            acks.append(ack)

    with _bar(say, "reading the topics", "records") as bar:

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
    return History(arrivals, decisions, kept, sent, audit, acks, invalid, oldest)


def _model(model: type[M], value: bytes | None) -> M | None:
    try:
        return model.model_validate_json(value or b"")
    except ValidationError:
        return None  # dead-lettered, or never valid: the worker did not act on it either


class _Quiet:
    def update(self, n: int) -> None: ...
    def __enter__(self) -> _Quiet:
        return self

    def __exit__(self, *exc: object) -> None: ...


def _bar(say: TextIO | None, what: str, unit: str, total: int | None = None) -> tqdm | _Quiet:
    """Work done and the rate, on standard error (never data: counts only)."""
    if say is None:
        return _Quiet()
    tqdm.monitor_interval = 0  # no monitor thread: the replay forks
    return tqdm(total=total, desc=what, unit=f" {unit}", file=say, mininterval=0.5)


# What forked processes route with: set before the fork, read-only after it (the replica
# is shared copy-on-write, never pickled).
_SHARED: dict[str, Any] = {}
CHUNK = 400  # incidents per task: large enough to pay for its pickling
PARALLEL_FROM = 3_000  # fewer incidents than this are routed in-process


def _plan_span(span: tuple[int, int]) -> list[tuple[Planned, ...]]:
    """Match each incident of ``arrivals[span]`` once and route it under every policy."""
    arrivals: list[Arrival] = _SHARED["arrivals"]
    replica: Replica = _SHARED["replica"]
    policies: list[tuple[Policy, Calendar]] = _SHARED["policies"]
    planned = []
    for arrival in arrivals[span[0] : span[1]]:
        incident = arrival.incident
        matched = [replica.matcher.match(child) for child in incident.children]
        planned.append(
            tuple(plan(incident, matched, replica, p, c, arrival.at) for p, c in policies)
        )
    return planned


def _planned(
    arrivals: list[Arrival], runs: tuple[Replay, ...], processes: int
) -> Iterator[tuple[Planned, ...]]:
    """Every arrival matched and routed under each run's policy, in order: in
    ``processes`` forked processes (the parent keeps applying what comes back) or, for a
    small period, here."""
    _SHARED.update(
        arrivals=arrivals,
        replica=runs[0].replica,
        policies=[(run.policy, run.calendar) for run in runs],
    )
    spans = [(i, min(i + CHUNK, len(arrivals))) for i in range(0, len(arrivals), CHUNK)]
    try:
        if processes < 2 or len(arrivals) < PARALLEL_FROM:
            for span in spans:
                yield from _plan_span(span)
            return
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            for chunk in pool.imap(_plan_span, spans):
                yield from chunk
    finally:
        _SHARED.clear()


def replay(
    history: History,
    live: Policy,
    draft: Policy,
    model: MatchModel,
    say: TextIO | None,
    processes: int | None = None,
) -> tuple[Replayed, Replayed]:
    """Both policies over the period, the match made once per child."""
    replica = Replica(Matcher(model=model))
    with _bar(say, "council records", "records", len(history.records)) as bar:
        for record in history.records:
            replica.upsert(record)
            bar.update(1)
    runs = (Replay(live, replica), Replay(draft, replica))
    planned = _planned(history.arrivals, runs, processes or os.cpu_count() or 1)
    with _bar(say, "replaying", "incidents", len(history.arrivals)) as bar:
        for kind, item in _in_order(history.arrivals, history.decisions):
            if kind == "incident":
                assert isinstance(item, Arrival)
                for run, routed in zip(runs, next(planned), strict=True):
                    run.apply(item, routed)
                bar.update(1)
            else:
                assert isinstance(item, Decided)
                for run in runs:
                    run.review(item)
    return runs[0].result, runs[1].result


def _in_order(
    arrivals: list[Arrival], decisions: list[Decided]
) -> Iterator[tuple[str, Arrival | Decided]]:
    """Incidents and decisions merged by arrival time (an incident first at a tie)."""
    d = 0
    for arrival in arrivals:
        while d < len(decisions) and decisions[d].at < arrival.at:
            yield "review", decisions[d]
            d += 1
        yield "incident", arrival
    for rest in decisions[d:]:
        yield "review", rest


def run(
    settings: Settings,
    since: datetime,
    until: datetime,
    draft_path: Path,
    form: str,
    output: Path | None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    say: TextIO | None = sys.stderr,
    timings: dict[str, float] | None = None,
) -> int:
    """Run a what-if and write it; 0 when written. ``timings`` is filled with the seconds
    each step took (reading, replaying, comparing and rendering)."""
    took = timings if timings is not None else {}
    try:
        draft = load_policy(draft_path)
        live = load_policy(settings.policy_file)
    except PolicyError as error:
        print(f"frontdoor whatif: {error}", file=sys.stderr)
        return 2
    as_at = min(until, now())
    began = time.monotonic()
    history = read(settings, since, until, as_at, say)
    if history.oldest is not None and history.oldest > since + timedelta(hours=1):
        print(
            f"frontdoor whatif: police.incidents.v1 holds incidents from "
            f"{history.oldest:%Y-%m-%d %H:%M} UTC only (its retention): the period before "
            "that is not replayed",
            file=sys.stderr,
        )
    took["reading the topics"] = time.monotonic() - began
    step = time.monotonic()
    live_run, draft_run = replay(history, live, draft, MatchModel.load(settings.match_model), say)
    took["records replica, matching, routing twice"] = time.monotonic() - step
    step = time.monotonic()
    sources = {nid: a.police_source for a in history.audit for nid in a.notification_ids}
    stages: dict[str, set[str]] = {}
    for a in history.audit:
        for nid in a.notification_ids:
            stages.setdefault(nid, set()).add(a.stage)
    actual = merge(history.sent, sources, stages, as_at)
    actual_matches = {
        (a.police_source, a.incident_reference, a.person_reference): (a.decision, a.record_id)
        for a in history.audit
        if a.stage == "routed"
    }
    first_ack: dict[str, datetime] = {}
    for nid, acked in history.acks:
        held = first_ack.get(nid)
        if acked <= as_at and (held is None or acked < held):
            first_ack[nid] = acked
    trust = fidelity(actual, live_run.sent, actual_matches, live_run.matches, since, until)
    diff = compare(live_run.sent, draft_run.sent, first_ack, since, until, as_at)
    text = render(
        diff,
        trust,
        form,
        draft_name=draft_path.name,
        incidents=len(history.arrivals),
        invalid=history.invalid,
        seconds=time.monotonic() - began,
    )
    took["fidelity, diff and rendering"] = time.monotonic() - step
    if output is not None:
        output.write_text(text)
        print(f"wrote {output} ({len(diff.rows)} notifications changed)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
