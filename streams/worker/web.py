"""The worker's own pages: ``/health`` for orchestrators and tests, ``/metrics`` for
Prometheus (frontdoor's registry, not faust's sensor)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from prometheus_client import generate_latest

from streams.worker import metrics
from streams.worker.context import WorkerContext


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str


def health(ctx: WorkerContext) -> Response:
    """200 once the replica has caught up, this worker owns partitions and no rebalance
    is in progress; 503 before."""
    ready = ctx.runtime.is_ready()
    body = {
        "status": "ready" if ready else "starting",
        "replica": {"records": len(ctx.replica), "caught_up": ctx.replica_caught_up},
        "assigned_partitions": sorted(f"{t}:{p}" for t, p in ctx.runtime.assigned()),
    }
    return Response(200 if ready else 503, json.dumps(body).encode(), "application/json")


def prometheus_metrics() -> Response:
    return Response(200, generate_latest(metrics.REGISTRY), metrics.CONTENT_TYPE)
