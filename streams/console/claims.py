"""Who is working on which pair, so that two people never work the same one.

Opening a pair claims it; the others see "being reviewed by ..." and cannot decide it
until the claimer decides, releases it, or has not touched it for ``hold_s`` (they went
home). Kept in the console's memory with its sessions, on the real clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Claim:
    staff_id: str
    name: str
    since: float
    touched: float


class Claims:
    def __init__(self, hold_s: float, clock: Callable[[], float]) -> None:
        self.hold_s, self._clock = hold_s, clock
        self._by_pair: dict[str, Claim] = {}

    def holder(self, review_id: str) -> Claim | None:
        """Who holds the pair now (None: nobody, or their claim has lapsed)."""
        claim = self._by_pair.get(review_id)
        if claim is not None and self._clock() - claim.touched > self.hold_s:
            del self._by_pair[review_id]
            return None
        return claim

    def take(self, review_id: str, staff_id: str, name: str) -> Claim:
        """Claim the pair for this person, unless someone else holds it: the holder."""
        held = self.holder(review_id)
        now = self._clock()
        if held is not None and held.staff_id != staff_id:
            return held
        if held is None:
            held = self._by_pair[review_id] = Claim(staff_id, name, now, now)
        held.touched = now
        return held

    def release(self, review_id: str, staff_id: str) -> bool:
        held = self.holder(review_id)
        if held is None or held.staff_id != staff_id:
            return False
        del self._by_pair[review_id]
        return True
