"""The gateway's errors: problem documents (RFC 9457), one helper per kind.

A problem's reasons name a field and a kind of error, never a value, so no answer echoes
what a caller sent (a child's name in a rejected incident, say). ``documented`` gives a
route's OpenAPI ``responses`` for exactly the problems it can return.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from schemas import DeadLetter

PROBLEM = "application/problem+json"
Reasons = list[dict[str, str]]


class Problem(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        reasons: Reasons | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.reasons, self.headers = reasons, headers

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"title": self.title, "status": self.status, "detail": self.detail}
        if self.reasons is not None:
            body["reasons"] = self.reasons
        return JSONResponse(body, self.status, headers=self.headers, media_type=PROBLEM)


def reason(location: str, error_type: str, message: str) -> Reasons:
    return [{"location": location, "error_type": error_type, "message": message}]


def unauthorized() -> Problem:
    return Problem(
        401,
        "Unauthorized",
        "a valid API key is required: Authorization: Bearer <key>",
        headers={"WWW-Authenticate": "Bearer"},
    )


def forbidden(detail: str, reasons: Reasons | None = None) -> Problem:
    return Problem(403, "Forbidden", detail, reasons)


def not_found(detail: str) -> Problem:
    return Problem(404, "Not Found", detail)


def too_large(limit: int, reasons: Reasons | None = None) -> Problem:
    return Problem(413, "Content Too Large", f"the limit is {limit} bytes", reasons)


def unsupported_media_type() -> Problem:
    return Problem(415, "Unsupported Media Type", "send application/json")


def invalid(detail: str, reasons: Reasons) -> Problem:
    return Problem(422, "Unprocessable Content", detail, reasons)


def too_many_requests(wait_s: float) -> Problem:
    return Problem(
        429,
        "Too Many Requests",
        "this party's request rate is over its limit",
        headers={"Retry-After": str(max(1, round(wait_s + 0.5)))},
    )


def unavailable() -> Problem:
    return Problem(
        503,
        "Service Unavailable",
        "the broker did not acknowledge in time; retry with the same body",
        headers={"Retry-After": "5"},
    )


def rejected(dead: DeadLetter) -> Problem:
    """Why the validator refused an event: every reason, by field and kind."""
    reasons = [r.model_dump() for r in dead.reasons]
    if dead.reason_class == "too_large":
        return Problem(413, "Content Too Large", reasons[0]["message"], reasons)
    return invalid(f"invalid event ({dead.reason_class})", reasons)


# What each status means, for the OpenAPI document: a route lists only those it can return.
MEANING = {
    401: "No valid API key.",
    403: "The key's party may not do this.",
    404: "No such thing for this party.",
    409: "This event id was published before with other content.",
    413: "The body is over the size limit.",
    415: "The body is not application/json.",
    422: "Invalid: every reason, by field and kind, never a value.",
    429: "Too many requests from this party: see Retry-After.",
    503: "The broker did not acknowledge in time: retry with the same body.",
}

# Every route that needs a key can answer these.
CALLER = (401, 403, 429)
# And every route that reads an event from the body these.
BODY = (413, 415, 422)


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    schema = {"$ref": "#/components/schemas/ProblemBody"}
    return {
        status: {"description": MEANING[status], "content": {PROBLEM: {"schema": schema}}}
        for status in sorted(statuses)
    }
