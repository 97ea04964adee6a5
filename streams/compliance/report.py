"""The compliance report for the safeguarding partnership. Pure: events in, report out.

Per agency and rule, for notifications first sent in ``[since, until)``:

* **sent**: distinct notifications (one naming two rules counts under both);
* **on time**: acknowledged by the deadline; **late**: acknowledged after it; **missed**:
  not acknowledged and the deadline has passed; **open**: not acknowledged and not yet
  due. Status is judged as of ``now`` (when the report is made), so a report run after
  the period sees the deadlines of the period's notifications pass;
* **on time %** = on time / (on time + late + missed);
* **median / p90 acknowledgement time**: from first sending to first acknowledgement.

Police late reports by force, and alerts by kind, are those observed in the period.
Only ids, closed-list values and numbers are read or shown: no personal data.
"""

from __future__ import annotations

import csv
import html
import io
import json
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from schemas import Acknowledgement, ComplianceAlert, Notification
from schemas.enums import AlertKind
from streams.routing import rule_order


@dataclass
class Row:
    agency: str
    rule: str
    sent: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    open: int = 0
    ack_seconds: list[float] = field(default_factory=list, repr=False)

    @property
    def on_time_pct(self) -> float | None:
        due = self.on_time + self.late + self.missed
        return round(100 * self.on_time / due, 1) if due else None

    @property
    def median_ack_s(self) -> float | None:
        return round(statistics.median(self.ack_seconds), 1) if self.ack_seconds else None

    @property
    def p90_ack_s(self) -> float | None:
        if not self.ack_seconds:
            return None
        if len(self.ack_seconds) == 1:
            return round(self.ack_seconds[0], 1)
        return round(statistics.quantiles(self.ack_seconds, n=10, method="inclusive")[-1], 1)

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("ack_seconds")
        data.update(
            on_time_pct=self.on_time_pct, median_ack_s=self.median_ack_s, p90_ack_s=self.p90_ack_s
        )
        return data


@dataclass
class Report:
    since: datetime
    until: datetime
    rows: list[Row]
    late_reports_by_force: dict[str, int]
    alerts_by_kind: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "notifications": [r.as_dict() for r in self.rows],
            "police_late_reports_by_force": self.late_reports_by_force,
            "compliance_alerts_by_kind": self.alerts_by_kind,
        }


def build(
    notifications: Iterable[Notification],
    acks: Iterable[Acknowledgement],
    alerts: Iterable[ComplianceAlert],
    since: datetime,
    until: datetime,
    now: datetime,
) -> Report:
    first_sent: dict[str, Notification] = {}
    for n in notifications:  # a re-sent notification keeps its first sending
        held = first_sent.get(n.notification_id)
        if held is None or n.produced_at < held.produced_at:
            first_sent[n.notification_id] = n
    first_ack: dict[str, Acknowledgement] = {}
    for a in acks:
        held_ack = first_ack.get(a.notification_id)
        if held_ack is None or a.acknowledged_at < held_ack.acknowledged_at:
            first_ack[a.notification_id] = a
    as_of = now
    rows: dict[tuple[str, str], Row] = {}
    for n in first_sent.values():
        if not since <= n.produced_at < until:
            continue
        ack = first_ack.get(n.notification_id)
        for rule in n.rules:
            row = rows.setdefault(
                (n.recipient.agency.value, rule), Row(n.recipient.agency.value, rule)
            )
            row.sent += 1
            if ack is not None and ack.acknowledged_at <= as_of:
                row.ack_seconds.append((ack.acknowledged_at - n.produced_at).total_seconds())
                if ack.acknowledged_at <= n.deadline:
                    row.on_time += 1
                else:
                    row.late += 1
            elif n.deadline <= as_of:
                row.missed += 1
            else:
                row.open += 1
    window = [a for a in alerts if since <= a.observed_at < until]
    late_reports = Counter(
        a.subject.police_source or "unknown"
        for a in window
        if a.kind is AlertKind.LATE_POLICE_REPORT
    )
    return Report(
        since,
        until,
        sorted(rows.values(), key=lambda r: (r.agency, rule_order(r.rule))),
        dict(sorted(late_reports.items())),
        dict(sorted(Counter(a.kind.value for a in window).items())),
    )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    value = timedelta(seconds=round(seconds))
    hours, rest = divmod(int(value.total_seconds()), 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


_HEAD = (
    "agency",
    "rule",
    "sent",
    "on time",
    "late",
    "missed",
    "open",
    "on time %",
    "median ack",
    "p90 ack",
)


def _cells(row: Row) -> tuple[str, ...]:
    pct = row.on_time_pct
    return (
        row.agency,
        row.rule,
        str(row.sent),
        str(row.on_time),
        str(row.late),
        str(row.missed),
        str(row.open),
        "-" if pct is None else f"{pct:.1f}",
        _duration(row.median_ack_s),
        _duration(row.p90_ack_s),
    )


def render(report: Report, form: str) -> str:
    return {"table": as_table, "csv": as_csv, "json": as_json, "html": as_html}[form](report)


def as_table(report: Report) -> str:
    lines = [
        f"Compliance report {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} (UTC)",
        "",
        "Notifications by agency and rule (acknowledgement times h:m)",
    ]
    cells = [_HEAD, *(_cells(r) for r in report.rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(_HEAD))]
    for n, row in enumerate(cells):
        lines.append(
            "  "
            + "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  " + "-" * (sum(widths) + 2 * (len(widths) - 1)))
    lines += ["", "Police late reports by force"]
    lines += [f"  {force:<10} {count:>6}" for force, count in report.late_reports_by_force.items()]
    if not report.late_reports_by_force:
        lines.append("  none")
    lines += ["", "Compliance alerts by kind"]
    lines += [f"  {kind:<20} {count:>6}" for kind, count in report.alerts_by_kind.items()]
    if not report.alerts_by_kind:
        lines.append("  none")
    return "\n".join(lines) + "\n"


def as_csv(report: Report) -> str:
    out = io.StringIO()
    fields = [
        "agency",
        "rule",
        "sent",
        "on_time",
        "late",
        "missed",
        "open",
        "on_time_pct",
        "median_ack_s",
        "p90_ack_s",
    ]
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for row in report.rows:
        writer.writerow({k: v for k, v in row.as_dict().items() if k in fields})
    return out.getvalue()


def as_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2) + "\n"


def _bar_chart(title: str, bars: list[tuple[str, float, str]], unit: str) -> str:
    """A self-contained SVG horizontal bar chart: (label, value, colour)."""
    if not bars:
        return f"<h3>{html.escape(title)}</h3><p>No data.</p>"
    top = max(v for _, v, _ in bars) or 1
    height = 22 * len(bars) + 10
    parts = [
        f'<svg role="img" aria-label="{html.escape(title)}" width="640" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg" font-size="12">'
    ]
    for i, (label, value, colour) in enumerate(bars):
        y = 5 + 22 * i
        width = 400 * value / top
        parts.append(
            f'<text x="0" y="{y + 14}">{html.escape(label)}</text>'
            f'<rect x="170" y="{y}" width="{width:.1f}" height="16" fill="{colour}"/>'
            f'<text x="{175 + width:.1f}" y="{y + 13}">{value:g}{unit}</text>'
        )
    parts.append("</svg>")
    return f"<h3>{html.escape(title)}</h3>" + "".join(parts)


def as_html(report: Report) -> str:
    on_time = [
        (f"{r.agency} {r.rule}", pct, "#2e7d32" if pct >= 95 else "#c62828")
        for r in report.rows
        if (pct := r.on_time_pct) is not None
    ]
    missed = [(f"{r.agency} {r.rule}", float(r.missed), "#c62828") for r in report.rows if r.missed]
    forces = [(force, float(n), "#6a1b9a") for force, n in report.late_reports_by_force.items()]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in _HEAD)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(r)) + "</tr>"
        for r in report.rows
    )
    title = (
        f"frontdoor compliance report {report.since:%Y-%m-%d %H:%M} to "
        f"{report.until:%Y-%m-%d %H:%M} UTC"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:nth-child(-n+2),
th:nth-child(-n+2){{text-align:left}}th{{background:#f3f3f3}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Notifications first sent in the period, by recipient agency and the rule that required
them. On time %: acknowledged by the deadline, of those acknowledged or past due.</p>
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
{_bar_chart("On time % by agency and rule (target 95%)", on_time, "%")}
{_bar_chart("Missed notifications by agency and rule", missed, "")}
{_bar_chart("Police late reports by force", forces, "")}
</body></html>
"""
