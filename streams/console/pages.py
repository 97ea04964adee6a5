"""Rendering a page, and refusing one: what every route states (``signed_in``,
``reviewer``, ``form_from``) and the one way each refusal is shown.

A page gets the person signed in, their CSRF token, the nonce of this response's content
security policy, the navigation their roles allow, and a message left for it. A refusal
is a page too, with the status that says why: 401 (no session, or it ended: sign in
again), 403 (a form without its CSRF token, or a role that may not), 409 (someone else
is working on the pair).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from streams.console.parts import Console
from streams.console.sessions import Session, Staff, csrf_ok

ROLE_NAMES = {
    "reviewer": "reviewer",
    "duty_manager": "duty manager",
    "safeguarding_lead": "safeguarding lead",
    "team_member": "team member",
    "policy_officer": "policy officer",
}


class Refused(Exception):
    """A request the console will not answer, and why (a closed list: the metric label)."""

    def __init__(self, status: int, why: str, title: str, paragraphs: list[str]) -> None:
        super().__init__(why)
        self.status, self.why, self.title, self.paragraphs = status, why, title, paragraphs


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def session_of(request: Request) -> Session | None:
    session: Session | None = request.state.session
    return session


def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    console = console_of(request)
    session = session_of(request)
    staff = session.staff if session is not None else None
    navigation = []
    if console.inboxes(staff):
        navigation.append(
            {
                "href": "/inbox",
                "text": "Notifications",
                "active": request.url.path.startswith("/inbox"),
            }
        )
    if console.duty(staff):
        navigation.append(
            {"href": "/duty", "text": "Duty board", "active": request.url.path.startswith("/duty")}
        )
    if console.policy_officer(staff):
        navigation.append(
            {
                "href": "/whatif",
                "text": "Policy what-if",
                "active": request.url.path.startswith("/whatif"),
            }
        )
    if console.reviewer(staff):
        navigation.append(
            {
                "href": "/reviews",
                "text": "Possible matches",
                "active": request.url.path.startswith("/reviews"),
            }
        )
    flash = session.data.pop("flash", None) if session is not None else None
    roles = ", ".join(ROLE_NAMES.get(r, r) for r in staff.roles if r in ROLE_NAMES) if staff else ""
    values = {
        "request": request,
        "staff": staff,
        "roles": roles,
        "csrf": session.csrf if session is not None else "",
        "cspNonce": request.state.nonce,
        "assetPath": "/assets",
        "navigation": navigation,
        "flash": flash,
        "hide_screen": staff is not None,
        "errors": [],
        **context,
    }
    return console.templates.TemplateResponse(request, template, values, status_code=status)


def refused(request: Request, refusal: Refused) -> Response:
    console_of(request).metrics.refused.labels(refusal.why).inc()
    action = None
    if refusal.status == 401:
        action = {"text": "Sign in", "href": "/auth/sign-in"}
    return page(
        request,
        "message.html",
        refusal.status,
        title=refusal.title,
        paragraphs=refusal.paragraphs,
        action=action,
    )


def signed_in(request: Request) -> Staff:
    """The person signed in; a GET without a session goes to the start page, an ended
    session or a POST without one is refused (401)."""
    session = session_of(request)
    if session is not None and session.staff is not None:
        return session.staff
    ended = request.state.session_ended
    if ended in ("idle", "expired"):
        minutes = int(console_of(request).config.session_idle_s // 60)
        said = (
            f"You were signed out after {minutes} minutes without using the console."
            if ended == "idle"
            else "You were signed out because you signed in a long time ago."
        )
        raise Refused(
            401,
            f"session_{ended}",
            "Your session has ended",
            [said, "Anything you had not recorded was not saved. Sign in again to carry on."],
        )
    raise Refused(
        401,
        "no_session",
        "You need to sign in",
        ["Sign in with your organisation's account to use the console."],
    )


def permitted(
    request: Request, may: Callable[[Staff | None], bool], title: str, said: str
) -> Staff:
    """The person signed in, if the access plan lets them (``may``); else 403, saying why."""
    staff = signed_in(request)
    if not may(staff):
        raise forbidden(title, said)
    return staff


def forbidden(title: str, said: str) -> Refused:
    """A role that may not (403): the one refusal every screen gives, counted as such."""
    return Refused(403, "forbidden", title, [said])


def reviewer(request: Request) -> Staff:
    """A person whose roles may read the possible matches (the access plan)."""
    return permitted(
        request,
        console_of(request).reviewer,
        "You cannot review possible matches",
        "Your role does not include reviewing possible matches. Ask your manager if it should.",
    )


def decider(request: Request) -> Staff:
    """A person whose roles may write review decisions (the access plan)."""
    staff = reviewer(request)
    if not console_of(request).decides(staff):
        raise forbidden(
            "You cannot record decisions",
            "Your role lets you read possible matches, not decide them.",
        )
    return staff


async def form_from(request: Request) -> dict[str, str]:
    """A POST's fields, once its CSRF token has been checked against the session's."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not csrf_ok(session_of(request), fields.get("csrf_token")):
        raise csrf_refused()
    return fields


def csrf_refused() -> Refused:
    """A form without this session's CSRF token (403)."""
    return Refused(
        403,
        "csrf",
        "This form could not be accepted",
        [
            "It was not sent from a page of the console you are signed in to, or it has "
            "expired. Go back, reload the page and try again."
        ],
    )


NOTIFICATION_ID = re.compile(r"ntf-[0-9a-f-]{36}")


async def published(work: Awaitable[None]) -> None:
    """Wait for the broker (acks=all); if it does not answer, say so: nothing was kept."""
    try:
        await work
    except Exception:
        raise Refused(
            503,
            "not_published",
            "Sorry, that could not be saved",
            ["The console could not reach the message service. Nothing was saved. Try again."],
        ) from None


def flash(request: Request, text: str) -> None:
    """A message for the next page this person sees."""
    session = session_of(request)
    if session is not None:
        session.data["flash"] = text


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
