"""The matcher's Fellegi-Sunter parameters and decision thresholds: data. Pure.

Each comparison level adds log2(m/u) bits of evidence, where m is how often true
matches show that level and u how often two different children do. The packaged
parameters are ``streams/policies/match_model.json``; a deployment re-estimates them on
its own records (``frontdoor matching estimate``) and points ``FRONTDOOR_MATCH_MODEL``
at its file.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

from streams.matching.levels import IDENTIFYING, LEVELS, Level

PACKAGED = resources.files("streams.policies").joinpath("match_model.json")


@dataclass(frozen=True)
class MatchModel:
    """Fellegi-Sunter parameters and decision thresholds: data, re-estimable per council."""

    m: dict[str, float]
    u: dict[str, float]
    prior: float  # probability that a blocked candidate pair is the same child
    auto_bits: float  # match weight (log2 odds) needed to link automatically
    margin_bits: float  # by how much the best must beat the runner-up
    review_bits: float  # below this a candidate is not worth a person's time
    shortlist: int = 5
    tf_floor: float = 1e-5  # lowest name frequency used in the term-frequency adjustment
    # Strong partial evidence (never "none"): identifying comparisons (NHS number, names,
    # date of birth, postcode) whose agreeing levels add up to at least this many bits,
    # from at least three of them (a brother or sister shares two: the family name and
    # the address), at the population the prior was estimated on.
    partial_bits: float = 24.0
    # The council size the prior was estimated at: a larger population holds more
    # lookalikes per blocked candidate, so the prior (and the partial-evidence bar) is
    # scaled by it (never loosened for a smaller one).
    population: int = 100_000

    def __post_init__(self) -> None:
        missing = [level for level in LEVELS if level not in self.m or level not in self.u]
        if missing:
            raise ValueError(f"match model lacks m or u for: {', '.join(missing)}")
        unknown = sorted((set(self.m) | set(self.u)) - set(LEVELS))
        if unknown:
            raise ValueError(f"match model names unknown levels: {', '.join(unknown)}")
        bad = [k for k, v in (*self.m.items(), *self.u.items()) if not 0 < v <= 1]
        if bad or not 0 < self.prior < 1:
            raise ValueError(f"match model probabilities must be in (0, 1]: {bad or 'prior'}")

    @cached_property
    def weights(self) -> dict[Level, float]:
        return {level: math.log2(self.m[level] / self.u[level]) for level in LEVELS}

    @cached_property
    def identifying(self) -> frozenset[Level]:
        """The agreeing identifying levels: what counts towards strong partial evidence."""
        return frozenset(
            level for level in LEVELS if level.comparison in IDENTIFYING and self.weights[level] > 0
        )

    def crowding_bits(self, size: int) -> float:
        """How many bits more lookalikes a population of ``size`` holds than the one the
        prior was estimated on (0 for a smaller one)."""
        return math.log2(size / self.population) if size > self.population else 0.0

    @cached_property
    def version(self) -> str:
        """A short digest of the parameters: which model scored a pair, for the audit."""
        return "mm-" + hashlib.sha256(self.to_json().encode()).hexdigest()[:12]

    @cached_property
    def prior_bits(self) -> float:
        return math.log2(self.prior / (1 - self.prior))

    def tf_weight(self, level: Level, frequency: float) -> float:
        """An exact name agreement weighed by how common the name is."""
        return math.log2(self.m[level] / max(frequency, self.tf_floor))

    def to_json(self) -> str:
        data = {k: v for k, v in asdict(self).items()}
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> MatchModel:
        return cls(**json.loads(text))

    @classmethod
    def load(cls, path: Path | None = None) -> MatchModel:
        """A deployment's model file, or the packaged default."""
        if path is None:
            return cls.from_json(PACKAGED.read_text())
        return cls.from_json(path.read_text())


def probability(bits: float) -> float:
    return 1 / (1 + 2**-bits)
