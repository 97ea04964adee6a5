"""Possible match for a person to review, and their decision."""

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.envelope import (
    ID_PATTERN,
    PLAIN_TEXT_PATTERN,
    VERSION_PATTERN,
    InboundEvent,
    Instant,
    OutboundEvent,
)


class Candidate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_id: str = Field(description="Council record key '<council_code>:<child_id>'.")
    score: float
    reasons: list[str] = Field(
        default_factory=list, description="Field agreements, e.g. 'dob:exact', 'nhs:missing'."
    )


class PossibleMatch(OutboundEvent):
    """Topic ``review.matches.v1``: the matcher is unsure; ids and scores only. (Version
    1.1 added ``why`` and ``model_version``; 1.2 ``gate``.)"""

    event_type: Literal["possible_match"] = "possible_match"
    schema_version: str = Field(
        default="1.2", pattern=VERSION_PATTERN, description="<major>.<minor>; 1.2 here."
    )
    review_id: str
    incident_reference: str
    police_source: str
    person_reference: str
    candidates: list[Candidate] = Field(min_length=1)
    decide_by: AwareDatetime
    why: list[str] = Field(
        default_factory=list,
        description="Why the best candidate was not linked automatically, in the matcher's "
        "words (a closed list: 'runner-up too close', 'a sibling or twin in the same "
        "household is also plausible', ...).",
    )
    model_version: str | None = Field(
        default=None, description="The matcher's model (parameters) that scored the candidates."
    )
    gate: str | None = Field(
        default=None,
        description="The safety gate's path the best candidate meets (a closed list, e.g. "
        "'given name and date of birth'), when it meets one: then something else in "
        "``why`` held the link back. (1.2)",
    )


class LevelEvidence(BaseModel):
    """One comparison as the reviewer saw it: the level the matcher found, and its weight."""

    model_config = ConfigDict(extra="forbid")

    level: str = Field(pattern=r"^[a-z_]{1,32}:[a-z_]{1,32}$", description="e.g. 'dob:swapped'.")
    bits: float = Field(description="The level's weight of evidence, log2(m/u), in bits.")


class CandidateEvidence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_id: str = Field(pattern=ID_PATTERN)
    total_bits: float = Field(description="The match weight shown: the prior and every level.")
    levels: list[LevelEvidence] = Field(default_factory=list, max_length=32)
    record_changed: bool = Field(
        default=False, description="The record had changed since the pair was raised."
    )


class ReviewEvidence(BaseModel):
    """What the reviewer was shown when they decided: ids, levels and weights only."""

    model_config = ConfigDict(extra="forbid")

    model_version: str = Field(pattern=ID_PATTERN)
    candidates: list[CandidateEvidence] = Field(default_factory=list, max_length=20)


# Why a reviewer is not sure: a closed list, so it can be counted and shown to others.
UnsureReason = Literal[
    "need_police_information",
    "need_agency_check",
    "possible_sibling_or_twin",
    "record_out_of_date",
    "second_reviewer_disagreed",
    "other",
]
Note = Annotated[str, Field(max_length=500, pattern=PLAIN_TEXT_PATTERN)]


class ReviewDecision(InboundEvent):
    """Topic ``review.decisions.v1``: what a person decided about a possible match.

    ``confirm`` (one candidate) and ``reject`` (none of them) settle the pair; the worker
    routes the child again. ``propose`` (a confirmation awaiting a second reviewer, where
    the policy asks for four eyes) and ``unsure`` (with a reason) leave it in the queue.
    A confirmation made by two people names both: ``decided_by`` proposed it,
    ``approved_by`` approved it, and they differ. (Version 1.1 added ``propose``,
    ``unsure``, ``approved_by``, ``reason``, ``note`` and ``evidence``.)
    """

    event_type: Literal["review_decision"] = "review_decision"
    schema_version: str = Field(
        default="1.1", pattern=VERSION_PATTERN, description="<major>.<minor>; 1.1 here."
    )
    review_id: str = Field(pattern=ID_PATTERN)
    decision: Literal["confirm", "reject", "propose", "unsure"]
    record_id: str | None = Field(
        default=None, description="Required when confirming or proposing."
    )
    decided_by: str = Field(pattern=ID_PATTERN, description="Reviewer's staff id.")
    approved_by: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description="The second reviewer's staff id, when a confirmation needed four eyes.",
    )
    decided_at: Instant
    reason: UnsureReason | None = Field(default=None, description="Required when unsure.")
    note: Note | None = Field(
        default=None, description="A reviewer's words to colleagues (unsure only); never logged."
    )
    evidence: ReviewEvidence | None = Field(
        default=None, description="What the reviewer was shown (levels, weights, model)."
    )

    @property
    def final(self) -> bool:
        """Whether the decision settles the pair (the worker routes the child again)."""
        return self.decision in ("confirm", "reject")

    @model_validator(mode="after")
    def _consistent(self) -> "ReviewDecision":
        names_record = self.decision in ("confirm", "propose")
        if names_record and not self.record_id:
            raise ValueError(f"a '{self.decision}' decision needs record_id")
        if not names_record and self.record_id:
            raise ValueError(f"a '{self.decision}' decision must not name a record_id")
        if self.decision == "unsure" and self.reason is None:
            raise ValueError("an 'unsure' decision needs a reason")
        if self.decision != "unsure" and (self.reason is not None or self.note is not None):
            raise ValueError("only an 'unsure' decision carries a reason or a note")
        if self.approved_by is not None and self.decision != "confirm":
            raise ValueError("only a 'confirm' decision is approved")
        if self.approved_by is not None and self.approved_by == self.decided_by:
            raise ValueError("nobody approves their own decision")
        return self
