"""Finds a police-side child in the council's records; pure, no Kafka, no clock.

A missed match leaves a social worker uninformed; a false match sends one child's
details to another family's worker or school. So the matcher is conservative:

* candidates come from blocking keys, each two fields together so that no key's bucket
  grows with the population (NHS number; postcode; date of birth with the first two
  letters of a name; phonetic family name with birth year and month, or with month and
  day; phonetic family and given names), looked up both ways round in case given and
  family names were swapped;
* each candidate is scored by a Fellegi-Sunter model: every comparison (NHS number, given
  name, family name, date of birth, postcode, school, gender) lands on one named level,
  and each level adds log2(m/u) bits of evidence, where m is how often true matches show
  that level and u how often two different children do (``MatchModel``; u is estimated
  from the council's own records, m from labelled synthetic data). Exact name agreement
  is adjusted for how common the name is in the council's records (term frequency): two
  Smiths agreeing says less than two Quillfeathers;
* ``auto`` needs the match weight to clear a threshold, beat the runner-up by a margin,
  and pass the safety gate along one of its paths (``gate_path``; docs/matching.md):
  never against a disagreeing NHS number; never when a sibling or twin in the same
  household is also a plausible match, nor while another record's valid NHS number
  agrees;
* otherwise ``review`` with a shortlist, or ``none`` — never ``none`` on strong partial
  evidence: a record whose valid NHS number agrees, or whose agreeing identifying
  comparisons add up to ``MatchModel.partial_bits``, is always on the shortlist;
* a population larger than the one the model was estimated on holds more lookalikes:
  the prior is lowered, and the review and partial-evidence bars raised, by log2 of the
  ratio.

Stable API (other tools import it): ``Matcher``, ``add``, ``remove``, ``match``,
``MatchResult`` with ``decision``, ``record_id``, ``candidates``, ``reasons``; and
``Person`` / ``compare`` for the comparison levels of a pair (model estimation).
"""

from __future__ import annotations

import gc
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from operator import ne
from typing import NamedTuple

import jellyfish
from rapidfuzz.distance import JaroWinkler, Levenshtein

from schemas import Candidate, ChildRecord, InvolvedChild
from schemas.enums import MatchDecision
from streams.matching.address import Address, parse_address, same_home, same_street
from streams.matching.levels import (
    CORROBORATING,
    NEAR_DOB,
    PLAUSIBLE_DOB,
    PLAUSIBLE_GIVEN,
    SHARED_FAMILY,
    STRONG_DOB,
    STRONG_GIVEN,
    SURE_GIVEN,
    TERM_FREQUENCY,
    WEAK_GIVEN,
    Level,
)
from streams.matching.model import MatchModel
from streams.matching.nicknames import same_person_names

# A blocking key: an NHS number, a postcode, or a tag and the values it joins. Values (not
# their hashes) so that a pickled index (the worker's snapshot) is re-hashed correctly in
# another process.
Key = str | tuple[object, ...]
# A names-only bucket larger than this is not searched for a child with a date of birth.
WIDE = 64


@dataclass(frozen=True)
class MatchResult:
    """The decision for one child; ``candidates`` best first (record id, score in bits,
    the levels that scored it)."""

    decision: MatchDecision
    record_id: str | None
    candidates: tuple[Candidate, ...]
    reasons: tuple[str, ...]
    # The safety gate's path the best candidate takes (``gate_path``): the one an
    # automatic link went through, or met by a pair sent to review for another reason.
    gate: str | None = None


@dataclass(frozen=True)
class Evidence:
    """One pair explained for a person: each level the matcher found with its weight in
    bits (term frequency applied), the prior, the total, and the safety gate's path."""

    record_id: str
    levels: tuple[tuple[Level, float], ...]
    prior_bits: float
    total_bits: float
    gate: str | None
    model_version: str


@lru_cache(maxsize=65536)
def normalise_name(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    letters = "".join(c if c.isalpha() else " " for c in decomposed if not unicodedata.combining(c))
    return " ".join(letters.lower().split())


@lru_cache(maxsize=65536)
def phonetic(word: str) -> str:
    return str(jellyfish.metaphone(word)) if word else ""


@lru_cache(maxsize=65536)
def _joined(name: str | None) -> str:
    return normalise_name(name or "").replace(" ", "")


@lru_cache(maxsize=65536)
def _name_parts(name: str | None) -> tuple[str, ...]:
    return tuple(p for p in normalise_name(name or "").split() if len(p) > 1)


def _swapped(day: date) -> date | None:
    if day.day > 12 or day.day == day.month:
        return None
    try:
        return day.replace(month=day.day, day=day.month)
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def _codes(parts: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(phonetic(p) for p in parts))


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs 20 % more
class Person:
    """The fields the matcher compares, normalised once (never changed afterwards)."""

    given: tuple[str, ...]
    family: tuple[str, ...]
    dob: date | None
    dob_approximate: bool
    nhs: str | None
    postcode: str | None
    school: str | None
    gender: str | None
    household: str | None = None
    address: Address | None = None  # house and street, when both are known
    # Each name with its spaces and hyphens taken out (single letters kept): "Thred Gold"
    # and "Thredgold", "Stroe H" and "Stroeh" are one name written two ways.
    given_joined: str = ""
    family_joined: str = ""
    # The parts of the given and other names after the first (a family name is sometimes
    # written there: a step-parent's surname in front, the birth surname among others).
    other_parts: tuple[str, ...] = ()
    # Precomputed for the comparison loop (it runs some hundred times per police child).
    sector: str | None = None
    district: str | None = None
    family_codes: tuple[str, ...] = ()  # phonetic code of each family name part
    given_code: str | None = None  # phonetic code of the first given name

    @classmethod
    def of(cls, person: ChildRecord | InvolvedChild) -> Person:
        first = _name_parts(person.given_name)
        given = first
        for other in person.other_names:
            given += _name_parts(other)
        family = _name_parts(person.family_name)
        gender = person.gender.value
        police = isinstance(person, InvolvedChild)
        postcode = person.postcode
        address = parse_address(person.address)
        return cls(
            given=given,
            family=family,
            dob=person.date_of_birth,
            dob_approximate=police and person.date_of_birth_approximate,  # type: ignore[union-attr]
            nhs=person.nhs_number,
            postcode=postcode,
            school=person.school_urn,
            gender=gender if gender != "unknown" else None,
            household=None if police else person.household_id,  # type: ignore[union-attr]
            address=address if address is not None and address.key else None,
            given_joined=_joined(person.given_name),
            family_joined=_joined(person.family_name),
            other_parts=given[min(len(first), 1) :],
            sector=postcode[:-2] if postcode else None,
            district=postcode.split()[0] if postcode else None,
            family_codes=_codes(family),
            given_code=phonetic(given[0]) if given else None,
        )

    def index_keys(self) -> list[Key]:
        """The keys a council record is indexed under (no key twice)."""
        return self._keys((self.dob.toordinal(),) if self.dob else ())

    def query_keys(self) -> set[Key]:
        """The keys a police-side child is looked up by: its record's keys as they would
        be had the police written the date day/month swapped, or the names swapped."""
        dobs: tuple[int, ...] = ()
        if self.dob is not None and not self.dob_approximate:
            swapped = _swapped(self.dob)
            dobs = (self.dob.toordinal(),)
            if swapped:
                dobs += (swapped.toordinal(),)
        keys = self._keys(dobs)
        if self.given and self.family:  # the names may be the wrong way round
            # No dates: the date keys pair it with every name part's letters already.
            _name_keys(keys, _codes(self.given), phonetic(self.family[0]), self, ())
        return set(keys)

    def _keys(self, dobs: tuple[int, ...]) -> list[Key]:
        # The NHS number and the postcode are keys as they are (ten digits; letters and a
        # space): no tuple to make for a million records.
        keys: list[Key] = []
        if self.nhs:
            keys.append(self.nhs)
        if self.postcode:
            keys.append(self.postcode)
        if self.address is not None:  # the house number and the street's sound
            keys.append(("ad", self.address.home, self.address.code))
        _name_keys(keys, self.family_codes, self.given_code, self, dobs)
        return keys


def _name_keys(
    keys: list[Key],
    family: tuple[str, ...],
    given: str | None,
    person: Person,
    dobs: tuple[int, ...],
) -> None:
    """Every key pairs two fields, so no bucket grows with the population as a date of
    birth or a common surname alone would (a million children share a birthday in
    groups of some 150; Smiths born in one year number over a thousand)."""
    # The first two letters of every name part, given and family alike (so names the
    # wrong way round find the same keys): most misspellings leave one name's intact.
    starts = {part[:2] for part in person.family}
    if person.given:
        starts.add(person.given[0][:2])
    for day in dobs:
        keys.extend(("di", day, start) for start in starts)
    dob = person.dob
    dated = dob is not None and not person.dob_approximate
    for code in family:
        if dob is not None and dated:
            keys.append(("fm", code, dob.year, dob.month))  # the day wrong
            keys.append(("fd", code, dob.month, dob.day))  # the year wrong
        if not given:
            continue
        # Names alone: for a child with no date of birth, and for one whose date is wrong
        # where the names are not too common (``WIDE``); a date wrong and the names common
        # leaves the address (the postcode key).
        keys.append(("fg", code, given))


class _NameLevels(NamedTuple):
    exact: Level
    fuzzy: Level
    phonetic: Level
    disagree: Level


_NAME_LEVELS = {
    "given": _NameLevels(
        Level.GIVEN_EXACT, Level.GIVEN_FUZZY, Level.GIVEN_PHONETIC, Level.GIVEN_DISAGREE
    ),
    "family": _NameLevels(
        Level.FAMILY_EXACT, Level.FAMILY_FUZZY, Level.FAMILY_PHONETIC, Level.FAMILY_DISAGREE
    ),
}
_FAMILY_SHARED = frozenset({Level.FAMILY_EXACT, Level.FAMILY_PART})


@lru_cache(maxsize=262_144)  # common names meet each other again and again
def compare_names(a: tuple[str, ...], b: tuple[str, ...], kind: str) -> Level | None:
    if not a or not b:
        return None
    levels = _NAME_LEVELS[kind]
    if (kind == "given" and a[0] == b[0]) or a == b:
        return levels.exact
    if kind == "given" and same_person_names(a[0], b[0]):
        return Level.GIVEN_NICKNAME
    if kind == "family" and set(a) & set(b):
        return Level.FAMILY_PART
    if kind == "given" and any(x == y or same_person_names(x, y) for x in a for y in b):
        return Level.GIVEN_NICKNAME  # agrees with an other/middle name
    x, y = (a[0], b[0]) if kind == "given" else (" ".join(a), " ".join(b))
    shortest = min(len(x), len(y))
    edits = Levenshtein.distance(x, y, score_cutoff=2)  # 3 means "more than two"
    if kind == "given" and shortest >= 4 and edits == 1:
        return Level.GIVEN_TYPO
    # A misspelling keeps the first letter (Kelworth and Fenworth are two names).
    same_start = x[0] == y[0]
    if (
        (kind == "family" and same_start and shortest >= 4 and edits == 1)
        or (same_start and shortest >= _TWO_EDITS[kind] and edits <= 2)
        or JaroWinkler.similarity(x, y) >= _JARO_WINKLER[kind]
    ):
        return levels.fuzzy
    if any(phonetic(p) == phonetic(q) for p in a for q in b):
        return levels.phonetic
    return levels.disagree


_JARO_WINKLER = {"given": 0.9, "family": 0.92}
# Two letters wrong is a misspelling only in a name this long (Jones and James are not).
_TWO_EDITS = {"given": 5, "family": 7}


def _digits_apart(a: date, b: date) -> int:
    return sum(map(ne, a.isoformat(), b.isoformat()))


@lru_cache(maxsize=262_144)
def compare_dob(a: date | None, b: date | None, approximate: bool) -> Level | None:
    if a is None or b is None:
        return None
    if a == b:
        return Level.DOB_EXACT
    if approximate:
        return Level.DOB_APPROXIMATE if abs((a - b).days) <= 366 else Level.DOB_DISAGREE
    if _swapped(a) == b:
        return Level.DOB_SWAPPED
    digits = _digits_apart(a, b)
    if digits == 1:
        return Level.DOB_ONE_DIGIT
    if (a.month, a.day) == (b.month, b.day) and abs(a.year - b.year) <= 2:
        return Level.DOB_YEAR
    if digits == 2:
        return Level.DOB_TWO_DIGITS
    if abs((a - b).days) <= 31:
        return Level.DOB_MONTH
    if a.year == b.year:
        return Level.DOB_SAME_YEAR
    return Level.DOB_DISAGREE


_SWAPPED_FAMILY = frozenset({Level.FAMILY_EXACT, Level.FAMILY_PART})
_SWAPPED_GIVEN = frozenset({Level.GIVEN_EXACT, Level.GIVEN_NICKNAME, Level.GIVEN_TYPO})


# Graded on the usual scale once swapped (a swap and then a misspelling), when at least
# one of the two agrees outright.
_MOVED_GIVEN = STRONG_GIVEN - {Level.GIVEN_SWAPPED} | {Level.GIVEN_FUZZY}
_MOVED_FAMILY = frozenset({Level.FAMILY_EXACT, Level.FAMILY_PART, Level.FAMILY_FUZZY})
_RANK = {level: n for n, level in enumerate(Level)}  # most to least similar


def _names(police: Person, record: Person) -> tuple[Level | None, Level | None]:
    """The given and family names' levels, the names allowed to have moved: a space or
    hyphen inside one (or a one-letter part dropped), the family name among the other
    names, and the two names entered the wrong way round (then perhaps misspelt)."""
    given = compare_names(police.given, record.given, "given")
    family = compare_names(police.family, record.family, "family")
    if given not in (None, Level.GIVEN_EXACT) and police.given_joined == record.given_joined:
        given = Level.GIVEN_EXACT
    if family not in (None, Level.FAMILY_EXACT) and police.family_joined == record.family_joined:
        family = Level.FAMILY_EXACT
    if (
        police.other_parts
        and family in (None, Level.FAMILY_DISAGREE)
        and set(police.other_parts) & set(record.family)
    ):
        family = Level.FAMILY_PART  # a step-parent's surname first, the birth one among others
    if given is None or family is None or given in STRONG_GIVEN or family in _SWAPPED_FAMILY:
        return given, family
    # Swapped names count only when one of them then agrees outright (the family name in
    # part, or the given name exactly or as a nickname): most candidates share neither,
    # and two more name comparisons are what a candidate costs most.
    if not (
        set(police.given).intersection(record.family)
        or any(same_person_names(x, y) for x in police.family for y in record.given)
    ):
        return given, family
    swapped_given = compare_names(police.family, record.given, "given")
    swapped_family = compare_names(police.given, record.family, "family")
    if swapped_family in _SWAPPED_FAMILY and swapped_given in _SWAPPED_GIVEN:
        return Level.GIVEN_SWAPPED, Level.FAMILY_SWAPPED
    if (
        swapped_given in _MOVED_GIVEN
        and swapped_family in _MOVED_FAMILY
        and (swapped_given in SURE_GIVEN or swapped_family in _SWAPPED_FAMILY)
        and _RANK[swapped_given] + _RANK[swapped_family] < _RANK[given] + _RANK[family]
    ):
        return swapped_given, swapped_family
    return given, family


def compare(police: Person, record: Person) -> tuple[Level, ...]:
    """The level each comparison lands on: the evidence the model weighs (and what
    ``frontdoor matching estimate`` counts)."""
    levels: list[Level] = []
    add = levels.append
    if police.nhs and record.nhs:
        add(Level.NHS_AGREE if police.nhs == record.nhs else Level.NHS_DISAGREE)
    given, family = _names(police, record)
    if given:
        add(given)
    if family:
        add(family)
    if police.dob is not None and record.dob is not None:
        if police.dob == record.dob:
            add(Level.DOB_EXACT)
        else:
            dob = compare_dob(police.dob, record.dob, police.dob_approximate)
            add(dob or Level.DOB_DISAGREE)  # never None here: both dates are present
    if police.postcode and record.postcode:
        if police.postcode == record.postcode:
            add(Level.POSTCODE_FULL)
        elif police.sector == record.sector:
            add(Level.POSTCODE_SECTOR)
        elif police.district == record.district:
            add(Level.POSTCODE_DISTRICT)
        else:
            add(Level.POSTCODE_DISAGREE)
    if police.address is not None and record.address is not None:
        add(compare_address(police.address, record.address))
    if police.school and record.school:
        add(Level.SCHOOL_AGREE if police.school == record.school else Level.SCHOOL_DISAGREE)
    if police.gender and record.gender:
        add(Level.GENDER_AGREE if police.gender == record.gender else Level.GENDER_DISAGREE)
    return tuple(levels)


def compare_address(a: Address, b: Address) -> Level:
    """Both with a house and a street: the same home (a flat within it, where both name
    one, the same too) on the same street, or only the same street, or neither."""
    if a.key == b.key:
        other_flat = a.flat is not None and b.flat is not None and a.flat != b.flat
        return Level.ADDRESS_STREET if other_flat else Level.ADDRESS_EXACT
    if not (a.street and b.street) or a.street[0] != b.street[0]:
        return Level.ADDRESS_DISAGREE  # a misspelt street keeps its first letter
    return _nearly(a, b)


@lru_cache(maxsize=262_144)
def _nearly(a: Address, b: Address) -> Level:
    if not (a.street and b.street and same_street(a.street, b.street)):
        return Level.ADDRESS_DISAGREE
    other_flat = a.flat is not None and b.flat is not None and a.flat != b.flat
    if other_flat or not (a.home and b.home and same_home(a.home, b.home)):
        return Level.ADDRESS_STREET
    return Level.ADDRESS_FUZZY


def _has(levels: Iterable[str], comparison: str) -> bool:
    return any(level.partition(":")[0] == comparison for level in levels)


def gate_path(reasons: tuple[Level, ...], crowded: bool = False) -> str | None:
    """Which of the safety gate's paths a candidate's levels take, or None. Each path
    asks that what identifies a child agrees; a weaker or missing field is made up for by
    more fields agreeing, and the address or school (which tells households apart) is
    asked for whenever the given name or date of birth is not both present and strong."""
    levels = set(reasons)
    if Level.NHS_DISAGREE in levels:
        return None
    given = STRONG_GIVEN & levels
    weak_given = WEAK_GIVEN & levels
    no_given = not _has(levels, "given")
    family = SHARED_FAMILY & levels
    dob = STRONG_DOB & levels
    near_dob = NEAR_DOB & levels
    no_dob = not _has(levels, "dob") or Level.DOB_APPROXIMATE in levels
    address = CORROBORATING & levels
    if Level.NHS_AGREE in levels:
        if given or weak_given or dob or near_dob or Level.DOB_APPROXIMATE in levels:
            return "nhs number and a name or date of birth"
        if family and Level.GIVEN_DISAGREE not in levels:
            return "nhs number and family name"
    sure_given = SURE_GIVEN & levels
    # Without the address or school, the date as recorded (a day/month swap is a
    # lookalike's as often as a slip); in a population larger than the model's (crowded),
    # every name as recorded too: a one-letter neighbour of a name or a double-barrelled
    # variant is then a lookalike's as often as a slip.
    exact = Level.DOB_EXACT in levels and (
        not crowded
        or bool(
            sure_given
            and ({Level.FAMILY_EXACT, Level.FAMILY_SWAPPED} & levels or not _has(levels, "family"))
        )
    )
    # A family name only near (or missing) with an address that disagrees is as much a
    # lookalike from another home as the child who moved.
    elsewhere = not family and bool(_ELSEWHERE & levels)
    if (
        given
        and Level.FAMILY_DISAGREE not in levels
        and dob
        and (exact or address)
        and not elsewhere
    ):
        return "given name and date of birth"
    if sure_given and Level.DOB_ONE_DIGIT in levels and address:
        return "given name, date of birth a digit off, address or school"
    if sure_given and near_dob and family and address:
        return "given and family names, date of birth nearly, address or school"
    if weak_given and dob and family and address:
        return "given name nearly, family name, date of birth, address or school"
    if no_given and dob and family and address and Level.GENDER_AGREE in levels:
        return "no given name: family name, date of birth, gender, address or school"
    if no_dob and sure_given and family and address:
        return "no date of birth: given and family names, address or school"
    # The same home (house number and street exactly, whatever the postcode says; or the
    # street misspelt and the postcode in full) tells households apart better than a
    # postcode or school, and a twin's or sibling's given name is not their own: with it,
    # one more of the other fields may be a slip or a replaced value. Never both names
    # weak, never the given name replaced (an unrecorded twin's), never the date of birth
    # replaced (an unrecorded brother's or sister's, their given name mistaken for the
    # recorded child's).
    postcode = Level.POSTCODE_FULL in levels
    home = Level.ADDRESS_EXACT in levels or (Level.ADDRESS_FUZZY in levels and postcode)
    # Only the house number differing on the same street and postcode: a number mistyped,
    # or a neighbour of the same given name and date of birth, which is rarer still.
    street = Level.ADDRESS_STREET in levels and postcode
    replaced_family = Level.FAMILY_DISAGREE in levels and Level.DOB_EXACT in levels
    if sure_given and replaced_family and (home or street):
        return "same home: given name and date of birth, another family name"
    if not home:
        return None
    close_family = family or Level.FAMILY_FUZZY in levels
    # The family name only near: the given name as recorded, not a nickname or a slip.
    named = (given and family) or (Level.GIVEN_EXACT in levels and close_family)
    if named and (dob or near_dob):
        return "same home: given name, family name nearly, date of birth nearly"
    if no_dob and sure_given and close_family:
        return "same home, no date of birth: given name, family name nearly"
    return None


def safety_gate(reasons: tuple[Level, ...], crowded: bool = False) -> bool:
    return gate_path(reasons, crowded) is not None


_Scored = tuple[float, str, tuple[Level, ...]]  # (-score, record id, levels)
# total, evidence, agreeing, postcode bits, address bits, the levels weighed by frequency
_Fixed = tuple[float, float, int, float, float, tuple[tuple[Level, str], ...]]
_SAME_HOME = frozenset({Level.ADDRESS_EXACT, Level.ADDRESS_FUZZY})
_ADDRESSED = _SAME_HOME | {Level.POSTCODE_FULL}
_ELSEWHERE = frozenset({Level.ADDRESS_DISAGREE, Level.POSTCODE_DISAGREE})


class Matcher:
    """An index of council child records and the decision for one police-side child."""

    def __init__(
        self, records: Iterable[ChildRecord] = (), model: MatchModel | None = None
    ) -> None:
        self.model = model or MatchModel.load()
        self._people: dict[str, Person] = {}
        # A key's records: one record id as it is (most keys have one, and a million
        # one-element lists cost time and memory), or a list of them.
        self._index: dict[Key, str | list[str]] = {}
        # Name frequencies in the council's records, for the term-frequency adjustment.
        self._names: dict[str, Counter[str]] = {
            "given": Counter(),
            "family": Counter(),
            "address": Counter(),
        }
        # ``_weigh``'s per-combination sums, and its term-frequency weights by count (for
        # the population size they were worked out at).
        self._fixed: dict[tuple[Level, ...], _Fixed] = {}
        self._tf_memo: dict[tuple[Level, int], float] = {}
        self._tf_size = -1
        self.add_many(records)

    def __len__(self) -> int:
        return len(self._people)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._people

    def add(self, record: ChildRecord) -> None:
        """Insert or replace the record with this key."""
        record_id = record.key
        if record_id in self._people:
            self.remove(record_id)
        person = Person.of(record)
        self._people[record_id] = person
        index = self._index
        for key in person.index_keys():
            held = index.get(key)
            if held is None:
                index[key] = record_id
            elif isinstance(held, str):
                index[key] = [held, record_id]
            else:
                held.append(record_id)
        self._count_names(person, +1)

    def add_many(self, records: Iterable[ChildRecord]) -> None:
        """``add`` each; the collector waits (a million long-lived objects made in one go
        would otherwise be walked again and again)."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            for record in records:
                self.add(record)
        finally:
            if collecting:
                gc.enable()

    def remove(self, record_id: str) -> bool:
        """Forget a record (a tombstone); True if it was there."""
        person = self._people.pop(record_id, None)
        if person is None:
            return False
        self._count_names(person, -1)
        index = self._index
        for key in person.index_keys():
            held = index.get(key)
            if held == record_id:
                del index[key]
            elif isinstance(held, list) and record_id in held:
                held.remove(record_id)
                if len(held) == 1:
                    index[key] = held[0]
        return True

    def _count_names(self, person: Person, step: int) -> None:
        if person.given:
            given = self._names["given"]
            given[person.given[0]] = given.get(person.given[0], 0) + step
        if person.family:
            family = self._names["family"]
            name = person.family_joined
            family[name] = family.get(name, 0) + step
        if person.address is not None and person.address.key:
            homes = self._names["address"]
            homes[person.address.key] = homes.get(person.address.key, 0) + step

    def name_frequency(self, kind: str, name: str) -> float:
        return self._names[kind][name] / max(len(self._people), 1)

    def score(self, reasons: tuple[Level, ...], record: Person) -> float:
        """Match weight in bits: prior log2-odds plus each level's log2(m/u)."""
        return self._weigh(reasons, record, self.model.prior_bits - self._crowding())[0]

    def _crowding(self) -> float:
        return self.model.crowding_bits(len(self._people))

    def _weigh(
        self, reasons: tuple[Level, ...], record: Person, prior: float
    ) -> tuple[float, float, int]:
        """The match weight, the bits of the identifying levels that agree, and how many
        identifying comparisons agree (``_level_weights``, inlined: it runs for every
        candidate). A pair's levels are one of a few hundred combinations: what does not
        depend on the record's names is worked out once per combination."""
        fixed = self._fixed.get(reasons)
        if fixed is None:
            fixed = self._fixed[reasons] = self._fixed_part(reasons)
        total, evidence, agreeing, postcode, address, counted = fixed
        total += prior
        if counted:
            if len(self._people) != self._tf_size:  # the frequencies moved: weigh afresh
                self._tf_memo.clear()
                self._tf_size = len(self._people)
            memo = self._tf_memo
            identifying = self.model.identifying
            for level, kind in counted:
                count = self._names[kind].get(_value(record, kind), 0)
                weight = memo.get((level, count))
                if weight is None:
                    frequency = count / max(self._tf_size, 1)
                    weight = memo[(level, count)] = self.model.tf_weight(level, frequency)
                if level is Level.ADDRESS_EXACT:
                    address = weight
                total += weight
                if weight > 0 and level in identifying:
                    evidence += weight
                    agreeing += 1
        if postcode > 0 and address > 0:  # one address said twice counts once
            overlap = min(postcode, address)
            total -= overlap
            evidence -= overlap
            agreeing -= 1
        return total, evidence, agreeing

    def _fixed_part(self, reasons: tuple[Level, ...]) -> _Fixed:
        """``_weigh``'s sums over the levels whose weight does not depend on the record,
        and the term-frequency levels left to weigh per record."""
        weights = self.model.weights
        identifying = self.model.identifying
        total = evidence = postcode = address = 0.0
        agreeing = 0
        counted: list[tuple[Level, str]] = []
        for level in reasons:
            kind = TERM_FREQUENCY.get(level)
            if kind is not None:
                counted.append((level, kind))
                continue
            weight = weights[level]
            if level is Level.POSTCODE_FULL:
                postcode = weight
            elif level is Level.ADDRESS_FUZZY:
                address = weight
            total += weight
            if weight > 0 and level in identifying:
                evidence += weight
                agreeing += 1
        return total, evidence, agreeing, postcode, address, tuple(counted)

    def _level_weights(
        self, reasons: tuple[Level, ...], record: Person
    ) -> list[tuple[Level, float]]:
        """Each level's bits (term frequency applied). One address agreeing twice, as the
        postcode and as the house and street, counts once (the larger): the model weighs
        comparisons as independent, and these two are not."""
        model = self.model
        out: list[tuple[Level, float]] = []
        for level in reasons:
            kind = TERM_FREQUENCY.get(level)
            weight = (
                model.weights[level]
                if kind is None
                else model.tf_weight(level, self.name_frequency(kind, _value(record, kind)))
            )
            out.append((level, weight))
        both = [i for i, (level, w) in enumerate(out) if w > 0 and level in _ADDRESSED]
        if len(both) == 2:
            smaller = min(both, key=lambda i: out[i][1])
            out[smaller] = (out[smaller][0], 0.0)
        return out

    def explain(self, child: InvolvedChild, record_id: str) -> Evidence | None:
        """The evidence for one pair as the matcher weighs it now (None: no such record)."""
        record = self._people.get(record_id)
        if record is None:
            return None
        levels = compare(Person.of(child), record)
        crowding = self._crowding()
        prior = self.model.prior_bits - crowding
        weighed = tuple(self._level_weights(levels, record))
        return Evidence(
            record_id=record_id,
            levels=weighed,
            prior_bits=prior,
            total_bits=prior + sum(bits for _, bits in weighed),
            gate=gate_path(levels, crowded=crowding > 0),
            model_version=self.model.version,
        )

    def could_match(self, child: InvolvedChild, record_id: str) -> bool:
        """Whether ``record_id`` would be among ``child``'s candidates (for late records)."""
        return bool(self.record_keys(record_id) & self.child_keys(child))

    def record_keys(self, record_id: str) -> frozenset[Key]:
        """The blocking keys a record is indexed under (empty if unknown)."""
        person = self._people.get(record_id)
        return frozenset(person.index_keys()) if person is not None else frozenset()

    @staticmethod
    def child_keys(child: InvolvedChild) -> frozenset[Key]:
        """The blocking keys a police-side child is looked up by."""
        return frozenset(Person.of(child).query_keys())

    def candidates(self, child: InvolvedChild) -> set[str]:
        """The record ids that share a blocking key with ``child``."""
        return self._candidates(Person.of(child))

    def _candidates(self, police: Person) -> set[str]:
        ids: set[str] = set()
        index = self._index
        # Names alone are a wide block where names are common; with a date of birth to go
        # on, a common name pair is searched through the keys that pair it with more.
        dated = police.dob is not None and not police.dob_approximate
        for key in police.query_keys():
            held = index.get(key)
            if held is None:
                continue
            if isinstance(held, str):
                ids.add(held)
            elif not (dated and len(held) > WIDE and isinstance(key, tuple) and key[0] == "fg"):
                ids.update(held)
        return ids

    def match(self, child: InvolvedChild) -> MatchResult:
        police = Person.of(child)
        people = self._people
        t = self.model
        crowding = self._crowding()
        prior = t.prior_bits - crowding
        partial_bits = t.partial_bits + crowding
        # (-score, record id, levels): sorts best first, ties by id; Candidate objects
        # are built only for what is returned.
        scored: list[_Scored] = []
        # An agreeing valid NHS number is the strongest evidence there is, and enough
        # identifying fields agreeing is strong evidence too, whatever else disagrees:
        # such a record is always put to a reviewer (never "none").
        nhs: list[_Scored] = []
        partial: list[_Scored] = []
        for record_id in self._candidates(police):
            levels = compare(police, people[record_id])
            total, evidence, agreeing = self._weigh(levels, people[record_id], prior)
            entry = (-round(total, 3), record_id, levels)
            scored.append(entry)
            if Level.NHS_AGREE in levels:
                nhs.append(entry)
            elif evidence >= partial_bits and agreeing >= 3:
                partial.append(entry)
        scored.sort()
        review_bits = t.review_bits + crowding  # as many lookalikes worth a look as before
        shortlist = [entry for entry in scored[: t.shortlist] if -entry[0] >= review_bits]
        shortlist = sorted({*shortlist, *nhs, *partial})
        if not shortlist:
            top = _candidates(scored[: t.shortlist])
            return MatchResult(MatchDecision.NONE, None, top, ("no candidate",))
        negative, best_id, best_levels = shortlist[0]
        best_score = -negative
        runner_up = -scored[1][0] if len(scored) > 1 else float("-inf")
        why: list[str] = []
        if best_score < t.auto_bits:
            why.append("match weight below the auto-link threshold")
        if best_score - runner_up < t.margin_bits:
            why.append("runner-up too close")
        gate = gate_path(best_levels, crowded=crowding > 0)
        if gate is None:
            why.append("safety gate: names/date of birth/NHS number do not agree enough")
        if self._plausible_sibling(best_id, best_levels, scored):
            why.append("a sibling or twin in the same household is also plausible")
        if any(record_id != best_id for _, record_id, _ in nhs):
            why.append("another record's NHS number agrees")
        found = _candidates(shortlist)
        if why:
            return MatchResult(MatchDecision.REVIEW, None, found, tuple(why), gate)
        return MatchResult(MatchDecision.AUTO, best_id, found, best_levels, gate)

    def _plausible_sibling(
        self, best_id: str, best_levels: tuple[Level, ...], scored: list[_Scored]
    ) -> bool:
        """Whether another child of the chosen record's household could be the one the
        police mean: by given name (or none given) and date of birth (or none given)."""
        chosen = self._people[best_id]
        # The NHS number tells twins apart unless the given name points elsewhere: a
        # sibling's number written on the wrong child is a known mistake.
        nhs_settles_it = Level.NHS_AGREE in best_levels and Level.GIVEN_DISAGREE not in best_levels
        unsure = not STRONG_GIVEN & set(best_levels)
        for negative, record_id, levels in scored:
            if -negative < self.model.review_bits:
                break  # sorted best first: the rest score lower still
            if record_id == best_id or not _same_household(chosen, self._people[record_id]):
                continue
            if nhs_settles_it and Level.NHS_DISAGREE in levels:
                continue
            found = set(levels)
            # A brother or sister years apart is not who the police mean however alike
            # the names: a twin, or a date of birth that could be theirs, is; and when
            # the chosen record's given name is only close (or none was given), a twin
            # is plausible whatever name the police wrote.
            dob = bool(PLAUSIBLE_DOB & found) or not _has(found, "dob")
            if dob and (PLAUSIBLE_GIVEN & found or not _has(found, "given") or unsure):
                return True
        return False


def _candidates(scored: list[_Scored]) -> tuple[Candidate, ...]:
    # Built from values the matcher made itself: no validation needed on this hot path.
    return tuple(
        Candidate.model_construct(record_id=record_id, score=-negative, reasons=list(levels))
        for negative, record_id, levels in scored
    )


def same_household(a: ChildRecord, b: ChildRecord) -> bool:
    """Whether two council records are children of one household: the council's household
    id where both have one, else the same postcode and a family name in common."""
    return _same_household(Person.of(a), Person.of(b))


def _same_household(a: Person, b: Person) -> bool:
    if a.household and b.household:
        return a.household == b.household
    same_home = bool(a.address and b.address and a.address.key == b.address.key)
    same_postcode = bool(a.postcode and a.postcode == b.postcode)
    return (same_home or same_postcode) and bool(set(a.family) & set(b.family))


def _value(record: Person, kind: str) -> str:
    """The record's value a term-frequency level counts (given, family or address)."""
    if kind == "given":
        return record.given[0]
    if kind == "family":
        return record.family_joined
    return record.address.key or "" if record.address is not None else ""
