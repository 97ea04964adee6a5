"""Idempotent publishing: a retried request gets the first answer and publishes nothing.

Keyed by (party, event id), so one party cannot learn another's ids. The same event id
with different content is a conflict, not a retry. Only accepted publications are kept
(a rejected request is rejected again the same way; one that failed on the broker may be
retried for real). Bounded: the newest ``capacity`` answers, each for ``ttl``. After a
gateway restart a retry publishes again; downstream ids are deterministic, so nothing is
doubled for a recipient.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]


CONFLICT = 409


class Replies:
    def __init__(self, clock: Callable[[], float], capacity: int = 200_000, ttl_s: float = 86_400):
        self._clock = clock
        self._capacity = capacity
        self._ttl_s = ttl_s
        self._done: OrderedDict[tuple[str, str], tuple[float, str, Reply]] = OrderedDict()
        self._running: dict[tuple[str, str], tuple[str, asyncio.Future[Reply]]] = {}

    def __len__(self) -> int:
        return len(self._done)

    async def once(
        self, key: tuple[str, str], fingerprint: str, publish: Callable[[], Awaitable[Reply]]
    ) -> tuple[Reply, bool]:
        """The reply for ``key`` and whether it is a replay of an earlier one."""
        kept = self._done.get(key)
        if kept is not None and self._clock() - kept[0] > self._ttl_s:
            del self._done[key]
            kept = None
        if kept is not None:
            return (kept[2], True) if kept[1] == fingerprint else (_conflict(), False)
        running = self._running.get(key)
        if running is not None:
            if running[0] != fingerprint:
                return _conflict(), False
            return await asyncio.shield(running[1]), True
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._running[key] = (fingerprint, future)
        try:
            reply = await publish()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters see it, nobody is warned twice
            raise
        finally:
            del self._running[key]
        future.set_result(reply)
        if 200 <= reply.status < 300:
            self._done[key] = (self._clock(), fingerprint, reply)
            while len(self._done) > self._capacity:
                self._done.popitem(last=False)
        return reply, False


def _conflict() -> Reply:
    return Reply(
        CONFLICT,
        {
            "title": "Conflict",
            "status": CONFLICT,
            "detail": "this event id was already published with different content; "
            "a new event needs a new event id",
        },
    )
