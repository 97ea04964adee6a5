"""Council child record (compacted topic ``council.child-records.v1``).

The record key is ``<council_code>:<child_id>``. A deletion or closure is a Kafka
tombstone: the same key with a null value, represented here as ``ChildRecordDeleted``.
"""

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.enums import ChildStatus, Gender
from schemas.envelope import (
    CODE_PATTERN,
    ID_PATTERN,
    KEY_PART_PATTERN,
    PERSON_IDENTIFIER_CHECKS,
    DataQualityWarning,
    InboundEvent,
    Instant,
    Name,
    PlainText,
    drop_malformed,
)
from schemas.identifiers import NhsNumber, Postcode, SchoolUrn


def record_key(council_code: str, child_id: str) -> str:
    return f"{council_code}:{child_id}"


class ChildRecord(InboundEvent):
    """What the council knows about a child: who they are, their status, who works with them."""

    event_type: Literal["child_record"] = "child_record"
    council_code: str = Field(pattern=CODE_PATTERN)
    child_id: str = Field(
        pattern=KEY_PART_PATTERN, description="The council's own id for the child."
    )
    given_name: Name | None = None
    family_name: Name | None = None
    other_names: list[Name] = Field(default_factory=list, max_length=10)
    date_of_birth: date | None = None
    unborn: bool = Field(default=False, description="Unborn child on a pre-birth plan.")
    gender: Gender = Gender.UNKNOWN
    nhs_number: NhsNumber | None = None
    address: PlainText | None = Field(default=None, max_length=300)
    postcode: Postcode | None = None
    household_id: str | None = Field(default=None, pattern=ID_PATTERN)
    school_urn: SchoolUrn | None = None
    school_name: PlainText | None = Field(default=None, max_length=200)
    status: ChildStatus = ChildStatus.NONE
    allocated_worker: str | None = Field(
        default=None, pattern=ID_PATTERN, description="Worker's staff id, not their name."
    )
    allocated_team: str | None = Field(default=None, pattern=ID_PATTERN)
    updated_at: Instant

    @property
    def key(self) -> str:
        return record_key(self.council_code, self.child_id)

    @classmethod
    def _drop_malformed_optionals(cls, data: dict[str, Any]) -> list[DataQualityWarning]:
        return drop_malformed(data, PERSON_IDENTIFIER_CHECKS)


class ChildRecordDeleted(BaseModel):
    """A tombstone: the record with this key was deleted or closed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    council_code: str = Field(pattern=CODE_PATTERN)
    child_id: str = Field(pattern=KEY_PART_PATTERN)

    @classmethod
    def from_key(cls, key: str) -> "ChildRecordDeleted":
        council_code, sep, child_id = key.partition(":")
        if not sep or not council_code or not child_id:
            raise ValueError("child record key must be '<council_code>:<child_id>'")
        return cls(council_code=council_code, child_id=child_id)

    @property
    def key(self) -> str:
        return record_key(self.council_code, self.child_id)
