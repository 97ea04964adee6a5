"""The review console: the queue, a pair side by side, a decision through "check your
answers", four eyes, claims.

A decision is published to ``review.decisions.v1`` (keyed like the possible match, so it
reaches the worker that holds the incident) only from the check page, once: the draft it
was made from is kept in the session under an id the check page's form carries, and is
used up by the first submission. It names the reviewer by staff id, the time by the
deployment's clock, and the evidence the reviewer was shown.
"""

from __future__ import annotations

import asyncio
import math
import re
import uuid
from typing import Any, get_args

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from schemas import ReviewDecision
from schemas.envelope import PLAIN_TEXT_PATTERN, derived_id
from schemas.review import UnsureReason
from streams.console import pairs, words
from streams.console.book import Pair
from streams.console.pages import (
    Refused,
    console_of,
    decider,
    form_from,
    page,
    reviewer,
    see_other,
    session_of,
)
from streams.console.parts import Console
from streams.console.sessions import Staff

router = APIRouter(prefix="/reviews", tags=["reviews"])

REASONS: dict[str, str] = {
    "need_police_information": "I need more information from the police",
    "need_agency_check": "I need to check with the school or another agency",
    "possible_sibling_or_twin": "It could be a brother, sister or twin",
    "record_out_of_date": "The council's record looks out of date",
    "other": "Something else (say what in the note)",
    "second_reviewer_disagreed": "A second reviewer did not approve it",
}
assert set(REASONS) == set(get_args(UnsureReason))
NOTE_LIMIT = 500
PUBLISH_TIMEOUT_S = 15.0


def _pair(request: Request, console: Console, review_id: str) -> Pair:
    """The pair, with what it holds back worked out (whether a decision settled it may
    depend on that: four eyes)."""
    pair = console.book.pairs.get(review_id)
    if pair is None:
        raise HTTPException(404)
    console.book.refresh(pair, request.state.now)
    return pair


def _name(console: Console, staff_id: str, me: Staff) -> str:
    if staff_id == me.staff_id:
        return "you"
    return console.names.get(staff_id, "another reviewer")


@router.get("")
async def queue(request: Request, page_number: str = Query("1", alias="page")) -> Response:
    staff = reviewer(request)
    console = console_of(request)
    now = request.state.now
    waiting = console.book.open_pairs(now)
    size = console.config.page_size
    pages = max(1, math.ceil(len(waiting) / size))
    number = int(page_number) if page_number.isdigit() else 1
    number = min(max(number, 1), pages)
    zone = console.book.calendar.zone
    rows = []
    for pair in waiting[(number - 1) * size : number * size]:
        _, child = console.book.child_of(pair)
        due = pair.due()
        held = [h for way in pair.held or [] for h in way.hits]
        first = min(held, key=lambda h: h.deadline, default=None)
        claim = console.claims.holder(pair.review_id)
        rows.append(
            {
                "review_id": pair.review_id,
                "name": " ".join(p for p in (child.given_name, child.family_name) if p)
                or "(no name given)"
                if child
                else "(incident not read yet)",
                "born": pairs.born(child) if child else "",
                "candidates": len(pair.match.candidates),
                "force": pair.match.police_source,
                "incident": pair.match.incident_reference,
                "held": f"{words.recipient(first.recipient)}, "
                f"{words.deadline(first.deadline, first.clock, zone)}"
                if first
                else "nothing more",
                "left": words.time_left(due, now),
                "overdue": now > due,
                "state": pair.state,
                "claimed": _name(console, claim.staff_id, staff) if claim else "",
            }
        )
    return page(
        request,
        "queue.html",
        title="Possible matches to review",
        rows=rows,
        total=len(waiting),
        overdue=sum(1 for p in waiting if now > p.due()),
        page=number,
        pages=pages,
        pagination=[
            {"number": n, "href": f"/reviews?page={n}", "current": n == number}
            for n in range(max(1, number - 3), min(pages, number + 3) + 1)
        ],
    )


def _context(
    request: Request,
    console: Console,
    staff: Staff,
    view: pairs.PairView,
    form: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    pair = view.pair
    latest = pair.latest
    own_proposal = (
        latest is not None and latest.decision == "propose" and latest.decided_by == staff.staff_id
    )
    # Opening a pair claims it for a reviewer who can act on it (not the proposer of a
    # decision that waits for someone else's approval).
    decides = console.decides(staff)
    acts = decides and not own_proposal
    claim = console.claims.take(pair.review_id, staff.staff_id, staff.name) if acts else None
    if claim is None:
        claim = console.claims.holder(pair.review_id)
    mine = claim is not None and claim.staff_id == staff.staff_id
    proposed = next(
        (c.number for c in view.candidates if latest and c.record_id == latest.record_id), None
    )
    form = form or {}
    items: list[dict[str, Any]] = []
    for c in view.candidates:
        if c.record is None:
            continue
        name = " ".join(p for p in (c.record.given_name, c.record.family_name) if p)
        value = f"candidate-{c.number}"
        items.append(
            {
                "value": value,
                "text": f"Candidate {c.number} is the child ({name})",
                "hint": {"text": f"Council record {c.record_id}"},
                "checked": form.get("decision") == value,
                "attributes": {"data-shortcut": str(c.number)} if c.number < 10 else {},
            }
        )
    items += [
        {
            "value": "none",
            "text": "None of these is the child",
            "checked": form.get("decision") == "none",
            "attributes": {"data-shortcut": "n"},
        },
        {"divider": "or"},
        {
            "value": "unsure",
            "text": "I am not sure",
            "checked": form.get("decision") == "unsure",
            "attributes": {"data-shortcut": "u"},
        },
    ]
    errors = [{"text": text, "href": f"#{field}"} for field, text in (field_errors or {}).items()]
    zone = console.book.calendar.zone
    return {
        "title": "Review a possible match",
        "view": view,
        "reported": words.local(view.incident.reported_at, zone),
        "can_decide": decides and (mine or own_proposal),
        "claim_mine": mine,
        "claim_other": {
            "name": _name(console, claim.staff_id, staff),
            "since": words.local_clock(claim.since, zone),
        }
        if claim is not None and not mine
        else None,
        "claim_minutes": int(console.config.claim_s // 60),
        "latest_by": _name(console, latest.decided_by, staff) if latest else "",
        "latest_reason": REASONS.get(latest.reason or "", "") if latest else "",
        "proposed_number": proposed,
        "own_proposal": own_proposal,
        "decision_items": items,
        "reason_items": [
            {"value": value, "text": text, "checked": form.get("reason") == value}
            for value, text in REASONS.items()
            if value != "second_reviewer_disagreed"
        ],
        "form": form,
        "field_errors": field_errors or {},
        "errors": errors,
    }


def _view(request: Request, console: Console, pair: Pair) -> pairs.PairView:
    view = pairs.build(console.book, pair, request.state.now)
    if view is None:
        raise Refused(
            409,
            "not_ready",
            "This pair cannot be shown yet",
            [
                "The police incident it comes from has not reached the console yet. "
                "Try again in a minute."
            ],
        )
    return view


def _settled(console: Console, pair: Pair, staff: Staff) -> Response | None:
    decision = pair.settled_by
    if decision is None:
        return None
    what = "confirmed a record" if decision.decision == "confirm" else "decided none is the child"
    raise Refused(
        409,
        "settled",
        "This pair has already been settled",
        [f"It was settled when {_name(console, decision.decided_by, staff)} {what}."],
    )


@router.get("/{review_id}")
async def pair_page(request: Request, review_id: str) -> Response:
    staff = reviewer(request)
    console = console_of(request)
    pair = _pair(request, console, review_id)
    _settled(console, pair, staff)
    view = _view(request, console, pair)
    return page(request, "pair.html", **_context(request, console, staff, view))


def _holds(console: Console, pair: Pair, staff: Staff) -> None:
    """Only the person working on the pair decides it."""
    claim = console.claims.take(pair.review_id, staff.staff_id, staff.name)
    if claim.staff_id != staff.staff_id:
        raise Refused(
            409,
            "claimed",
            "Someone else is working on this pair",
            [
                f"{console.names.get(claim.staff_id, 'Another reviewer')} opened it first. "
                "Your decision was not recorded."
            ],
        )


def _note_error(note: str) -> str | None:
    if len(note) > NOTE_LIMIT:
        return f"Note must be {NOTE_LIMIT} characters or fewer"
    if not re.fullmatch(PLAIN_TEXT_PATTERN, note):
        return "Note must be plain text, with no line breaks or control characters"
    return None


async def _deciding(
    request: Request, review_id: str
) -> tuple[Console, Staff, dict[str, str], Pair, pairs.PairView]:
    """What every decision form states first: a person who may decide, the form's CSRF
    token, a pair still open and shown, and held by this person."""
    staff = decider(request)
    fields = await form_from(request)
    console = console_of(request)
    pair = _pair(request, console, review_id)
    _settled(console, pair, staff)
    view = _view(request, console, pair)
    _holds(console, pair, staff)
    return console, staff, fields, pair, view


@router.post("/{review_id}/decision")
async def decide(request: Request, review_id: str) -> Response:
    console, staff, fields, pair, view = await _deciding(request, review_id)
    if pair.state == "awaiting_approval":
        raise Refused(
            409,
            "awaiting_approval",
            "This pair is waiting for a second reviewer",
            ["Approve it or return it to the queue from the pair's page."],
        )
    choice = fields.get("decision", "")
    note = " ".join(fields.get("note", "").split())
    reason = fields.get("reason", "")
    errors: dict[str, str] = {}
    numbers = {f"candidate-{c.number}": c for c in view.candidates if c.record is not None}
    if choice not in {*numbers, "none", "unsure"}:
        errors["decision"] = "Select whether a candidate is the child, none is, or you are not sure"
    if choice == "unsure":
        if reason not in REASONS or reason == "second_reviewer_disagreed":
            errors["reason"] = "Select why you are not sure"
        if problem := _note_error(note):
            errors["note"] = problem
    if errors:
        form = {"decision": choice, "reason": reason, "note": note}
        context = _context(request, console, staff, view, form, errors)
        return page(request, "pair.html", 400, **context)
    candidate = numbers.get(choice)
    draft = {
        "id": uuid.uuid4().hex,
        "kind": "decision",
        "decision": {"none": "reject", "unsure": "unsure"}.get(choice, "confirm"),
        "number": candidate.number if candidate else None,
        "record_id": candidate.record_id if candidate else None,
        "reason": reason if choice == "unsure" else None,
        "note": note if choice == "unsure" and note else None,
    }
    _session_data(request)[f"draft:{review_id}"] = draft
    return see_other(f"/reviews/{review_id}/check")


@router.post("/{review_id}/approval")
async def approve(request: Request, review_id: str) -> Response:
    console, staff, fields, pair, view = await _deciding(request, review_id)
    proposal = pair.latest
    if pair.state != "awaiting_approval" or proposal is None:
        raise Refused(
            409,
            "not_awaiting",
            "There is nothing to approve",
            ["The pair is not waiting for a second reviewer."],
        )
    if proposal.decided_by == staff.staff_id:
        raise Refused(
            403,
            "own_decision",
            "You cannot approve your own decision",
            ["Another reviewer must approve it."],
        )
    choice = fields.get("approval", "")
    note = " ".join(fields.get("note", "").split())
    errors: dict[str, str] = {}
    if choice not in ("approve", "return"):
        errors["approval"] = "Select whether you approve it"
    if choice == "return" and (problem := _note_error(note)):
        errors["note"] = problem
    if errors:
        form = {"approval": choice, "note": note}
        context = _context(request, console, staff, view, form, errors)
        context["errors"] = [
            {"text": t, "href": "#approval" if f == "approval" else "#note"}
            for f, t in errors.items()
        ]
        return page(request, "pair.html", 400, **context)
    number = next(c.number for c in view.candidates if c.record_id == proposal.record_id)
    _session_data(request)[f"draft:{review_id}"] = {
        "id": uuid.uuid4().hex,
        "kind": "approval",
        "decision": "confirm" if choice == "approve" else "unsure",
        "number": number,
        "record_id": proposal.record_id,
        "proposal": proposal.event_id,
        "reason": "second_reviewer_disagreed" if choice == "return" else None,
        "note": note if choice == "return" and note else None,
    }
    return see_other(f"/reviews/{review_id}/check")


def _session_data(request: Request) -> dict[str, Any]:
    session = session_of(request)
    assert session is not None  # decider() has checked
    return session.data


def _draft(request: Request, review_id: str) -> dict[str, Any] | None:
    draft: dict[str, Any] | None = _session_data(request).get(f"draft:{review_id}")
    return draft


@router.get("/{review_id}/check")
async def check(request: Request, review_id: str) -> Response:
    staff = decider(request)
    console = console_of(request)
    pair = _pair(request, console, review_id)
    _settled(console, pair, staff)
    draft = _draft(request, review_id)
    if draft is None:
        return see_other(f"/reviews/{review_id}")
    view = _view(request, console, pair)
    candidate = next((c for c in view.candidates if c.number == draft["number"]), None)
    name = (
        " ".join(p for p in (candidate.record.given_name, candidate.record.family_name) if p)
        if candidate and candidate.record
        else ""
    )
    change = {
        "items": [
            {
                "href": f"/reviews/{review_id}#decide",
                "text": "Change",
                "visuallyHiddenText": "your decision",
            }
        ]
    }
    if draft["kind"] == "approval":
        proposer = _name(console, pair.latest.decided_by if pair.latest else "", staff)
        said = (
            f"Approve: candidate {draft['number']} ({name}) is the child, as {proposer} decided"
            if draft["decision"] == "confirm"
            else "Do not approve: return it to the queue as not sure "
            f"({proposer} confirmed candidate {draft['number']})"
        )
    elif draft["decision"] == "confirm":
        said = (
            f"Candidate {draft['number']} is the child: {name}, council record {draft['record_id']}"
        )
    elif draft["decision"] == "reject":
        said = "None of these is the child"
    else:
        said = f"Not sure: {REASONS[draft['reason']]}"
    child = view.child
    rows = [
        {"key": {"text": "Your decision"}, "value": {"text": said}, "actions": change},
        {
            "key": {"text": "Child, as the police recorded them"},
            "value": {
                "text": " ".join(p for p in (child.given_name, child.family_name) if p)
                + (f", born {pairs.born(child)}" if child.date_of_birth else "")
            },
        },
    ]
    if draft.get("note"):
        rows.append(
            {
                "key": {"text": "Note for colleagues"},
                "value": {"text": draft["note"]},
                "actions": change,
            }
        )
    second = False
    sends: tuple[pairs.Sends, ...] | None = None
    if draft["decision"] == "confirm" and candidate is not None:
        sends = candidate.sends
        second = draft["kind"] == "decision" and candidate.needs_second_reviewer
    elif draft["decision"] == "reject":
        sends = view.none_sends
    return page(
        request,
        "check.html",
        title="Check your decision",
        review_id=review_id,
        incident=f"{view.incident.source} {view.incident.incident_reference}",
        rows=rows,
        sends=sends,
        second_reviewer=second,
        draft_id=draft["id"],
    )


@router.post("/{review_id}/check")
async def record(request: Request, review_id: str) -> Response:
    """Publish the checked decision, once."""
    staff = decider(request)
    fields = await form_from(request)
    console = console_of(request)
    pair = _pair(request, console, review_id)
    _settled(console, pair, staff)
    draft = _draft(request, review_id)
    if draft is None or draft["id"] != fields.get("draft"):
        raise Refused(
            409,
            "no_draft",
            "This decision has already been recorded, or was changed",
            ["Check the pair's page for where it stands."],
        )
    view = _view(request, console, pair)
    _holds(console, pair, staff)
    decision = _decision(console, pair, view, staff, draft, request.state.now)
    try:
        await asyncio.wait_for(console.publish(pair, decision), PUBLISH_TIMEOUT_S)
    except Exception:
        raise Refused(
            503,
            "unpublished",
            "Your decision was not recorded",
            [
                "The console could not reach the event bus in time. Nothing has changed: "
                "go back and try again."
            ],
        ) from None
    _session_data(request).pop(f"draft:{review_id}", None)
    console.claims.release(review_id, staff.staff_id)
    _session_data(request)["flash"] = {
        "confirm": "Decision recorded: the child's record is confirmed; the notifications it "
        "held back are on their way.",
        "propose": "Decision recorded: it now waits for a second reviewer's approval.",
        "reject": "Decision recorded: none of the candidates is the child.",
        "unsure": "Recorded as not sure: the pair stays in the queue with your reason.",
    }[decision.decision]
    return see_other("/reviews")


def _decision(
    console: Console,
    pair: Pair,
    view: pairs.PairView,
    staff: Staff,
    draft: dict[str, Any],
    now: Any,
) -> ReviewDecision:
    common = {
        "event_id": derived_id("dec", pair.review_id, draft["id"]),
        "source": console.policy.council_code,
        "produced_at": now,
        "review_id": pair.review_id,
        "decided_at": now,
        "evidence": view.evidence(),
    }
    if draft["kind"] == "approval":
        proposal = pair.latest
        if (
            pair.state != "awaiting_approval"
            or proposal is None
            or proposal.event_id != draft["proposal"]
        ):
            raise Refused(
                409,
                "changed",
                "The pair changed while you were deciding",
                ["Look at it again before you decide."],
            )
        if draft["decision"] == "confirm":
            return ReviewDecision.model_validate(
                common
                | {
                    "decision": "confirm",
                    "record_id": proposal.record_id,
                    "decided_by": proposal.decided_by,
                    "approved_by": staff.staff_id,
                }
            )
        return ReviewDecision.model_validate(
            common
            | {
                "decision": "unsure",
                "decided_by": staff.staff_id,
                "reason": "second_reviewer_disagreed",
                "note": draft["note"],
            }
        )
    if draft["decision"] == "confirm":
        candidate = next(c for c in view.candidates if c.record_id == draft["record_id"])
        if candidate.record is None:
            raise Refused(
                409,
                "changed",
                "That record no longer exists",
                ["It was deleted or closed while you were deciding."],
            )
        kind = "propose" if candidate.needs_second_reviewer else "confirm"
        return ReviewDecision.model_validate(
            common
            | {"decision": kind, "record_id": draft["record_id"], "decided_by": staff.staff_id}
        )
    if draft["decision"] == "reject":
        return ReviewDecision.model_validate(
            common | {"decision": "reject", "decided_by": staff.staff_id}
        )
    return ReviewDecision.model_validate(
        common
        | {
            "decision": "unsure",
            "decided_by": staff.staff_id,
            "reason": draft["reason"],
            "note": draft["note"],
        }
    )


@router.post("/{review_id}/release")
async def release(request: Request, review_id: str) -> Response:
    staff = decider(request)
    await form_from(request)
    console = console_of(request)
    if console.claims.release(review_id, staff.staff_id):
        _session_data(request)["flash"] = "You left the pair for someone else to review."
    return see_other("/reviews")
