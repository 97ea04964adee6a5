"""The policy what-if (a policy officer's: the access plan's ``partnership-policy`` party):
choose whole days and a draft policy file; the console replays the period under the live
policy and the draft in the background (``whatifs``), shows how far it has got, and then
the impact: how far to trust it, what changes per agency and rule, the workload, and each
notification that changes, in a table sorted on the server (so it works without
JavaScript). Addresses carry a random job id and closed-list sort keys only."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from schemas.enums import Agency
from streams.console import days, words
from streams.console.pages import (
    console_of,
    csrf_refused,
    flash,
    form_from,
    page,
    permitted,
    see_other,
    session_of,
)
from streams.console.sessions import Staff, csrf_ok
from streams.console.whatifs import STAGES, Busy, Job, Jobs
from streams.history import Outcome
from streams.routing import PolicyError, default_policy_text, parse_policy
from streams.whatif import DEFINITION, Row
from streams.whatif.render import as_csv, as_html

router = APIRouter(prefix="/whatif", tags=["policy what-if"])

DRAFT_LIMIT = 256 * 1024  # bytes: a policy is a few kilobytes
PAGE_ROWS = 50
JOB_ID = re.compile(r"[A-Za-z0-9_-]{16}")
CHANGES = {
    "newly": "Newly notified",
    "no_longer": "No longer notified",
    "earlier": "Deadline earlier",
    "later": "Deadline later",
    "rules": "Other rules, same deadline",
}
JUDGED = {"met->missed": "Met, would be missed", "missed->met": "Missed, would be met"}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    sort: Callable[[Row], Any]


def _moved(r: Row) -> float:
    if r.deadline_live is None or r.deadline_draft is None:
        return 0.0
    return (r.deadline_draft - r.deadline_live).total_seconds()


_NEVER = datetime.max.replace(tzinfo=None)


def _instant(value: datetime | None) -> datetime:
    return value.replace(tzinfo=None) if value is not None else _NEVER


COLUMNS = (
    Column("incident", "Incident", lambda r: (r.police_source, r.incident_reference)),
    Column("person", "Person", lambda r: r.person_reference),
    Column("recipient", "Recipient", lambda r: (r.agency, r.organisation)),
    Column("change", "Change", lambda r: r.change),
    Column("rules", "Rules, live → draft", lambda r: (r.rules_live, r.rules_draft)),
    Column("live", "Deadline, live", lambda r: _instant(r.deadline_live)),
    Column("draft", "Deadline, draft", lambda r: _instant(r.deadline_draft)),
    Column("moved", "Moved by", _moved),
    Column("judged", "Met or missed", lambda r: r.judged),
)
SORTS = {c.key: c for c in COLUMNS}


def officer(request: Request) -> Staff:
    return permitted(
        request,
        console_of(request).policy_officer,
        "You cannot run a policy what-if",
        "Trying a draft policy on past incidents is the partnership's policy officers'. "
        "Ask your manager if it should be yours.",
    )


def jobs_of(request: Request) -> Jobs:
    jobs = console_of(request).whatifs
    if jobs is None:
        raise HTTPException(404)
    return jobs


def _job(request: Request, staff: Staff, job_id: str) -> Job:
    job = jobs_of(request).find(staff.staff_id, job_id) if JOB_ID.fullmatch(job_id) else None
    if job is None:
        raise HTTPException(404)
    return job


@router.get("")
async def start_page(request: Request) -> Response:
    staff = officer(request)
    return _form(request, staff, {}, {})


def _form(
    request: Request,
    staff: Staff,
    fields: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    jobs = jobs_of(request)
    running = jobs.running()
    return page(
        request,
        "whatif_form.html",
        status,
        title="Try a draft policy",
        period=days.form(fields, {k: v for k, v in errors.items() if k != "draft"}),
        draft_error=errors.get("draft"),
        errors=[
            {"text": text, "href": "#draft" if key == "draft" else f"#{key}-day"}
            for key, text in errors.items()
        ],
        mine=[_summary(request, j) for j in jobs.of(staff.staff_id)],
        busy=running is not None and running.owner != staff.staff_id,
        definition=DEFINITION,
    )


@router.post("")
async def start(request: Request) -> Response:
    """Check the form (CSRF, the days, the draft: validated as the worker validates a
    policy), then start the job and go to its page."""
    staff = officer(request)
    form = await request.form(max_files=1, max_fields=20, max_part_size=DRAFT_LIMIT + 1)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not csrf_ok(session_of(request), fields.get("csrf_token")):
        raise csrf_refused()
    period, errors = days.chosen(fields)
    upload = form.get("draft")
    draft_text, draft_name = "", ""
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors["draft"] = "Choose the draft policy file (YAML)"
    else:
        raw = await upload.read(DRAFT_LIMIT + 1)
        draft_name = _file_name(upload.filename)
        if len(raw) > DRAFT_LIMIT:
            errors["draft"] = "The draft policy file must be smaller than 256 KB"
        else:
            try:
                draft_text = raw.decode("utf-8")
                parse_policy(draft_text)
            except UnicodeDecodeError:
                errors["draft"] = "The draft policy file must be text (YAML, UTF-8)"
            except PolicyError as error:
                errors["draft"] = f"The draft policy is not valid: {_problems(error)}"
    if errors or period is None:
        return _form(request, staff, fields, errors, 400)
    since, until = period.instants(console_of(request).zone)
    now = request.state.now
    try:
        job = jobs_of(request).start(
            staff.staff_id,
            period,
            since,
            until,
            min(until, now),
            draft_text,
            draft_name,
        )
    except Busy:
        return _form(
            request,
            staff,
            fields,
            {"draft": "Another what-if is running: try again when it has finished"},
            409,
        )
    return see_other(f"/whatif/{job.id}")


def _problems(error: PolicyError) -> str:
    """What the policy check found, rule and field first (its heading line dropped)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return "; ".join(lines[1:] or lines)


def _file_name(name: str) -> str:
    """The draft's file name as shown (its last part, printable, short)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c.isprintable())[:80] or "draft.yaml"


@router.get("/policy.yaml")
async def live_policy(request: Request) -> Response:
    """The live policy, to start a draft from (rules and deadlines: no personal data)."""
    officer(request)
    path = console_of(request).settings.policy_file
    text = path.read_text() if path is not None else default_policy_text()
    return _attachment(text, "application/yaml", "live-policy.yaml")


def _summary(request: Request, job: Job) -> dict[str, Any]:
    zone = console_of(request).zone
    return {
        "id": job.id,
        "period": f"{job.period.first:%-d %b %Y} to {job.period.last:%-d %b %Y}",
        "draft": job.draft_name,
        "started": datetime.fromtimestamp(job.started, zone).strftime("%a %-d %b %H:%M"),
        "state": "running" if job.running else ("failed" if job.failed else "finished"),
    }


def _progress(job: Job) -> dict[str, Any]:
    """Where a job has got to, in words and numbers (also the JSON the page polls)."""
    if job.running:
        if job.step == 0:
            said = "Starting."
        elif job.total:
            said = (
                f"Step {job.step} of {len(STAGES)}, {job.stage}: {job.done:,} of "
                f"{job.total:,} {job.unit} ({job.percent} %), {job.rate:,.0f} {job.unit} a second."
            )
        else:
            said = (
                f"Step {job.step} of {len(STAGES)}, {job.stage}: {job.done:,} {job.unit} so far, "
                f"{job.rate:,.0f} a second."
            )
    elif job.failed:
        said = job.failed
    else:
        said = "Finished."
    return {
        "running": job.running,
        "failed": job.failed is not None,
        "step": job.step,
        "steps": len(STAGES),
        "percent": job.percent,
        "said": said,
    }


@router.get("/{job_id}/progress")
async def progress(request: Request, job_id: str) -> Response:
    staff = officer(request)
    return JSONResponse(_progress(_job(request, staff, job_id)))


@router.post("/{job_id}/stop")
async def stop(request: Request, job_id: str) -> Response:
    staff = officer(request)
    await form_from(request)
    job = _job(request, staff, job_id)
    jobs_of(request).stop(job)
    flash(request, "The what-if was stopped.")
    return see_other(f"/whatif/{job.id}")


@router.get("/{job_id}")
async def result(request: Request, job_id: str) -> Response:
    staff = officer(request)
    job = _job(request, staff, job_id)
    summary = _summary(request, job)
    if job.outcome is None:
        return page(
            request,
            "whatif_job.html",
            title="What-if running" if job.running else "What-if stopped",
            job=summary,
            progress=_progress(job),
        )
    zone = console_of(request).zone
    outcome = job.outcome
    sort_key = request.query_params.get("sort", "moved")
    column = SORTS.get(sort_key, SORTS["moved"])
    descending = request.query_params.get("order", "ascending") == "descending"
    # A year changes hundreds of thousands of rows: each order is sorted once per job.
    rows = job.orders.get((column.key, descending))
    if rows is None:
        rows = sorted(outcome.diff.rows, key=column.sort, reverse=descending)
        job.orders[(column.key, descending)] = rows
    pages = max(1, -(-len(rows) // PAGE_ROWS))
    try:
        number = min(max(1, int(request.query_params.get("page", "1"))), pages)
    except ValueError:
        number = 1
    shown = rows[(number - 1) * PAGE_ROWS : number * PAGE_ROWS]
    base, order = f"/whatif/{job.id}", "descending" if descending else "ascending"
    if not job.figures:  # quantiles over every moved deadline: once per job, not per page
        job.figures["all"] = outcome.diff.all.figures()
        job.figures["changes"] = [_shown(c.figures()) for c in outcome.diff.changes if c.changed]
    everything = job.figures["all"]
    return page(
        request,
        "whatif_result.html",
        title="What-if result",
        job=summary,
        definition=DEFINITION,
        trust=outcome.trust,
        incidents=outcome.incidents,
        invalid=outcome.invalid,
        cards=_cards(everything),
        summary_rows=_summary_rows(everything),
        changes=job.figures["changes"],
        workload=[vars(w) | {"agency": _agency(w.agency)} for w in outcome.diff.workload],
        sorted_by=f"{column.label.lower()}, {order}",
        columns=[
            {
                "key": c.key,
                "label": c.label,
                "sorted": ("descending" if descending else "ascending") if c is column else None,
                "href": f"{base}?sort={c.key}&order={_next_order(c is column, descending)}#changes",
            }
            for c in COLUMNS
        ],
        rows=[_row(r, zone) for r in shown],
        total_rows=len(rows),
        first_row=(number - 1) * PAGE_ROWS + 1,
        page_number=number,
        pages=pages,
        page_href=f"{base}?sort={column.key}&order={order}&page=",
        page_items=_page_items(f"{base}?sort={column.key}&order={order}&page=", number, pages),
        oldest=outcome.oldest,
    )


def _agency(value: str) -> str:
    """An agency as people name it ("Early help"); "all" and unknown values as they are."""
    try:
        return words.AGENCIES[Agency(value)]
    except ValueError:
        return value


def _span(seconds: object) -> str:
    """A median or p90 as hours and minutes ("12h00m"), or a dash."""
    if not isinstance(seconds, int | float):
        return "—"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours}h{minutes:02d}m"


def _shown(f: dict[str, object]) -> dict[str, object]:
    """One agency and rule's figures, with its deadline moves in words."""
    return f | {
        "agency": _agency(str(f["agency"])),
        "earlier": f"{f['deadlines_earlier']} ({_span(f['earlier_median_s'])}, "
        f"{_span(f['earlier_p90_s'])})"
        if f["deadlines_earlier"]
        else "0",
        "later": f"{f['deadlines_later']} ({_span(f['later_median_s'])}, {_span(f['later_p90_s'])})"
        if f["deadlines_later"]
        else "0",
    }


def _cards(f: dict[str, object]) -> list[dict[str, object]]:
    """The four figures a partnership asks first."""
    return [
        {"number": f["newly_notified"], "text": " notifications newly sent"},
        {"number": f["no_longer_notified"], "text": " notifications no longer sent"},
        {"number": f["met_to_missed"], "text": " deadlines met would be missed"},
        {"number": f["missed_to_met"], "text": " deadlines missed would be met"},
    ]


def _summary_rows(f: dict[str, object]) -> list[dict[str, object]]:
    shown = _shown(f)
    rows = [
        ("Notifications, live policy", f["live"]),
        ("Notifications, draft", f["draft"]),
        ("Children newly told", f["children_newly_notified"]),
        ("Children no longer told", f["children_no_longer_notified"]),
        ("Deadlines earlier (median, p90)", shown["earlier"]),
        ("Deadlines later (median, p90)", shown["later"]),
    ]
    return [{"key": {"text": k}, "value": {"text": str(v)}} for k, v in rows]


def _page_items(href: str, number: int, pages: int) -> list[dict[str, object]]:
    """GOV.UK pagination's items: the first page, the last, two either side of this one,
    and an ellipsis for each gap."""
    nearby = sorted({1, pages, *range(max(1, number - 2), min(pages, number + 2) + 1)})
    items: list[dict[str, object]] = []
    for n in nearby:
        if items and n > int(str(items[-1]["number"])) + 1:
            items.append({"ellipsis": True, "number": n - 1})
        item: dict[str, object] = {"number": n, "href": f"{href}{n}#changes"}
        if n == number:
            item["current"] = True
        items.append(item)
    return [i if not i.get("ellipsis") else {"ellipsis": True} for i in items]


def _next_order(sorted_on: bool, descending: bool) -> str:
    """A header's link: the other way round if the table is sorted on it, else ascending."""
    return "ascending" if sorted_on and descending else "descending" if sorted_on else "ascending"


def _row(r: Row, zone: Any) -> dict[str, str]:
    def when(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%a %-d %b %Y %H:%M") if moment else "—"

    moved = _moved(r)
    hours, minutes = divmod(int(abs(moved)) // 60, 60)
    return {
        "incident": f"{r.police_source} {r.incident_reference}",
        "person": r.person_reference,
        "recipient": f"{_agency(r.agency)}: {r.organisation}",
        "change": CHANGES.get(r.change, r.change),
        "rules": f"{r.rules_live or '—'} → {r.rules_draft or '—'}",
        "live": when(r.deadline_live),
        "draft": when(r.deadline_draft),
        "moved": (
            f"{'earlier' if moved < 0 else 'later'} by {hours}h{minutes:02d}m" if moved else "—"
        ),
        "judged": JUDGED.get(r.judged, "—"),
    }


def _done(request: Request, job_id: str) -> tuple[Job, Outcome]:
    """A finished job of the person's, and its outcome (404 otherwise)."""
    job = _job(request, officer(request), job_id)
    if job.outcome is None:
        raise HTTPException(404)
    return job, job.outcome


def _attachment(text: str, media_type: str, filename: str) -> Response:
    disposition = f'attachment; filename="{filename}"'
    return Response(text, media_type=media_type, headers={"content-disposition": disposition})


@router.get("/{job_id}/changes.csv")
async def changes_csv(request: Request, job_id: str) -> Response:
    _, outcome = _done(request, job_id)
    return _attachment(as_csv(outcome.diff), "text/csv", "whatif-changes.csv")


@router.get("/{job_id}/report.html")
async def report(request: Request, job_id: str) -> Response:
    job, o = _done(request, job_id)
    page_text = as_html(o.diff, o.trust, job.draft_name, o.incidents)
    return _attachment(page_text, "text/html", "whatif-report.html")
