"""Estimating the matcher's Fellegi-Sunter parameters (``MatchModel``) from data.

* **u** (how often two *different* children agree at each level) from random pairs of
  the council's own records, one side seen through the police-side noise model (so
  levels that only police quirks produce, like a hyphenated surname or an approximate
  date of birth, get a fair u): no labels needed, so a deployment re-estimates it on its
  own population (``frontdoor matching estimate --from-topic``).
* **m** (how often the *same* child shows each level, police side against council side)
  from labelled synthetic pairs, half with the standard corruption and half with the
  harsh one (``synthetic.HARSH``: two-letter misspellings, dates two digits off or in
  the wrong year, missing names), so that every level has an m seen in data; a
  deployment without labels keeps the packaged m.
* **prior**: the share of blocked candidate pairs that are true matches.
Levels never seen get a small smoothed probability rather than zero.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace

from schemas import ChildRecord, InvolvedChild
from schemas.envelope import PERSON_IDENTIFIER_CHECKS, drop_malformed
from streams.matching import COMPARISONS, Matcher, MatchModel, Person, compare
from streams.tools.synthetic import (
    HARSH,
    STANDARD,
    Corruption,
    Council,
    council,
    matching_cases,
    police_view,
)

SMOOTHING = 0.5
M_FLOOR = 0.001  # real data has errors the synthetic noise does not: no level is impossible


def _frequencies(levels: Iterable[tuple[str, ...]], floor: float = 0.0) -> dict[str, float]:
    counts: Counter[str] = Counter()
    for reasons in levels:
        counts.update(reasons)
    out: dict[str, float] = {}
    for names in COMPARISONS.values():
        total = sum(counts[n] for n in names) + SMOOTHING * len(names)
        share = {n: max((counts[n] + SMOOTHING) / total, floor) for n in names}
        scale = sum(share.values())
        out.update({n: v / scale for n, v in share.items()})
    return out


def _police_person(rng: random.Random, record: ChildRecord) -> Person:
    raw = record.model_dump(mode="json", exclude_none=True)
    noise = HARSH if rng.random() < 0.5 else STANDARD
    data = police_view(rng, raw, with_nhs=rng.random() < 0.5, noise=noise)
    drop_malformed(data, PERSON_IDENTIFIER_CHECKS)
    return Person.of(InvolvedChild.model_validate(data))


def estimate_u(
    records: Sequence[ChildRecord], pairs: int = 200_000, seed: int = 0
) -> dict[str, float]:
    rng = random.Random(seed)
    people = [Person.of(r) for r in records]
    levels = []
    for _ in range(pairs):
        i, j = rng.sample(range(len(records)), 2)
        levels.append(compare(_police_person(rng, records[i]), people[j]))
    return _frequencies(levels)


def labelled(
    known: Council, seed: int, count: int, with_nhs: bool, noise: Corruption = STANDARD
) -> list[tuple[InvolvedChild, ChildRecord]]:
    by_key = {f"{r['council_code']}:{r['child_id']}": r for r in known.records}
    pairs = []
    for case in matching_cases(seed, known, count, with_nhs, unknown_share=0.0, noise=noise):
        data = dict(case.child)
        drop_malformed(data, PERSON_IDENTIFIER_CHECKS)
        pairs.append(
            (
                InvolvedChild.model_validate(data),
                ChildRecord.model_validate(by_key[case.truth or ""]),
            )
        )
    return pairs


def estimate_m(pairs: Sequence[tuple[InvolvedChild, ChildRecord]]) -> dict[str, float]:
    return _frequencies((compare(Person.of(c), Person.of(r)) for c, r in pairs), M_FLOOR)


def estimate_prior(matcher: Matcher, children: Sequence[InvolvedChild]) -> float:
    blocked = sum(len(matcher.candidates(c)) for c in children)
    return min(max(len(children) / max(blocked, 1), 1e-6), 0.5)


def estimate_synthetic(
    size: int = 100_000, seed: int = 1, queries: int = 20_000, base: MatchModel | None = None
) -> MatchModel:
    """The packaged model: u and m on a synthetic council (tune seed), thresholds kept."""
    base = base or MatchModel.load()
    known = council(seed, size)
    records = [ChildRecord.model_validate(r) for r in known.records]
    u = estimate_u(records, seed=seed)
    pairs = [
        pair
        for offset, with_nhs, noise in (
            (100, True, STANDARD),
            (200, False, STANDARD),
            (300, True, HARSH),
            (400, False, HARSH),
        )
        for pair in labelled(known, seed + offset, queries // 4, with_nhs, noise)
    ]
    m = estimate_m(pairs)
    matcher = Matcher(records, model=replace(base, m=m, u=u))
    prior = estimate_prior(matcher, [c for c, _ in pairs])
    return replace(base, m=m, u=u, prior=prior, population=size)


def estimate_for_records(
    records: Sequence[ChildRecord], base: MatchModel | None = None
) -> MatchModel:
    """A deployment's model: u (and the prior) from its own records, m as packaged."""
    base = base or MatchModel.load()
    u = estimate_u(records)
    return replace(base, u=u)
