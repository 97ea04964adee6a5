"""The duty board (the duty manager's: the access plan's ``front-door-duty`` party): what
needs a person now, each row linking to the thing itself; a notification as it was sent
and what its recipient did with it; marking a sent-back notification as routed by hand;
the compliance report of a chosen period, made on request."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from streams.compliance import render_report
from streams.console import activity, board, days, notices, words
from streams.console.pages import (
    NOTIFICATION_ID,
    Refused,
    console_of,
    flash,
    form_from,
    page,
    permitted,
    published,
    see_other,
)
from streams.console.sessions import Staff
from streams.inbox import Held
from streams.topics.reports import from_topics

router = APIRouter(prefix="/duty", tags=["duty board"])

NOTE_LIMIT = 500
REPORT_TIMEOUT_S = 120.0
STATUS_WORDS = {"received": "received", "actioned": "actioned", "rejected": "sent back"}


def duty(request: Request) -> Staff:
    return permitted(
        request,
        console_of(request).duty,
        "You cannot see the duty board",
        "The duty board is the front door's duty manager's. "
        "Ask your manager if it should be yours.",
    )


@router.get("")
async def duty_board(request: Request) -> Response:
    duty(request)
    console = console_of(request)
    zone = console.zone
    built = board.build(
        console.inbox,
        console.activity,
        console.alerts,
        console.book,
        request.state.now,
        timedelta(hours=console.config.board_hours),
        zone,
    )
    return page(
        request,
        "duty.html",
        title="Duty board",
        board=built,
        grafana=console.config.grafana_url,
        report_form=days.form({}),
    )


def _held(request: Request, notification_id: str) -> Held:
    held = None
    if NOTIFICATION_ID.fullmatch(notification_id):
        held = console_of(request).inbox.find(notification_id)
    if held is None:
        raise HTTPException(404)
    return held


def _notification_page(
    request: Request, held: Held, staff: Staff, status: int = 200, error: str = ""
) -> Response:
    console = console_of(request)
    now = request.state.now
    zone = console.zone
    n = held.notification
    acks = []
    for ack in held.acks:
        by = ack.acknowledged_by
        who = console.names.get(by, "a member of their staff") if by else "their system"
        reason = board.REJECT_WORDS.get(ack.reason_code or "", "") if ack.reason_code else ""
        acks.append(
            {
                "when": words.local(ack.acknowledged_at, zone),
                "what": STATUS_WORDS[ack.status.value],
                "who": who,
                "reason": reason,
                "note": ack.note or "",
            }
        )
    routed = console.activity.routed(n.notification_id)
    return page(
        request,
        "duty_notification.html",
        status,
        title="A notification",
        n=n,
        recipient=words.recipient(n.recipient),
        subject=notices.subject(n.payload),
        deadline=words.deadline(n.deadline, n.deadline_clock, zone),
        left=words.time_left(n.deadline, now),
        overdue=not held.acks and now > n.deadline,
        fields=[
            {"key": {"text": r.label}, "value": {"text": r.text}}
            for r in notices.rows(n.payload, zone)
        ],
        children=[
            (h, [{"key": {"text": r.label}, "value": {"text": r.text}} for r in rows])
            for h, rows in notices.children(n.payload, zone)
        ],
        acks=acks,
        rejected=held.rejected is not None,
        routed={
            "who": "you" if routed.staff_id == staff.staff_id else routed.staff_name,
            "when": words.local(routed.at, zone),
            "note": routed.note or "",
        }
        if routed is not None
        else None,
        error=error,
        errors=[{"text": error, "href": "#note"}] if error else [],
    )


@router.get("/notifications/{notification_id}")
async def notification(request: Request, notification_id: str) -> Response:
    staff = duty(request)
    return _notification_page(request, _held(request, notification_id), staff)


@router.post("/notifications/{notification_id}/routed")
async def routed(request: Request, notification_id: str) -> Response:
    """The front door sent a sent-back notification to the right place by hand: say how."""
    staff = duty(request)
    held = _held(request, notification_id)
    fields = await form_from(request)
    console = console_of(request)
    note = fields.get("note", "").strip().replace("\r\n", "\n")
    if held.rejected is None or console.activity.routed(notification_id) is not None:
        return see_other(f"/duty/notifications/{notification_id}")
    if not note:
        return _notification_page(request, held, staff, 400, "Say what you did with it")
    if len(note) > NOTE_LIMIT or any(ord(c) < 32 and c not in "\n\t" for c in note):
        return _notification_page(
            request,
            held,
            staff,
            400,
            f"The note must be plain text, {NOTE_LIMIT} characters or fewer",
        )
    recipient = held.notification.recipient
    routing = activity.event(
        recipient.agency,
        recipient.organisation,
        "routed",
        request.state.now,
        [notification_id],
        (staff.staff_id, staff.name),
        note=note,
    )
    await published(console.record(routing))
    flash(request, "Marked as routed by hand. It has left the board.")
    return see_other("/duty")


@router.get("/report")
async def report(request: Request) -> Response:
    """The compliance report (the one ``frontdoor report`` makes) for whole local days,
    read from the topics now; its form, again with what is wrong, until the days make sense."""
    duty(request)
    console = console_of(request)
    fields = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    period, errors = days.chosen(fields)
    if period is None:
        return page(
            request,
            "report_form.html",
            400 if fields else 200,
            title="Compliance report",
            report_form=days.form(fields, errors),
            errors=days.summary(errors),
        )
    start, end = period.instants(console.zone)
    try:
        built = await asyncio.wait_for(
            asyncio.to_thread(from_topics, console.settings, start, end, request.state.now),
            REPORT_TIMEOUT_S,
        )
    except Exception as exc:
        raise Refused(
            503,
            "report_failed",
            "Sorry, the report could not be made",
            [
                f"The console could not read the topics ({type(exc).__name__}). "
                "Try again in a minute."
            ],
        ) from None
    text = render_report(built, "html")
    nonce = request.state.nonce
    text = text.replace("<style>", f'<style nonce="{nonce}">', 1)
    return HTMLResponse(text)
