"""The fault suite's judge says what a run lost by agency and rule, from the clean run's
notifications as stored (without their times)."""

from tests.faults.harness import Outcome, clean_run, judge, load, missing_rules


def test_what_a_run_lost_is_named_by_agency_and_rule_and_counts_every_id() -> None:
    clean = clean_run(load(seed=3, records=60, count=30))
    nothing = Outcome()
    lost = missing_rules(clean, nothing)
    assert sum(lost.values()) == judge(clean, nothing).missing == len(clean.contents) > 0
    assert all(":R" in key for key in lost)
    assert missing_rules(clean, clean) == {}
