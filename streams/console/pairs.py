"""A possible match as a reviewer sees it: the police-side child and each candidate record
side by side, field by field, with the comparison level the matcher found and its weight,
the characters that differ marked; the total and why it was not linked automatically; the
household; what confirming or rejecting would send, and by when. Pure: built from the
book's data and the matcher's ``explain``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from schemas import ChildRecord, InvolvedChild, PoliceIncident
from schemas.review import CandidateEvidence, LevelEvidence, ReviewEvidence
from streams.console import words
from streams.console.book import Pair, ReviewBook
from streams.incidents import Held, needs_second_reviewer
from streams.matching import Evidence, probability

Person = InvolvedChild | ChildRecord


@dataclass(frozen=True)
class Segment:
    text: str
    differs: bool


@dataclass(frozen=True)
class FieldRow:
    label: str
    police: tuple[Segment, ...]
    record: tuple[Segment, ...]
    level: str | None  # the comparison level found, e.g. "dob:one_digit"
    meaning: str  # what the level means, in words
    bits: float | None  # its weight of evidence


@dataclass(frozen=True)
class Sends:
    """One notification settling the pair would send: to whom, by when, under which rule."""

    recipient: str
    agency: str
    rule: str
    deadline: str
    school_or_worker: bool


@dataclass(frozen=True)
class Relative:
    name: str
    born: str
    status: str
    also_candidate: int | None  # its number in the shortlist, when the matcher also found it


@dataclass(frozen=True)
class CandidateView:
    number: int  # 1, 2, ... in the shortlist
    record_id: str
    record: ChildRecord | None  # None: deleted since the pair was raised
    status: str
    rows: tuple[FieldRow, ...]
    prior_bits: float
    total_bits: float
    probability: float
    raised_score: float
    gate: str | None
    changed: bool  # the record changed after the pair was raised
    levels_then: tuple[str, ...]  # the levels when raised, where they differ from now's
    sends: tuple[Sends, ...]
    needs_second_reviewer: bool
    household: tuple[Relative, ...]
    evidence: Evidence | None

    @property
    def levels_now(self) -> tuple[str, ...]:
        return tuple(str(level) for level, _ in self.evidence.levels) if self.evidence else ()


@dataclass(frozen=True)
class PairView:
    pair: Pair
    incident: PoliceIncident
    child: InvolvedChild
    candidates: tuple[CandidateView, ...]
    none_sends: tuple[Sends, ...]
    why: tuple[str, ...]
    others_in_incident: tuple[Relative, ...]
    due: str
    overdue: bool

    def evidence(self) -> ReviewEvidence:
        """What the reviewer was shown, for the decision and the audit: ids, levels, bits."""
        shown = [c for c in self.candidates if c.evidence is not None]
        version = shown[0].evidence.model_version if shown and shown[0].evidence else "unknown"
        return ReviewEvidence(
            model_version=version,
            candidates=[
                CandidateEvidence(
                    record_id=c.record_id,
                    total_bits=round(c.total_bits, 2),
                    levels=[
                        LevelEvidence(level=str(level), bits=round(bits, 2))
                        for level, bits in (c.evidence.levels if c.evidence else ())
                    ],
                    record_changed=c.changed,
                )
                for c in shown
            ],
        )


def _segments(mine: str, theirs: str) -> tuple[Segment, ...]:
    """``mine`` cut where it differs from ``theirs`` (case-insensitive), character by
    character."""
    if not mine:
        return ()
    matcher = difflib.SequenceMatcher(None, mine.lower(), theirs.lower(), autojunk=False)
    out: list[Segment] = []
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if i2 > i1:
            out.append(Segment(mine[i1:i2], tag != "equal" and bool(theirs)))
    return tuple(out)


def born(person: Person) -> str:
    day: date | None = person.date_of_birth
    if day is None:
        return ""
    shown = day.strftime("%-d %B %Y")
    if isinstance(person, InvolvedChild) and person.date_of_birth_approximate:
        shown += " (approximate)"
    return shown


def _nhs(value: str | None) -> str:
    return f"{value[:3]} {value[3:6]} {value[6:]}" if value else ""


def _school(person: Person) -> str:
    parts = [
        p
        for p in (person.school_name, f"URN {person.school_urn}" if person.school_urn else None)
        if p
    ]
    return ", ".join(parts)


# The rows of the side-by-side table: label, the value as shown, and the comparison (the
# matcher's name for it) whose level the row carries (None: shown, not compared alone).
ROWS: tuple[tuple[str, Callable[[Person], str], str | None], ...] = (
    ("Given name", lambda p: p.given_name or "", "given"),
    ("Other names", lambda p: ", ".join(p.other_names), None),
    ("Family name", lambda p: p.family_name or "", "family"),
    ("Date of birth", born, "dob"),
    ("Gender", lambda p: p.gender.value if p.gender.value != "unknown" else "", "gender"),
    ("Address", lambda p: p.address or "", "address"),
    ("Postcode", lambda p: p.postcode or "", "postcode"),
    ("School", _school, "school"),
    ("NHS number", lambda p: _nhs(p.nhs_number), "nhs"),
)


# The address line and the postcode agreeing say one thing twice: the matcher counts
# the larger weight and gives the other none.
_ONE_ADDRESS = {"address": "postcode", "postcode": "address line"}


def field_rows(
    child: InvolvedChild, record: ChildRecord, evidence: Evidence | None
) -> tuple[FieldRow, ...]:
    found = {
        level.comparison: (level, bits) for level, bits in (evidence.levels if evidence else ())
    }
    rows = []
    for label, shown, comparison in ROWS:
        police, theirs = shown(child), shown(record)
        level, bits = found.get(comparison or "", (None, None))
        if level is not None:
            meaning = level.meaning
            if bits == 0 and comparison in _ONE_ADDRESS:  # the matcher counts it once
                meaning += f"; counted once, with the {_ONE_ADDRESS[comparison]}"
        elif comparison is not None and (not police or not theirs):
            meaning = "not compared: missing on one side"
        else:
            meaning = "shown, not weighed on its own" if comparison is None else ""
        rows.append(
            FieldRow(
                label,
                _segments(police, theirs),
                _segments(theirs, police),
                str(level) if level is not None else None,
                meaning,
                bits,
            )
        )
    return tuple(rows)


def _sends(held: Held | None, book: ReviewBook) -> tuple[Sends, ...]:
    if held is None:
        return ()
    zone = book.calendar.zone
    return tuple(
        Sends(
            recipient=words.recipient(hit.recipient),
            agency=words.AGENCIES[hit.recipient.agency],
            rule=hit.rule,
            deadline=words.deadline(hit.deadline, hit.clock, zone),
            school_or_worker=hit.to in ("school", "allocated"),
        )
        for hit in sorted(held.hits, key=lambda h: (h.deadline, h.rule))
    )


# The matcher's reasons (a closed list), as a reviewer reads them.
WHY = {
    "match weight below the auto-link threshold": "The evidence for the best candidate is "
    "below what is needed to link a child automatically.",
    "runner-up too close": "Another candidate scores nearly as well as the best one.",
    "safety gate: names/date of birth/NHS number do not agree enough": "The names, date of "
    "birth and NHS number do not agree enough to link without a person, whatever the score.",
    "a sibling or twin in the same household is also plausible": "A brother, sister or twin "
    "in the same household could also be this child.",
    "another record's NHS number agrees": "Another record has the same NHS number.",
}


def _why(book: ReviewBook, pair: Pair, views: list[CandidateView]) -> tuple[str, ...]:
    """The matcher's reasons, naming the runner-up, the sibling or the other NHS number
    that blocked the link where the shortlist shows which."""
    model = book.replica.matcher.model
    scores = [c.score for c in pair.match.candidates]
    best = views[0] if views else None
    household = {r.also_candidate for r in best.household} if best else set()
    said = []
    for reason in pair.match.why:
        text = WHY.get(reason, reason)
        if reason.startswith("match weight below") and scores:
            text = (
                f"The evidence for candidate 1 ({scores[0]:.1f} bits) is below the "
                f"{model.auto_bits:.1f} bits needed to link a child automatically."
            )
        elif reason == "runner-up too close" and len(scores) > 1:
            text = (
                f"Candidate 2 scores {scores[0] - scores[1]:.1f} bits below candidate 1; "
                f"the matcher needs a lead of {model.margin_bits:.1f} bits."
            )
        elif reason.startswith("a sibling or twin") and household - {None}:
            named = ", ".join(f"candidate {n}" for n in sorted(n for n in household if n))
            text = (
                f"A brother, sister or twin in candidate 1's household ({named}) could also "
                "be this child."
            )
        elif reason.startswith("another record's NHS") and len(views) > 1:
            others = [c.number for c in views[1:] if "nhs:agree" in c.levels_now]
            if others:
                text = f"Another record (candidate {others[0]}) has the same NHS number."
        said.append(text)
    return tuple(said)


def _status(record: ChildRecord) -> str:
    return record.status.value.replace("_", " ")


def build(book: ReviewBook, pair: Pair, now: datetime) -> PairView | None:
    """The pair as a reviewer sees it now (None while its incident has not been read)."""
    book.refresh(pair, now)
    incident, child = book.child_of(pair)
    if incident is None or child is None:
        return None
    matcher = book.replica.matcher
    held = pair.held or []
    numbers = {c.record_id: n for n, c in enumerate(pair.match.candidates, start=1)}
    views = []
    for number, candidate in enumerate(pair.match.candidates, start=1):
        record = book.replica.get(candidate.record_id)
        evidence = matcher.explain(child, candidate.record_id) if record else None
        now_levels = [str(level) for level, _ in evidence.levels] if evidence else []
        changed = record is None or record.updated_at > pair.match.produced_at
        taken = next((h for h in held if h.record_id == candidate.record_id), None)
        household = tuple(
            Relative(
                name=" ".join(p for p in (r.given_name, r.family_name) if p),
                born=born(r),
                status=_status(r),
                also_candidate=numbers.get(r.key),
            )
            for r in (book.household(record) if record else [])
        )
        views.append(
            CandidateView(
                number=number,
                record_id=candidate.record_id,
                record=record,
                status=_status(record) if record else "",
                rows=field_rows(child, record, evidence) if record else (),
                prior_bits=evidence.prior_bits if evidence else 0.0,
                total_bits=evidence.total_bits if evidence else candidate.score,
                probability=probability(evidence.total_bits) if evidence else 0.0,
                raised_score=candidate.score,
                gate=evidence.gate if evidence else None,
                changed=changed,
                levels_then=tuple(candidate.reasons) if candidate.reasons != now_levels else (),
                sends=_sends(taken, book),
                needs_second_reviewer=taken is not None
                and needs_second_reviewer(book.policy, taken),
                household=household,
                evidence=evidence,
            )
        )
    none = next((h for h in held if h.record_id is None), None)
    others = tuple(
        Relative(
            name=" ".join(p for p in (c.given_name, c.family_name) if p) or "(no name given)",
            born=born(c),
            status=c.role.value.replace("_", " "),
            also_candidate=None,
        )
        for c in incident.children
        if c.person_reference != child.person_reference
    )
    due = pair.due()
    return PairView(
        pair=pair,
        incident=incident,
        child=child,
        candidates=tuple(views),
        none_sends=_sends(none, book),
        why=_why(book, pair, views),
        others_in_incident=others,
        due=words.time_left(due, now),
        overdue=now > due,
    )


__all__ = ["WHY", "CandidateView", "FieldRow", "PairView", "Segment", "Sends", "build"]
