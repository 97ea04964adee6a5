"""An agency organisation registers the https URL its notifications are pushed to, sees
it, and removes it. The signing secret is derived, never stored, and shown only when
registering; registering again rotates it."""

from __future__ import annotations

import ipaddress
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request, Response

from schemas import WebhookRegistration
from schemas.envelope import derived_id
from schemas.webhook import registration_key
from streams import topics
from streams.access import Operation
from streams.edge import problems
from streams.edge.bodies import WebhookRequest, WebhookView
from streams.edge.deps import SMALL_BODY, Allowed, Body, Now, body, gateway, may, of_agency
from streams.edge.openapi import json_body
from streams.edge.problems import BODY, CALLER, documented
from streams.edge.publishing import publish
from streams.edge.signing import derive_secret

router = APIRouter(tags=["push"])

# Pushed to is receiving: whoever may read its agency's notifications may register.
receives = may(Operation.READ, of_agency(topics.NOTIFY), "receive notifications")
Receiver = Annotated[Allowed, Depends(receives)]


@router.put(
    "/v1/webhook",
    response_model=WebhookView,
    responses=documented(*CALLER, *BODY, 503),
    openapi_extra=json_body(WebhookRequest),
)
async def register_webhook(
    request: Request,
    asked: Annotated[
        Body[WebhookRequest],
        Depends(body(WebhookRequest, receives, SMALL_BODY, as_event_on_topic=False)),
    ],
    now: Now,
) -> WebhookView:
    gw, allowed, url = gateway(request), asked.allowed, asked.event.url
    problem = url_problem(url, gw.allow_http_webhooks)
    if problem:
        raise problems.invalid(problem, problems.reason("body.url", "url_not_allowed", problem))
    key = registration_key(allowed.agency, allowed.party.organisation)
    before = gw.registrations.get(key)
    version = before.secret_version + 1 if before is not None else 1
    registration = WebhookRegistration(
        event_id=derived_id("whk", key, version),
        source="frontdoor",
        produced_at=now,
        agency=allowed.agency,
        organisation=allowed.party.organisation,
        url=url,
        secret_version=version,
    )
    value = registration.model_dump_json().encode()
    await publish(gw, _topic(request), key, value, "webhook_registration")
    gw.registrations.put(key, registration)
    secret = derive_secret(gw.gateway_key, key, version)
    return WebhookView(url=url, secret_version=version, secret=secret)


@router.get("/v1/webhook", response_model=WebhookView, responses=documented(*CALLER, 404))
async def show_webhook(request: Request, allowed: Receiver) -> WebhookView:
    key = registration_key(allowed.agency, allowed.party.organisation)
    registration = gateway(request).registrations.get(key)
    if registration is None:
        raise problems.not_found("no webhook is registered for this organisation")
    return WebhookView(url=registration.url, secret_version=registration.secret_version)


@router.delete("/v1/webhook", status_code=204, responses=documented(*CALLER, 503))
async def remove_webhook(request: Request, allowed: Receiver) -> Response:
    gw = gateway(request)
    key = registration_key(allowed.agency, allowed.party.organisation)
    if gw.registrations.get(key) is not None:
        await publish(gw, _topic(request), key, None, "webhook_registration")
        gw.registrations.put(key, None)
    return Response(status_code=204)


def _topic(request: Request) -> str:
    return topics.topic_name(topics.WEBHOOKS, gateway(request).settings)


def url_problem(url: str, allow_http: bool) -> str | None:
    """Why a webhook URL is refused: https only (http to loopback when allowed), a host,
    no credentials in it."""
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
