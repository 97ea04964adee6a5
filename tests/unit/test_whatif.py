"""Policy what-if on a generated fortnight: known policy changes give exactly the counts
worked out from the incidents themselves, an unchanged policy changes nothing, a bad
draft is one clear error, and nothing personal reaches the output."""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import pytest

from schemas import ChildRecord, PoliceIncident
from schemas.enums import IncidentType, RiskGrade
from streams.cli import main
from streams.incidents import Origin, validate
from streams.matching import Replica
from streams.routing import Policy, PolicyError, default_policy_text, parse_policy
from streams.tools.synthetic import IncidentStream, council, incidents
from streams.whatif import (
    Arrival,
    Diff,
    Replay,
    Replayed,
    compare,
    fidelity,
    in_period,
    render,
)

SINCE = datetime.fromisoformat("2026-11-02T00:00:00+00:00")
UNTIL = SINCE + timedelta(days=14)
AS_AT = UNTIL + timedelta(days=5)


@dataclass(frozen=True)
class History:
    arrivals: list[Arrival]
    records: list[ChildRecord]
    acks: dict[str, datetime]  # as the agencies really acknowledged under the live policy


def _replica(records: list[ChildRecord]) -> Replica:
    replica = Replica()
    for record in records:
        replica.upsert(record)
    return replica


@cache
def history() -> History:
    known = council(seed=11, size=400)
    made = incidents(IncidentStream(seed=11, start=SINCE, span=timedelta(days=14)), 900, known)
    rng = random.Random(11)
    arrivals = []
    for n, (key, value) in enumerate(made.events):
        # Validated as the worker validates (the generator's odd values included).
        incident = validate(PoliceIncident, value, Origin("police", 0, n, key), SINCE)
        if not isinstance(incident, PoliceIncident):
            continue  # dead-lettered: the generator plants a few invalid ones
        at = incident.reported_at + timedelta(seconds=rng.randrange(1, 600))
        arrivals.append(Arrival(incident, at, at))
    arrivals.sort(key=lambda a: a.at)
    records = [ChildRecord.model_validate_json(v) for _, v in known.events()]
    live = _run(default_policy_text(), arrivals, records)
    # Acknowledged between 10 minutes and 30 hours after sending; one in ten never.
    acks = {
        nid: s.first_sent + timedelta(minutes=rng.randrange(10, 30 * 60))
        for nid, s in sorted(live.sent.items())
        if rng.random() > 0.1
    }
    return History(arrivals, records, acks)


def _run(text: str, arrivals: list[Arrival], records: list[ChildRecord]) -> Replayed:
    replica = _replica(records)
    run = Replay(parse_policy(text), replica)
    for arrival in arrivals:
        run.incident(arrival, [replica.matcher.match(c) for c in arrival.incident.children])
    return run.result


@cache
def replayed(text: str) -> Replayed:
    h = history()
    return _run(text, h.arrivals, h.records)


def _diff(draft: str) -> Diff:
    return compare(
        replayed(default_policy_text()).sent,
        replayed(draft).sent,
        history().acks,
        SINCE,
        UNTIL,
        AS_AT,
    )


def _edited(old: str, new: str) -> str:
    text = default_policy_text()
    assert text.count(old) == 1, old
    return text.replace(old, new)


R3_12H = _edited(
    "    deadline: {clock: hours, amount: 24}\n", "    deadline: {clock: hours, amount: 12}\n"
)
R8_KNOWN_TOO = _edited(
    "      risk_grades: [standard, medium]\n      match: [none]\n",
    "      risk_grades: [standard, medium]\n",
)
NEW_SERVICE = _edited(
    "home_council_rule:",
    "  - id: R13\n    description: a missing child, for the missing-children team\n"
    "    basis: LOCAL\n    when:\n      incident_types: [missing_child]\n"
    "    notify:\n      - {agency: early_help, to: service, service: missing-children}\n"
    "    deadline: {clock: working_days, amount: 2}\n\nhome_council_rule:",
)


def test_an_unchanged_policy_changes_nothing_and_reproduces_itself() -> None:
    live = replayed(default_policy_text())
    again = _run(default_policy_text(), history().arrivals, history().records)
    diff = compare(live.sent, again.sent, history().acks, SINCE, UNTIL, AS_AT)
    assert diff.rows == [] and not diff.all.changed and diff.all.live == diff.all.draft > 500
    assert all(not c.changed for c in diff.changes)
    trust = fidelity(live.sent, again.sent, live.matches, again.matches, SINCE, UNTIL)
    assert (trust.share, trust.why) == (1.0, {})


def test_r3_in_12_hours_moves_exactly_the_deadlines_it_binds_and_flips_those_acked_between() -> (
    None
):
    live = in_period(replayed(default_policy_text()).sent, SINCE, UNTIL)
    reported = {
        (a.incident.source, a.incident.incident_reference): a.incident.reported_at
        for a in history().arrivals
    }
    # Worked out from the incidents: R3 at 12 hours gives min(reported + 12 h, the
    # deadline it had), whichever other rules named the same recipient; R11 passes the
    # same deadline on to a child's home council elsewhere.
    expected_by: list[float] = []
    flips = Counter[str]()
    for nid, s in live.items():
        if not {"R3", "R11"} & s.rules:
            continue
        flips["R3" if "R3" in s.rules else "R11"] += 0
        new = min(
            reported[(s.police_source, s.incident_reference)] + timedelta(hours=12), s.deadline
        )
        if new < s.deadline:
            expected_by.append((s.deadline - new).total_seconds())
            flips["R3" if "R3" in s.rules else "R11"] += 1
            acked = history().acks.get(nid)
            if acked is not None and new < acked <= s.deadline:
                flips["met->missed"] += 1
    diff = _diff(R3_12H)
    assert diff.all.earlier == len(expected_by) > 100
    assert sorted(diff.all.earlier_s) == sorted(expected_by)
    assert diff.all.later == diff.all.newly == diff.all.no_longer == 0
    assert diff.all.met_to_missed == flips["met->missed"] > 0
    assert diff.all.missed_to_met == 0
    by_rule = {c.rule: c.earlier for c in diff.changes if c.agency == "social_care"}
    assert (by_rule["R3"], by_rule["R11"]) == (flips["R3"], flips["R11"])
    assert flips["R11"] > 0
    assert Counter(r.change for r in diff.rows) == {"earlier": len(expected_by)}


def test_r8_for_known_children_too_tells_early_help_about_each_of_them() -> None:
    live = replayed(default_policy_text())
    expected = {
        (a.incident.source, a.incident.incident_reference, c.person_reference)
        for a in history().arrivals
        if SINCE <= a.at < UNTIL
        and a.incident.incident_type is IncidentType.DOMESTIC_ABUSE
        and a.incident.risk_grade in (RiskGrade.STANDARD, RiskGrade.MEDIUM)
        for c in a.incident.children
        if live.matches[(a.incident.source, a.incident.incident_reference, c.person_reference)][0]
        != "none"
    }
    diff = _diff(R8_KNOWN_TOO)
    assert diff.all.newly == len(expected) > 10
    assert {(r.police_source, r.incident_reference, r.person_reference) for r in diff.rows} == (
        expected
    )
    assert {(r.agency, r.change, r.rules_draft) for r in diff.rows} == {
        ("early_help", "newly", "R8")
    }
    assert diff.all.no_longer == diff.all.earlier == diff.all.later == 0
    # Early help's workload rises by exactly those notifications.
    (early,) = [w for w in diff.workload if w.agency == "early_help"]
    assert early.draft - early.live == len(expected)
    assert early.draft_per_day == round(early.draft / 14, 1)


def test_a_new_service_rule_notifies_every_missing_child_once() -> None:
    expected = [
        c.person_reference
        for a in history().arrivals
        if SINCE <= a.at < UNTIL and a.incident.incident_type is IncidentType.MISSING_CHILD
        for c in a.incident.children
    ]
    diff = _diff(NEW_SERVICE)
    assert diff.all.newly == len(expected) > 10
    assert len(diff.all.children_newly) == 0  # each was told something already (R3)
    rows = {(r.organisation, r.rules_draft, r.change) for r in diff.rows}
    assert rows == {("LA-TEST:missing-children", "R13", "newly")} or all(
        org.endswith(":missing-children") and rule == "R13" and change == "newly"
        for org, rule, change in rows
    )
    r13 = next(c for c in diff.changes if c.rule == "R13")
    assert (r13.agency, r13.newly, r13.live) == ("early_help", len(expected), 0)


def test_a_malformed_draft_is_one_error_naming_the_rule_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "draft.yaml"
    bad.write_text(R3_12H.replace("{clock: hours, amount: 12}", "{clock: fortnights, amount: 12}"))
    with pytest.raises(PolicyError, match=r"rule R3 \(rules\[2\]\), field deadline\.clock"):
        parse_policy(bad.read_text())
    code = main(
        [
            "whatif",
            "--since",
            "2026-11-02T00:00Z",
            "--until",
            "2026-11-03T00:00Z",
            "--policy",
            str(bad),
        ]
    )
    said = capsys.readouterr().err
    assert code == 2
    assert "rule R3 (rules[2]), field deadline.clock" in said
    assert "Traceback" not in said


@pytest.mark.parametrize("form", ["table", "csv", "json", "html"])
def test_no_personal_value_reaches_any_output(form: str) -> None:
    live = replayed(default_policy_text())
    diff = _diff(R8_KNOWN_TOO)
    trust = fidelity(live.sent, live.sent, live.matches, live.matches, SINCE, UNTIL)
    text = render(diff, trust, form, draft_name="draft.yaml", incidents=900)
    assert personal_in(text) == []
    assert "CAD-" in text or form in ("table", "html")  # ids are there


def personal_in(text: str) -> list[str]:
    """The generated history's personal values found in ``text``: names, dates of birth,
    addresses, postcodes, NHS numbers (a date of birth inside a timestamp, a deadline that
    day, is not one)."""
    personal = set()
    for a in history().arrivals:
        for c in a.incident.children:
            personal |= {c.given_name, c.family_name, c.date_of_birth and str(c.date_of_birth)}
            personal |= {c.address, c.postcode, c.nhs_number}
    for record in history().records:
        personal |= {record.given_name, record.family_name, str(record.date_of_birth)}
    return sorted(
        v for v in personal if v and len(v) > 3 and re.search(re.escape(v) + r"(?!T\d)", text)
    )


def test_policy_errors_do_not_depend_on_the_live_policy() -> None:
    policy: Policy = parse_policy(NEW_SERVICE)
    assert any(r.id == "R13" for r in policy.rules)


def test_routing_in_forked_processes_gives_what_routing_here_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from streams.history import History, period, replay
    from streams.matching import MatchModel

    h = history()
    held = History(h.arrivals, [], h.records, [], 0, None)
    live, draft = parse_policy(default_policy_text()), parse_policy(R3_12H)
    here = replay(held, live, draft, MatchModel.load(None), processes=1)
    monkeypatch.setattr(period, "PARALLEL_FROM", 0)
    monkeypatch.setattr(period, "CHUNK", 37)  # many chunks, the last one short
    forked = replay(held, live, draft, MatchModel.load(None), processes=2)
    for one, other in zip(here, forked, strict=True):
        assert one.sent == other.sent and one.matches == other.matches
        assert one.incidents == other.incidents == len(h.arrivals)


def test_each_child_is_matched_as_the_worker_matched_it_when_the_audit_says() -> None:
    """The match does not depend on the policy: a replay takes it from the audit (as the
    worker made it when it first routed the child), and matches now only what the audit
    does not cover."""
    from datetime import UTC

    from streams.history import History, replay
    from streams.history.period import Audited
    from streams.matching import MatchModel

    h = history()
    linked = next(
        (a, c)
        for a in h.arrivals
        for c in a.incident.children
        if replayed(default_policy_text()).matches[
            (a.incident.source, a.incident.incident_reference, c.person_reference)
        ][0]
        == "auto"
    )
    arrival, child = linked
    key = (arrival.incident.source, arrival.incident.incident_reference, child.person_reference)
    # The worker found no record for this child then (the council's came later).
    audited = Audited("routed", key[0], key[1], key[2], "none", None, (), datetime.now(UTC), None)
    held = History(h.arrivals, [], h.records, [audited], 0, None)
    policy = default_policy_text()
    live, _ = replay(held, parse_policy(policy), parse_policy(policy), MatchModel.load(None))
    assert live.matches[key] == ("none", None)
    others = {k: v for k, v in live.matches.items() if k != key}
    assert others == {k: v for k, v in replayed(policy).matches.items() if k != key}
