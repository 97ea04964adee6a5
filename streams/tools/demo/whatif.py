"""The demo's last word: its own day replayed under a draft policy ("R3 within 12 hours"
instead of 24), by ``frontdoor whatif`` as the operations principal, printed as a table
with the command that gives it again."""

from __future__ import annotations

import time
from pathlib import Path

from streams import access
from streams.operations import whatif
from streams.settings import Settings
from streams.tools.demo.day import END
from streams.tools.platform.localkafka import acting_as
from streams.tools.synthetic import DEMO_DAY

R3_24H = "    deadline: {clock: hours, amount: 24}\n"
R3_12H = "    deadline: {clock: hours, amount: 12}\n"


def draft(live: Path, where: Path) -> Path:
    """The live policy with R3 (the front door, any child) due in 12 hours, not 24."""
    text = live.read_text()
    if text.count(R3_24H) != 1:
        raise ValueError(f"{live}: R3's 24-hour deadline not found once")
    where.write_text(text.replace(R3_24H, R3_12H))
    return where


def show(settings: Settings) -> bool:
    """Print the what-if of the demo's day; True when it ran."""
    if settings.policy_file is None:
        raise ValueError("the demo runs with a policy file of its own")
    drafted = draft(settings.policy_file, settings.policy_file.with_name("demo-whatif.yaml"))
    print("\nWhat if R3 (the front door, any child) were due within 12 hours, not 24?")
    began = time.monotonic()
    code = whatif.run(
        acting_as(settings, access.OPERATIONS),
        DEMO_DAY,
        END,
        drafted,
        "table",
        None,
        now=lambda: END,
        say=None,
    )
    print(
        f"(replayed in {time.monotonic() - began:.1f} s). The same, any time later (broker "
        "started):\n  env $(.venv/bin/frontdoor kafka credentials operations) "
        f"FRONTDOOR_TOPIC_PREFIX={settings.topic_prefix} "
        f"FRONTDOOR_POLICY_FILE={settings.policy_file} .venv/bin/frontdoor whatif "
        f"--since {DEMO_DAY:%Y-%m-%dT%H:%MZ} --until {END:%Y-%m-%dT%H:%MZ} --policy {drafted}"
    )
    return code == 0
