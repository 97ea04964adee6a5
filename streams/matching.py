"""Finds a police-side child in the council's records; pure, no Kafka, no clock.

A missed match leaves a social worker uninformed; a false match sends one child's
details to another family's worker or school. So the matcher is conservative:

* candidates come from blocking keys (NHS number, phonetic family name with birth
  year, date of birth and its day/month swap, postcode);
* each candidate is scored field by field (named comparison levels, each with a weight,
  so every decision can be explained);
* ``auto`` needs the score threshold, a margin over the runner-up and the safety gate:
  given name (exact or a known nickname) and date of birth agree, or a valid NHS number
  agrees together with one of them; never against a disagreeing NHS number; never when a
  sibling or twin in the same household is also a plausible match;
* otherwise ``review`` with a shortlist, or ``none``.

Stable API (other tools import it): ``Matcher``, ``add``, ``remove``, ``match``,
``MatchResult`` with ``decision``, ``record_id``, ``candidates``, ``reasons``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Literal

import jellyfish
from rapidfuzz.distance import JaroWinkler

from schemas import ChildRecord, InvolvedChild
from streams.nicknames import same_person_names

Decision = Literal["auto", "review", "none"]


@dataclass(frozen=True)
class Candidate:
    record_id: str
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class MatchResult:
    decision: Decision
    record_id: str | None
    candidates: tuple[Candidate, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class MatchThresholds:
    auto: float = 11.0
    margin: float = 3.0
    review: float = 6.0
    shortlist: int = 5


# Comparison levels and their weights (log-odds-like: positive for, negative against).
WEIGHTS: dict[str, float] = {
    "nhs:agree": 8.0,
    "nhs:disagree": -8.0,
    "given:exact": 4.0,
    "given:nickname": 3.0,
    "given:fuzzy": 2.0,
    "given:phonetic": 1.5,
    "given:swapped": 2.0,
    "given:disagree": -3.0,
    "family:exact": 3.0,
    "family:part": 2.5,
    "family:fuzzy": 2.0,
    "family:phonetic": 1.5,
    "family:swapped": 2.0,
    "family:disagree": -3.0,
    "dob:exact": 5.0,
    "dob:swapped": 3.0,
    "dob:one_digit": 2.0,
    "dob:approximate": 1.0,
    "dob:same_year": 0.5,
    "dob:disagree": -5.0,
    "postcode:full": 2.0,
    "postcode:sector": 1.0,
    "postcode:district": 0.5,
    "school:agree": 1.5,
    "gender:agree": 0.5,
    "gender:disagree": -2.0,
}
_PLAUSIBLE_GIVEN = {"given:exact", "given:nickname", "given:fuzzy", "given:phonetic"}


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
class _Person:
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

    @classmethod
    def of(cls, person: ChildRecord | InvolvedChild) -> _Person:
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
        )

    def query_keys(self) -> set[str]:
        keys = set(self.keys)
        if self.dob:
            swapped = _swapped(self.dob)
            if swapped:
                keys.add(f"dob:{swapped.isoformat()}")
        return keys


def _compare_names(a: tuple[str, ...], b: tuple[str, ...], kind: str) -> str | None:
    if not a or not b:
        return None
    if (kind == "given" and a[0] == b[0]) or a == b:
        return f"{kind}:exact"
    if kind == "given" and same_person_names(a[0], b[0]):
        return "given:nickname"
    if kind == "family" and set(a) & set(b):
        return "family:part"
    if kind == "given" and any(x == y or same_person_names(x, y) for x in a for y in b):
        return "given:nickname"  # agrees with an other/middle name
    if JaroWinkler.similarity(" ".join(a), " ".join(b)) >= 0.92:
        return f"{kind}:fuzzy"
    if any(phonetic(x) == phonetic(y) for x in a for y in b):
        return f"{kind}:phonetic"
    return f"{kind}:disagree"


def _compare_dob(police: _Person, record: _Person) -> str | None:
    a, b = police.dob, record.dob
    if a is None or b is None:
        return None
    if a == b:
        return "dob:exact"
    if police.dob_approximate:
        return "dob:approximate" if abs((a - b).days) <= 366 else "dob:disagree"
    if _swapped(a) == b:
        return "dob:swapped"
    if sum(x != y for x, y in zip(a.isoformat(), b.isoformat(), strict=True)) == 1:
        return "dob:one_digit"
    if a.year == b.year:
        return "dob:same_year"
    return "dob:disagree"


def _compare(police: _Person, record: _Person) -> tuple[str, ...]:
    levels: list[str | None] = []
    if police.nhs and record.nhs:
        levels.append("nhs:agree" if police.nhs == record.nhs else "nhs:disagree")
    given = _compare_names(police.given, record.given, "given")
    family = _compare_names(police.family, record.family, "family")
    # Given and family names entered the wrong way round.
    if (
        given == "given:disagree"
        and family == "family:disagree"
        and _compare_names(police.given, record.family, "family") in {"family:exact", "family:part"}
    ):
        given, family = "given:swapped", "family:swapped"
    levels += [given, family, _compare_dob(police, record)]
    if police.postcode and record.postcode:
        if police.postcode == record.postcode:
            levels.append("postcode:full")
        elif police.postcode[:-2] == record.postcode[:-2]:
            levels.append("postcode:sector")
        elif police.postcode.split()[0] == record.postcode.split()[0]:
            levels.append("postcode:district")
    if police.school and record.school and police.school == record.school:
        levels.append("school:agree")
    if police.gender and record.gender:
        levels.append("gender:agree" if police.gender == record.gender else "gender:disagree")
    return tuple(level for level in levels if level)


def _gate(reasons: tuple[str, ...]) -> bool:
    given = "given:exact" in reasons or "given:nickname" in reasons
    dob = "dob:exact" in reasons
    nhs = "nhs:agree" in reasons
    if "nhs:disagree" in reasons:
        return False
    return (given and dob) or (nhs and (given or dob))


class Matcher:
    """An index of council child records and the decision for one police-side child."""

    def __init__(
        self, records: Iterable[ChildRecord] = (), thresholds: MatchThresholds | None = None
    ) -> None:
        self.thresholds = thresholds or MatchThresholds()
        self._people: dict[str, _Person] = {}
        self._index: dict[str, set[str]] = {}
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
        person = _Person.of(record)
        self._people[record_id] = person
        for key in person.keys:
            self._index.setdefault(key, set()).add(record_id)

    def remove(self, record_id: str) -> bool:
        """Forget a record (a tombstone); True if it was there."""
        person = self._people.pop(record_id, None)
        if person is None:
            return False
        for key in person.keys:
            ids = self._index.get(key)
            if ids is not None:
                ids.discard(record_id)
                if not ids:
                    del self._index[key]
        return True

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
        return frozenset(_Person.of(child).query_keys())

    def match(self, child: InvolvedChild) -> MatchResult:
        police = _Person.of(child)
        ids: set[str] = set()
        for key in police.query_keys():
            ids |= self._index.get(key, set())
        scored = []
        for record_id in ids:
            reasons = _compare(police, self._people[record_id])
            scored.append(Candidate(record_id, sum(WEIGHTS[r] for r in reasons), reasons))
        scored.sort(key=lambda c: (-c.score, c.record_id))
        t = self.thresholds
        shortlist = tuple(c for c in scored if c.score >= t.review)[: t.shortlist]
        if not shortlist:
            return MatchResult("none", None, tuple(scored[: t.shortlist]), ("no candidate",))
        best = shortlist[0]
        runner_up = scored[1].score if len(scored) > 1 else float("-inf")
        why: list[str] = []
        if best.score < t.auto:
            why.append("score below auto threshold")
        if best.score - runner_up < t.margin:
            why.append("runner-up too close")
        if not _gate(best.reasons):
            why.append("safety gate: names/date of birth/NHS number do not agree enough")
        if self._plausible_sibling(best, scored):
            why.append("a sibling or twin in the same household is also plausible")
        if why:
            return MatchResult("review", None, shortlist, tuple(why))
        return MatchResult("auto", best.record_id, shortlist, best.reasons)

    def _plausible_sibling(self, best: Candidate, scored: list[Candidate]) -> bool:
        chosen = self._people[best.record_id]
        nhs_settles_it = "nhs:agree" in best.reasons
        return any(
            c.record_id != best.record_id
            and _same_household(chosen, self._people[c.record_id])
            and _PLAUSIBLE_GIVEN & set(c.reasons)
            and not (nhs_settles_it and "nhs:disagree" in c.reasons)
            for c in scored
        )


def _same_household(a: _Person, b: _Person) -> bool:
    if a.household and b.household:
        return a.household == b.household
    return bool(a.postcode and a.postcode == b.postcode and set(a.family) & set(b.family))
