"""The comparison levels the matcher scores, each declared once with what it means. Pure.

In the manner of Splink's comparison level library: a comparison (NHS number, given
name, family name, date of birth, postcode, street address, school, gender) puts a pair
of children on exactly one of its levels, most to least similar, or on none when a value
is missing on either side (neutral evidence). Each level has its own m and u in the
model file (``MatchModel``); its name is the reason an audit record and a reviewer see,
and the table in docs/matching.md is generated from here (``frontdoor docs write``).

A level *is* its name (a ``str``), so model files, audit reasons and candidate lists
keep carrying plain names such as ``"dob:swapped"``.
"""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """``<comparison>:<level>``, with what a pair on that level has in common."""

    meaning: str

    def __new__(cls, name: str, meaning: str) -> Level:
        level = str.__new__(cls, name)
        level._value_ = name
        level.meaning = meaning
        return level

    @property
    def comparison(self) -> str:
        return self.value.partition(":")[0]

    NHS_AGREE = "nhs:agree", "valid NHS numbers, equal: strong evidence for"
    NHS_DISAGREE = "nhs:disagree", "valid NHS numbers, different: strong evidence against"

    GIVEN_EXACT = "given:exact", "first given names equal (weighed by how common the name is)"
    GIVEN_NICKNAME = (
        "given:nickname",
        "a nickname common in England (Alfie/Alfred), or agrees with another or middle name",
    )
    GIVEN_TYPO = "given:typo", "one letter different, both at least four letters long"
    GIVEN_SWAPPED = (
        "given:swapped",
        "given and family names entered the wrong way round, each then agreeing",
    )
    GIVEN_FUZZY = (
        "given:fuzzy",
        "two letters different (same first letter, both at least five letters long) or "
        "Jaro-Winkler of at least 0.9",
    )
    GIVEN_PHONETIC = "given:phonetic", "same Metaphone code"
    GIVEN_DISAGREE = "given:disagree", "none of the above"

    FAMILY_EXACT = "family:exact", "family names equal (weighed by how common the name is)"
    FAMILY_PART = "family:part", "share a part of a hyphenated or double-barrelled name"
    FAMILY_SWAPPED = (
        "family:swapped",
        "given and family names entered the wrong way round, each then agreeing",
    )
    FAMILY_FUZZY = (
        "family:fuzzy",
        "one or two letters different (same first letter; both at least four letters long "
        "for one, seven for two) or Jaro-Winkler of at least 0.92",
    )
    FAMILY_PHONETIC = "family:phonetic", "same Metaphone code for a part"
    FAMILY_DISAGREE = "family:disagree", "none of the above"

    DOB_EXACT = "dob:exact", "dates of birth equal"
    DOB_SWAPPED = "dob:swapped", "day and month swapped"
    DOB_ONE_DIGIT = "dob:one_digit", "one digit different"
    DOB_YEAR = "dob:year", "same day and month, year two or fewer apart"
    DOB_TWO_DIGITS = "dob:two_digits", "two digits different"
    DOB_MONTH = "dob:month", "within 31 days"
    DOB_APPROXIMATE = "dob:approximate", "the police date is an estimate, within a year"
    DOB_SAME_YEAR = "dob:same_year", "same year of birth"
    DOB_DISAGREE = "dob:disagree", "none of the above"

    POSTCODE_FULL = "postcode:full", "postcodes equal"
    POSTCODE_SECTOR = "postcode:sector", "same postcode sector (SW1A 1)"
    POSTCODE_DISTRICT = "postcode:district", "same postcode district (SW1A)"
    POSTCODE_DISAGREE = "postcode:disagree", "different districts"

    ADDRESS_EXACT = (
        "address:exact",
        "same house number (or name) and street (weighed by how many records share the address)",
    )
    ADDRESS_FUZZY = (
        "address:fuzzy",
        "same house number (or name), the street misspelt: one letter, two in a name of "
        "eight or more, or Jaro-Winkler of at least 0.92",
    )
    ADDRESS_STREET = (
        "address:street",
        "same street, another house number or flat (a neighbour, or a number mistyped)",
    )
    ADDRESS_DISAGREE = "address:disagree", "different streets"

    SCHOOL_AGREE = "school:agree", "same school URN"
    SCHOOL_DISAGREE = "school:disagree", "different school URNs"

    GENDER_AGREE = "gender:agree", "same gender"
    GENDER_DISAGREE = "gender:disagree", "different genders"


def _by_comparison() -> dict[str, tuple[Level, ...]]:
    grouped: dict[str, list[Level]] = {}
    for level in Level:
        grouped.setdefault(level.comparison, []).append(level)
    return {name: tuple(levels) for name, levels in grouped.items()}


# Every comparison and its levels, most to least similar.
COMPARISONS: dict[str, tuple[Level, ...]] = _by_comparison()
LEVELS: tuple[Level, ...] = tuple(Level)

# What the decision rules ask of a level (the safety gate's paths, docs/matching.md).
STRONG_GIVEN = frozenset(
    {Level.GIVEN_EXACT, Level.GIVEN_NICKNAME, Level.GIVEN_TYPO, Level.GIVEN_SWAPPED}
)
# A given name with no spelling error: what a date a digit or two off is forgiven with.
SURE_GIVEN = frozenset({Level.GIVEN_EXACT, Level.GIVEN_NICKNAME, Level.GIVEN_SWAPPED})
WEAK_GIVEN = frozenset({Level.GIVEN_FUZZY, Level.GIVEN_PHONETIC})
PLAUSIBLE_GIVEN = STRONG_GIVEN | WEAK_GIVEN
SHARED_FAMILY = frozenset({Level.FAMILY_EXACT, Level.FAMILY_PART, Level.FAMILY_SWAPPED})
STRONG_DOB = frozenset({Level.DOB_EXACT, Level.DOB_SWAPPED})
# A date a digit or two off, or in the wrong year: agrees only where more agrees too.
NEAR_DOB = frozenset({Level.DOB_ONE_DIGIT, Level.DOB_TWO_DIGITS, Level.DOB_YEAR})
# A household member is plausible on these when the police have no given name.
PLAUSIBLE_DOB = STRONG_DOB | NEAR_DOB | {Level.DOB_MONTH, Level.DOB_APPROXIMATE}
# The address or school: what tells one child's household from another's. The address
# agrees when the postcode does, or the house and street do (the postcode mistyped or out
# of date).
SAME_ADDRESS = frozenset({Level.POSTCODE_FULL, Level.ADDRESS_EXACT, Level.ADDRESS_FUZZY})
CORROBORATING = SAME_ADDRESS | {Level.SCHOOL_AGREE}
# The comparisons that identify a child (school and gender only corroborate).
IDENTIFYING = ("nhs", "given", "family", "dob", "postcode", "address")
# Exact agreements weighed by the value's frequency, and which value they count.
TERM_FREQUENCY = {
    Level.GIVEN_EXACT: "given",
    Level.FAMILY_EXACT: "family",
    Level.ADDRESS_EXACT: "address",
}
