"""``/health`` (ready once the console has caught up with the topics) and ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams.console.pages import console_of

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    console = console_of(request)
    ready = console.ready()
    return JSONResponse(
        {"status": "ready" if ready else "starting"}, status_code=200 if ready else 503
    )


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    registry = console_of(request).metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
