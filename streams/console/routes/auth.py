"""Signing in and out with the council's identity provider (OpenID Connect, PKCE)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response

from streams.console import activity
from streams.console.pages import (
    Refused,
    console_of,
    form_from,
    page,
    see_other,
    session_of,
)
from streams.console.sessions import Staff
from streams.console.signin import SignInFailed

router = APIRouter(prefix="/auth", tags=["sign-in"])
log = logging.getLogger("frontdoor.console")


@router.get("/sign-in")
async def sign_in(request: Request) -> Response:
    """To the provider, with state, nonce and a PKCE challenge kept in a new session."""
    console = console_of(request)
    if console.signin is None:
        raise Refused(
            503,
            "no_provider",
            "Sign-in is not set up",
            ["The console has no identity provider configured."],
        )
    held = session_of(request)
    if held is not None and held.staff is not None:
        return see_other("/")
    session = console.sessions.new()
    request.state.session = session
    request.scope["session"] = session.data
    return await console.signin.start(request)


@router.get("/callback")
async def callback(request: Request) -> Response:
    """The provider sent the browser back: check everything, then a new session id."""
    console = console_of(request)
    session = session_of(request)
    if console.signin is None or session is None:
        console.metrics.sign_ins.labels("refused").inc()
        raise Refused(
            401,
            "no_session",
            "Sign-in did not finish",
            ["It took too long, or it was started in another browser. Sign in again."],
        )
    try:
        staff = await console.signin.finish(request)
    except SignInFailed as failed:
        console.metrics.sign_ins.labels("refused").inc()
        log.warning("sign-in refused: %s", failed)
        raise Refused(
            401,
            "sign_in_refused",
            "Sign-in did not finish",
            ["Your organisation's account did not confirm who you are. Sign in again."],
        ) from None
    request.state.session = console.sessions.signed_in(session, staff)
    console.names[staff.staff_id] = staff.name
    console.metrics.sign_ins.labels("signed_in" if staff.acting else "no_role").inc()
    await _signed_in_to_inboxes(request, staff)
    if console.duty(staff):
        return see_other("/duty")
    if console.inboxes(staff):
        return see_other("/inbox")
    return see_other("/reviews" if console.reviewer(staff) else "/")


async def _signed_in_to_inboxes(request: Request, staff: Staff) -> None:
    """Each organisation the person works for learns of them (colleagues may hand them a
    notification), and the audit keeps who signed in to which inbox. A broker that does
    not answer costs the colleagues list, not the sign-in."""
    console = console_of(request)
    now = request.state.now
    for acting in console.inboxes(staff):
        assert acting.agency is not None
        event = activity.event(
            acting.agency, acting.organisation, "signed_in", now, staff=(staff.staff_id, staff.name)
        )
        try:
            await console.record(event)
        except Exception as exc:
            log.warning("sign-in not recorded in the inbox activity (%s)", type(exc).__name__)


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    """End the session here and at the provider (RP-initiated logout)."""
    console = console_of(request)
    session = session_of(request)
    if session is None:  # it ended already: nothing of ours to end
        return see_other("/signed-out")
    await form_from(request)
    id_token = session.staff.id_token if session.staff is not None else ""
    console.sessions.end(session)
    request.state.session = None
    provider = await console.signin.end(id_token) if console.signin is not None else None
    if provider is None:
        return see_other("/signed-out")
    return page(
        request,
        "signing_out.html",
        title="Signing you out",
        endpoint=provider.endpoint,
        client_id=provider.client_id,
        after=provider.after,
        id_token=provider.id_token,
    )
