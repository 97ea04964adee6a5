"""An agency organisation receives its own notifications, as sent (already minimised),
due soonest first, and acknowledges them: the acknowledgement, stamped by the gateway's
clock, goes on the agency's own topic, as if the agency had published it on Kafka."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from schemas import DeadLetter
from streams import topics
from streams.access import Operation
from streams.edge import problems
from streams.edge.bodies import (
    AcknowledgementAccepted,
    AcknowledgementRequest,
    NotificationItem,
    NotificationPage,
)
from streams.edge.deps import SMALL_BODY, Allowed, Body, Now, body, gateway, may, of_agency
from streams.edge.openapi import json_body
from streams.edge.problems import BODY, CALLER, documented
from streams.edge.publishing import delivered, once
from streams.edge.replies import Reply
from streams.inbox import BadCursor, Status
from streams.inbox import acknowledge as acknowledgement_of

NOTIFICATION_ID = Path(pattern=r"^ntf-[0-9a-f-]{36}$")

router = APIRouter(tags=["receive"])

reads = may(Operation.READ, of_agency(topics.NOTIFY), "read notifications")
acknowledges = may(Operation.WRITE, of_agency(topics.AGENCY_ACKS), "acknowledge notifications")
Reader = Annotated[Allowed, Depends(reads)]


@router.get(
    "/v1/notifications", response_model=NotificationPage, responses=documented(*CALLER, 422)
)
async def list_notifications(
    request: Request,
    allowed: Reader,
    status: Annotated[
        Status, Query(description="open (not yet acknowledged), acknowledged or all")
    ] = Status.OPEN,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=512, description="next_cursor of the page before")
    ] = None,
) -> NotificationPage:
    inbox = gateway(request).inbox
    try:
        items, next_cursor = inbox.page(
            allowed.agency, allowed.party.organisation, status, cursor, limit
        )
    except BadCursor:
        raise problems.invalid(
            "the cursor is not one this service gave",
            problems.reason("query.cursor", "cursor_invalid", "unknown cursor"),
        ) from None
    return NotificationPage(
        items=[NotificationItem(**h.view()) for h in items], next_cursor=next_cursor
    )


@router.get(
    "/v1/notifications/{notification_id}",
    response_model=NotificationItem,
    responses=documented(*CALLER, 404, 422),
)
async def get_notification(
    request: Request, notification_id: Annotated[str, NOTIFICATION_ID], allowed: Reader
) -> NotificationItem:
    held = gateway(request).inbox.get(allowed.agency, allowed.party.organisation, notification_id)
    if held is None:
        raise no_such_notification()
    return NotificationItem(**held.view())


@router.post(
    "/v1/notifications/{notification_id}/acknowledgement",
    status_code=202,
    response_model=AcknowledgementAccepted,
    responses=documented(*CALLER, *BODY, 404, 409, 503),
    openapi_extra=json_body(AcknowledgementRequest),
)
async def acknowledge(
    request: Request,
    notification_id: Annotated[str, NOTIFICATION_ID],
    asked: Annotated[
        Body[AcknowledgementRequest],
        Depends(body(AcknowledgementRequest, acknowledges, SMALL_BODY, as_event_on_topic=False)),
    ],
    now: Now,
) -> JSONResponse:
    # Only the recipient may; once per (notification, status, organisation).
    gw, allowed, wanted = gateway(request), asked.allowed, asked.event
    agency, organisation = allowed.agency, allowed.party.organisation
    if gw.inbox.get(agency, organisation, notification_id) is None:
        raise no_such_notification()
    # The one builder every channel uses; the contract's rules (a rejection needs its reason).
    ack = acknowledgement_of(
        notification_id,
        agency,
        organisation,
        wanted.status,
        now,
        reason_code=wanted.reason_code,
        note=wanted.note,
    )
    if isinstance(ack, DeadLetter):
        raise problems.rejected(ack)
    event_id = ack.event_id

    async def attempt() -> Reply:
        value = ack.model_dump_json().encode()
        await delivered(gw, allowed.topic, notification_id, value, "acknowledgement")
        gw.inbox.acknowledgement(ack)
        accepted = AcknowledgementAccepted(
            acknowledgement_id=event_id,
            notification_id=notification_id,
            acknowledged_at=now.isoformat(),
        )
        return Reply(202, accepted.model_dump())

    fingerprint = f"{wanted.status.value}|{wanted.reason_code}|{wanted.note}"
    return await once(gw, allowed.party, event_id, fingerprint, attempt)


def no_such_notification() -> problems.Problem:
    return problems.not_found("no such notification for this organisation")
