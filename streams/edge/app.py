"""The HTTPS edge as a FastAPI application: this module only builds it (the access log
and metrics middleware, the problem handlers, the routers).

Every route authenticates the caller by API key (``Authorization: Bearer fdk_...``),
limits its rate, and asks the access plan (``streams.access.Permissions``) whether the
caller's principal may do on Kafka what the request would do (``streams.edge.deps``):
the same rights whichever way a party connects. Events are validated by the same
validator as the Kafka path and published as sent; ``202`` means the broker has them
(acks=all). Errors are problem documents (RFC 9457, ``streams.edge.problems``) whose
reasons name a field and a kind of error, never a value; the access log names the route
template, status, time and key id, never a path's ids, a query or a body.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from streams.edge import openapi
from streams.edge.gateway import Gateway
from streams.edge.problems import Problem, invalid
from streams.edge.routes import ROUTERS

access_log = logging.getLogger("frontdoor.edge.access")
log = logging.getLogger("frontdoor.edge")
API_VERSION = "1.0.0"
_METHODS = {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"}


def create_gateway(gw: Gateway) -> FastAPI:
    """The application serving ``gw``'s parts (``app.state.gateway``)."""
    app = _application()
    app.state.gateway = gw
    return app


def published_openapi() -> dict[str, Any]:
    """The document committed as ``schemas/openapi.json``: the routes need no parts to be
    described."""
    return _application().openapi()


def _application() -> FastAPI:
    app = FastAPI(
        title="frontdoor gateway",
        version=API_VERSION,
        description="HTTPS edge of frontdoor: police forces and the council publish; "
        "agencies receive, acknowledge and register webhooks. Authenticate with "
        "`Authorization: Bearer <API key>`.",
        docs_url=None,
        redoc_url=None,
    )
    app.middleware("http")(_observe)
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for router in ROUTERS:
        app.include_router(router)
    app.openapi = lambda: openapi.document(app)  # type: ignore[method-assign]
    return app


async def _observe(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Metrics and the access log for every request; a failure is a problem document,
    never a traceback with a body's values in it."""
    started = time.perf_counter()
    try:
        response = await call_next(request)
    except Exception as exc:
        log.error("request failed: %s", type(exc).__name__)
        response = Problem(500, "Internal Server Error", "the request failed").response()
    elapsed = time.perf_counter() - started
    route = getattr(request.scope.get("route"), "path", "unmatched")
    method = request.method if request.method in _METHODS else "OTHER"
    metrics = request.app.state.gateway.metrics
    metrics.requests.labels(route, method, str(response.status_code)).inc()
    metrics.latency.labels(route, method).observe(elapsed)
    party = request.scope.get("frontdoor.party")
    access_log.info(
        "%s %s %d %.1fms key=%s",
        method,
        route,
        response.status_code,
        elapsed * 1000,
        party.key_id if party else "-",
    )
    return response


async def _problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return exc.response()


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    reasons = [
        {
            "location": ".".join(str(p) for p in e.get("loc", ())),
            "error_type": str(e.get("type", "invalid")),
            "message": str(e.get("msg", "invalid")),
        }
        for e in exc.errors()
    ]
    return invalid("the request is invalid", reasons).response()


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, "Error")
    headers = dict(exc.headers or {})
    return Problem(exc.status_code, title, title.lower(), headers=headers).response()
