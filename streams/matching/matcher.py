"""Finds a police-side child in the council's records; pure, no Kafka, no clock.

A missed match leaves a social worker uninformed; a false match sends one child's
details to another family's worker or school. So the matcher is conservative:

* candidates come from blocking keys (NHS number, phonetic family name with birth
  year, date of birth and its day/month swap, postcode);
* each candidate is scored by a Fellegi-Sunter model: every comparison (NHS number, given
  name, family name, date of birth, postcode, school, gender) lands on one named level,
  and each level adds log2(m/u) bits of evidence, where m is how often true matches show
  that level and u how often two different children do (``MatchModel``; u is estimated
  from the council's own records, m from labelled synthetic data). Exact name agreement
  is adjusted for how common the name is in the council's records (term frequency): two
  Smiths agreeing says less than two Quillfeathers;
* ``auto`` needs the match weight to clear a threshold, beat the runner-up by a margin,
  and the safety gate: given name (exact, a known nickname or a one-letter typo) and date
  of birth (exact, day/month swapped, or one digit off with the address or school also
  agreeing) agree, or a valid NHS number agrees together with one of them; never against
  a disagreeing NHS number; never when a sibling or twin in the same household is also a
  plausible match, nor while another record's valid NHS number agrees;
* otherwise ``review`` with a shortlist, or ``none`` — never ``none`` when a valid NHS
  number agrees (that record is always on the shortlist).

Stable API (other tools import it): ``Matcher``, ``add``, ``remove``, ``match``,
``MatchResult`` with ``decision``, ``record_id``, ``candidates``, ``reasons``; and
``Person`` / ``compare`` for the comparison levels of a pair (model estimation).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import NamedTuple

import jellyfish
from rapidfuzz.distance import JaroWinkler, Levenshtein

from schemas import Candidate, ChildRecord, InvolvedChild
from schemas.enums import MatchDecision
from streams.matching.levels import (
    CORROBORATING,
    GATE_DOB,
    GATE_GIVEN,
    PLAUSIBLE_GIVEN,
    TERM_FREQUENCY,
    Level,
)
from streams.matching.model import MatchModel
from streams.matching.nicknames import same_person_names


@dataclass(frozen=True)
class MatchResult:
    """The decision for one child; ``candidates`` best first (record id, score in bits,
    the levels that scored it)."""

    decision: MatchDecision
    record_id: str | None
    candidates: tuple[Candidate, ...]
    reasons: tuple[str, ...]


@lru_cache(maxsize=65536)
def normalise_name(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    letters = "".join(c if c.isalpha() else " " for c in decomposed if not unicodedata.combining(c))
    return " ".join(letters.lower().split())


@lru_cache(maxsize=65536)
def phonetic(word: str) -> str:
    return str(jellyfish.metaphone(word)) if word else ""


def _name_parts(name: str | None) -> tuple[str, ...]:
    return tuple(p for p in normalise_name(name or "").split() if len(p) > 1)


def _swapped(day: date) -> date | None:
    if day.day > 12 or day.day == day.month:
        return None
    try:
        return day.replace(month=day.day, day=day.month)
    except ValueError:
        return None


@dataclass(frozen=True)
class Person:
    """The fields the matcher compares, normalised once."""

    given: tuple[str, ...]
    family: tuple[str, ...]
    dob: date | None
    dob_approximate: bool
    nhs: str | None
    postcode: str | None
    school: str | None
    gender: str | None
    household: str | None = None
    keys: frozenset[str] = field(default=frozenset())
    # Precomputed for the comparison loop (it runs some forty times per police child).
    sector: str | None = None
    district: str | None = None

    @classmethod
    def of(cls, person: ChildRecord | InvolvedChild) -> Person:
        given = _name_parts(person.given_name) + tuple(
            part for other in person.other_names for part in _name_parts(other)
        )
        family = _name_parts(person.family_name)
        gender = person.gender.value if person.gender.value != "unknown" else None
        approximate = getattr(person, "date_of_birth_approximate", False)
        dob = person.date_of_birth
        keys = set()
        if person.nhs_number:
            keys.add(f"nhs:{person.nhs_number}")
        if dob:
            years = {dob.year} if not approximate else {dob.year - 1, dob.year, dob.year + 1}
            keys.update(f"fy:{phonetic(p)}:{y}" for p in family for y in years)
            keys.add(f"dob:{dob.isoformat()}")
        if person.postcode:
            keys.add(f"pc:{person.postcode}")
        if family and given:  # for a child with no usable date of birth and a new address
            keys.add(f"fg:{phonetic(family[0])}:{phonetic(given[0])}")
        return cls(
            given=given,
            family=family,
            dob=dob,
            dob_approximate=approximate,
            nhs=person.nhs_number,
            postcode=person.postcode,
            school=person.school_urn,
            gender=gender,
            household=getattr(person, "household_id", None),
            keys=frozenset(keys),
            sector=person.postcode[:-2] if person.postcode else None,
            district=person.postcode.split()[0] if person.postcode else None,
        )

    def query_keys(self) -> set[str]:
        keys = set(self.keys)
        if self.dob is not None and not self.dob_approximate:
            # Names alone are a wide block; a usable date of birth narrows the search.
            keys = {k for k in keys if not k.startswith("fg:")}
        if self.dob:
            swapped = _swapped(self.dob)
            if swapped:
                keys.add(f"dob:{swapped.isoformat()}")
        return keys


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
    if kind == "given" and min(len(a[0]), len(b[0])) >= 4 and Levenshtein.distance(a[0], b[0]) == 1:
        return Level.GIVEN_TYPO
    if JaroWinkler.similarity(" ".join(a), " ".join(b)) >= 0.92:
        return levels.fuzzy
    if any(phonetic(x) == phonetic(y) for x in a for y in b):
        return levels.phonetic
    return levels.disagree


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
    if sum(x != y for x, y in zip(a.isoformat(), b.isoformat(), strict=True)) == 1:
        return Level.DOB_ONE_DIGIT
    if abs((a - b).days) <= 31:
        return Level.DOB_MONTH
    if a.year == b.year:
        return Level.DOB_SAME_YEAR
    return Level.DOB_DISAGREE


def compare(police: Person, record: Person) -> tuple[Level, ...]:
    """The level each comparison lands on: the evidence the model weighs (and what
    ``frontdoor matching estimate`` counts)."""
    levels: list[Level] = []
    add = levels.append
    if police.nhs and record.nhs:
        add(Level.NHS_AGREE if police.nhs == record.nhs else Level.NHS_DISAGREE)
    given = compare_names(police.given, record.given, "given")
    family = compare_names(police.family, record.family, "family")
    # Given and family names entered the wrong way round.
    if (
        given is Level.GIVEN_DISAGREE
        and family is Level.FAMILY_DISAGREE
        and compare_names(police.given, record.family, "family") in _FAMILY_SHARED
    ):
        given, family = Level.GIVEN_SWAPPED, Level.FAMILY_SWAPPED
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
    if police.school and record.school:
        add(Level.SCHOOL_AGREE if police.school == record.school else Level.SCHOOL_DISAGREE)
    if police.gender and record.gender:
        add(Level.GENDER_AGREE if police.gender == record.gender else Level.GENDER_DISAGREE)
    return tuple(levels)


def safety_gate(reasons: tuple[Level, ...]) -> bool:
    levels = set(reasons)
    given = bool(GATE_GIVEN & levels)
    # A date one digit off agrees only where the address or school also does: alone, it
    # is how two different children with a common name end up looking alike.
    corroborated = bool(CORROBORATING & levels)
    dob = bool(GATE_DOB & levels) and (Level.DOB_ONE_DIGIT not in levels or corroborated)
    if Level.NHS_DISAGREE in levels:
        return False
    nhs = Level.NHS_AGREE in levels
    return (given and dob) or (nhs and (given or dob))


_Scored = tuple[float, str, tuple[Level, ...]]  # (-score, record id, levels)


class Matcher:
    """An index of council child records and the decision for one police-side child."""

    def __init__(
        self, records: Iterable[ChildRecord] = (), model: MatchModel | None = None
    ) -> None:
        self.model = model or MatchModel.load()
        self._people: dict[str, Person] = {}
        self._index: dict[str, set[str]] = {}
        # Name frequencies in the council's records, for the term-frequency adjustment.
        self._names: dict[str, Counter[str]] = {"given": Counter(), "family": Counter()}
        for record in records:
            self.add(record)

    def __len__(self) -> int:
        return len(self._people)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._people

    def add(self, record: ChildRecord) -> None:
        """Insert or replace the record with this key."""
        record_id = record.key
        self.remove(record_id)
        person = Person.of(record)
        self._people[record_id] = person
        for key in person.keys:
            self._index.setdefault(key, set()).add(record_id)
        self._count_names(person, +1)

    def remove(self, record_id: str) -> bool:
        """Forget a record (a tombstone); True if it was there."""
        person = self._people.pop(record_id, None)
        if person is None:
            return False
        self._count_names(person, -1)
        for key in person.keys:
            ids = self._index.get(key)
            if ids is not None:
                ids.discard(record_id)
                if not ids:
                    del self._index[key]
        return True

    def _count_names(self, person: Person, step: int) -> None:
        if person.given:
            self._names["given"][person.given[0]] += step
        if person.family:
            self._names["family"][" ".join(person.family)] += step

    def name_frequency(self, kind: str, name: str) -> float:
        return self._names[kind][name] / max(len(self._people), 1)

    def score(self, reasons: tuple[Level, ...], record: Person) -> float:
        """Match weight in bits: prior log2-odds plus each level's log2(m/u)."""
        model = self.model
        total = model.prior_bits
        for level in reasons:
            kind = TERM_FREQUENCY.get(level)
            if kind is None:
                total += model.weights[level]
            else:
                name = record.given[0] if kind == "given" else " ".join(record.family)
                total += model.tf_weight(level, self.name_frequency(kind, name))
        return total

    def could_match(self, child: InvolvedChild, record_id: str) -> bool:
        """Whether ``record_id`` would be among ``child``'s candidates (for late records)."""
        return bool(self.record_keys(record_id) & self.child_keys(child))

    def record_keys(self, record_id: str) -> frozenset[str]:
        """The blocking keys a record is indexed under (empty if unknown)."""
        person = self._people.get(record_id)
        return person.keys if person is not None else frozenset()

    @staticmethod
    def child_keys(child: InvolvedChild) -> frozenset[str]:
        """The blocking keys a police-side child is looked up by."""
        return frozenset(Person.of(child).query_keys())

    def candidates(self, child: InvolvedChild) -> set[str]:
        """The record ids that share a blocking key with ``child``."""
        ids: set[str] = set()
        for key in Person.of(child).query_keys():
            ids |= self._index.get(key, set())
        return ids

    def match(self, child: InvolvedChild) -> MatchResult:
        police = Person.of(child)
        ids: set[str] = set()
        for key in police.query_keys():
            ids |= self._index.get(key, set())
        people = self._people
        # (-score, record id, levels): sorts best first, ties by id; Candidate objects
        # are built only for what is returned.
        scored = sorted(
            (-round(self.score(levels, people[record_id]), 3), record_id, levels)
            for record_id in ids
            for levels in (compare(police, people[record_id]),)
        )
        t = self.model
        shortlist = [entry for entry in scored[: t.shortlist] if -entry[0] >= t.review_bits]
        # An agreeing valid NHS number is the strongest evidence there is: that record is
        # always put to a reviewer, whatever else disagrees (never "none").
        nhs = [entry for entry in scored if Level.NHS_AGREE in entry[2]]
        shortlist = sorted({*shortlist, *nhs})
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
        if not safety_gate(best_levels):
            why.append("safety gate: names/date of birth/NHS number do not agree enough")
        if self._plausible_sibling(best_id, best_levels, scored):
            why.append("a sibling or twin in the same household is also plausible")
        if any(record_id != best_id for _, record_id, _ in nhs):
            why.append("another record's NHS number agrees")
        if why:
            return MatchResult(MatchDecision.REVIEW, None, _candidates(shortlist), tuple(why))
        return MatchResult(MatchDecision.AUTO, best_id, _candidates(shortlist), best_levels)

    def _plausible_sibling(
        self, best_id: str, best_levels: tuple[Level, ...], scored: list[_Scored]
    ) -> bool:
        chosen = self._people[best_id]
        nhs_settles_it = Level.NHS_AGREE in best_levels
        for negative, record_id, levels in scored:
            if -negative < self.model.review_bits:
                break  # sorted best first: the rest score lower still
            if (
                record_id != best_id
                and _same_household(chosen, self._people[record_id])
                and PLAUSIBLE_GIVEN & set(levels)
                and not (nhs_settles_it and Level.NHS_DISAGREE in levels)
            ):
                return True
        return False


def _candidates(scored: list[_Scored]) -> tuple[Candidate, ...]:
    # Built from values the matcher made itself: no validation needed on this hot path.
    return tuple(
        Candidate.model_construct(record_id=record_id, score=-negative, reasons=list(levels))
        for negative, record_id, levels in scored
    )


def _same_household(a: Person, b: Person) -> bool:
    if a.household and b.household:
        return a.household == b.household
    return bool(a.postcode and a.postcode == b.postcode and set(a.family) & set(b.family))
