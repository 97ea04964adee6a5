"""Faust tables whose changelog writes travel in the batch's outbox.

Why: a faust table sends each write to its changelog through faust's own per-message
send path, which at some four writes an incident cost more than the incident's whole
match. Here a write is queued in the outbox of the batch being handled and delivered,
with everything else the batch produced, before the batch's offsets are acknowledged;
recovery is faust's own (it replays the changelog, whoever wrote it). Keys must hash to
the partition their changelog record belongs in, as in every frontdoor table.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import faust

from streams.outbox import Outbox, partition_of

_CURRENT: ContextVar[Outbox | None] = ContextVar("frontdoor_outbox", default=None)


@contextmanager
def writing_to(out: Outbox) -> Iterator[Outbox]:
    """Table writes made inside this block go out with ``out``."""
    token = _CURRENT.set(out)
    try:
        yield out
    finally:
        _CURRENT.reset(token)


def _outbox() -> Outbox:
    out = _CURRENT.get()
    if out is None:
        raise RuntimeError("a frontdoor table was written outside an agent's batch")
    return out


class BatchedTable(faust.Table[bytes, bytes | None]):
    """A bytes-keyed faust Table whose changelog records join the current outbox."""

    def on_key_set(self, key: Any, value: Any) -> None:
        out = _outbox()
        out.send_to(self.changelog_topic_name, key, value, partition_of(key, out.partitions))
        self._sensor_on_set(self, key, value)

    def on_key_del(self, key: Any) -> None:
        out = _outbox()
        out.send_to(self.changelog_topic_name, key, None, partition_of(key, out.partitions))
        self._sensor_on_del(self, key)
