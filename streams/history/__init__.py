"""A period read back from the bus and replayed under the live policy and a draft: the
what-if's shell, below ``frontdoor whatif`` and the console's what-if screen (siblings
that share it, neither importing the other). It reads, never writes."""

from streams.history.period import (
    TOPICS,
    Actual,
    Bar,
    Bars,
    History,
    Outcome,
    analyse,
    quiet,
    read,
    read_actual,
    replay,
    without_cyclic_gc,
)

__all__ = [
    "TOPICS",
    "Actual",
    "Bar",
    "Bars",
    "History",
    "Outcome",
    "analyse",
    "quiet",
    "read",
    "read_actual",
    "replay",
    "without_cyclic_gc",
]
