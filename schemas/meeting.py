"""Strategy meetings (Working Together 2023): who was invited, who came.

Inspectors found police take part in few of them; participation by agency is a
compliance signal. Topic ``meetings.strategy.v1``, keyed by meeting id.
"""

from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from schemas.envelope import ID_PATTERN, SOURCE_PATTERN, InboundEvent, Instant


class Party(StrEnum):
    POLICE = "police"
    SOCIAL_CARE = "social_care"
    SCHOOL = "school"
    HEALTH = "health"
    EARLY_HELP = "early_help"
    DOMESTIC_ABUSE = "domestic_abuse"
    YOUTH_JUSTICE = "youth_justice"


class StrategyMeeting(InboundEvent):
    """The meeting as it stands: scheduled with invitees, then held with attendees."""

    event_type: Literal["strategy_meeting"] = "strategy_meeting"
    meeting_id: str = Field(pattern=ID_PATTERN)
    council_code: str = Field(pattern=SOURCE_PATTERN)
    incident_reference: str | None = Field(default=None, pattern=ID_PATTERN)
    status: Literal["scheduled", "held", "cancelled"]
    scheduled_for: Instant
    invited: list[Party] = Field(min_length=1)
    attended: list[Party] = Field(default_factory=list)

    @model_validator(mode="after")
    def _attendees_were_invited(self) -> "StrategyMeeting":
        if self.status != "held" and self.attended:
            raise ValueError("only a held meeting has attendees")
        if not set(self.attended) <= set(self.invited):
            raise ValueError("every attendee must be among the invited")
        return self
