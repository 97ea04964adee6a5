"""``/health`` and ``/metrics``: for the platform, without a key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import generate_latest

from streams.edge.bodies import Health
from streams.edge.deps import gateway

PUBLIC: dict[str, Any] = {"security": []}  # no key needed

router = APIRouter(tags=["operations"])


@router.get(
    "/health", response_model=Health, responses={503: {"model": Health}}, openapi_extra=PUBLIC
)
async def health(request: Request) -> JSONResponse:
    # Ready once the gateway has read the notification, acknowledgement and webhook topics
    # to their ends.
    ready = gateway(request).ready()
    return JSONResponse({"status": "ready" if ready else "starting"}, 200 if ready else 503)


@router.get("/metrics", response_class=Response, openapi_extra=PUBLIC)
async def metrics(request: Request) -> Response:
    registry = gateway(request).metrics.registry
    return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")
