"""Dead letter: an event that failed validation, kept whole with the reasons.

Reasons say where and what kind of error, never the offending value; the original
bytes are kept (base64) so the event can be repaired and replayed. The topic holds
personal data and is access-controlled like the source topics.
"""

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.envelope import OutboundEvent


class DeadLetterReason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location: str = Field(description="Path of the failing field, '' for the whole event.")
    error_type: str = Field(description="Machine-readable, e.g. 'missing', 'json_invalid'.")
    message: str


ReasonClass = Literal["not_json", "schema", "unsupported_version"]


class DeadLetter(OutboundEvent):
    event_type: Literal["dead_letter"] = "dead_letter"
    original_topic: str
    original_partition: int | None = None
    original_offset: int | None = None
    original_key_b64: str | None = None
    original_value_b64: str
    reason_class: ReasonClass
    reasons: list[DeadLetterReason] = Field(min_length=1)
    received_at: AwareDatetime
