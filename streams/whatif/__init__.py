"""Policy what-if: a period replayed under the live policy and a draft, with the worker's
own core, and what the draft would change in the partnership's terms. Pure.

- ``replay``: one policy's replay (``Replay``), fed the period's arrivals (``Arrival``)
  and reviewers' decisions (``Decided``) in order; the match is made once, outside;
- ``diff``: ``fidelity`` (the live replay against what was actually sent, and why the
  rest differ) and ``compare`` (the draft against the live replay: newly and no longer
  notified, deadlines earlier and later, met and missed flipped, workload);
- ``render``: table, CSV, JSON, one self-contained HTML page.

``frontdoor whatif`` (``streams.operations.whatif``) reads the topics and runs it.
"""

from streams.whatif.diff import (
    Change,
    Diff,
    Fidelity,
    Notified,
    Row,
    Workload,
    compare,
    fidelity,
    in_period,
    merge,
)
from streams.whatif.render import DEFINITION, render
from streams.whatif.replay import (
    Arrival,
    Decided,
    Planned,
    PlannedChild,
    Replay,
    Replayed,
    Sent,
    pack,
    plan,
    unpack,
)

__all__ = [
    "DEFINITION",
    "Arrival",
    "Change",
    "Decided",
    "Diff",
    "Fidelity",
    "Notified",
    "Planned",
    "PlannedChild",
    "Replay",
    "Replayed",
    "Row",
    "Sent",
    "Workload",
    "compare",
    "fidelity",
    "in_period",
    "merge",
    "pack",
    "plan",
    "render",
    "unpack",
]
