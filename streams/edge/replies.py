"""Idempotent publishing: a retried request gets the first answer and publishes nothing.

Keyed by (party, event id), so one party cannot learn another's ids. The same event id
with different content is a conflict, not a retry. An attempt is kept from its start
until the producer settles it, even after its caller was told to retry (``Unsettled``:
the broker had not acknowledged in time, but the record may be in the producer's buffer
and reach the broker later): a retry meanwhile joins it, and one after it gets its
answer. Only accepted publications are kept once settled (a rejected request is
rejected again the same way; one that failed on the broker may be retried for real).
Bounded: the newest ``capacity`` answers, each for ``ttl``. After a gateway restart a
retry publishes again; downstream ids are deterministic, so nothing is doubled for a
recipient.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

Key = tuple[str, str]


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]


CONFLICT = 409


class Unsettled(TimeoutError):
    """The attempt did not settle in time; it goes on, and a retry joins it."""


class Replies:
    def __init__(self, clock: Callable[[], float], capacity: int = 200_000, ttl_s: float = 86_400):
        self._clock = clock
        self._capacity = capacity
        self._ttl_s = ttl_s
        self._done: OrderedDict[Key, tuple[float, str, Reply]] = OrderedDict()
        self._running: dict[Key, tuple[str, asyncio.Future[Reply]]] = {}

    def __len__(self) -> int:
        return len(self._done)

    @property
    def unsettled(self) -> int:
        """Attempts under way (some perhaps already answered 503)."""
        return len(self._running)

    async def once(
        self,
        key: Key,
        fingerprint: str,
        attempt: Callable[[], Awaitable[Reply]],
        timeout_s: float,
    ) -> tuple[Reply, bool]:
        """The reply for ``key`` and whether it is a replay of an earlier attempt's;
        ``Unsettled`` when the attempt (new or joined) has not settled in ``timeout_s``;
        the attempt's own exception when it failed."""
        kept = self._done.get(key)
        if kept is not None and self._clock() - kept[0] > self._ttl_s:
            del self._done[key]
            kept = None
        if kept is not None:
            return (kept[2], True) if kept[1] == fingerprint else (_conflict(), False)
        running = self._running.get(key)
        if running is not None and running[0] != fingerprint:
            return _conflict(), False
        replayed = running is not None
        task = running[1] if running is not None else self._start(key, fingerprint, attempt)
        try:
            reply = await asyncio.wait_for(asyncio.shield(task), timeout_s)
        except TimeoutError:
            raise Unsettled() from None
        return reply, replayed

    def _start(
        self, key: Key, fingerprint: str, attempt: Callable[[], Awaitable[Reply]]
    ) -> asyncio.Future[Reply]:
        task = asyncio.ensure_future(attempt())
        self._running[key] = (fingerprint, task)
        task.add_done_callback(lambda done: self._settled(key, fingerprint, done))
        return task

    def _settled(self, key: Key, fingerprint: str, task: asyncio.Future[Reply]) -> None:
        if self._running.get(key, (None, None))[1] is task:
            del self._running[key]
        if task.cancelled() or task.exception() is not None:  # retrieved: no warning later
            return
        reply = task.result()
        if 200 <= reply.status < 300:
            self._done[key] = (self._clock(), fingerprint, reply)
            while len(self._done) > self._capacity:
                self._done.popitem(last=False)


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
