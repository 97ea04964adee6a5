"""The what-if as a table, CSV (one row per changed notification), JSON or one
self-contained HTML page. Ids, closed-list values and numbers only."""

from __future__ import annotations

import csv
import html
import io
import json
from datetime import datetime
from typing import Any

from streams.compliance import bar_chart, duration, html_page
from streams.whatif.diff import Change, Diff, Fidelity, Row

DEFINITION = (
    "Both policies replay the same incidents, each at the moment it reached frontdoor, "
    "with the same council records (as they stand now) and the reviewers' decisions as "
    "they arrived; each child as the worker matched it (matched once now where the audit "
    "does not say). A notification counts once, in the period "
    "it was first sent, under every rule any of its versions named, against its earliest "
    "deadline. Met / missed judge the acknowledgement that really happened against each "
    "policy's deadline (missed: acknowledged after it, or not at all once it passed); a "
    "notification only the draft sends had no acknowledgement and is not judged. "
    "Fidelity: the live-policy replay against what frontdoor actually sent."
)

_COLUMNS = (
    "agency",
    "rule",
    "live",
    "draft",
    "newly",
    "no longer",
    "children +",
    "children -",
    "earlier",
    "median / p90",
    "later",
    "median / p90",
    "met→missed",
    "missed→met",
)


def _span(f: dict[str, Any], which: str) -> str:
    median, p90 = f[f"{which}_median_s"], f[f"{which}_p90_s"]
    return "-" if median is None else f"{duration(median)} / {duration(p90)}"


def _cells(c: Change) -> tuple[str, ...]:
    f = c.figures()
    return (
        c.agency,
        c.rule,
        str(c.live),
        str(c.draft),
        str(c.newly),
        str(c.no_longer),
        str(len(c.children_newly)),
        str(len(c.children_no_longer)),
        str(c.earlier),
        _span(f, "earlier"),
        str(c.later),
        _span(f, "later"),
        str(c.met_to_missed),
        str(c.missed_to_met),
    )


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="minutes") if moment else ""


def _fidelity_lines(trust: Fidelity) -> list[str]:
    lines = [
        f"Fidelity: {trust.reproduced} of {trust.actual} notifications actually sent in the "
        f"period reproduced exactly by the live-policy replay ({100 * trust.share:.1f} %); "
        f"the replay sent {trust.replayed}."
    ]
    lines += [f"  {count:>6}  {reason}" for reason, count in trust.why.items()]
    return lines


def as_table(
    diff: Diff, trust: Fidelity, draft_name: str, incidents: int, invalid: int, seconds: float
) -> str:
    shown = [c for c in diff.changes if c.changed]
    rows = [_COLUMNS, *(_cells(c) for c in shown), _cells(diff.all)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]
    fmt = "  ".join(f"{{:<{w}}}" if i < 2 else f"{{:>{w}}}" for i, w in enumerate(widths))
    out = [
        f"frontdoor what-if: {draft_name} against the live policy, "
        f"{_when(diff.since)} to {_when(diff.until)} (as at {_when(diff.as_at)})",
        f"{incidents} incidents replayed under both policies in {seconds:.1f} s"
        + (f"; {invalid} invalid (dead-lettered, as live)" if invalid else ""),
        *_fidelity_lines(trust),
        "",
        "What the draft changes, by agency and rule (agency/rule rows that change):"
        if shown
        else "The draft changes nothing in this period.",
        *(fmt.format(*r) for r in rows),
        "",
        "Workload, notifications per day and in the busiest hour (live -> draft):",
        *(
            f"  {w.agency:<15} {w.live_per_day:>7.1f}/day -> {w.draft_per_day:<7.1f}"
            f" busiest hour {w.live_peak_hour} -> {w.draft_peak_hour}"
            for w in diff.workload
        ),
        "",
        f"{len(diff.rows)} notifications change (--format csv lists each).",
    ]
    return "\n".join(out) + "\n"


_ROW_FIELDS = (
    "notification_id",
    "police_source",
    "incident_reference",
    "person_reference",
    "agency",
    "organisation",
    "change",
    "rules_live",
    "rules_draft",
    "deadline_live",
    "deadline_draft",
    "judged",
)


def _row(r: Row) -> dict[str, str]:
    return {
        name: _when(value) if isinstance(value, datetime) or value is None else str(value)
        for name in _ROW_FIELDS
        for value in (getattr(r, name),)
    }


def as_csv(diff: Diff) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_ROW_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in diff.rows:
        writer.writerow(_row(r))
    return buffer.getvalue()


def as_dict(diff: Diff, trust: Fidelity, draft_name: str, incidents: int) -> dict[str, Any]:
    return {
        "definition": DEFINITION,
        "draft": draft_name,
        "since": diff.since.isoformat(),
        "until": diff.until.isoformat(),
        "as_at": diff.as_at.isoformat(),
        "incidents": incidents,
        "fidelity": {
            "actual": trust.actual,
            "replayed": trust.replayed,
            "reproduced": trust.reproduced,
            "share": round(trust.share, 4),
            "why": trust.why,
        },
        "all": diff.all.figures(),
        "changes": [c.figures() for c in diff.changes if c.changed],
        "workload": [vars(w) for w in diff.workload],
        "notifications": [_row(r) for r in diff.rows],
    }


def as_html(diff: Diff, trust: Fidelity, draft_name: str, incidents: int) -> str:
    title = f"frontdoor what-if: {draft_name}, {_when(diff.since)} to {_when(diff.until)}"
    shown = [c for c in diff.changes if c.changed]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in _COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in _cells(c)) + "</tr>"
        for c in (*shown, diff.all)
    )
    trust_items = "".join(
        f"<li>{count} {html.escape(reason)}</li>" for reason, count in trust.why.items()
    )
    per_day = [
        bar
        for w in diff.workload
        for bar in (
            (f"{w.agency} live", w.live_per_day, "#1d70b8"),
            (f"{w.agency} draft", w.draft_per_day, "#f47738"),
        )
    ]
    flips = [
        (f"{c.agency} {c.rule}", float(c.met_to_missed), "#d4351c")
        for c in shown
        if c.met_to_missed
    ] + [
        (f"{c.agency} {c.rule} (→ met)", float(c.missed_to_met), "#00703c")
        for c in shown
        if c.missed_to_met
    ]
    listed = diff.rows[:2000]
    row_head = "".join(f"<th>{html.escape(h)}</th>" for h in _ROW_FIELDS)
    row_body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in _row(r).values()) + "</tr>"
        for r in listed
    )
    more = (
        f"<p>The first {len(listed)} of {len(diff.rows)}; --format csv lists every one.</p>"
        if len(diff.rows) > len(listed)
        else ""
    )
    return html_page(
        title,
        f"""<p>{html.escape(DEFINITION)}</p>
<h2>How far to trust it</h2>
<p>{trust.reproduced} of {trust.actual} notifications actually sent in the period were
reproduced exactly by the live-policy replay ({100 * trust.share:.1f} %), over
{incidents} incidents. The others differ because:</p><ul>{trust_items or "<li>none</li>"}</ul>
<h2>What the draft changes</h2>
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
{bar_chart("Notifications per day by agency, live and draft", per_day, "")}
{bar_chart("Deadlines that would flip, by agency and rule", flips, "")}
<h2>Each notification that changes</h2>{more}
<table><thead><tr>{row_head}</tr></thead><tbody>{row_body}</tbody></table>
""",
    )


def render(
    diff: Diff,
    trust: Fidelity,
    form: str,
    *,
    draft_name: str,
    incidents: int,
    invalid: int = 0,
    seconds: float = 0.0,
) -> str:
    if form == "csv":
        return as_csv(diff)
    if form == "json":  # one notification a line: a year changes hundreds of thousands
        whole = as_dict(diff, trust, draft_name, incidents)
        rows = whole.pop("notifications")
        head = json.dumps(whole, indent=2)[:-2]
        lines = ",\n    ".join(json.dumps(r, separators=(",", ":")) for r in rows)
        return head + ',\n  "notifications": [\n    ' + lines + "\n  ]\n}\n"
    if form == "html":
        return as_html(diff, trust, draft_name, incidents)
    return as_table(diff, trust, draft_name, incidents, invalid, seconds)
