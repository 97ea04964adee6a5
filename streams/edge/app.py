"""The HTTPS edge as a FastAPI application: publish, receive, acknowledge, webhooks.

Every route authenticates the caller by API key (``Authorization: Bearer fdk_...``),
limits its rate, and asks the access plan (``streams.access.Permissions``) whether the
caller's principal may do on Kafka what the request would do: the same rights whichever
way a party connects. Events are validated by the same validator as the Kafka path and
published as sent; ``202`` means the broker has them (acks=all). Errors are problem
documents (RFC 9457) whose reasons name a field and a kind of error, never a value; the
access log names the route template, status, time and key id, never a path's ids, a
query or a body.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypeVar, cast
from urllib.parse import urlsplit

from aiokafka.errors import KafkaError
from fastapi import FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from prometheus_client import generate_latest
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas import Acknowledgement, ChildRecord, DeadLetter, PoliceIncident, WebhookRegistration
from schemas.council import record_key
from schemas.enums import Agency
from schemas.envelope import KEY_PART_PATTERN, MAX_EVENT_BYTES, SOURCE_PATTERN, derived_id
from schemas.police import incident_key
from schemas.webhook import registration_key
from streams import topics
from streams.access import Operation, Permissions
from streams.clock import Clock
from streams.edge.bodies import (
    Accepted,
    AcknowledgementAccepted,
    AcknowledgementRequest,
    Deleted,
    Health,
    NotificationItem,
    NotificationPage,
    ProblemBody,
    WebhookRequest,
    WebhookView,
)
from streams.edge.credentials import Credentials, Party
from streams.edge.inbox import BadCursor, Inbox, Status
from streams.edge.metrics import EdgeMetrics
from streams.edge.ratelimit import RateLimiter
from streams.edge.replies import Replies, Reply
from streams.edge.signing import derive_secret
from streams.incidents import Origin, foreign_incident, validate
from streams.settings import Settings
from streams.topics import TopicSpec, topic_name

access_log = logging.getLogger("frontdoor.edge.access")
log = logging.getLogger("frontdoor.edge")
PROBLEM = "application/problem+json"
API_VERSION = "1.0.0"
_CHILD_ID = Path(pattern=KEY_PART_PATTERN, description="The council's own id for the child.")
_NOTIFICATION_ID = Path(pattern=r"^ntf-[0-9a-f-]{36}$")
_PUBLIC: dict[str, Any] = {"security": []}  # no key needed


_M = TypeVar("_M", bound=BaseModel)


class Publishes(Protocol):
    async def send(self, topic: str, key: str, value: bytes | None) -> None: ...


@dataclass
class Gateway:
    """Everything the routes need; the shell (``streams.edge.service``) or a test builds it."""

    settings: Settings
    permissions: Permissions
    credentials: Credentials
    publisher: Publishes
    inbox: Inbox
    registrations: Any  # streams.edge.kafka.Registrations (get/put)
    replies: Replies
    limiter: RateLimiter
    metrics: EdgeMetrics
    clock: Clock
    gateway_key: bytes
    ready: Callable[[], bool]
    publish_timeout_s: float = 15.0
    allow_http_webhooks: bool = False


class Problem(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        reasons: list[dict[str, str]] | None = None,
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


# -- the application ---------------------------------------------------------------------------


def _problem(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/ProblemBody"}
    return {"description": description, "content": {PROBLEM: {"schema": schema}}}


ERRORS: dict[int | str, dict[str, Any]] = {
    code: _problem(text)
    for code, text in (
        (401, "No valid API key."),
        (403, "The key's party may not do this."),
        (404, "No such thing for this party."),
        (409, "This event id was published before with other content."),
        (413, "The body is over the size limit."),
        (415, "The body is not application/json."),
        (422, "Invalid: every reason, by field and kind, never a value."),
        (429, "Too many requests from this party: see Retry-After."),
        (503, "The broker did not acknowledge in time: retry with the same body."),
    )
}


def create_gateway(gw: Gateway) -> FastAPI:
    app = FastAPI(
        title="frontdoor gateway",
        version=API_VERSION,
        description="HTTPS edge of frontdoor: police forces and the council publish; "
        "agencies receive, acknowledge and register webhooks. Authenticate with "
        "`Authorization: Bearer <API key>`.",
        docs_url=None,
        redoc_url=None,
    )
    _handlers(app, gw)
    _routes(app, gw)
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    return app


def _handlers(app: FastAPI, gw: Gateway) -> None:
    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception as exc:  # never a traceback with a body's values in it to the caller
            log.error("request failed: %s", type(exc).__name__)
            response = Problem(500, "Internal Server Error", "the request failed").response()
        elapsed = time.perf_counter() - started
        route = getattr(request.scope.get("route"), "path", "unmatched")
        method = request.method if request.method in _METHODS else "OTHER"
        gw.metrics.requests.labels(route, method, str(response.status_code)).inc()
        gw.metrics.latency.labels(route, method).observe(elapsed)
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

    @app.exception_handler(Problem)
    async def problem(request: Request, exc: Problem) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        reasons = [
            {
                "location": ".".join(str(p) for p in e.get("loc", ())),
                "error_type": str(e.get("type", "invalid")),
                "message": str(e.get("msg", "invalid")),
            }
            for e in exc.errors()
        ]
        return Problem(422, "Unprocessable Content", "the request is invalid", reasons).response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not Found", 405: "Method Not Allowed"}
        title = titles.get(exc.status_code, "Error")
        return Problem(
            exc.status_code, title, title.lower(), headers=dict(exc.headers or {})
        ).response()


_METHODS = {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"}


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _caller(gw: Gateway, request: Request) -> Party:
    party = gw.credentials.party(_bearer(request))
    if party is None:
        gw.metrics.unauthenticated.inc()
        raise Problem(
            401,
            "Unauthorized",
            "a valid API key is required: Authorization: Bearer <key>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.scope["frontdoor.party"] = party
    wait = gw.limiter.wait_s(f"{party.principal}|{party.organisation}")
    if wait > 0:
        gw.metrics.rate_limited.labels(party.principal).inc()
        raise Problem(
            429,
            "Too Many Requests",
            "this party's request rate is over its limit",
            headers={"Retry-After": str(max(1, round(wait + 0.5)))},
        )
    return party


def _allow(
    gw: Gateway, party: Party, operation: Operation, spec: TopicSpec | None, what: str
) -> TopicSpec:
    if spec is None or not gw.permissions.allows(party.principal, operation, spec):
        raise Problem(403, "Forbidden", f"this key's party may not {what}")
    return spec


async def _body(request: Request, limit: int = MAX_EVENT_BYTES) -> bytes:
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind != "application/json":
        raise Problem(415, "Unsupported Media Type", "send application/json")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> Problem:
    return Problem(413, "Content Too Large", f"the limit is {limit} bytes")


async def _validated(
    gw: Gateway, request: Request, model: type[_M], topic: str, limit: int = MAX_EVENT_BYTES
) -> tuple[bytes, _M]:
    """The body as sent and as ``model``, through the same strict parser and validator as
    the Kafka path; or the problem that says why not."""
    raw = await _body(request, limit)
    parsed = validate(model, raw, Origin(topic=topic), gw.clock())
    if isinstance(parsed, DeadLetter):
        raise _rejected(parsed)
    return raw, parsed


def _rejected(dead: DeadLetter) -> Problem:
    reasons = [r.model_dump() for r in dead.reasons]
    if dead.reason_class == "too_large":
        return Problem(413, "Content Too Large", reasons[0]["message"], reasons)
    return Problem(422, "Unprocessable Content", f"invalid event ({dead.reason_class})", reasons)


async def _publish(gw: Gateway, topic: str, key: str, value: bytes | None, kind: str) -> None:
    try:
        await asyncio.wait_for(gw.publisher.send(topic, key, value), gw.publish_timeout_s)
    except (TimeoutError, KafkaError) as exc:
        log.warning("publish not acknowledged (%s)", type(exc).__name__)
        raise Problem(
            503,
            "Service Unavailable",
            "the broker did not acknowledge in time; retry with the same body",
            headers={"Retry-After": "5"},
        ) from None
    gw.metrics.published.labels(kind).inc()


async def _once(
    gw: Gateway,
    party: Party,
    event_id: str,
    fingerprint: str,
    publish: Callable[[], Awaitable[Reply]],
) -> JSONResponse:
    reply, replayed = await gw.replies.once((party.principal, event_id), fingerprint, publish)
    headers = {}
    if replayed:
        gw.metrics.replayed.inc()
        headers["Idempotent-Replayed"] = "true"
    media = PROBLEM if reply.status >= 400 else "application/json"
    return JSONResponse(reply.body, reply.status, headers=headers, media_type=media)


def _warnings(event: PoliceIncident | ChildRecord) -> list[dict[str, str]]:
    return [{"field": w.field, "code": w.code.value} for w in event.data_quality]


def _agency_caller(
    gw: Gateway,
    request: Request,
    operation: Operation,
    specs: dict[Agency, TopicSpec],
    what: str,
) -> tuple[Party, Agency, TopicSpec]:
    """The caller, who must be an agency organisation allowed ``operation`` on its
    agency's topic among ``specs``."""
    party = _caller(gw, request)
    agency = party.agency
    spec = _allow(gw, party, operation, specs[agency] if agency else None, what)
    assert agency is not None  # _allow refused a caller without an agency
    return party, agency, spec


def _reason(location: str, error_type: str, message: str) -> list[dict[str, str]]:
    return [{"location": location, "error_type": error_type, "message": message}]


async def _publish_once(
    gw: Gateway,
    party: Party,
    topic: str,
    key: str,
    raw: bytes,
    event: PoliceIncident | ChildRecord,
    kind: str,
) -> JSONResponse:
    """Publish ``raw`` as sent, once per (party, event id): a retry gets the first answer."""

    async def publish() -> Reply:
        await _publish(gw, topic, key, raw, kind)
        accepted = Accepted(event_id=event.event_id, data_quality=_warnings(event))
        return Reply(202, accepted.model_dump())

    return await _once(gw, party, event.event_id, hashlib.sha256(raw).hexdigest(), publish)


def _routes(app: FastAPI, gw: Gateway) -> None:  # the API on one page
    @app.get(
        "/health",
        response_model=Health,
        responses={503: {"model": Health}},
        tags=["operations"],
        openapi_extra=_PUBLIC,
    )
    async def health() -> JSONResponse:
        ready = gw.ready()
        return JSONResponse({"status": "ready" if ready else "starting"}, 200 if ready else 503)

    @app.get("/metrics", tags=["operations"], response_class=Response, openapi_extra=_PUBLIC)
    async def metrics() -> Response:
        return Response(
            generate_latest(gw.metrics.registry), media_type="text/plain; version=0.0.4"
        )

    @app.post(
        "/v1/incidents",
        status_code=202,
        response_model=Accepted,
        tags=["publish"],
        responses=ERRORS,
        openapi_extra=_json_body(PoliceIncident),
    )
    async def publish_incident(request: Request) -> JSONResponse:
        party = _caller(gw, request)
        spec = _allow(
            gw,
            party,
            Operation.WRITE,
            topics.force_incidents(party.force) if party.force else None,
            "publish police incidents",
        )
        name = topic_name(spec, gw.settings)
        raw, event = await _validated(gw, request, PoliceIncident, name)
        foreign = foreign_incident(event, party.force or "")
        if foreign is not None:
            raise Problem(
                403,
                "Forbidden",
                "the incident names another force than this key's",
                [foreign.model_dump()],
            )
        key = incident_key(event.source, event.incident_reference)
        return await _publish_once(gw, party, name, key, raw, event, "incident")

    @app.put(
        "/v1/child-records/{child_id}",
        status_code=202,
        response_model=Accepted,
        tags=["publish"],
        responses=ERRORS,
        openapi_extra=_json_body(ChildRecord),
    )
    async def put_child_record(
        request: Request, child_id: Annotated[str, _CHILD_ID]
    ) -> JSONResponse:
        party = _caller(gw, request)
        spec = _allow(
            gw, party, Operation.WRITE, topics.CHILD_RECORDS, "publish council child records"
        )
        name = topic_name(spec, gw.settings)
        raw, record = await _validated(gw, request, ChildRecord, name)
        if record.council_code != party.organisation:
            raise Problem(403, "Forbidden", "the record is another council's than this key's")
        if record.child_id != child_id:
            raise Problem(
                422,
                "Unprocessable Content",
                "the record's child_id is not the one in the path",
                _reason("child_id", "path_mismatch", "child_id differs from the path"),
            )
        return await _publish_once(gw, party, name, record.key, raw, record, "child_record")

    @app.delete(
        "/v1/child-records/{child_id}",
        status_code=202,
        response_model=Deleted,
        tags=["publish"],
        responses=ERRORS,
    )
    async def delete_child_record(request: Request, child_id: Annotated[str, _CHILD_ID]) -> Deleted:
        party = _caller(gw, request)
        spec = _allow(
            gw, party, Operation.WRITE, topics.CHILD_RECORDS, "delete council child records"
        )
        await _publish(
            gw,
            topic_name(spec, gw.settings),
            record_key(party.organisation, child_id),
            None,
            "child_record_deletion",
        )
        return Deleted(child_id=child_id)

    @app.get(
        "/v1/notifications",
        response_model=NotificationPage,
        tags=["receive"],
        responses=ERRORS,
    )
    async def list_notifications(
        request: Request,
        status: Annotated[
            Status, Query(description="open (not yet acknowledged), acknowledged or all")
        ] = Status.OPEN,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Annotated[
            str | None, Query(max_length=512, description="next_cursor of the page before")
        ] = None,
    ) -> NotificationPage:
        party, agency, _ = _agency_caller(
            gw, request, Operation.READ, topics.NOTIFY, "read notifications"
        )
        try:
            items, next_cursor = gw.inbox.page(agency, party.organisation, status, cursor, limit)
        except BadCursor:
            raise Problem(
                422,
                "Unprocessable Content",
                "the cursor is not one this service gave",
                _reason("query.cursor", "cursor_invalid", "unknown cursor"),
            ) from None
        return NotificationPage(
            items=[NotificationItem(**h.view()) for h in items], next_cursor=next_cursor
        )

    @app.get(
        "/v1/notifications/{notification_id}",
        response_model=NotificationItem,
        tags=["receive"],
        responses=ERRORS,
    )
    async def get_notification(
        request: Request, notification_id: Annotated[str, _NOTIFICATION_ID]
    ) -> NotificationItem:
        party, agency, _ = _agency_caller(
            gw, request, Operation.READ, topics.NOTIFY, "read notifications"
        )
        held = gw.inbox.get(agency, party.organisation, notification_id)
        if held is None:
            raise _no_such_notification()
        return NotificationItem(**held.view())

    @app.post(
        "/v1/notifications/{notification_id}/acknowledgement",
        status_code=202,
        response_model=AcknowledgementAccepted,
        tags=["receive"],
        responses=ERRORS,
        openapi_extra=_json_body(AcknowledgementRequest),
    )
    async def acknowledge(
        request: Request, notification_id: Annotated[str, _NOTIFICATION_ID]
    ) -> JSONResponse:
        party, agency, spec = _agency_caller(
            gw, request, Operation.WRITE, topics.AGENCY_ACKS, "acknowledge notifications"
        )
        _, body = await _validated(gw, request, AcknowledgementRequest, "http", 16 * 1024)
        if gw.inbox.get(agency, party.organisation, notification_id) is None:
            raise _no_such_notification()
        now = gw.clock()
        event_id = derived_id(
            "ack", notification_id, body.status.value, agency.value, party.organisation
        )
        fields = {
            "event_id": event_id,
            "source": party.organisation if _source_ok(party.organisation) else agency.value,
            "produced_at": now.isoformat(),
            "notification_id": notification_id,
            "agency": agency.value,
            "organisation": party.organisation,
            "status": body.status.value,
            "acknowledged_at": now.isoformat(),
            "reason_code": body.reason_code,
        }
        # The contract's own rules (a rejection needs its reason), by the one validator.
        ack = validate(Acknowledgement, json.dumps(fields).encode(), Origin("http"), now)
        if isinstance(ack, DeadLetter):
            raise _rejected(ack)

        async def publish() -> Reply:
            await _publish(
                gw,
                topic_name(spec, gw.settings),
                notification_id,
                ack.model_dump_json().encode(),
                "acknowledgement",
            )
            gw.inbox.acknowledgement(ack)
            accepted = AcknowledgementAccepted(
                acknowledgement_id=event_id,
                notification_id=notification_id,
                acknowledged_at=now.isoformat(),
            )
            return Reply(202, accepted.model_dump())

        fingerprint = f"{body.status.value}|{body.reason_code}"
        return await _once(gw, party, event_id, fingerprint, publish)

    @app.put(
        "/v1/webhook",
        response_model=WebhookView,
        tags=["push"],
        responses=ERRORS,
        openapi_extra=_json_body(WebhookRequest),
    )
    async def register_webhook(request: Request) -> WebhookView:
        party, agency, _ = _agency_caller(
            gw, request, Operation.READ, topics.NOTIFY, "receive notifications"
        )
        _, body = await _validated(gw, request, WebhookRequest, "http", 16 * 1024)
        problem = _webhook_url_problem(body.url, gw.allow_http_webhooks)
        if problem:
            raise Problem(
                422,
                "Unprocessable Content",
                problem,
                _reason("body.url", "url_not_allowed", problem),
            )
        key = registration_key(agency, party.organisation)
        before = gw.registrations.get(key)
        version = before.secret_version + 1 if before is not None else 1
        now = gw.clock()
        registration = WebhookRegistration(
            event_id=derived_id("whk", key, version),
            source="frontdoor",
            produced_at=now,
            agency=agency,
            organisation=party.organisation,
            url=body.url,
            secret_version=version,
        )
        await _publish(
            gw,
            topic_name(topics.WEBHOOKS, gw.settings),
            key,
            registration.model_dump_json().encode(),
            "webhook_registration",
        )
        gw.registrations.put(key, registration)
        return WebhookView(
            url=body.url, secret_version=version, secret=derive_secret(gw.gateway_key, key, version)
        )

    @app.get(
        "/v1/webhook",
        response_model=WebhookView,
        tags=["push"],
        responses=ERRORS,
    )
    async def show_webhook(request: Request) -> WebhookView:
        party, agency, _ = _agency_caller(
            gw, request, Operation.READ, topics.NOTIFY, "receive notifications"
        )
        registration = gw.registrations.get(registration_key(agency, party.organisation))
        if registration is None:
            raise Problem(404, "Not Found", "no webhook is registered for this organisation")
        return WebhookView(url=registration.url, secret_version=registration.secret_version)

    @app.delete("/v1/webhook", status_code=204, tags=["push"], responses=ERRORS)
    async def remove_webhook(request: Request) -> Response:
        party, agency, _ = _agency_caller(
            gw, request, Operation.READ, topics.NOTIFY, "receive notifications"
        )
        key = registration_key(agency, party.organisation)
        if gw.registrations.get(key) is not None:
            await _publish(
                gw, topic_name(topics.WEBHOOKS, gw.settings), key, None, "webhook_registration"
            )
            gw.registrations.put(key, None)
        return Response(status_code=204)


def _no_such_notification() -> Problem:
    return Problem(404, "Not Found", "no such notification for this organisation")


def _source_ok(value: str) -> bool:
    return re.fullmatch(SOURCE_PATTERN, value) is not None


def _webhook_url_problem(url: str, allow_http: bool) -> str | None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "the url is not a URL"
    if not host or parts.username or parts.password:
        return "the url needs a host and no credentials"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and allow_http and _loopback(host):
        return None
    return "the url must be https"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _json_body(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        },
        "x-frontdoor-body-model": model.__name__,
    }


def published_openapi() -> dict[str, Any]:
    """The document committed as ``schemas/openapi.json`` (no running parts needed: the
    routes only reach the gateway's parts when called)."""
    return create_gateway(cast(Gateway, None)).openapi()


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI 3.1 document, with the event contracts the routes take as raw JSON."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (PoliceIncident, ChildRecord, AcknowledgementRequest, WebhookRequest, ProblemBody):
        schema = model.model_json_schema(
            ref_template="#/components/schemas/{model}", mode="validation"
        )
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    for path in document["paths"].values():
        for operation in path.values():
            operation.pop("x-frontdoor-body-model", None)
    document.setdefault("components", {})["securitySchemes"] = {
        "apiKey": {"type": "http", "scheme": "bearer", "description": "fdk_ API key"}
    }
    document["security"] = [{"apiKey": []}]
    app.openapi_schema = document
    return document
