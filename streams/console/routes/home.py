"""The start page (sign in, or what your roles let you do) and the accessibility statement."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from streams.console.pages import console_of, page, session_of

router = APIRouter(tags=["pages"])


@router.get("/")
async def home(request: Request) -> Response:
    console = console_of(request)
    session = session_of(request)
    staff = session.staff if session is not None else None
    reviewer = console.reviewer(staff)
    inboxes = console.inboxes(staff)
    duty = console.duty(staff)
    waiting = overdue = 0
    if reviewer:
        now = request.state.now
        pairs = console.book.open_pairs(now)
        waiting = len(pairs)
        overdue = sum(1 for p in pairs if now > p.due())
    return page(
        request,
        "home.html",
        title="Safeguarding console" if staff is None else "What you can do",
        reviewer=reviewer,
        inbox=bool(inboxes),
        duty=duty,
        policy=console.policy_officer(staff),
        waiting=waiting,
        overdue=overdue,
    )


@router.get("/hidden")
async def hidden(request: Request) -> Response:
    """Where "Hide screen" goes: a page that shows nothing of anyone (and no hide button)."""
    session = session_of(request)
    back = "/inbox" if console_of(request).inboxes(session.staff if session else None) else "/"
    return page(request, "hidden.html", title="Screen hidden", back=back, hide_screen=False)


@router.get("/accessibility")
async def accessibility(request: Request) -> Response:
    return page(request, "accessibility.html", title="Accessibility statement")


@router.get("/signed-out")
async def signed_out(request: Request) -> Response:
    return page(
        request,
        "message.html",
        title="You have signed out",
        paragraphs=["You have signed out of the console and of your organisation's account."],
        action={"text": "Sign in again", "href": "/auth/sign-in"},
    )
