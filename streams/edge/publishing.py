"""Publishing for a caller: ``202`` only once the broker has the record (acks=all), a
``503`` when it does not acknowledge in time, and at most once per (party, event id).

An attempt that has not settled when the caller is answered ``503`` goes on: the record
may already be in the producer's buffer, and will be delivered when the broker is back.
A retry with the same body joins that attempt (and gets its answer, with
``Idempotent-Replayed``) instead of publishing a second copy (``streams.edge.replies``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable

from aiokafka.errors import KafkaError
from fastapi.responses import JSONResponse

from streams.edge import problems
from streams.edge.credentials import Party
from streams.edge.gateway import Gateway
from streams.edge.problems import PROBLEM
from streams.edge.replies import Reply, Unsettled

log = logging.getLogger("frontdoor.edge")


async def publish(gw: Gateway, topic: str, key: str, value: bytes | None, kind: str) -> None:
    """One record, not deduplicated (a tombstone, a webhook registration: repeating it is
    harmless), or ``503``."""
    try:
        await asyncio.wait_for(gw.publisher.send(topic, key, value), gw.publish_timeout_s)
    except (TimeoutError, KafkaError) as exc:
        raise _unavailable(exc) from None
    gw.metrics.published.labels(kind).inc()


async def delivered(gw: Gateway, topic: str, key: str, value: bytes, kind: str) -> None:
    """One record, waiting as long as the producer takes to settle it (for ``once``)."""
    await gw.publisher.send(topic, key, value)
    gw.metrics.published.labels(kind).inc()


async def once(
    gw: Gateway,
    party: Party,
    event_id: str,
    fingerprint: str,
    attempt: Callable[[], Awaitable[Reply]],
) -> JSONResponse:
    """The answer for (party, event id): a new attempt, the one under way, or the first
    answer; ``503`` while the attempt has not settled in ``publish_timeout_s``."""
    try:
        reply, replayed = await gw.replies.once(
            (party.principal, event_id), fingerprint, attempt, gw.publish_timeout_s
        )
    except (Unsettled, KafkaError) as exc:
        raise _unavailable(exc) from None
    headers = {}
    if replayed:
        gw.metrics.replayed.inc()
        headers["Idempotent-Replayed"] = "true"
    media = PROBLEM if reply.status >= 400 else "application/json"
    return JSONResponse(reply.body, reply.status, headers=headers, media_type=media)


def fingerprint(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _unavailable(exc: BaseException) -> problems.Problem:
    log.warning("publish not acknowledged (%s)", type(exc).__name__)
    return problems.unavailable()
