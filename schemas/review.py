"""Possible match for a person to review, and their decision."""

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.envelope import ID_PATTERN, InboundEvent, Instant, OutboundEvent


class Candidate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_id: str = Field(description="Council record key '<council_code>:<child_id>'.")
    score: float
    reasons: list[str] = Field(
        default_factory=list, description="Field agreements, e.g. 'dob:exact', 'nhs:missing'."
    )


class PossibleMatch(OutboundEvent):
    """Topic ``review.matches.v1``: the matcher is unsure; ids and scores only."""

    event_type: Literal["possible_match"] = "possible_match"
    review_id: str
    incident_reference: str
    police_source: str
    person_reference: str
    candidates: list[Candidate] = Field(min_length=1)
    decide_by: AwareDatetime


class ReviewDecision(InboundEvent):
    """Topic ``review.decisions.v1``: confirm one candidate, or reject them all."""

    event_type: Literal["review_decision"] = "review_decision"
    review_id: str = Field(pattern=ID_PATTERN)
    decision: Literal["confirm", "reject"]
    record_id: str | None = Field(default=None, description="Required when confirming.")
    decided_by: str = Field(pattern=ID_PATTERN, description="Reviewer's staff id.")
    decided_at: Instant

    @model_validator(mode="after")
    def _confirm_names_record(self) -> "ReviewDecision":
        if self.decision == "confirm" and not self.record_id:
            raise ValueError("a 'confirm' decision needs record_id")
        if self.decision == "reject" and self.record_id:
            raise ValueError("a 'reject' decision must not name a record_id")
        return self
