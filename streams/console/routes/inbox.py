"""The agency inbox: an organisation's notifications, as sent to it (the minimised payload
its agency's topic carries, latest revision), due soonest first; acknowledged or rejected
by a person, taken and handed over, printed for the organisation's own record.

A person who serves several organisations works in one at a time (the session's
``organisation``, switched by a POST); any other organisation's notification is a 404,
whatever the URL. An acknowledgement is made as the gateway makes one for a system
(``streams.inbox.acknowledge``), stamped by the console's clock, and published on the
agency's own topic.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, get_args

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from schemas import Acknowledgement, DeadLetter, InboxActivity
from schemas.acknowledgement import RejectReason
from schemas.enums import AckStatus
from schemas.inbox import InboxAction
from streams.access import Acting
from streams.console import activity, notices, words
from streams.console.activity import Holder
from streams.console.pages import (
    NOTIFICATION_ID,
    Refused,
    console_of,
    flash,
    forbidden,
    form_from,
    page,
    published,
    see_other,
    session_of,
    signed_in,
)
from streams.console.parts import Console
from streams.console.sessions import Staff
from streams.inbox import Held, acknowledge

router = APIRouter(prefix="/inbox", tags=["inbox"])

REJECT_REASONS: dict[str, str] = {
    "wrong_recipient": "It is not for us (not our pupil, not our area, not our service)",
    "wrong_child": "The details are of a different child",
    "duplicate": "We already have this notification",
    "insufficient_detail": "There is not enough in it to act on",
    "other": "Something else (say what in the note)",
}
assert set(REJECT_REASONS) == set(get_args(RejectReason))
NOTE_LIMIT = 500
STATUS_WORDS = {
    AckStatus.RECEIVED: "Received",
    AckStatus.ACTIONED: "Actioned",
    AckStatus.REJECTED: "Rejected",
}


def member(request: Request) -> tuple[Staff, Acting]:
    """The person and the organisation they are working in now: one their roles let them
    read the notifications of (the access plan), chosen by the session."""
    staff = signed_in(request)
    console = console_of(request)
    mine = console.inboxes(staff)
    if not mine:
        raise forbidden(
            "You have no notifications to read",
            "Your role does not include reading an organisation's notifications. "
            "Ask your manager if it should.",
        )
    session = session_of(request)
    chosen = session.data.get("organisation") if session is not None else None
    acting = next((a for a in mine if a.organisation == chosen), mine[0])
    return staff, acting


def organisation_name(acting: Acting) -> str:
    assert acting.agency is not None
    return words.organisation(acting.agency, acting.organisation)


def _held(request: Request, acting: Acting, notification_id: str) -> Held:
    """The notification, if it is this organisation's (anything else: 404)."""
    assert acting.agency is not None
    held = None
    if NOTIFICATION_ID.fullmatch(notification_id):
        held = console_of(request).inbox.get(acting.agency, acting.organisation, notification_id)
    if held is None:
        raise HTTPException(404)
    return held


def _holder_words(holder: Holder | None, staff: Staff) -> str:
    if holder is None:
        return ""
    return "you" if holder.staff_id == staff.staff_id else holder.name


def _row(console: Console, held: Held, staff: Staff, now: datetime) -> dict[str, Any]:
    n = held.notification
    zone = console.zone
    return {
        "id": n.notification_id,
        "subject": notices.subject(n.payload),
        "born": notices.born(n.payload),
        "what": notices.what(n.payload),
        "incident": n.incident_reference,
        "deadline": words.deadline(n.deadline, n.deadline_clock, zone),
        "left": words.time_left(n.deadline, now),
        "overdue": not held.acks and now > n.deadline,
        "revised": held.revised,
        "revision": n.revision,
        "status": STATUS_WORDS[held.acknowledged] if held.acknowledged else "",
        "holder": _holder_words(console.activity.holder(n.notification_id), staff),
    }


@router.get("")
async def inbox(request: Request, page_number: str = Query("1", alias="page")) -> Response:
    staff, acting = member(request)
    console = console_of(request)
    now = request.state.now
    assert acting.agency is not None
    every = console.inbox.of(acting.agency, acting.organisation)
    waiting = [h for h in every if not h.acks]
    done = sorted(
        (h for h in every if h.acks),
        key=lambda h: h.acknowledged_at or now,
        reverse=True,
    )[:20]
    size = console.config.page_size
    pages = max(1, math.ceil(len(waiting) / size))
    number = min(max(int(page_number) if page_number.isdigit() else 1, 1), pages)
    shown = waiting[(number - 1) * size : number * size]
    return page(
        request,
        "inbox.html",
        title="Notifications",
        organisation=organisation_name(acting),
        choices=[
            {
                "value": a.organisation,
                "text": organisation_name(a),
                "selected": a.organisation == acting.organisation,
            }
            for a in console.inboxes(staff)
        ],
        rows=[_row(console, h, staff, now) for h in shown],
        done=[_row(console, h, staff, now) for h in done],
        total=len(waiting),
        overdue=sum(1 for h in waiting if now > h.notification.deadline),
        page=number,
        pages=pages,
        pagination=[
            {"number": n, "href": f"/inbox?page={n}", "current": n == number}
            for n in range(max(1, number - 3), min(pages, number + 3) + 1)
        ],
    )


@router.post("/organisation")
async def switch(request: Request) -> Response:
    """Work in another of the person's organisations (the server holds the choice)."""
    staff, _ = member(request)
    fields = await form_from(request)
    wanted = fields.get("organisation", "")
    if wanted not in {a.organisation for a in console_of(request).inboxes(staff)}:
        raise HTTPException(404)
    session = session_of(request)
    assert session is not None
    session.data["organisation"] = wanted
    return see_other("/inbox")


def _history(console: Console, held: Held, staff: Staff) -> list[str]:
    """Who handled it, in the order it happened, in the words a colleague reads (the
    audit, shown): the inbox activity and the acknowledgements together."""
    said: list[tuple[datetime, str]] = []
    for event in console.activity.history(held.notification.notification_id):
        who = "you" if event.staff_id == staff.staff_id else (event.staff_name or "a colleague")
        to = "you" if event.to_staff_id == staff.staff_id else (event.to_name or "a colleague")
        what = {
            "taken": f"taken by {who}",
            "handed": f"handed by {who} to {to}",
            "released": f"given back by {who}",
            "printed": f"printed by {who}",
        }.get(event.action)
        if what is not None:
            said.append((event.at, what))
    for ack in held.acks:
        by = ack.acknowledged_by
        who = "you" if by == staff.staff_id else console.names.get(by or "", "")
        who = who or ("a colleague" if by else "your organisation's system")
        said.append((ack.acknowledged_at, f"{STATUS_WORDS[ack.status].lower()} by {who}"))
    said.sort(key=lambda item: item[0])
    return [f"{words.local(at, console.zone)}: {what}" for at, what in said]


def _summary(rows: list[notices.Row]) -> list[dict[str, Any]]:
    return [{"key": {"text": r.label}, "value": {"text": r.text}} for r in rows]


def _detail(request: Request, acting: Acting, held: Held, staff: Staff) -> dict[str, Any]:
    console = console_of(request)
    now = request.state.now
    n = held.notification
    zone = console.zone
    assert acting.agency is not None
    holder = console.activity.holder(n.notification_id)
    colleagues = console.activity.colleagues((acting.agency, acting.organisation))
    colleagues.update({staff.staff_id: staff.name})
    return {
        "row": _row(console, held, staff, now),
        "organisation": organisation_name(acting),
        "fields": _summary(notices.rows(n.payload, zone)),
        "children": [(h, _summary(rows)) for h, rows in notices.children(n.payload, zone)],
        "rules": ", ".join(n.rules),
        "holder": holder,
        "mine": holder is not None and holder.staff_id == staff.staff_id,
        "hand_to": [
            {"value": ident, "text": name}
            for ident, name in sorted(colleagues.items(), key=lambda kv: kv[1])
            if ident != (holder.staff_id if holder else staff.staff_id)
        ],
        "acknowledged": held.acknowledged,
        "rejected": held.rejected,
        "reject_reason": REJECT_REASONS.get(held.rejected.reason_code or "", "")
        if held.rejected
        else "",
        "history": _history(console, held, staff),
    }


@router.get("/{notification_id}")
async def notification(request: Request, notification_id: str) -> Response:
    staff, acting = member(request)
    held = _held(request, acting, notification_id)
    return page(
        request,
        "notification.html",
        title="A notification",
        **_detail(request, acting, held, staff),
    )


async def _posted(
    request: Request, notification_id: str
) -> tuple[Staff, Acting, Held, dict[str, str]]:
    """An action on a notification: who, for which organisation, the notification (this
    organisation's, else 404) and the form (its CSRF token checked, else 403)."""
    staff, acting = member(request)
    held = _held(request, acting, notification_id)
    return staff, acting, held, await form_from(request)


def _activity(
    acting: Acting, staff: Staff, action: InboxAction, now: datetime, ids: list[str], **more: Any
) -> InboxActivity:
    assert acting.agency is not None
    by = (staff.staff_id, staff.name)
    return activity.event(acting.agency, acting.organisation, action, now, ids, by, **more)


@router.post("/{notification_id}/take")
async def take(request: Request, notification_id: str) -> Response:
    staff, acting, held, _ = await _posted(request, notification_id)
    console = console_of(request)
    ident = held.notification.notification_id
    event = _activity(acting, staff, "taken", request.state.now, [ident])
    await published(console.record(event))
    flash(request, "You have this notification now. Your colleagues can see that you have it.")
    return see_other(f"/inbox/{ident}")


@router.post("/{notification_id}/hand")
async def hand(request: Request, notification_id: str) -> Response:
    staff, acting, held, fields = await _posted(request, notification_id)
    console = console_of(request)
    assert acting.agency is not None
    colleagues = console.activity.colleagues((acting.agency, acting.organisation))
    to = fields.get("to", "")
    ident = held.notification.notification_id
    if to not in colleagues or to == staff.staff_id:
        detail = _detail(request, acting, held, staff)
        return page(
            request,
            "notification.html",
            400,
            title="A notification",
            errors=[{"text": "Choose the colleague to hand it to", "href": "#to"}],
            hand_error="Choose the colleague to hand it to",
            **detail,
        )
    event = _activity(
        acting, staff, "handed", request.state.now, [ident], to_staff_id=to, to_name=colleagues[to]
    )
    await published(console.record(event))
    flash(request, f"Handed to {colleagues[to]}.")
    return see_other(f"/inbox/{ident}")


@router.post("/{notification_id}/release")
async def release(request: Request, notification_id: str) -> Response:
    staff, acting, held, _ = await _posted(request, notification_id)
    console = console_of(request)
    ident = held.notification.notification_id
    holder = console.activity.holder(ident)
    if holder is not None and holder.staff_id == staff.staff_id:
        event = _activity(acting, staff, "released", request.state.now, [ident])
        await published(console.record(event))
        flash(request, "You have given it back: nobody has it now.")
    return see_other(f"/inbox/{ident}")


async def _acknowledged(
    request: Request,
    acting: Acting,
    staff: Staff,
    held: Held,
    status: AckStatus,
    reason: str | None = None,
    note: str | None = None,
) -> Acknowledgement:
    console = console_of(request)
    now = request.state.now
    assert acting.agency is not None
    ack = acknowledge(
        held.notification.notification_id,
        acting.agency,
        acting.organisation,
        status,
        now,
        reason_code=reason,
        by=staff.staff_id,
        note=note,
        channel="console",
    )
    if isinstance(ack, DeadLetter):  # the form is ours: only a bug lands here
        raise Refused(
            400,
            "invalid",
            "That could not be recorded",
            ["Go back and try again."],
        )
    await published(console.acknowledge(acting, ack))
    return ack


@router.post("/{notification_id}/acknowledgement")
async def acknowledgement(request: Request, notification_id: str) -> Response:
    staff, acting, held, fields = await _posted(request, notification_id)
    status = {"received": AckStatus.RECEIVED, "actioned": AckStatus.ACTIONED}.get(
        fields.get("status", "")
    )
    if status is None:
        raise HTTPException(400)
    await _acknowledged(request, acting, staff, held, status)
    said = "received" if status is AckStatus.RECEIVED else "actioned"
    flash(request, f"Recorded as {said}. The front door can see it.")
    return see_other(f"/inbox/{held.notification.notification_id}")


def _rejection_page(
    request: Request,
    acting: Acting,
    held: Held,
    form: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
) -> Response:
    form = form or {}
    errors = [{"text": text, "href": f"#{field}"} for field, text in (field_errors or {}).items()]
    return page(
        request,
        "reject.html",
        400 if field_errors else 200,
        title="Tell the front door this notification is not for you",
        organisation=organisation_name(acting),
        notification_id=held.notification.notification_id,
        reason_items=[
            {"value": value, "text": text, "checked": form.get("reason") == value}
            for value, text in REJECT_REASONS.items()
        ],
        form=form,
        field_errors=field_errors or {},
        errors=errors,
    )


@router.get("/{notification_id}/rejection")
async def rejection_form(request: Request, notification_id: str) -> Response:
    _, acting = member(request)
    held = _held(request, acting, notification_id)
    return _rejection_page(request, acting, held)


@router.post("/{notification_id}/rejection")
async def rejection(request: Request, notification_id: str) -> Response:
    staff, acting, held, fields = await _posted(request, notification_id)
    reason = fields.get("reason", "")
    note = fields.get("note", "").strip()
    problems: dict[str, str] = {}
    if reason not in REJECT_REASONS:
        problems["reason"] = "Select why this notification is not for you"
    if reason == "other" and not note:
        problems["note"] = "Say why in the note"
    if len(note) > NOTE_LIMIT:
        problems["note"] = f"The note must be {NOTE_LIMIT} characters or fewer"
    elif note and any(ord(c) < 32 and c not in "\n\r\t" for c in note):
        problems["note"] = "The note must be plain text"
    if problems:
        return _rejection_page(request, acting, held, fields, problems)
    await _acknowledged(
        request, acting, staff, held, AckStatus.REJECTED, reason, note.replace("\r\n", "\n") or None
    )
    flash(request, "Sent back to the front door, who will route it by hand.")
    return see_other("/inbox")


@router.get("/{notification_id}/print")
async def print_view(request: Request, notification_id: str) -> Response:
    """A page to print into the organisation's own record, watermarked with the
    organisation, who printed it and when; the printing is kept in the audit."""
    staff, acting = member(request)
    held = _held(request, acting, notification_id)
    console = console_of(request)
    now = request.state.now
    ident = held.notification.notification_id
    await published(console.record(_activity(acting, staff, "printed", now, [ident])))
    detail = _detail(request, acting, held, staff)
    zone = console.zone
    mark = f"{detail['organisation']} · printed by {staff.name} · {words.local(now, zone)}"
    return page(request, "print.html", title="Notification, to print", mark=mark, **detail)
