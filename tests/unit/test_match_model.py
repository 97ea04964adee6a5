"""The Fellegi-Sunter model: every comparison level, the gate, term frequencies, estimation."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest

from schemas import ChildRecord, InvolvedChild
from streams.matching import (
    COMPARISONS,
    LEVELS,
    Matcher,
    MatchModel,
    Person,
    compare,
    compare_dob,
    compare_names,
    probability,
    safety_gate,
)
from streams.tools.estimation import estimate_m, estimate_u, labelled
from streams.tools.synthetic import council
from tests import factories


def names(text: str) -> tuple[str, ...]:
    return tuple(text.lower().split())


@pytest.mark.parametrize(
    ("police", "council_side", "kind", "level"),
    [
        ("Zebedee", "Zebedee", "given", "given:exact"),
        ("Alfie", "Alfred", "given", "given:nickname"),
        ("Zebedee Jon", "Zeb Jon", "given", "given:nickname"),  # agrees on the middle name
        ("Isabela", "Isabella", "given", "given:typo"),
        ("Annabelle", "Anabell", "given", "given:fuzzy"),
        ("Nathaniel", "Natanael", "given", "given:fuzzy"),  # two letters
        ("Catherine", "Kathryn", "given", "given:phonetic"),
        ("Zebedee", "Ottoline", "given", "given:disagree"),
        ("Quillfeather", "Quillfeather", "family", "family:exact"),
        ("Quillfeather", "Quillfeather okafor", "family", "family:part"),
        ("Quilfeather", "Quillfeather", "family", "family:fuzzy"),
        ("Smyth", "Smith", "family", "family:fuzzy"),
        ("Filipps", "Philips", "family", "family:phonetic"),
        ("Jones", "Quillfeather", "family", "family:disagree"),
    ],
)
def test_name_levels(police: str, council_side: str, kind: str, level: str) -> None:
    assert compare_names(names(police), names(council_side), kind) == level


@pytest.mark.parametrize(
    ("police", "council_side", "approximate", "level"),
    [
        (date(2016, 3, 4), date(2016, 3, 4), False, "dob:exact"),
        (date(2016, 4, 3), date(2016, 3, 4), False, "dob:swapped"),
        (date(2016, 3, 14), date(2016, 3, 4), False, "dob:one_digit"),
        (date(2016, 3, 28), date(2016, 3, 4), False, "dob:two_digits"),
        (date(2018, 3, 4), date(2016, 3, 4), False, "dob:one_digit"),
        (date(2019, 3, 4), date(2021, 3, 4), False, "dob:year"),
        (date(2016, 2, 27), date(2016, 3, 4), False, "dob:month"),
        (date(2016, 7, 1), date(2016, 3, 4), True, "dob:approximate"),
        (date(2016, 11, 30), date(2016, 3, 4), False, "dob:same_year"),
        (date(2012, 1, 1), date(2016, 3, 4), False, "dob:disagree"),
        (None, date(2016, 3, 4), False, None),
    ],
)
def test_date_of_birth_levels(
    police: date | None, council_side: date, approximate: bool, level: str | None
) -> None:
    assert compare_dob(police, council_side, approximate) == level


def person(**changes: Any) -> Person:
    return Person.of(ChildRecord.model_validate(factories.example("child-record", **changes)))


def test_nhs_postcode_school_and_gender_levels() -> None:
    same = compare(person(), person())
    assert {"nhs:agree", "postcode:full", "school:agree", "gender:agree"} <= set(same)
    other = compare(
        person(),
        person(nhs_number="4010232137", postcode="E1 6ZZ", school_urn="123456", gender="female"),
    )
    assert {"nhs:disagree", "postcode:sector", "school:disagree", "gender:disagree"} <= set(other)
    assert "postcode:district" in compare(person(), person(postcode="E1 9ZZ"))
    assert "postcode:disagree" in compare(person(), person(postcode="N16 5AB"))
    assert not {lv for lv in compare(person(), person(nhs_number=None)) if lv.startswith("nhs")}


@pytest.mark.parametrize(
    ("levels", "passes"),
    [
        (("given:exact", "dob:exact"), True),
        (("given:nickname", "dob:swapped"), False),  # a lookalike's date, as often as not
        (("given:nickname", "dob:swapped", "postcode:full"), True),
        (("given:typo", "dob:exact"), True),
        (("given:exact", "family:disagree", "dob:exact"), False),  # another family's child
        (("given:swapped", "family:swapped", "dob:exact"), True),  # names the wrong way round
        (("given:exact", "dob:one_digit"), False),  # needs the address or school too
        (("given:exact", "dob:one_digit", "postcode:full"), True),
        (("given:typo", "dob:one_digit", "postcode:full"), False),  # two errors: a sibling?
        (("given:exact", "family:exact", "dob:two_digits", "postcode:full"), True),
        (("given:exact", "family:exact", "dob:year", "school:agree"), True),
        (("given:exact", "family:exact", "dob:two_digits"), False),
        (("given:fuzzy", "dob:exact"), False),
        (("given:fuzzy", "family:exact", "dob:exact", "postcode:full"), True),
        (("given:exact", "dob:month"), False),
        # No given name: the rest must agree, gender included (the household rule then
        # keeps a twin out).
        (("family:exact", "dob:exact", "postcode:full", "gender:agree"), True),
        (("family:exact", "dob:exact", "postcode:full"), False),
        (("given:disagree", "family:exact", "dob:exact", "postcode:full", "gender:agree"), False),
        # No date of birth (or only an estimate): both names and the address or school.
        (("given:exact", "family:exact", "postcode:full"), True),
        (("given:exact", "family:exact", "dob:approximate", "school:agree"), True),
        (("given:exact", "family:exact"), False),
        (("nhs:agree", "given:exact"), True),
        (("nhs:agree", "dob:exact", "given:disagree"), True),
        (("nhs:agree", "family:exact"), True),
        (("nhs:agree", "family:exact", "given:disagree"), False),  # a sibling's number?
        (("nhs:agree", "postcode:full"), False),
        (("nhs:disagree", "given:exact", "dob:exact"), False),
    ],
)
def test_the_safety_gate(levels: tuple[str, ...], passes: bool) -> None:
    assert safety_gate(levels) is passes


@pytest.mark.parametrize(
    "levels",
    [
        ("given:typo", "family:exact", "dob:exact"),
        ("given:exact", "family:part", "dob:exact"),
        ("given:exact", "family:fuzzy", "dob:exact"),
    ],
)
def test_a_crowded_population_wants_the_address_for_a_name_not_as_recorded(
    levels: tuple[str, ...],
) -> None:
    """A million children hold a one-letter neighbour of most names born on most days."""
    assert safety_gate(levels)
    assert not safety_gate(levels, crowded=True)
    assert safety_gate((*levels, "postcode:full"), crowded=True)
    assert safety_gate(("given:exact", "family:exact", "dob:exact"), crowded=True)


def test_a_population_larger_than_the_models_lowers_the_prior() -> None:
    model = dataclasses.replace(MatchModel.load(), population=10)
    records = [
        ChildRecord.model_validate(factories.example("child-record", child_id=f"C-{n}"))
        for n in range(40)
    ]
    small, large = Matcher(records[:10], model), Matcher(records, model)
    levels = ("dob:exact",)
    assert small.score(levels, Person.of(records[0])) - large.score(
        levels, Person.of(records[0])
    ) == pytest.approx(2.0)  # log2(40 / 10)
    assert model.crowding_bits(5) == 0  # a smaller council is not loosened


def test_a_common_name_agreeing_is_weaker_evidence_than_a_rare_one() -> None:
    records = [
        ChildRecord.model_validate(
            factories.example(
                "child-record",
                child_id=f"C-{n}",
                family_name="Smith" if n < 99 else "Quillfeather",
                nhs_number=None,
            )
        )
        for n in range(100)
    ]
    matcher = Matcher(records)
    smith = matcher.score(("family:exact",), Person.of(records[0]))
    rare = matcher.score(("family:exact",), Person.of(records[99]))
    assert rare - smith == pytest.approx(6.63, abs=0.01)  # log2(99/1)


def test_the_packaged_model_covers_every_level_and_means_what_it_says() -> None:
    model = MatchModel.load()
    assert set(model.m) == set(model.u) == set(LEVELS)
    assert model.weights["nhs:agree"] > 10 > 0 > model.weights["nhs:disagree"]
    assert model.weights["dob:exact"] > model.weights["dob:swapped"] > 0
    assert probability(model.auto_bits) > 0.999
    for levels in COMPARISONS.values():
        assert sum(model.m[lv] for lv in levels) == pytest.approx(1.0)
        assert sum(model.u[lv] for lv in levels) == pytest.approx(1.0)


def test_a_model_missing_a_level_or_with_a_bad_probability_is_refused() -> None:
    model = MatchModel.load()
    with pytest.raises(ValueError, match="lacks m or u"):
        dataclasses.replace(model, m={k: v for k, v in model.m.items() if k != "dob:exact"})
    with pytest.raises(ValueError, match=r"in \(0, 1\]"):
        dataclasses.replace(model, u={**model.u, "dob:exact": 0.0})
    assert MatchModel.from_json(model.to_json()) == model


def test_estimation_learns_that_true_matches_agree_and_strangers_do_not() -> None:
    known = council(5, 600)
    records = [ChildRecord.model_validate(r) for r in known.records]
    u = estimate_u(records, pairs=3000, seed=5)
    m = estimate_m(labelled(known, 6, 400, with_nhs=True))
    assert m["given:exact"] > 0.8 > 0.1 > u["given:exact"]
    assert m["dob:exact"] > 0.8 and u["dob:exact"] < 0.01
    assert u["nhs:disagree"] > 0.99 and m["nhs:agree"] > 0.9


def test_a_matcher_can_use_a_deployments_model() -> None:
    strict = dataclasses.replace(MatchModel.load(), auto_bits=200.0)
    child = InvolvedChild.model_validate(factories.incident()["children"][0])
    record = ChildRecord.model_validate(factories.example("child-record"))
    assert Matcher([record]).match(child).decision == "auto"
    assert Matcher([record], model=strict).match(child).decision == "review"
