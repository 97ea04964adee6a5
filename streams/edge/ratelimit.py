"""Requests per second per party: a token bucket each, so a burst is allowed and a flood
is not. A refused request is told when to try again (``Retry-After``)."""

from __future__ import annotations

from collections.abc import Callable


class RateLimiter:
    def __init__(self, per_second: float, burst: int, clock: Callable[[], float]) -> None:
        self._rate = per_second
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def wait_s(self, party: str) -> float:
        """0 if ``party`` may go now (and it is counted), else seconds until it may."""
        now = self._clock()
        tokens, then = self._buckets.get(party, (self._burst, now))
        tokens = min(self._burst, tokens + (now - then) * self._rate)
        if tokens >= 1:
            self._buckets[party] = (tokens - 1, now)
            return 0.0
        self._buckets[party] = (tokens, now)
        return (1 - tokens) / self._rate
