"""The failures inspectors find on the police side, as signals. Pure.

* **Late report**: recorded (``reported_at``) too long after it happened (24 h by default,
  overridable per incident type in the policy).
* **Sequence gap**: a force's per-source sequence number skips and the gap is not filled
  within a window: an incident may have been lost on the way. State is per source (the
  worker re-keys sequence numbers by source), so it sees every number from that force.
* **Batching**: a force's events arrive in a burst long after they happened (one force
  sent domestic-abuse notifications weekly). Judged per worker over a sliding window.
"""

from __future__ import annotations

import re
from collections import deque
from datetime import datetime, timedelta
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

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


def late_report(
    incident: PoliceIncident, limit: timedelta, now: datetime
) -> ComplianceAlert | None:
    delay = report_delay(incident)
    if delay <= limit:
        return None
    return _alert(
        AlertKind.LATE_POLICE_REPORT,
        incident.key,
        AlertSubject(incident_reference=incident.incident_reference, police_source=incident.source),
        now,
        lateness=delay - limit,
        deadline=incident.occurred_at + limit,
        incident_type=incident.incident_type,
    )


# -- sequence gaps ------------------------------------------------------------------------


class Gap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first: int
    last: int
    opened_at: datetime
    alerted: bool = False


class SourceSequence(BaseModel):
    """What one force's sequence numbers have shown so far."""

    model_config = ConfigDict(extra="forbid")

    source: str
    highest: int
    gaps: list[Gap] = []

    MAX_GAPS: ClassVar[int] = 1000


class SequenceObserved(BaseModel):
    """Internal: one sequence number from a force, re-keyed by the force (source)."""

    model_config = ConfigDict(extra="forbid")

    source: str
    sequence: int | None = None  # None: a periodic check, no new number


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
    state: SourceSequence | None, source: str, number: int, now: datetime
) -> SourceSequence:
    """Record one sequence number: a jump opens a gap, a late arrival fills one."""
    if state is None:
        return SourceSequence(source=source, highest=number)
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
        gaps.append(Gap(first=highest + 1, last=number - 1, opened_at=now))
    highest = max(highest, number)
    return state.model_copy(update={"highest": highest, "gaps": gaps[-state.MAX_GAPS :]})


def overdue_gaps(
    state: SourceSequence, window: timedelta, now: datetime
) -> tuple[SourceSequence, list[ComplianceAlert]]:
    """Alert once for each gap still open after ``window``, naming the missing range."""
    alerts = []
    gaps = []
    for gap in state.gaps:
        if not gap.alerted and gap.opened_at + window <= now:
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


class BatchingDetector:
    """Per source: many events arriving within ``window`` that happened long before.

    "Median age over the limit" is "more than half of the window's events are stale", so
    the detector keeps a running count and does constant work per event (a replay of a
    burst would otherwise cost a median over the whole window every time).
    """

    def __init__(
        self,
        window: timedelta = timedelta(minutes=10),
        min_events: int = 20,
        stale_after: timedelta = timedelta(hours=24),
    ) -> None:
        self.window = window
        self.min_events = min_events
        self.stale_after = stale_after
        self._seen: dict[str, deque[tuple[datetime, bool]]] = {}
        self._stale: dict[str, int] = {}

    def observe(self, incident: PoliceIncident, arrived: datetime) -> ComplianceAlert | None:
        recent = self._seen.setdefault(incident.source, deque())
        stale = arrived - incident.occurred_at > self.stale_after
        recent.append((arrived, stale))
        count = self._stale.get(incident.source, 0) + stale
        while recent and recent[0][0] < arrived - self.window:
            count -= recent.popleft()[1]
        self._stale[incident.source] = count
        if len(recent) < self.min_events or 2 * count <= len(recent):
            return None
        hour = arrived.replace(minute=0, second=0, microsecond=0)
        return _alert(
            AlertKind.BATCHING,
            f"{incident.source}:{hour.isoformat()}",
            AlertSubject(police_source=incident.source),
            arrived,
            lateness=arrived - incident.occurred_at - self.stale_after,
        )
