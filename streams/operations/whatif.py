"""``frontdoor whatif``: a period replayed under the live policy and a draft, read from the
topics as the ``operations`` principal (which may read, never write), and written as a
table, CSV, JSON or one HTML page.

The reading and the replay are ``streams.history``'s (the console's what-if screen runs
the same); this module adds the terminal's progress bars and the output. Output holds
ids, closed-list values and numbers only.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from streams.history import Bars, analyse, quiet, without_cyclic_gc
from streams.routing import Policy, PolicyError, load_policy
from streams.settings import Settings
from streams.whatif import render


def bars(say: TextIO | None) -> Bars:
    """Work done and the rate, on standard error (counts only, never data)."""
    if say is None:
        return quiet

    def bar(what: str, unit: str, total: int | None) -> tqdm:
        tqdm.monitor_interval = 0  # no monitor thread: the replay forks
        return tqdm(total=total, desc=what, unit=f" {unit}", file=say, mininterval=0.5)

    return bar


def run(
    settings: Settings,
    since: datetime,
    until: datetime,
    draft_path: Path,
    form: str,
    output: Path | None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    say: TextIO | None = sys.stderr,
    timings: dict[str, float] | None = None,
) -> int:
    """Run a what-if and write it; 0 when written. ``timings`` is filled with the seconds
    each step took (reading, replaying, comparing and rendering)."""
    try:
        draft = load_policy(draft_path)
        live = load_policy(settings.policy_file)
    except PolicyError as error:
        print(f"frontdoor whatif: {error}", file=sys.stderr)
        return 2
    with without_cyclic_gc():  # the heap is millions of objects until the output is written
        return _run(
            settings, since, until, live, draft, draft_path, form, output, now, say, timings
        )


def _run(
    settings: Settings,
    since: datetime,
    until: datetime,
    live: Policy,
    draft: Policy,
    draft_path: Path,
    form: str,
    output: Path | None,
    now: Callable[[], datetime],
    say: TextIO | None,
    timings: dict[str, float] | None,
) -> int:
    outcome = analyse(settings, since, until, live, draft, min(until, now()), bars(say))
    if outcome.oldest is not None and outcome.oldest > since + timedelta(hours=1):
        print(
            f"frontdoor whatif: police.incidents.v1 holds incidents from "
            f"{outcome.oldest:%Y-%m-%d %H:%M} UTC only (its retention): the period before "
            "that is not replayed",
            file=sys.stderr,
        )
    step = time.monotonic()
    text = render(
        outcome.diff,
        outcome.trust,
        form,
        draft_name=draft_path.name,
        incidents=outcome.incidents,
        invalid=outcome.invalid,
        seconds=outcome.seconds,
    )
    if timings is not None:
        timings.update(outcome.timings)
        timings["fidelity and diff"] += time.monotonic() - step
        for name, (wall, cpu, packing) in outcome.inside.items():
            timings[f"  {name}: its wall time"] = wall
            timings[f"  {name}: its CPU time"] = cpu
            timings[f"  {name}: its CPU time, packing included"] = packing
    if output is not None:
        output.write_text(text)
        print(f"wrote {output} ({len(outcome.diff.rows)} notifications changed)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
