"""Acknowledgement of a notification by its recipient (topic ``notify.acks.v1``)."""

from typing import Literal

from pydantic import Field, model_validator

from schemas.enums import AckStatus, Agency
from schemas.envelope import ID_PATTERN, VERSION_PATTERN, InboundEvent, Instant
from schemas.review import Note

RejectReason = Literal[
    "wrong_recipient", "wrong_child", "duplicate", "insufficient_detail", "other"
]


class Acknowledgement(InboundEvent):
    """An agency received, actioned or rejected a notification sent to it. Made by the
    agency's own system (Kafka, the gateway) or by a person in the console's inbox, who is
    then named by staff id (never an email address). (Version 1.1 added
    ``acknowledged_by`` and ``note``.)"""

    event_type: Literal["acknowledgement"] = "acknowledgement"
    schema_version: str = Field(
        default="1.1", pattern=VERSION_PATTERN, description="<major>.<minor>; 1.1 here."
    )
    notification_id: str = Field(pattern=r"^ntf-[0-9a-f-]{36}$")
    agency: Agency
    organisation: str = Field(pattern=ID_PATTERN)
    status: AckStatus
    acknowledged_at: Instant
    reason_code: RejectReason | None = Field(
        default=None, description="Required when status is 'rejected'."
    )
    acknowledged_by: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description="The person's staff id (the identity provider's subject), when a person "
        "acknowledged in the console.",
    )
    note: Note | None = Field(
        default=None,
        description="A rejection's words for the front door routing it by hand (e.g. where "
        "the child is now); never logged.",
    )

    @model_validator(mode="after")
    def _rejection_has_reason(self) -> "Acknowledgement":
        if self.status is AckStatus.REJECTED and self.reason_code is None:
            raise ValueError("a rejected acknowledgement needs a reason_code")
        if self.note is not None and self.status is not AckStatus.REJECTED:
            raise ValueError("only a rejection carries a note")
        return self
