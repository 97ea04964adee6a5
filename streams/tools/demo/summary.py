"""What the demo prints at the end, read back from the topics: the incidents, the
matching, what the agencies did, the HTTPS edge, the compliance report for the period,
and whether every published incident is accounted for."""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass

from schemas import AuditRecord, DeadLetter, PoliceIncident
from streams import topics
from streams.compliance import render_report
from streams.incidents import Origin, validate
from streams.settings import Settings
from streams.tools.demo.day import END, Played
from streams.tools.demo.edge import DemoEdge
from streams.tools.synthetic import DEMO_DAY, Incidents
from streams.topics.io import read_all
from streams.topics.reports import from_topics


def table(title: str, header: tuple[str, ...], rows: list[tuple[object, ...]]) -> None:
    cells = [tuple(str(c) for c in header)] + [tuple(str(c) for c in row) for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        first = f"{row[0]:<{widths[0]}}"
        rest = "  ".join(f"{c:>{w}}" for c, w in zip(row[1:], widths[1:], strict=True))
        print(f"  {first}  {rest}")
        if n == 0:
            print(f"  {'-' * (sum(widths) + 2 * (len(widths) - 1))}")


def expected_children(day: Incidents, played: Played) -> int:
    """Children of the valid incidents published: each must be routed."""
    published = (day.events[i][1] for i in played.sent)
    checked = (validate(PoliceIncident, v, Origin("demo"), DEMO_DAY) for v in published)
    return sum(len(r.children) for r in checked if isinstance(r, PoliceIncident))


def routed(settings: Settings) -> int:
    return sum(b'"stage":"routed"' in m.value for m in read_all(settings, [topics.AUDIT]))


@dataclass
class Outcome:
    """What the worker wrote, read back: audit records by stage and dead letters."""

    routed: list[AuditRecord]
    decided: list[AuditRecord]
    rematched: list[AuditRecord]
    dead: list[DeadLetter]

    @classmethod
    def read(cls, settings: Settings) -> Outcome:
        audits = [
            AuditRecord.model_validate_json(m.value) for m in read_all(settings, [topics.AUDIT])
        ]
        dead = [
            DeadLetter.model_validate_json(m.value)
            for m in read_all(settings, [topics.DEAD_LETTERS])
        ]
        by_stage = {
            stage: [a for a in audits if a.stage == stage]
            for stage in ("routed", "review_decided", "rematched")
        }
        return cls(by_stage["routed"], by_stage["review_decided"], by_stage["rematched"], dead)


def edge_table(edge: DemoEdge, metrics_text: str) -> None:
    wanted = (
        "frontdoor_edge_published_total",
        "frontdoor_edge_webhook_deliveries_total",
        "frontdoor_edge_webhook_retries_total",
    )
    series = [
        (line.rsplit(" ", 1)[0], int(float(line.rsplit(" ", 1)[1])))
        for line in metrics_text.splitlines()
        if line.startswith(wanted)
    ]
    table(
        "The HTTPS edge (frontdoor gateway)",
        ("", "count"),
        [
            *sorted(edge.counts.items()),
            *((f"webhook receiver: {k}", v) for k, v in sorted(edge.receiver.counts.items())),
            *series,
        ],
    )


def summarise(settings: Settings, day: Incidents, played: Played, metrics_text: str) -> bool:
    """Print every table; True when every published incident is accounted for and no
    child was linked to the wrong record."""
    outcome = Outcome.read(settings)
    _incidents_table(day, played, outcome)
    wrong = _matching_table(day, outcome, played)
    table(
        "What the agencies did (simulated)",
        ("", "notifications"),
        [(k, v) for k, v in played.acks.most_common()],
    )
    _report(settings)
    series = [line for line in metrics_text.splitlines() if line.startswith("frontdoor_")]
    print(f"\nThe worker's /metrics had {len(series)} frontdoor_ series at the end.")
    return _accounted(day, played, outcome) and not wrong


def _incidents_table(day: Incidents, played: Played, outcome: Outcome) -> None:
    table(
        "Incidents",
        ("", "count"),
        [
            ("in the day", len(day.events)),
            ("lost on the way (never published)", len(played.lost)),
            (
                "reported after the simulation ended",
                len(day.events) - len(played.lost) - played.published,
            ),
            ("published", played.published),
            ("valid", len({a.incident_reference for a in outcome.routed})),
            ("dead-lettered", len(outcome.dead)),
            ("children routed", len(outcome.routed)),
        ],
    )


def _matching_table(day: Incidents, outcome: Outcome, played: Played) -> int:
    """The matching table; returns how many children were auto-linked to a wrong record."""
    truth = day.truth
    decided: defaultdict[str, list[AuditRecord]] = defaultdict(list)
    for a in outcome.routed:
        if a.child.decision:
            decided[a.child.decision.value].append(a)
    wrong = sum(a.child.record_id != truth.get(a.child.person_reference) for a in decided["auto"])
    missed_known = sum(bool(truth.get(a.child.person_reference)) for a in decided["none"])
    confirmed = [a for a in outcome.decided if a.child.record_id]
    table(
        "Matching children to council records",
        ("decision", "children"),
        [
            ("auto-linked", len(decided["auto"])),
            ("  of which wrong (false link)", wrong),
            ("possible match, to review", len(decided["review"])),
            ("  left for people in the console", played.decisions["left for people"]),
            ("  confirmed by a reviewer", len(confirmed)),
            (
                "    of which wrong",
                sum(a.child.record_id != truth.get(a.child.person_reference) for a in confirmed),
            ),
            ("no match (not known)", len(decided["none"])),
            ("  of which were known (missed)", missed_known),
            ("  matched later to a late council record", len(outcome.rematched)),
        ],
    )
    return wrong


def _report(settings: Settings) -> None:
    # The report covers the whole simulated period: the day and what followed from it
    # (late reports arrive the next day, reviews and late records settle later). It is
    # `frontdoor report` over the same period, by the same code.
    built = from_topics(settings, DEMO_DAY, END, END)
    print("\n" + render_report(built, "table"), end="")
    print(
        "\nThe same report, any time later (broker started):\n  env $(.venv/bin/frontdoor kafka "
        f"credentials admin) FRONTDOOR_TOPIC_PREFIX={settings.topic_prefix} .venv/bin/frontdoor "
        f"report --since {DEMO_DAY:%Y-%m-%dT%H:%MZ} --until {END:%Y-%m-%dT%H:%MZ}"
    )


def _accounted(day: Incidents, played: Played, outcome: Outcome) -> bool:
    lost = set(played.lost)
    checked = [
        validate(PoliceIncident, v, Origin("demo"), DEMO_DAY)
        for i, (_, v) in enumerate(day.events)
        if i not in lost
    ]
    children = expected_children(day, played)
    invalid = sum(isinstance(r, DeadLetter) for r in checked)
    routed_now, dead = len(outcome.routed), len(outcome.dead)
    accounted = routed_now == children and dead == invalid
    print(
        f"{'Every' if accounted else 'NOT every'} published incident accounted for: "
        f"{routed_now} children routed, {dead} invalid incidents dead-lettered."
    )
    if not accounted:
        print(f"  expected {children} children and {invalid} dead letters", file=sys.stderr)
    return accounted
