"""The parts of docs/ generated from code match the code."""

from streams.matching import LEVELS
from streams.tools.generators import docs


def test_the_matching_doc_lists_every_level_the_matcher_declares() -> None:
    assert docs.stale() == [], "run `frontdoor docs write`"
    text = docs.MATCHING_DOC.read_text()
    assert all(f"`{level}` | {level.meaning} |" in text for level in LEVELS)
