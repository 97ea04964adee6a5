"""Grafana dashboards as code: a small typed generator, its output committed as JSON.

``frontdoor dashboards write`` regenerates ``deploy/grafana/dashboards/*.json``; a test
fails when the committed JSON differs from what this module produces, and another runs
every panel's query against a real Prometheus that scraped a real worker.

The duty manager's panels come first: what is due soon, what was missed or late today,
police report delays, the oldest pending notification, possible matches awaiting review.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from streams.tools.generators.generated import stale_files, write_files

DASHBOARD_DIR = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}

Kind = Literal["stat", "bargauge", "timeseries", "table"]


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    kind: Kind = "timeseries"
    unit: str = "short"
    description: str = ""
    width: int = 8
    height: int = 7
    thresholds: tuple[tuple[float, str], ...] = ()


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    rows: tuple[Row, ...]
    tags: tuple[str, ...] = ("frontdoor",)
    refresh: str = "30s"
    time_from: str = "now-24h"

    def panels(self) -> list[Panel]:
        return [p for row in self.rows for p in row.panels]


@dataclass
class _Layout:
    x: int = 0
    y: int = 0
    row_height: int = 0
    next_id: int = 1
    out: list[dict[str, Any]] = field(default_factory=list)

    def place(self, width: int, height: int) -> dict[str, int]:
        if self.x + width > 24:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        spot = {"x": self.x, "y": self.y, "w": width, "h": height}
        self.x += width
        self.row_height = max(self.row_height, height)
        return spot

    def new_row(self) -> dict[str, int]:
        self.y += self.row_height
        self.x, self.row_height = 0, 1
        return {"x": 0, "y": self.y, "w": 24, "h": 1}

    def take_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


def _panel_json(panel: Panel, layout: _Layout) -> dict[str, Any]:
    steps = [{"color": "green", "value": None}] + [
        {"color": colour, "value": value} for value, colour in panel.thresholds
    ]
    body: dict[str, Any] = {
        "id": layout.take_id(),
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": layout.place(panel.width, panel.height),
        "fieldConfig": {
            "defaults": {"unit": panel.unit, "thresholds": {"mode": "absolute", "steps": steps}},
            "overrides": [],
        },
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "datasource": DATASOURCE,
                "expr": q.expr,
                "legendFormat": q.legend,
                "instant": panel.kind != "timeseries",
                "range": panel.kind == "timeseries",
            }
            for i, q in enumerate(panel.queries)
        ],
    }
    if panel.kind in ("stat", "bargauge"):
        body["options"] = {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}
        }
    return body


def render(dashboard: Dashboard) -> dict[str, Any]:
    layout = _Layout()
    panels: list[dict[str, Any]] = []
    for row in dashboard.rows:
        panels.append(
            {
                "id": layout.take_id(),
                "type": "row",
                "title": row.title,
                "collapsed": False,
                "gridPos": layout.new_row(),
                "panels": [],
            }
        )
        layout.x, layout.y, layout.row_height = 0, layout.y + 1, 0
        panels += [_panel_json(p, layout) for p in row.panels]
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": list(dashboard.tags),
        "timezone": "Europe/London",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": dashboard.refresh,
        "time": {"from": dashboard.time_from, "to": "now"},
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": panels,
    }


_BY_AGENCY = "sum by (agency)"

DUTY = Dashboard(
    uid="frontdoor-duty",
    title="frontdoor: duty manager",
    description="What is due, what was missed or late, and what is waiting for a person.",
    rows=(
        Row(
            "Due and overdue",
            (
                Panel(
                    "Notifications due in the next 4 hours, by agency",
                    (
                        Query(
                            f'{_BY_AGENCY} (frontdoor_notifications_due{{within="4h"}})',
                            "{{agency}}",
                        ),
                    ),
                    kind="bargauge",
                    description="Unacknowledged, due within 4 hours.",
                ),
                Panel(
                    "Overdue and unacknowledged, by agency",
                    (
                        Query(
                            f'{_BY_AGENCY} (frontdoor_notifications_due{{within="overdue"}})',
                            "{{agency}}",
                        ),
                    ),
                    kind="bargauge",
                    thresholds=((1, "red"),),
                ),
                Panel(
                    "Oldest pending notification, by agency",
                    (
                        Query(
                            "max by (agency) (frontdoor_oldest_pending_notification_age_seconds)",
                            "{{agency}}",
                        ),
                    ),
                    kind="bargauge",
                    unit="s",
                    thresholds=((4 * 3600, "orange"), (24 * 3600, "red")),
                ),
            ),
        ),
        Row(
            "Missed and late today",
            (
                Panel(
                    "Missed today, by agency and rule",
                    (
                        Query(
                            "sum by (agency, rule) "
                            "(increase(frontdoor_notifications_missed_total[24h]))",
                            "{{agency}} {{rule}}",
                        ),
                    ),
                    kind="table",
                    thresholds=((1, "red"),),
                ),
                Panel(
                    "Late today, by agency and rule",
                    (
                        Query(
                            "sum by (agency, rule) "
                            "(increase(frontdoor_notifications_late_total[24h]))",
                            "{{agency}} {{rule}}",
                        ),
                    ),
                    kind="table",
                    thresholds=((1, "orange"),),
                ),
                Panel(
                    "Acknowledgement time p90, by agency",
                    (
                        Query(
                            "histogram_quantile(0.9, sum by (agency, le) "
                            "(rate(frontdoor_acknowledgement_seconds_bucket[1h])))",
                            "{{agency}}",
                        ),
                    ),
                    unit="s",
                ),
            ),
        ),
        Row(
            "Police and review",
            (
                Panel(
                    "Police report delay p90, by force",
                    (
                        Query(
                            "histogram_quantile(0.9, sum by (force, le) "
                            "(rate(frontdoor_police_report_delay_seconds_bucket[1h])))",
                            "{{force}}",
                        ),
                    ),
                    unit="s",
                    description="reported_at minus occurred_at; policy: 24 h.",
                ),
                Panel(
                    "Police late reports today, by force",
                    (
                        Query(
                            "sum by (force) (increase(frontdoor_police_late_reports_total[24h]))",
                            "{{force}}",
                        ),
                    ),
                    kind="bargauge",
                ),
                Panel(
                    "Police arrival delay p90, by force",
                    (
                        Query(
                            "histogram_quantile(0.9, sum by (force, le) "
                            "(rate(frontdoor_police_arrival_delay_seconds_bucket[1h])))",
                            "{{force}}",
                        ),
                    ),
                    unit="s",
                    description="How long after the force recorded an incident it reached "
                    "frontdoor; policy: 1 h.",
                ),
                Panel(
                    "Incidents late to frontdoor today, by force",
                    (
                        Query(
                            "sum by (force) "
                            "(increase(frontdoor_police_late_to_frontdoor_total[24h]))",
                            "{{force}}",
                        ),
                    ),
                    kind="bargauge",
                    description="Held back upstream: agencies' deadlines may have passed "
                    "before frontdoor could send anything.",
                ),
                Panel(
                    "Possible matches awaiting review",
                    (Query("sum(frontdoor_reviews_awaiting_decision)", "awaiting"),),
                    kind="stat",
                    thresholds=((10, "orange"),),
                ),
            ),
        ),
    ),
)

OPERATIONS = Dashboard(
    uid="frontdoor-operations",
    title="frontdoor: operations",
    description="Throughput, latency, matching, dead letters and the council replica.",
    rows=(
        Row(
            "Flow",
            (
                Panel(
                    "Incidents received per minute, by type",
                    (
                        Query(
                            "sum by (incident_type) "
                            "(rate(frontdoor_incidents_received_total[5m])) * 60",
                            "{{incident_type}}",
                        ),
                    ),
                ),
                Panel(
                    "Notifications sent per minute, by agency",
                    (
                        Query(
                            "sum by (agency) (rate(frontdoor_notifications_total[5m])) * 60",
                            "{{agency}}",
                        ),
                    ),
                ),
                Panel(
                    "Processing latency p99 (published to notified)",
                    (
                        Query(
                            "histogram_quantile(0.99, "
                            "sum by (le) (rate(frontdoor_processing_latency_seconds_bucket[5m])))",
                            "p99",
                        ),
                    ),
                    unit="s",
                ),
            ),
        ),
        Row(
            "Matching and quality",
            (
                Panel(
                    "Match decisions per minute",
                    (
                        Query(
                            "sum by (decision) (rate(frontdoor_match_decisions_total[5m])) * 60",
                            "{{decision}}",
                        ),
                    ),
                ),
                Panel(
                    "Dead letters per minute, by topic",
                    (
                        Query(
                            "sum by (topic, reason) "
                            "(rate(frontdoor_invalid_events_total[5m])) * 60",
                            "{{topic}} {{reason}}",
                        ),
                    ),
                ),
                Panel(
                    "Council records in the replica",
                    (Query("max(frontdoor_replica_records)", "records"),),
                    kind="stat",
                ),
            ),
        ),
        Row(
            "Compliance signals",
            (
                Panel(
                    "Compliance alerts today, by kind",
                    (
                        Query(
                            "sum by (kind) (increase(frontdoor_compliance_alerts_total[24h]))",
                            "{{kind}}",
                        ),
                    ),
                    kind="bargauge",
                ),
                Panel(
                    "Police sequence gaps today, by force",
                    (
                        Query(
                            "sum by (force) (increase(frontdoor_police_sequence_gaps_total[24h]))",
                            "{{force}}",
                        ),
                    ),
                    kind="bargauge",
                ),
                Panel(
                    "Strategy meeting participation, by party",
                    (
                        Query(
                            "sum by (party) (frontdoor_strategy_meeting_attendances_total) / "
                            "sum by (party) (frontdoor_strategy_meeting_invitations_total)",
                            "{{party}}",
                        ),
                    ),
                    kind="bargauge",
                    unit="percentunit",
                ),
            ),
        ),
    ),
)

DASHBOARDS = (DUTY, OPERATIONS)


def rendered() -> dict[Path, str]:
    return {
        DASHBOARD_DIR / f"{d.uid}.json": json.dumps(render(d), indent=2, sort_keys=True) + "\n"
        for d in DASHBOARDS
    }


def write() -> list[Path]:
    return write_files(rendered())


def stale() -> list[Path]:
    return stale_files(rendered())


def queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) for every panel of every dashboard."""
    return [(p.title, q.expr) for d in DASHBOARDS for p in d.panels() for q in p.queries]
