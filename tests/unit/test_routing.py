"""Every default rule (DOMAIN.md §5) fires on a case built for it, and only where it should."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from schemas import ChildRecord, PoliceIncident
from schemas.enums import Agency, MatchDecision
from streams.routing import (
    LONDON,
    ChildContext,
    PolicyError,
    RuleHit,
    default_policy_text,
    load_policy,
    parse_policy,
    route,
)
from tests import factories

POLICY = load_policy()
CAL = POLICY.calendar()
COUNCIL = POLICY.council_code
# Tuesday 24 November 2026, 10:00 (office hours); reported 01:15 that night.
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def incident(child: dict[str, Any] | None = None, **changes: Any) -> PoliceIncident:
    defaults: dict[str, Any] = {
        "occurred_at": "2026-11-23T22:40:00+00:00",
        "reported_at": "2026-11-24T01:15:00+00:00",
        "risk_grade": "standard",
        "dash_ticks": None,
    }
    data = factories.incident(**{**defaults, **changes})
    data["children"] = [dict(data["children"][0], **(child or {}))]
    return PoliceIncident.model_validate(data)


def record(**changes: Any) -> ChildRecord:
    return ChildRecord.model_validate(factories.example("child-record", **changes))


def hits(
    inc: PoliceIncident,
    decision: MatchDecision = MatchDecision.NONE,
    rec: ChildRecord | None = None,
    now: datetime = NOW,
) -> list[RuleHit]:
    return route(ChildContext(inc, inc.children[0], decision, rec), POLICY, CAL, now)


def fired(found: list[RuleHit]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for h in found:
        out.setdefault(h.rule, set()).add(h.recipient.organisation)
    return out


def test_r1_school_by_the_next_school_day_for_a_child_victim_of_domestic_abuse() -> None:
    found = [h for h in hits(incident()) if h.rule == "R1"]
    assert [h.recipient.organisation for h in found] == ["urn:100000"]
    assert found[0].recipient.agency is Agency.SCHOOL
    assert found[0].deadline == datetime(2026, 11, 24, 8, 30, tzinfo=LONDON)


def test_r1_does_not_fire_for_a_three_year_old_or_an_adult_role() -> None:
    assert "R1" not in fired(hits(incident({"date_of_birth": "2023-01-01"})))
    assert "R1" not in fired(hits(incident({"role": "suspect"})))


def test_r2_home_council_when_home_educated_or_no_school_known() -> None:
    educated = fired(hits(incident({"home_educated": True})))
    assert educated["R2"] == {f"{COUNCIL}:front-door"} and "R1" not in educated
    no_school = fired(hits(incident({"school_urn": None, "home_council": "E09000012"})))
    assert no_school["R2"] == {"E09000012:front-door"}


def test_r2_when_the_school_is_in_another_council() -> None:
    policy = POLICY.model_copy(update={"schools": ["123456"]})
    inc = incident()
    found = fired(route(ChildContext(inc, inc.children[0], MatchDecision.NONE), policy, CAL, NOW))
    assert "R1" not in found
    assert found["R2"] == {f"{COUNCIL}:front-door"}


def test_r3_front_door_within_24_hours_for_any_incident() -> None:
    found = [h for h in hits(incident(incident_type="online_harm")) if h.rule == "R3"]
    assert found[0].recipient.organisation == f"{COUNCIL}:front-door"
    assert found[0].deadline == datetime(2026, 11, 25, 1, 15, tzinfo=UTC)


def test_r4_high_risk_within_one_hour_to_front_door_or_edt_out_of_hours() -> None:
    inc = incident(risk_grade="high")
    in_hours = [h for h in hits(inc) if h.rule == "R4"]
    assert in_hours[0].recipient.organisation == f"{COUNCIL}:front-door"
    assert in_hours[0].deadline == datetime(2026, 11, 24, 2, 15, tzinfo=UTC)
    night = datetime(2026, 11, 24, 1, 20, tzinfo=UTC)
    assert fired(hits(inc, now=night))["R4"] == {f"{COUNCIL}:emergency-duty-team"}
    assert "R4" in fired(hits(incident(police_protection=True)))
    assert "R4" in fired(hits(incident(carer_arrested_no_safe_carer=True)))
    assert "R4" not in fired(hits(incident()))


def test_r5_allocated_worker_and_front_door_for_a_child_on_a_plan() -> None:
    found = [h for h in hits(incident(), MatchDecision.AUTO, record()) if h.rule == "R5"]
    assert {h.recipient.organisation for h in found} == {
        f"{COUNCIL}:worker:SW-42",
        f"{COUNCIL}:front-door",
    }
    assert found[0].deadline == datetime(2026, 11, 24, 5, 15, tzinfo=UTC)  # 4 H
    high = [
        h for h in hits(incident(risk_grade="high"), MatchDecision.AUTO, record()) if h.rule == "R5"
    ]
    assert high[0].deadline == datetime(2026, 11, 24, 2, 15, tzinfo=UTC)  # 1 H if high
    assert "R5" not in fired(hits(incident(), MatchDecision.AUTO, record(status="none")))


def test_r6_missing_looked_after_child_to_allocated_worker_within_one_hour() -> None:
    inc = incident({"role": "missing"}, incident_type="missing_child")
    found = [
        h for h in hits(inc, MatchDecision.AUTO, record(status="looked_after")) if h.rule == "R6"
    ]
    assert found[0].recipient.organisation == f"{COUNCIL}:worker:SW-42"
    assert found[0].deadline == datetime(2026, 11, 24, 2, 15, tzinfo=UTC)
    assert "R6" not in fired(hits(inc, MatchDecision.AUTO, record(status="child_in_need")))


def test_r7_arrested_child_to_youth_justice_and_council_if_looked_after() -> None:
    inc = incident({"role": "suspect"}, incident_type="arrest_or_detention")
    assert fired(hits(inc))["R7"] == {f"{COUNCIL}:youth-justice"}
    lac = fired(hits(inc, MatchDecision.AUTO, record(status="looked_after")))
    assert lac["R7"] == {f"{COUNCIL}:youth-justice", f"{COUNCIL}:worker:SW-42"}


def test_r8_early_help_in_three_working_days_only_for_a_child_not_known() -> None:
    found = [h for h in hits(incident(risk_grade="medium")) if h.rule == "R8"]
    assert found[0].recipient.agency is Agency.EARLY_HELP
    assert found[0].deadline == datetime(2026, 11, 27, 17, 0, tzinfo=LONDON)
    assert "R8" not in fired(hits(incident(), MatchDecision.AUTO, record(status="none")))
    assert "R8" not in fired(hits(incident(risk_grade="high")))


def test_r9_health_service_by_age_injury_or_pregnancy() -> None:
    toddler = fired(hits(incident({"date_of_birth": "2024-05-01"})))
    assert toddler["R9"] == {f"{COUNCIL}:health-visiting"}
    injured = fired(hits(incident(injury=True)))
    assert injured["R9"] == {f"{COUNCIL}:school-nursing"}
    pregnant = fired(hits(incident(victim_pregnant=True)))
    assert f"{COUNCIL}:midwifery" in pregnant["R9"]
    assert "R9" not in fired(hits(incident()))


def test_r10_high_risk_domestic_abuse_to_idva_in_one_working_day() -> None:
    found = [h for h in hits(incident(risk_grade="high")) if h.rule == "R10"]
    assert found[0].recipient.organisation == f"{COUNCIL}:idva"
    assert found[0].deadline == datetime(2026, 11, 25, 17, 0, tzinfo=LONDON)


def test_r11_home_council_told_as_well_with_the_primary_deadline() -> None:
    found = hits(incident({"home_council": "E09000012"}, risk_grade="high"))
    r11 = [h for h in found if h.rule == "R11"]
    assert r11[0].recipient.organisation == "E09000012:front-door"
    assert r11[0].deadline == min(h.deadline for h in found if h.rule in {"R3", "R4"})
    assert "R11" not in fired(hits(incident({"home_council": COUNCIL})))


def test_a_possible_match_tells_the_front_door_but_never_a_school_or_allocated_worker() -> None:
    found = fired(hits(incident(), MatchDecision.REVIEW, None))
    assert "R1" not in found
    assert found["R3"] == {f"{COUNCIL}:front-door"}
    assert not any(o.startswith("urn:") or ":worker:" in o for orgs in found.values() for o in orgs)


def test_a_confirmed_match_uses_the_council_record_for_school_and_status() -> None:
    found = fired(
        hits(incident({"school_urn": None}), MatchDecision.AUTO, record(school_urn="123456"))
    )
    assert found["R1"] == {"urn:123456"}


def test_a_bad_policy_file_names_the_rule_and_field(tmp_path: Path) -> None:
    bad = default_policy_text().replace(
        "notify:\n      - {agency: domestic_abuse, to: service, service: idva}",
        "notify:\n      - {agency: domestic_abuse, to: service}",
    )
    path = tmp_path / "policy.yaml"
    path.write_text(bad)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert "rule R10 (rules[9]), field notify[0]" in str(info.value)
    assert "'service' is required" in str(info.value)


def test_policy_errors_for_missing_file_bad_yaml_and_duplicate_ids(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(tmp_path / "missing.yaml")
    with pytest.raises(PolicyError, match="not valid YAML"):
        parse_policy("rules: [", "p.yaml")
    duplicated = default_policy_text().replace("- id: R2\n", "- id: R1\n")
    with pytest.raises(PolicyError, match="rule id R1 is used twice"):
        parse_policy(duplicated)
    with pytest.raises(PolicyError, match="needs an amount"):
        parse_policy(default_policy_text().replace("{clock: hours, amount: 24}", "{clock: hours}"))
