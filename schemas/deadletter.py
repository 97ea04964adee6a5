"""Dead letter: an event that failed validation, kept whole with the reasons.

Reasons say where and what kind of error, never the offending value; the original
bytes are kept (base64) so the event can be repaired and replayed. A dead letter always
fits the broker: of an original larger than the contract's limit only a prefix is kept,
with the original's length and SHA-256. The topic holds personal data and is
access-controlled like the source topics.

Version 1.1 added ``original_size_bytes``, ``original_sha256``, ``original_truncated`` and
the reason classes ``too_large`` and ``processing_error``; 1.2 the reason class
``provenance``.
"""

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.envelope import VERSION_PATTERN, OutboundEvent


class DeadLetterReason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location: str = Field(description="Path of the failing field, '' for the whole event.")
    error_type: str = Field(description="Machine-readable, e.g. 'missing', 'json_invalid'.")
    message: str


# not_json: not strict UTF-8 JSON; too_large: over the contract's size limit; schema: not
# the contract; unsupported_version: another major version; processing_error: valid, but
# processing it failed (the exception's type is the reason, never its message);
# provenance: valid, but on a party's own topic while naming another party (a force's
# topic carrying another force's incident, an acknowledgement for another agency or of a
# notification not sent to the agency whose topic it is on).
ReasonClass = Literal[
    "not_json", "too_large", "schema", "unsupported_version", "processing_error", "provenance"
]


class DeadLetter(OutboundEvent):
    event_type: Literal["dead_letter"] = "dead_letter"
    schema_version: str = Field(
        default="1.2", pattern=VERSION_PATTERN, description="<major>.<minor>; 1.2 here."
    )
    original_topic: str
    original_partition: int | None = None
    original_offset: int | None = None
    original_key_b64: str | None = Field(
        default=None, description="The original key, or its first 1,024 bytes."
    )
    original_value_b64: str = Field(
        description="The original bytes, or their first 65,536 when the original was larger "
        "than the contract's limit (original_truncated)."
    )
    original_size_bytes: int | None = Field(default=None, ge=0)
    original_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    original_truncated: bool = False
    reason_class: ReasonClass
    reasons: list[DeadLetterReason] = Field(min_length=1)
    received_at: AwareDatetime
