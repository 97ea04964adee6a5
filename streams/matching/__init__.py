"""Finding a police-side child in the council's records. Pure: no Kafka, no clock.

The matcher (``Matcher``: ``add``, ``remove``, ``match(child) -> MatchResult``) scores
named comparison levels (``Level``) with a Fellegi-Sunter model (``MatchModel``) and
links automatically only when the evidence and the safety gate allow; ``Replica`` is a
worker's copy of the council's records with the match index over them.
"""

from streams.matching.levels import COMPARISONS, LEVELS, Level
from streams.matching.matcher import (
    Evidence,
    Key,
    Matcher,
    MatchResult,
    Person,
    compare,
    compare_dob,
    compare_names,
    gate_path,
    normalise_name,
    phonetic,
    safety_gate,
    same_household,
)
from streams.matching.model import MatchModel, probability
from streams.matching.nicknames import NICKNAME_GROUPS, same_person_names
from streams.matching.replica import Replica

__all__ = [
    "COMPARISONS",
    "LEVELS",
    "NICKNAME_GROUPS",
    "Evidence",
    "Key",
    "Level",
    "MatchModel",
    "MatchResult",
    "Matcher",
    "Person",
    "Replica",
    "compare",
    "compare_dob",
    "compare_names",
    "gate_path",
    "normalise_name",
    "phonetic",
    "probability",
    "safety_gate",
    "same_household",
    "same_person_names",
]
