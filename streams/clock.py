"""The worker's clock: real time, or a simulated one for demos and drills.

Deadlines, office hours and alerts all read the clock through this one function, so a
demo can run a whole day in a minute: ``simulated`` maps wall time since ``epoch`` onto
``start`` at ``speed`` times real time. Two processes given the same three values agree
on the time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def simulated(start: datetime, epoch: float, speed: float) -> Clock:
    if start.tzinfo is None:
        raise ValueError("a simulated clock needs a timezone-aware start")

    def now() -> datetime:
        return start + timedelta(seconds=(time.time() - epoch) * speed)

    return now
