"""The street address beside the postcode, names that moved, and no known child left as
`none` when the evidence points at them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import ChildRecord, InvolvedChild
from streams.matching import Level, Matcher, Person, compare
from streams.matching.address import parse_address
from streams.matching.matcher import compare_address
from streams.tools.synthetic import council
from tests import factories

# Other children, so that names and addresses have the frequencies of a population.
CROWD = [ChildRecord.model_validate(r) for r in council(5, 2000).records]


def matcher(*records: ChildRecord) -> Matcher:
    return Matcher([*records, *CROWD])


def record(child_id: str, **changes: Any) -> ChildRecord:
    data = {"address": "14 Larkspur Row, London", **changes}
    return ChildRecord.model_validate(factories.example("child-record", child_id=child_id, **data))


def child(**changes: Any) -> InvolvedChild:
    data = factories.incident()["children"][0]
    data.update(changes)
    return InvolvedChild.model_validate(data)


def levels(police: InvolvedChild, rec: ChildRecord) -> set[Level]:
    return set(compare(Person.of(police), Person.of(rec)))


@pytest.mark.parametrize(
    ("text", "home", "street", "flat"),
    [
        ("14 Larkspur Row, London", "14", "larkspur row", None),
        ("Flat 3, 12a Acacia Rd, Tottenham", "12a", "acacia road", "3"),
        ("3/12 Acacia Rd.", "12", "acacia road", "3"),
        ("Apt 4 17 Church St", "17", "church street", "4"),
        ("12-14 HIGH ST", "12", "high street", None),
        ("5 St Mary's Rd", "5", "saint marys road", None),
        ("12, Acacia Road, London", "12", "acacia road", None),
        ("Rose Cottage, Mill Ln", "rose cottage", "mill lane", None),
        ("Flat 2 Tower House, 10 King's Cres", "10", "kings crescent", "2"),
    ],
)
def test_an_address_is_read_as_home_street_and_flat(
    text: str, home: str, street: str, flat: str | None
) -> None:
    found = parse_address(text)
    assert found is not None and (found.home, found.street, found.flat) == (home, street, flat)


def test_nothing_to_compare_is_none() -> None:
    assert parse_address("") is None and parse_address(" , ") is None


@pytest.mark.parametrize(
    ("police", "council", "level"),
    [
        ("14 Larkspur Row", "14 LARKSPUR ROW, London", Level.ADDRESS_EXACT),
        ("12 Acacia Rd", "12 Acacia Road", Level.ADDRESS_EXACT),
        ("12 Acacai Road", "12 Acacia Road", Level.ADDRESS_FUZZY),
        ("12 Thred Gold Road", "12 Thredgold Road", Level.ADDRESS_FUZZY),
        ("13 Acacia Road", "12 Acacia Road", Level.ADDRESS_STREET),
        ("Flat 2, 12 Acacia Road", "Flat 3, 12 Acacia Road", Level.ADDRESS_STREET),
        ("Flat 2, 12 Acacia Road", "12 Acacia Road", Level.ADDRESS_EXACT),
        ("12 Acacia Road", "12 Church Road", Level.ADDRESS_DISAGREE),
    ],
)
def test_addresses_compare_on_their_levels(police: str, council: str, level: Level) -> None:
    a, b = parse_address(police), parse_address(council)
    assert a is not None and b is not None
    assert compare_address(a, b) == level


def test_a_mistyped_postcode_with_the_same_address_is_the_same_home() -> None:
    """The postcode is wrong but house and street agree: the address agrees (the gate's
    paths accept it), and the child is linked."""
    rec = record("C-1", nhs_number=None)
    police = child(nhs_number=None, postcode="E1 6AW", date_of_birth="2016-03-05", school_urn=None)
    found = levels(police, rec)
    assert Level.ADDRESS_EXACT in found and Level.POSTCODE_FULL not in found
    result = matcher(rec).match(police)
    assert result.decision == "auto"
    assert result.gate is not None and "address" in result.gate


def test_a_child_who_has_moved_has_another_address_and_postcode() -> None:
    rec = record("C-1", nhs_number=None)
    police = child(nhs_number=None, postcode="N16 5WS", address="297 Netherdale Close")
    found = levels(police, rec)
    assert Level.ADDRESS_DISAGREE in found and Level.POSTCODE_DISAGREE in found


def test_both_names_and_the_address_are_never_none_whatever_the_date_says() -> None:
    rec = record("C-1", nhs_number=None, school_urn=None, postcode="E1 6AN")
    police = child(nhs_number=None, date_of_birth="2011-11-23", postcode="N1 9GU", school_urn=None)
    result = matcher(rec).match(police)
    assert result.decision == "review"
    assert result.candidates[0].record_id == rec.key


def test_a_name_the_date_of_birth_and_the_address_are_never_none() -> None:
    """The given name replaced by another (an unrecorded twin looks the same: review)."""
    rec = record("C-1", nhs_number=None, school_urn=None)
    police = child(nhs_number=None, given_name="Barnaby", postcode="N1 9GU", school_urn=None)
    result = matcher(rec).match(police)
    assert result.decision == "review"
    assert result.candidates[0].record_id == rec.key


# The family name misspelt and the date of birth two digits off (no NHS number, no school).
SLIPS: dict[str, Any] = {
    "nhs_number": None,
    "family_name": "Quilfeathre",
    "date_of_birth": "2016-08-14",
    "school_urn": None,
}


def test_the_same_home_forgives_one_more_slip_and_is_said_in_the_audit() -> None:
    """House and street agree (the postcode mistyped): the family name misspelt and the
    date of birth two digits off are forgiven, where the postcode alone would not do."""
    rec = record("C-1", nhs_number=None, school_urn=None)
    police = child(**SLIPS, postcode="E1 6AW")
    found = levels(police, rec)
    assert {Level.ADDRESS_EXACT, Level.FAMILY_FUZZY, Level.DOB_TWO_DIGITS} <= found
    result = matcher(rec).match(police)
    assert result.decision == "auto" and result.record_id == rec.key
    assert result.gate is not None and result.gate.startswith("same home")
    elsewhere = child(**SLIPS, postcode="E1 6AW", address="3 Tannery Close")
    assert matcher(rec).match(elsewhere).decision != "auto"


def test_a_lookalike_at_the_same_home_is_put_to_a_reviewer() -> None:
    """A nickname with the family name misspelt and the date of birth off, at the same
    home: as like an unrecorded brother or sister as the child. Review, not a link."""
    rec = record("C-1", nhs_number=None, school_urn=None, given_name="Alfred")
    police = child(**SLIPS, given_name="Alfie")
    assert Level.GIVEN_NICKNAME in levels(police, rec)
    result = matcher(rec).match(police)
    assert result.decision == "review"
    assert result.candidates[0].record_id == rec.key


@pytest.mark.parametrize(
    ("police", "council", "family"),
    [
        ({"family_name": "Thred Gold"}, {"family_name": "Thredgold"}, Level.FAMILY_EXACT),
        ({"family_name": "Stroe H"}, {"family_name": "Stroeh"}, Level.FAMILY_EXACT),
        ({"family_name": "Quill-Feather"}, {"family_name": "Quillfeather"}, Level.FAMILY_EXACT),
        (
            {"family_name": "Okafor", "other_names": ["Quillfeather"]},
            {"family_name": "Quillfeather"},
            Level.FAMILY_PART,
        ),
    ],
)
def test_spaces_hyphens_and_other_names_are_not_errors(
    police: dict[str, Any], council: dict[str, Any], family: Level
) -> None:
    assert family in levels(child(**police), record("C-1", **council))


def test_names_swapped_and_then_misspelt_are_graded_once_swapped() -> None:
    rec = record("C-1", nhs_number=None)
    police = child(given_name="Quilfeather", family_name="Zebedee", nhs_number=None)
    found = levels(police, rec)
    assert {Level.GIVEN_EXACT, Level.FAMILY_FUZZY} <= found
    assert matcher(rec).match(police).decision == "auto"


def test_swapped_names_still_never_link_a_twin() -> None:
    """Zebedee's twin Ottoline: her names swapped and misspelt are not Zebedee's."""
    zeb = record("C-1", nhs_number=None)
    twin = record("C-2", given_name="Ottoline", nhs_number=None, gender="female")
    police = child(given_name="Quillfeathr", family_name="Ottoline", nhs_number=None)
    result = matcher(zeb, twin).match(police)
    assert result.record_id != zeb.key


FIELDS = ("given", "family", "dob", "address", "postcode")


@settings(max_examples=150, deadline=None)
@given(
    right=st.sets(st.sampled_from(FIELDS), min_size=2, max_size=2),
    others=st.integers(0, 40),
)
def test_blocking_survives_any_three_wrong_fields(right: set[str], others: int) -> None:
    """Two of given name, family name, date of birth, address and postcode exactly right,
    the other three wrong: the record still shares a blocking key with the child."""
    crowd = [
        record(
            f"C-{n}",
            given_name=("Ottoline", "Barnaby", "Ada", "Zebedee")[n % 4],
            family_name=("Smith", "Quillfeather", "Okafor")[n % 3],
            date_of_birth=(date(2016, 3, 4) + timedelta(days=n)).isoformat(),
            address=f"{n + 1} Larkspur Row",
            postcode=("E1 6AN", "E1 6AW", "N1 9GU")[n % 3],
            nhs_number=None,
            household_id=f"H-{n}",
        )
        for n in range(1, others + 1)
    ]
    rec = record("C-0", nhs_number=None)
    wrong: dict[str, Any] = {
        "given": {"given_name": "Marmaduke"},
        "family": {"family_name": "Ravensworth"},
        "dob": {"date_of_birth": "2009-08-17"},
        "address": {"address": "88 Vellacott Gardens"},
        "postcode": {"postcode": "N16 5WS"},
    }
    changes: dict[str, Any] = {"nhs_number": None}
    for field in FIELDS:
        if field not in right:
            changes.update(wrong[field])
    matcher = Matcher([rec, *crowd])
    assert rec.key in matcher.candidates(child(**changes))
