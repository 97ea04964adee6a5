"""The compliance report for the safeguarding partnership. Pure: events in, report out.

One definition, stated on the report itself (``DEFINITION``) and used by ``frontdoor
report`` and ``make demo`` alike:

* **Which notifications**: each notification id once, in the period in which frontdoor
  first sent it. A notification re-sent with new content (a later decision about the
  child) is the same notification: it counts under every rule any of its versions named,
  against the earliest deadline any of them gave, exactly as the deadline tracker judges
  it, and is not counted again.
* **Status as at the end of the period** (or now, while the period is still open): only
  events up to that moment count, so the same closed period gives the same figures
  however often, and however long after, it is run. Each notification is in exactly one
  of **on time** (first acknowledgement by the deadline), **late** (after it), **missed**
  (not acknowledged and the deadline has passed) and **open** (not acknowledged, not yet
  due): sent = on time + late + missed + open.
* A notification flagged missed and acknowledged afterwards counts once, as **late**;
  the **missed first** column says how many of the late ones were flagged missed before
  their acknowledgement, and the alerts section accounts for every missed alert this way.
* **Sent past deadline**: late or missed notifications that frontdoor could only send
  after their deadline had passed (the incident, or the council record that let frontdoor
  match the child, reached frontdoor late); the delay was upstream of the agency, so
  **on time %** = on time / (on time + late + missed - sent past deadline).
* **Acknowledgement time**: from first sending to first acknowledgement.

Alerts are those observed in the period up to the same moment; police-side alerts are
also counted by force. Only ids, closed-list values and numbers are read or shown: no
personal data.
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

DEFINITION = (
    "Each notification counts once, in the period frontdoor first sent it, under every "
    "rule any version named, against its earliest deadline. Status is as at the end of "
    "the period (events after it are not counted, so a closed period always gives the "
    "same figures): sent = on time + late + missed + open. A notification flagged missed "
    "and acknowledged afterwards counts as late (column 'missed first'). 'Sent past "
    "deadline': frontdoor could only send it after its deadline (the incident or the "
    "child's council record reached frontdoor late), so it is left out of the agency's "
    "on time %."
)

ALL = "all"
# Police-side alert kinds, counted by force.
POLICE_KINDS = (
    AlertKind.LATE_POLICE_REPORT,
    AlertKind.LATE_TO_FRONTDOOR,
    AlertKind.SEQUENCE_GAP,
    AlertKind.BATCHING,
)


@dataclass
class Row:
    agency: str
    rule: str
    sent: int = 0
    on_time: int = 0
    late: int = 0
    missed_first: int = 0  # of the late: flagged missed before the acknowledgement
    missed: int = 0
    open: int = 0
    sent_past_deadline: int = 0  # of the late and missed: sent after the deadline
    ack_seconds: list[float] = field(default_factory=list, repr=False)

    @property
    def on_time_pct(self) -> float | None:
        due = self.on_time + self.late + self.missed - self.sent_past_deadline
        return round(100 * self.on_time / due, 1) if due > 0 else None

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
class MissedAlerts:
    """Every missed alert of the period, accounted for against the table."""

    still_unacknowledged: int = 0  # in the table's missed column
    acknowledged_after: int = 0  # in the table's late column, 'missed first'
    # acknowledged by the deadline, but the acknowledgement reached frontdoor after the
    # alert: in the table's on time column
    acknowledged_by_deadline: int = 0
    sent_before_period: int = 0  # about notifications first sent before the period

    @property
    def total(self) -> int:
        return (
            self.still_unacknowledged
            + self.acknowledged_after
            + self.acknowledged_by_deadline
            + self.sent_before_period
        )


@dataclass
class Report:
    since: datetime
    until: datetime
    as_at: datetime
    rows: list[Row]
    total: Row  # every notification once (one naming two rules is in two rows)
    police_by_force: dict[str, dict[str, int]]  # force -> police-side alert kind -> count
    alerts_by_kind: dict[str, int]
    missed_alerts: MissedAlerts
    definition: str = DEFINITION

    @property
    def late_reports_by_force(self) -> dict[str, int]:
        kind = AlertKind.LATE_POLICE_REPORT.value
        return {f: k[kind] for f, k in self.police_by_force.items() if k.get(kind)}

    def as_dict(self) -> dict[str, object]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "as_at": self.as_at.isoformat(),
            "definition": self.definition,
            "notifications": [r.as_dict() for r in self.rows],
            "total": self.total.as_dict(),
            "police_by_force": self.police_by_force,
            "compliance_alerts_by_kind": self.alerts_by_kind,
            "missed_alerts": asdict(self.missed_alerts) | {"total": self.missed_alerts.total},
        }


@dataclass
class _Sent:
    """A notification as the deadline tracker sees it: every version merged."""

    first: Notification
    first_sent: datetime
    rules: set[str]
    deadline: datetime


def _merge(notifications: Iterable[Notification], as_at: datetime) -> dict[str, _Sent]:
    merged: dict[str, _Sent] = {}
    for n in notifications:
        if n.produced_at > as_at:
            continue  # not yet sent as at the end of the period
        held = merged.get(n.notification_id)
        if held is None:
            merged[n.notification_id] = _Sent(n, n.produced_at, set(n.rules), n.deadline)
            continue
        held.rules |= set(n.rules)
        held.deadline = min(held.deadline, n.deadline)
        if n.produced_at < held.first_sent:
            held.first, held.first_sent = n, n.produced_at
    return merged


def _count(row: Row, n: _Sent, acked: datetime | None, flagged: bool, as_at: datetime) -> None:
    row.sent += 1
    past = n.first_sent > n.deadline
    if acked is not None:
        row.ack_seconds.append(max((acked - n.first_sent).total_seconds(), 0.0))
        if acked <= n.deadline:
            row.on_time += 1
        else:
            row.late += 1
            row.missed_first += flagged
            row.sent_past_deadline += past
    elif n.deadline <= as_at:
        row.missed += 1
        row.sent_past_deadline += past
    else:
        row.open += 1


def build(
    notifications: Iterable[Notification],
    acks: Iterable[Acknowledgement],
    alerts: Iterable[ComplianceAlert],
    since: datetime,
    until: datetime,
    now: datetime,
) -> Report:
    """``notifications``: every version sent (re-sendings included); status as at
    ``min(until, now)``."""
    as_at = min(until, now)
    sent = _merge(notifications, as_at)
    first_ack: dict[str, datetime] = {}
    for ack in acks:
        if ack.acknowledged_at <= as_at:
            held = first_ack.get(ack.notification_id)
            if held is None or ack.acknowledged_at < held:
                first_ack[ack.notification_id] = ack.acknowledged_at
    window = sorted(
        (a for a in alerts if since <= a.observed_at <= as_at), key=lambda a: a.alert_id
    )
    window = list({a.alert_id: a for a in window}.values())  # a replayed alert counts once
    missed_ids = {
        a.subject.notification_id
        for a in window
        if a.kind is AlertKind.MISSED and a.subject.notification_id
    }
    in_period = {i: n for i, n in sent.items() if since <= n.first_sent < until}
    rows: dict[tuple[str, str], Row] = {}
    total = Row(ALL, ALL)  # each notification once, whatever its agency and rules
    for notification_id in sorted(in_period):
        n = in_period[notification_id]
        agency = n.first.recipient.agency.value
        counted = [rows.setdefault((agency, r), Row(agency, r)) for r in n.rules]
        for row in (*counted, total):
            _count(row, n, first_ack.get(notification_id), notification_id in missed_ids, as_at)
    missed = MissedAlerts()
    for notification_id in sorted(missed_ids):
        acked = first_ack.get(notification_id)
        if notification_id not in in_period:
            missed.sent_before_period += 1
        elif acked is None:
            missed.still_unacknowledged += 1
        elif acked > in_period[notification_id].deadline:
            missed.acknowledged_after += 1
        else:
            missed.acknowledged_by_deadline += 1
    police: dict[str, Counter[str]] = {}
    for a in window:
        if a.kind in POLICE_KINDS:
            force = a.subject.police_source or "unknown"
            police.setdefault(force, Counter())[a.kind.value] += 1
    return Report(
        since,
        until,
        as_at,
        sorted(rows.values(), key=lambda r: (r.agency, rule_order(r.rule))),
        total,
        {f: dict(sorted(c.items())) for f, c in sorted(police.items())},
        dict(sorted(Counter(a.kind.value for a in window).items())),
        missed,
    )


def duration(seconds: float | None) -> str:
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
    "missed first",
    "missed",
    "open",
    "sent past deadline",
    "on time %",
    "median ack",
    "p90 ack",
)
_COLUMNS = (
    "agency",
    "rule",
    "sent",
    "on_time",
    "late",
    "missed_first",
    "missed",
    "open",
    "sent_past_deadline",
    "on_time_pct",
    "median_ack_s",
    "p90_ack_s",
)


def _cells(row: Row) -> tuple[str, ...]:
    pct = row.on_time_pct
    return (
        row.agency,
        row.rule,
        str(row.sent),
        str(row.on_time),
        str(row.late),
        str(row.missed_first),
        str(row.missed),
        str(row.open),
        str(row.sent_past_deadline),
        "-" if pct is None else f"{pct:.1f}",
        duration(row.median_ack_s),
        duration(row.p90_ack_s),
    )


def render(report: Report, form: str) -> str:
    return {"table": as_table, "csv": as_csv, "json": as_json, "html": as_html}[form](report)


def _wrap(text: str, width: int = 88, indent: str = "  ") -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width - len(indent):
            lines.append(indent + line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, indent + line] if line else lines


def _title(report: Report) -> str:
    return (
        f"Compliance report {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} "
        f"(UTC), as at {report.as_at:%Y-%m-%d %H:%M}"
    )


def _missed_lines(report: Report) -> list[str]:
    """Every missed alert of the period, accounted for against the table."""
    m = report.missed_alerts
    lines = [f"{m.total} missed alerts in the period:"]
    parts = [
        (m.still_unacknowledged, "still unacknowledged (table: missed)"),
        (m.acknowledged_after, "acknowledged afterwards (table: late, missed first)"),
        (
            m.acknowledged_by_deadline,
            "acknowledged by the deadline, the acknowledgement reaching frontdoor after the "
            "alert (table: on time)",
        ),
        (m.sent_before_period, "about notifications first sent before the period"),
    ]
    lines += [f"  {count:>6}  {text}" for count, text in parts if count]
    lines.append("  (the table's 'all' row counts each notification once)")
    return lines


def as_table(report: Report) -> str:
    lines = [_title(report), "", *_wrap(report.definition, indent=""), ""]
    lines.append("Notifications by agency and rule (acknowledgement times h:m)")
    cells = [_HEAD, *(_cells(r) for r in report.rows), _cells(report.total)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(_HEAD))]
    for n, row in enumerate(cells):
        lines.append(
            "  "
            + "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n in (0, len(cells) - 2):
            lines.append("  " + "-" * (sum(widths) + 2 * (len(widths) - 1)))
    lines += ["", "Police-side alerts by force"]
    kinds = [k.value for k in POLICE_KINDS]
    if report.police_by_force:
        lines.append("  " + "force".ljust(10) + "".join(f"{k:>20}" for k in kinds))
        for force, counts in report.police_by_force.items():
            lines.append("  " + force.ljust(10) + "".join(f"{counts.get(k, 0):>20}" for k in kinds))
    else:
        lines.append("  none")
    lines += ["", "Compliance alerts by kind"]
    lines += [f"  {kind:<20} {count:>6}" for kind, count in report.alerts_by_kind.items()]
    if not report.alerts_by_kind:
        lines.append("  none")
    if report.missed_alerts.total:
        lines += ["", *_missed_lines(report)]
    return "\n".join(lines) + "\n"


def as_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*_COLUMNS, "as_at"])
    writer.writeheader()
    for row in (*report.rows, report.total):
        values = {k: v for k, v in row.as_dict().items() if k in _COLUMNS}
        writer.writerow(values | {"as_at": report.as_at.isoformat()})
    return out.getvalue()


def as_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2) + "\n"


def bar_chart(title: str, bars: list[tuple[str, float, str]], unit: str) -> str:
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


def html_page(title: str, body: str) -> str:
    """One self-contained page (the compliance report's and the what-if's look): the
    title as its heading, then ``body``."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:nth-child(-n+2),
th:nth-child(-n+2){{text-align:left}}th{{background:#f3f3f3}}</style></head><body>
<h1>{html.escape(title)}</h1>
{body}</body></html>
"""


def as_html(report: Report) -> str:
    on_time = [
        (f"{r.agency} {r.rule}", pct, "#2e7d32" if pct >= 95 else "#c62828")
        for r in report.rows
        if (pct := r.on_time_pct) is not None
    ]
    missed = [(f"{r.agency} {r.rule}", float(r.missed), "#c62828") for r in report.rows if r.missed]
    forces = [(force, float(n), "#6a1b9a") for force, n in report.late_reports_by_force.items()]
    late_kind = AlertKind.LATE_TO_FRONTDOOR.value
    held_back = [
        (force, float(k[late_kind]), "#6a1b9a")
        for force, k in report.police_by_force.items()
        if k.get(late_kind)
    ]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in _HEAD)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(r)) + "</tr>"
        for r in (*report.rows, report.total)
    )
    alerts = "".join(
        f"<tr><td>{html.escape(kind)}</td><td>{count}</td></tr>"
        for kind, count in report.alerts_by_kind.items()
    )
    accounted = "".join(f"<li>{html.escape(line.strip())}</li>" for line in _missed_lines(report))
    title = "frontdoor " + _title(report)
    return html_page(
        title,
        f"""<p>{html.escape(report.definition)}</p>
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<h3>Compliance alerts by kind</h3>
<table><tbody>{alerts}</tbody></table>
<ul>{accounted if report.missed_alerts.total else ""}</ul>
{bar_chart("On time % by agency and rule (target 95%)", on_time, "%")}
{bar_chart("Missed notifications by agency and rule", missed, "")}
{bar_chart("Police late reports by force", forces, "")}
{bar_chart("Incidents late to frontdoor by force", held_back, "")}
""",
    )
