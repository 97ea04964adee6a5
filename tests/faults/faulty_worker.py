"""A real `frontdoor worker` with one fault planted: an agent's batch processing raises
(not a handler: those are isolated) when an event carries ``CRASH-AGENT``. Run as
``python -m tests.faults.faulty_worker``; used to show that a dying agent stops the
worker with its batch unacknowledged."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from streams.cli import main
from streams.worker.topology import Stream

real_handle = Stream.handle


def handle(self: Stream, ctx: Any, out: Any, events: Iterable[Any]) -> None:
    events = list(events)
    if any(b"CRASH-AGENT" in (e.value or b"") for e in events):
        raise SystemError("a planted fault in the agent")
    real_handle(self, ctx, out, events)


if __name__ == "__main__":
    Stream.handle = handle  # type: ignore[method-assign]
    sys.exit(main(["worker", *sys.argv[1:]]))
