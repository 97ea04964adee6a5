"""The signals benchmark's policy is one the worker accepts, and plants what it says."""

from __future__ import annotations

from streams.routing import parse_policy
from streams.tools.bench import signals


def test_the_benchmarks_policy_is_valid_and_short_where_it_plants() -> None:
    policy = parse_policy(signals.policy_text(), "bench")
    planted = next(rule for rule in policy.rules if rule.id == "R90")
    assert planted.deadline.amount * 3600 == signals.DEADLINE_S
    assert policy.signals.sequence_gap_minutes * 60 == signals.GAP_WINDOW_S
    assert policy.signals.batching_min_events == signals.BURST
    forces = {signals.GAP_FORCE, signals.NOTICE_FORCE, signals.BACKGROUND, *signals.BURST_FORCES}
    assert forces <= set(policy.signals.police_sources)
    assert not policy.repeat_rule.enabled
