"""How far to trust a replay (fidelity), and what a draft policy changes (the diff), in
the partnership's terms. Pure: notifications merged by id in, figures out.

A notification is judged as the compliance report judges it: met when first acknowledged
by its deadline, missed when acknowledged after it or not at all once it has passed,
open otherwise. Under the draft, the acknowledgement that really happened is judged
against the draft's deadline; a notification the live policy never sent had no
acknowledgement, so it is counted as newly notified and not judged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from streams.routing import rule_order
from streams.whatif.replay import Sent

ALL = "all"

# Why a notification actually sent in the period is not reproduced exactly (closed list).
REMATCHED = "matched after a council record arrived later (re-matching is not replayed)"
REVIEWED_ELSEWHERE = "a reviewer's decision the replay could not apply"
EARLIER_HISTORY = "repeat escalation (R12) counting incidents from before the period"
MATCH_CHANGED = "matched differently now (a child the audit does not cover: matched again today)"
DEADLINE_CHANGED = (
    "same recipient and rules, another deadline (the policy or calendar then, or the "
    "child's council record changed since)"
)
RULES_CHANGED = (
    "same recipient, other rules (the policy then, or the child's council record changed since)"
)
NOT_IN_PERIOD = "first sent outside the period by one side (arrival at the period's edge)"
OTHER = "other"


@dataclass(frozen=True, slots=True)
class Notified:
    """One version of a notification as it was sent: what a what-if reads of it (ids,
    closed-list values and times; its content is not needed)."""

    notification_id: str
    incident_reference: str
    person_reference: str
    agency: str
    organisation: str
    rules: tuple[str, ...]
    deadline: datetime
    produced_at: datetime


def merge(
    notifications: Iterable[Notified],
    sources: dict[str, str],
    stages: dict[str, set[str]],
    as_at: datetime,
) -> dict[str, Sent]:
    """Every version actually sent up to ``as_at``, merged by id; ``sources`` and
    ``stages`` (from the audit) say which force and which step sent each id."""
    merged: dict[str, Sent] = {}
    for n in notifications:
        if n.produced_at > as_at:
            continue
        held = merged.get(n.notification_id)
        if held is None:
            merged[n.notification_id] = Sent(
                n.notification_id,
                sources.get(n.notification_id, ""),
                n.incident_reference,
                n.person_reference,
                n.agency,
                n.organisation,
                set(n.rules),
                n.deadline,
                n.produced_at,
                set(stages.get(n.notification_id, ())),
            )
            continue
        held.rules |= set(n.rules)
        held.deadline = min(held.deadline, n.deadline)
        held.first_sent = min(held.first_sent, n.produced_at)
    return merged


def in_period(sent: dict[str, Sent], since: datetime, until: datetime) -> dict[str, Sent]:
    return {i: s for i, s in sent.items() if since <= s.first_sent < until}


# -- fidelity --------------------------------------------------------------------------------


@dataclass
class Fidelity:
    actual: int  # notification ids first sent in the period
    replayed: int  # ids the live-policy replay sent in the period
    reproduced: int  # the same id, recipient, rules and deadline
    why: dict[str, int]  # reason -> ids, over both sides' differences

    @property
    def share(self) -> float:
        return self.reproduced / self.actual if self.actual else 1.0


def fidelity(
    actual: dict[str, Sent],
    live: dict[str, Sent],
    actual_matches: dict[tuple[str, str, str], tuple[str, str | None]],
    replay_matches: dict[tuple[str, str, str], tuple[str, str | None]],
    since: datetime,
    until: datetime,
) -> Fidelity:
    """``actual`` and ``live``: every id each side sent (any time); ``*_matches``: each
    child's (decision, record id) as first routed, from the audit and from the replay."""
    a_in, l_in = in_period(actual, since, until), in_period(live, since, until)
    reproduced = 0
    why: Counter[str] = Counter()
    for nid in sorted(set(a_in) | set(l_in)):
        a, r = a_in.get(nid), l_in.get(nid)
        if a is not None and r is not None:
            if a.rules == r.rules and a.deadline == r.deadline:
                reproduced += 1
            else:
                why[DEADLINE_CHANGED if a.rules == r.rules else RULES_CHANGED] += 1
            continue
        one = a if a is not None else r
        assert one is not None
        other = (live if a is not None else actual).get(nid)
        if other is not None:
            why[NOT_IN_PERIOD] += 1
        elif "rematched" in one.stages:
            why[REMATCHED] += 1
        elif "review_decided" in one.stages:
            why[REVIEWED_ELSEWHERE] += 1
        elif "escalated" in one.stages or one.rules == {"R12"}:
            why[EARLIER_HISTORY] += 1
        elif actual_matches.get(one.child) != replay_matches.get(one.child):
            why[MATCH_CHANGED] += 1
        else:
            why[OTHER] += 1
    return Fidelity(len(a_in), len(l_in), reproduced, dict(why.most_common()))


# -- the diff --------------------------------------------------------------------------------


@dataclass
class Change:
    """What the draft changes for one agency and rule (or for all)."""

    agency: str
    rule: str
    live: int = 0  # notifications sent under the live policy
    draft: int = 0
    newly: int = 0  # sent under the draft only
    no_longer: int = 0  # sent under the live policy only
    children_newly: set[tuple[str, str, str]] = field(default_factory=set, repr=False)
    children_no_longer: set[tuple[str, str, str]] = field(default_factory=set, repr=False)
    earlier_s: list[float] = field(default_factory=list, repr=False)  # deadline moved by
    later_s: list[float] = field(default_factory=list, repr=False)
    met_to_missed: int = 0
    missed_to_met: int = 0

    @property
    def earlier(self) -> int:
        return len(self.earlier_s)

    @property
    def later(self) -> int:
        return len(self.later_s)

    def figures(self) -> dict[str, object]:
        return {
            "agency": self.agency,
            "rule": self.rule,
            "live": self.live,
            "draft": self.draft,
            "newly_notified": self.newly,
            "no_longer_notified": self.no_longer,
            "children_newly_notified": len(self.children_newly),
            "children_no_longer_notified": len(self.children_no_longer),
            "deadlines_earlier": self.earlier,
            "earlier_median_s": _quantile(self.earlier_s, 0.5),
            "earlier_p90_s": _quantile(self.earlier_s, 0.9),
            "deadlines_later": self.later,
            "later_median_s": _quantile(self.later_s, 0.5),
            "later_p90_s": _quantile(self.later_s, 0.9),
            "met_to_missed": self.met_to_missed,
            "missed_to_met": self.missed_to_met,
        }

    @property
    def changed(self) -> bool:
        return bool(
            self.newly
            or self.no_longer
            or self.earlier_s
            or self.later_s
            or self.met_to_missed
            or self.missed_to_met
        )


def _quantile(values: list[float], q: float) -> float | None:
    """Nearest rank: a value that happened, in seconds."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


@dataclass(frozen=True)
class Row:
    """One notification the draft changes: ids and closed-list values only."""

    notification_id: str
    police_source: str
    incident_reference: str
    person_reference: str
    agency: str
    organisation: str
    change: str  # newly | no_longer | earlier | later | rules
    rules_live: str
    rules_draft: str
    deadline_live: datetime | None
    deadline_draft: datetime | None
    judged: str  # met->missed | missed->met | "" (unchanged or not judged)


@dataclass
class Workload:
    agency: str
    live: int  # notifications over the period
    draft: int
    live_per_day: float
    draft_per_day: float
    live_peak_hour: int
    draft_peak_hour: int


@dataclass
class Diff:
    since: datetime
    until: datetime
    as_at: datetime
    all: Change
    changes: list[Change]  # per agency and rule, changed ones first
    rows: list[Row]
    workload: list[Workload]


def _met(acked: datetime | None, deadline: datetime, as_at: datetime) -> bool | None:
    """True met, False missed, None open (not acknowledged, not yet due)."""
    if acked is not None:
        return acked <= deadline
    return False if deadline <= as_at else None


def _rules(s: Sent | None) -> str:
    return "+".join(sorted(s.rules, key=rule_order)) if s else ""


def compare(
    live: dict[str, Sent],
    draft: dict[str, Sent],
    first_ack: dict[str, datetime],
    since: datetime,
    until: datetime,
    as_at: datetime,
) -> Diff:
    """The draft against the live policy over the notifications either first sent in
    ``[since, until)``, judged as at ``as_at`` with ``first_ack`` (id -> first time)."""
    live, draft = in_period(live, since, until), in_period(draft, since, until)
    changes: dict[tuple[str, str], Change] = {}
    total = Change(ALL, ALL)

    def rows_for(agency: str, rules: Iterable[str]) -> list[Change]:
        return [changes.setdefault((agency, r), Change(agency, r)) for r in rules] + [total]

    rows: list[Row] = []
    for nid in sorted(set(live) | set(draft)):
        old, new = live.get(nid), draft.get(nid)
        one = old or new
        assert one is not None
        for c in rows_for(one.agency, old.rules if old else ()):
            c.live += 1
        for c in rows_for(one.agency, new.rules if new else ()):
            c.draft += 1
        change, judged = "", ""
        if old is None and new is not None:
            change = "newly"
            for c in rows_for(one.agency, new.rules):
                c.newly += 1
                c.children_newly.add(one.child)
        elif new is None and old is not None:
            change = "no_longer"
            for c in rows_for(one.agency, old.rules):
                c.no_longer += 1
                c.children_no_longer.add(one.child)
        elif old is not None and new is not None:
            moved = (new.deadline - old.deadline).total_seconds()
            touched = rows_for(one.agency, old.rules | new.rules)
            if moved:
                change = "earlier" if moved < 0 else "later"
                for c in touched:
                    (c.earlier_s if moved < 0 else c.later_s).append(abs(moved))
            elif old.rules != new.rules:
                change = "rules"
            was = _met(first_ack.get(nid), old.deadline, as_at)
            now = _met(first_ack.get(nid), new.deadline, as_at)
            if was is True and now is False:
                judged = "met->missed"
                for c in touched:
                    c.met_to_missed += 1
            elif was is False and now is True:
                judged = "missed->met"
                for c in touched:
                    c.missed_to_met += 1
        if change:
            rows.append(
                Row(
                    nid,
                    one.police_source,
                    one.incident_reference,
                    one.person_reference,
                    one.agency,
                    one.organisation,
                    change,
                    _rules(old),
                    _rules(new),
                    old.deadline if old else None,
                    new.deadline if new else None,
                    judged,
                )
            )
    # Children newly notified overall: told under the draft, told nothing under the live.
    told_live = {s.child for s in live.values()}
    told_draft = {s.child for s in draft.values()}
    total.children_newly = told_draft - told_live
    total.children_no_longer = told_live - told_draft
    ordered = sorted(changes.values(), key=lambda c: (not c.changed, c.agency, rule_order(c.rule)))
    return Diff(since, until, as_at, total, ordered, rows, workload(live, draft, since, until))


def workload(
    live: dict[str, Sent], draft: dict[str, Sent], since: datetime, until: datetime
) -> list[Workload]:
    """Per agency: notifications per day over the period, and the most in any one hour
    (UTC clock hours)."""
    days = max((until - since) / timedelta(days=1), 1 / 24)

    def tally(sent: dict[str, Sent]) -> tuple[Counter[str], dict[str, Counter[datetime]]]:
        totals: Counter[str] = Counter()
        hours: dict[str, Counter[datetime]] = {}
        for s in sent.values():
            totals[s.agency] += 1
            hour = s.first_sent.replace(minute=0, second=0, microsecond=0)
            hours.setdefault(s.agency, Counter())[hour] += 1
        return totals, hours

    (live_n, live_h), (draft_n, draft_h) = tally(live), tally(draft)
    return [
        Workload(
            a,
            live_n[a],
            draft_n[a],
            round(live_n[a] / days, 1),
            round(draft_n[a] / days, 1),
            max(live_h.get(a, Counter()).values(), default=0),
            max(draft_h.get(a, Counter()).values(), default=0),
        )
        for a in sorted({*live_n, *draft_n})
    ]
