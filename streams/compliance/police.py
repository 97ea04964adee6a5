"""The failures inspectors find on the police side, as signals. Pure.

* **Late report**: recorded (``reported_at``) too long after it happened (24 h by default,
  overridable per incident type in the policy).
* **Late to frontdoor**: reached frontdoor too long after the force recorded it (1 h by
  default, overridable per force): a delay upstream of every agency, so their deadlines
  may have passed before frontdoor could send anything.
* **Sequence gap**: a force's per-source sequence number skips and the gap is not filled
  within a window: an incident may have been lost on the way. State is per source (the
  worker re-keys sequence numbers by source), so it sees every number from that force.
* **Batching**: a force's events arrive in a burst long after they happened (one force
  sent domestic-abuse notifications weekly). Judged on the force's own state, over a
  sliding window, by the one worker that owns the force (as for gaps), so a burst spread
  over many partitions and workers is still seen whole, and raised once.
"""

from __future__ import annotations

import re
import statistics
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator

from schemas import ComplianceAlert, PoliceIncident
from schemas.compliance import AlertSubject
from schemas.enums import AlertKind
from schemas.envelope import CODE_PATTERN
from streams.compliance.alerts import compliance_alert
from streams.incidents import Rejected, parse_json

_alert = compliance_alert


# -- late reports -------------------------------------------------------------------------


def report_delay(incident: PoliceIncident) -> timedelta:
    return incident.reported_at - incident.occurred_at


def _too_late(
    kind: AlertKind,
    incident: PoliceIncident,
    since: datetime,
    delay: timedelta,
    limit: timedelta,
    now: datetime,
) -> ComplianceAlert | None:
    """An incident-level alert when ``delay`` (counted from ``since``) is over ``limit``."""
    if delay <= limit:
        return None
    return _alert(
        kind,
        incident.key,
        AlertSubject(incident_reference=incident.incident_reference, police_source=incident.source),
        now,
        lateness=delay - limit,
        deadline=since + limit,
        incident_type=incident.incident_type,
    )


def late_report(
    incident: PoliceIncident, limit: timedelta, now: datetime
) -> ComplianceAlert | None:
    kind = AlertKind.LATE_POLICE_REPORT
    return _too_late(kind, incident, incident.occurred_at, report_delay(incident), limit, now)


# -- late to frontdoor -------------------------------------------------------------------


def arrival_time(
    incident: PoliceIncident, published_at: datetime | None, now: datetime
) -> datetime:
    """When the incident reached frontdoor: its record time on the bus, when that lies
    between the report and now (a worker's own backlog is not the force's delay), else
    when the worker took it in."""
    if published_at is not None and incident.reported_at <= published_at <= now:
        return published_at
    return now


def arrival_delay(incident: PoliceIncident, arrived: datetime) -> timedelta:
    return arrived - incident.reported_at


def late_to_frontdoor(
    incident: PoliceIncident, arrived: datetime, limit: timedelta, now: datetime
) -> ComplianceAlert | None:
    delay = arrival_delay(incident, arrived)
    kind = AlertKind.LATE_TO_FRONTDOOR
    return _too_late(kind, incident, incident.reported_at, delay, limit, now)


# -- sequence gaps ------------------------------------------------------------------------


class Gap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first: int
    last: int
    opened_at: datetime
    alerted: bool = False


class SourceSequence(BaseModel):
    """What one force's incidents have shown so far: sequence numbers and gaps, and its
    arrivals within the batching window.

    Kept small, since it is read and written for every batch of the force's incidents:
    arrivals that were not stale are only counted, per 1/60 of the window; stale ones
    keep their arrival time and age (the median of a burst lies among them)."""

    model_config = ConfigDict(extra="forbid")

    source: str
    highest: int
    # The lowest number seen and when the first arrived: for a while after a force is first
    # seen (the gap window), a lower number moves the baseline down, so a gap among its
    # first numbers is found whichever partition delivered a number first.
    lowest: int | None = None
    first_seen_at: datetime | None = None
    gaps: list[Gap] = []
    fresh: list[tuple[float, int]] = []  # (bucket start, arrivals not stale), in the window
    stale: list[tuple[float, float]] = []  # (arrived, age), seconds, in the window
    raised: list[str] = []  # the latest batching alerts' ids: each is raised once
    # How far the force's numbers have got on the bus (the latest arrival among them) and
    # when a worker read that one: whether a gap's window has passed is judged on this.
    latest_arrival: datetime | None = None
    latest_read_at: datetime | None = None

    MAX_GAPS: ClassVar[int] = 1000
    MAX_STALE: ClassVar[int] = 1000  # a bigger burst is judged on its latest 1,000
    MAX_RAISED: ClassVar[int] = 48
    BUCKETS: ClassVar[int] = 60  # fresh arrivals are counted per 1/60 of the window

    @model_validator(mode="before")
    @classmethod
    def _drop_old_arrivals(cls, data: Any) -> Any:
        """A state written before this form kept every arrival as ``recent``: start over."""
        if isinstance(data, dict) and "recent" in data:
            data = {k: v for k, v in data.items() if k != "recent"}
        return data


class SequenceObserved(BaseModel):
    """Internal: one sequence number from a force, re-keyed by the force (source)."""

    model_config = ConfigDict(extra="forbid")

    source: str
    sequence: int | None = None  # None: a periodic check, no new number
    occurred_at: datetime | None = None  # a valid incident's, for batching
    arrived: datetime | None = None  # when it reached frontdoor


def sequence_of(raw: bytes | None) -> SequenceObserved | None:
    """Source and sequence number from an incident that failed validation, when both are
    there and well formed (a dead-lettered incident still arrived)."""
    try:
        data = parse_json(raw or b"")
    except Rejected:
        return None
    if not isinstance(data, dict):
        return None
    source, sequence = data.get("source"), data.get("sequence")
    if not isinstance(source, str) or not re.fullmatch(CODE_PATTERN, source):
        return None
    if type(sequence) is not int or sequence < 0:
        return None
    return SequenceObserved(source=source, sequence=sequence)


def observe(
    state: SourceSequence | None,
    source: str,
    number: int,
    at: datetime,
    baseline_window: timedelta = timedelta(0),
) -> SourceSequence:
    """Record one sequence number that reached the bus ``at``: a jump opens a gap (from
    then), a late arrival fills one, and within ``baseline_window`` of the force's first
    number a lower one moves the baseline down (a gap between them opens as if seen from
    the first arrival)."""
    if state is None:
        return SourceSequence(source=source, highest=number, lowest=number, first_seen_at=at)
    lowest = state.lowest if state.lowest is not None else state.highest
    if (
        number < lowest
        and state.first_seen_at is not None
        and at - state.first_seen_at <= baseline_window
    ):
        gaps = list(state.gaps)
        if number < lowest - 1:
            gaps.append(Gap(first=number + 1, last=lowest - 1, opened_at=state.first_seen_at))
        return state.model_copy(update={"lowest": number, "gaps": gaps[-state.MAX_GAPS :]})
    gaps = []
    for gap in state.gaps:
        if gap.first <= number <= gap.last:  # a missing number turned up
            if gap.first < number:
                gaps.append(gap.model_copy(update={"last": number - 1}))
            if number < gap.last:
                gaps.append(gap.model_copy(update={"first": number + 1}))
        else:
            gaps.append(gap)
    highest = state.highest
    if number > highest + 1:
        gaps.append(Gap(first=highest + 1, last=number - 1, opened_at=at))
    highest = max(highest, number)
    return state.model_copy(update={"highest": highest, "gaps": gaps[-state.MAX_GAPS :]})


CAUGHT_UP = timedelta(seconds=5)  # numbers read within this of reaching the bus: live


def read_up_to(state: SourceSequence, arrived: datetime, now: datetime) -> SourceSequence:
    """Note that a number that reached the bus at ``arrived`` was read ``now``."""
    if state.latest_arrival is not None and arrived <= state.latest_arrival:
        return state
    return state.model_copy(update={"latest_arrival": arrived, "latest_read_at": now})


def bus_time(state: SourceSequence, now: datetime, caught_up: timedelta = CAUGHT_UP) -> datetime:
    """The bus's time a gap's window is judged on at ``now``. While the force's numbers
    are read live (the latest within ``caught_up`` of reaching the bus), ``now``: a gap
    falls due a window after the number beyond it reached the bus, whenever a worker read
    it. While a worker reads a backlog (or read one last), the latest number's bus time
    plus the time since: a number that reached the bus before the gap fell due may still
    be on its way, so no gap is flagged early, only late by the backlog."""
    if state.latest_arrival is None or state.latest_read_at is None:
        return now
    if state.latest_read_at - state.latest_arrival <= caught_up:
        return now
    return min(now, state.latest_arrival + (now - state.latest_read_at))


def gaps_due(state: SourceSequence, window: timedelta, now: datetime) -> list[Gap]:
    """The gaps open past ``window`` on the bus's time, not yet alerted."""
    judged = bus_time(state, now)
    return [g for g in state.gaps if _due(g, window, judged)]


def _due(gap: Gap, window: timedelta, judged: datetime) -> bool:
    return not gap.alerted and gap.opened_at + window <= judged


def overdue_gaps(
    state: SourceSequence, window: timedelta, now: datetime
) -> tuple[SourceSequence, list[ComplianceAlert]]:
    """Alert once for each gap still open after ``window`` (on the bus's time: ``bus_time``),
    naming the missing range; due a window after it opened, late by however long since."""
    alerts = []
    gaps = []
    judged = bus_time(state, now)
    for gap in state.gaps:
        if _due(gap, window, judged):
            alerts.append(
                _alert(
                    AlertKind.SEQUENCE_GAP,
                    f"{state.source}:{gap.first}-{gap.last}",
                    AlertSubject(
                        police_source=state.source, sequence_from=gap.first, sequence_to=gap.last
                    ),
                    now,
                    lateness=now - gap.opened_at - window,
                    deadline=gap.opened_at + window,
                )
            )
            gap = gap.model_copy(update={"alerted": True})
        gaps.append(gap)
    return state.model_copy(update={"gaps": gaps}), alerts


# -- batching -----------------------------------------------------------------------------


def observe_arrival(
    state: SourceSequence,
    occurred_at: datetime,
    arrived: datetime,
    window: timedelta = timedelta(minutes=10),
    min_events: int = 20,
    stale_after: timedelta = timedelta(hours=24),
    now: datetime | None = None,
) -> tuple[SourceSequence, ComplianceAlert | None]:
    """Batching: at least ``min_events`` of the force's incidents within ``window`` and
    more than half of them older than ``stale_after`` on arrival. One alert per force per
    hour of arrival, observed ``now`` (default: on arrival); its lateness is the burst's
    median age beyond the limit (more than half are stale, so the median is among them).
    Fresh arrivals are counted per 1/60 of the window, so the window's edge is that
    coarse for them."""
    at = arrived.timestamp()
    age = at - occurred_at.timestamp()
    limit = stale_after.total_seconds()
    cutoff = at - window.total_seconds()
    width = window.total_seconds() / state.BUCKETS
    fresh = [(start, n) for start, n in state.fresh if start + width > cutoff]
    stale = [(t, a) for t, a in state.stale if t >= cutoff]
    if age > limit:
        stale = [*stale, (at, age)][-state.MAX_STALE :]
    else:
        start = at - at % width
        counts = dict(fresh)
        counts[start] = counts.get(start, 0) + 1
        fresh = sorted(counts.items())
    state = state.model_copy(update={"fresh": fresh, "stale": stale})
    n_fresh = sum(n for _, n in fresh)
    total = n_fresh + len(stale)
    if total < min_events or 2 * len(stale) <= total:
        return state, None
    hour = arrived.replace(minute=0, second=0, microsecond=0)
    ages = sorted(a for _, a in stale)
    # The median of every age in the window: fresh ones are all below the stale ones.
    middle = [(total - 1) // 2 - n_fresh, total // 2 - n_fresh]
    median = statistics.fmean(ages[i] for i in middle)
    alert = _alert(
        AlertKind.BATCHING,
        f"{state.source}:{hour.isoformat()}",
        AlertSubject(police_source=state.source),
        now or arrived,
        lateness=timedelta(seconds=median - limit),
    )
    if alert.alert_id in state.raised:
        return state, None
    raised = [*state.raised, alert.alert_id][-state.MAX_RAISED :]
    return state.model_copy(update={"raised": raised}), alert
