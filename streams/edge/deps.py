"""What every route needs before it does anything, as FastAPI dependencies, in order:
the caller (API key, then rate limit), whether the caller's principal may do on Kafka
what the request would do (the access plan's answer, ``Permissions``), and the body,
read within its size limit and checked by the same validator as the Kafka path.

A route states its needs in its signature (``Annotated[..., Depends(...)]``); none
writes them out by hand. FastAPI resolves a request's dependencies once each, so a body
that needs the permission and a route that names both check it once.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel

from schemas import DeadLetter
from schemas.enums import Agency
from schemas.envelope import MAX_EVENT_BYTES
from streams.access import Operation
from streams.edge import problems
from streams.edge.credentials import Party
from streams.edge.gateway import Gateway
from streams.incidents import Origin, validate
from streams.topics import TopicSpec, topic_name

M = TypeVar("M", bound=BaseModel)
SMALL_BODY = 16 * 1024  # an acknowledgement or a webhook registration


def gateway(request: Request) -> Gateway:
    found: Gateway = request.app.state.gateway
    return found


async def instant(request: Request) -> datetime:
    """The gateway's clock, read once per request: what it validates and stamps agree."""
    return gateway(request).clock()


Now = Annotated[datetime, Depends(instant)]


async def caller(request: Request) -> Party:
    """The party the API key belongs to, within its rate; else 401 or 429."""
    gw = gateway(request)
    party = gw.credentials.party(_bearer(request))
    if party is None:
        gw.metrics.unauthenticated.inc()
        raise problems.unauthorized()
    request.scope["frontdoor.party"] = party  # the access log names its key id
    wait = gw.limiter.wait_s(f"{party.principal}|{party.organisation}")
    if wait > 0:
        gw.metrics.rate_limited.labels(party.principal).inc()
        raise problems.too_many_requests(wait)
    return party


Caller = Annotated[Party, Depends(caller)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


@dataclass(frozen=True)
class Allowed:
    """A caller the access plan allows the operation on ``spec`` (``topic`` is its name in
    this deployment)."""

    party: Party
    spec: TopicSpec
    topic: str

    @property
    def agency(self) -> Agency:
        """The caller's agency, for a permission only an agency's principal can have."""
        agency = self.party.agency
        if agency is None:  # a permission on an agency's topic for a non-agency: never
            raise problems.forbidden("this key's party is not an agency")
        return agency


Permit = Callable[[Request, Party], Awaitable[Allowed]]


def may(operation: Operation, spec_for: Callable[[Party], TopicSpec | None], what: str) -> Permit:
    """The dependency that allows a caller ``operation`` on the topic ``spec_for`` names
    for it (None: no such topic for this party), or answers 403 ``may not <what>``."""

    async def allowed(request: Request, party: Caller) -> Allowed:
        gw = gateway(request)
        spec = spec_for(party)
        if spec is None or not gw.permissions.allows(party.principal, operation, spec):
            raise problems.forbidden(f"this key's party may not {what}")
        return Allowed(party, spec, topic_name(spec, gw.settings))

    return allowed


def of_agency(specs: dict[Agency, TopicSpec]) -> Callable[[Party], TopicSpec | None]:
    """The caller's agency's topic among ``specs`` (none for a party that is no agency)."""
    return lambda party: specs[party.agency] if party.agency else None


@dataclass(frozen=True)
class Body(Generic[M]):
    """A request's body as sent and as its contract, and who may send it."""

    allowed: Allowed
    raw: bytes
    event: M


def body(
    model: type[M], permit: Permit, limit: int = MAX_EVENT_BYTES, as_event_on_topic: bool = True
) -> Callable[[Request, Allowed, datetime], Awaitable[Body[M]]]:
    """The dependency that reads the body (after ``permit``: who may not send it is not
    told what is wrong with it) and validates it as ``model`` by the Kafka path's own
    strict parser and validator; 415, 413 or 422 with every reason otherwise. An event
    for a topic is validated as coming from that topic; a request body as from ``http``."""

    async def read(
        request: Request, allowed: Annotated[Allowed, Depends(permit)], now: Now
    ) -> Body[M]:
        raw = await _bytes(request, limit)
        origin = Origin(topic=allowed.topic if as_event_on_topic else "http")
        parsed = validate(model, raw, origin, now)
        if isinstance(parsed, DeadLetter):
            raise problems.rejected(parsed)
        return Body(allowed, raw, parsed)

    return read


async def _bytes(request: Request, limit: int) -> bytes:
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind != "application/json":
        raise problems.unsupported_media_type()
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise problems.too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise problems.too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)
