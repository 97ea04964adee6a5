"""The console as a FastAPI application: this module only builds it (the middleware that
loads each request's session and sets its headers, the error pages, the routers, the
static files).

Every page is rendered on the server and works without JavaScript. Every response has a
content security policy with a fresh nonce, refuses framing, sends no referrer, and is
``Cache-Control: no-store`` (the pages show personal data). The access log names the
route template, the status and the time, never a path's ids, a query, a form or a person.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from streams.console.pages import Refused, page, refused
from streams.console.parts import Console
from streams.console.routes import ROUTERS
from streams.console.sessions import COOKIE

access_log = logging.getLogger("frontdoor.console.access")
log = logging.getLogger("frontdoor.console")
_METHODS = {"GET", "POST", "HEAD"}
_OURS = Path(__file__).resolve().parent / "static"


def create_console(console: Console) -> FastAPI:
    """The application serving ``console``'s parts (``app.state.console``)."""
    app = FastAPI(title="frontdoor console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = console
    app.middleware("http")(_session_and_headers)
    app.add_exception_handler(Refused, _refused)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for router in ROUTERS:
        app.include_router(router)
    _static(app, console)
    return app


def _static(app: FastAPI, console: Console) -> None:
    """GOV.UK Frontend's compiled CSS, its module, fonts and images (installed from the
    lockfile), and the console's own two files: each a fixed route, nothing listed."""
    govuk = console.config.assets_dir / "govuk"
    ours = _OURS
    files = {
        "/static/govuk-frontend.min.css": govuk / "govuk-frontend.min.css",
        "/static/govuk-frontend.min.js": govuk / "govuk-frontend.min.js",
        "/static/console.css": ours / "console.css",
        "/static/console.js": ours / "console.js",
    }
    for sub in ("fonts", "images"):
        for path in sorted((govuk / "assets" / sub).glob("*")):
            files[f"/assets/{sub}/{path.name}"] = path
    files["/assets/manifest.json"] = govuk / "assets" / "manifest.json"

    for route, path in files.items():

        async def serve(path: object = path) -> FileResponse:
            return FileResponse(path, headers={"cache-control": "public, max-age=3600"})  # type: ignore[arg-type]

        app.add_api_route(route, serve, methods=["GET"], include_in_schema=False)


def _csp(nonce: str, provider: str) -> str:
    """Scripts and styles from the console only (and GOV.UK Frontend's one inline script,
    by nonce); forms post to the console, whose sign-out redirects to the provider."""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            f"form-action 'self' {provider}".strip(),
        ]
    )


async def _session_and_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Load the session (``request.state.session``, or why there is none), answer, then set
    the cookie, the security headers, the metrics and the access log line."""
    console: Console = request.app.state.console
    started = time.perf_counter()
    session, why = console.sessions.get(request.cookies.get(COOKIE))
    request.state.session, request.state.session_ended = session, why
    request.state.nonce = secrets.token_urlsafe(16)
    request.state.now = console.clock()  # the deployment's clock, read once per request
    request.scope["session"] = session.data if session is not None else {}
    try:
        response = await call_next(request)
    except Exception as exc:
        log.error("request failed: %s", type(exc).__name__)
        response = page(
            request,
            "message.html",
            500,
            title="Sorry, there is a problem",
            paragraphs=["The console could not answer. Try again in a moment."],
        )
    _cookie(request, response, console)
    parts = urlsplit(console.config.oidc_metadata_url)
    provider = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    response.headers["content-security-policy"] = _csp(request.state.nonce, provider)
    response.headers["x-frame-options"] = "DENY"
    response.headers["x-content-type-options"] = "nosniff"
    response.headers["referrer-policy"] = "no-referrer"
    response.headers["strict-transport-security"] = "max-age=31536000"
    response.headers["permissions-policy"] = "camera=(), microphone=(), geolocation=()"
    response.headers.setdefault("cache-control", "no-store")
    elapsed = time.perf_counter() - started
    route = getattr(request.scope.get("route"), "path", "unmatched")
    method = request.method if request.method in _METHODS else "OTHER"
    console.metrics.requests.labels(route, method, str(response.status_code)).inc()
    console.metrics.latency.labels(route, method).observe(elapsed)
    console.metrics.sessions.set(len(console.sessions))
    access_log.info("%s %s %d %.1fms", method, route, response.status_code, elapsed * 1000)
    return response


def _cookie(request: Request, response: Response, console: Console) -> None:
    """The session cookie: only its random id; HttpOnly, Secure, SameSite=Lax, host-only,
    and a browser-session cookie (no Max-Age): the server ends the session, and says why."""
    session = getattr(request.state, "session", None)
    sent = request.cookies.get(COOKIE)
    if session is not None and session.id != sent:
        response.set_cookie(
            COOKIE,
            session.id,
            path="/",
            secure=True,
            httponly=True,
            samesite="lax",
        )
    elif session is None and sent and request.state.session_ended not in ("idle", "expired"):
        # a timed-out session's cookie stays: every request that carries it says why it
        # ended (the server remembers it as ended, never as live), until signed in again
        response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="lax")


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return refused(request, exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return page(
            request,
            "message.html",
            404,
            title="Page not found",
            paragraphs=[
                "If you typed the address, check it is correct.",
                "A possible match that has been settled leaves the queue.",
            ],
        )
    if exc.status_code == 405:
        return page(
            request,
            "message.html",
            405,
            title="That cannot be done here",
            paragraphs=["Go back and use the page's own buttons."],
        )
    return page(
        request,
        "message.html",
        exc.status_code,
        title="Sorry, there is a problem",
        paragraphs=["The console could not answer."],
    )
