"""Acknowledgement of a notification by its recipient (topic ``notify.acks.v1``)."""

from typing import Literal

from pydantic import Field, model_validator

from schemas.enums import AckStatus, Agency
from schemas.envelope import ID_PATTERN, InboundEvent, Instant


class Acknowledgement(InboundEvent):
    event_type: Literal["acknowledgement"] = "acknowledgement"
    notification_id: str = Field(pattern=r"^ntf-[0-9a-f-]{36}$")
    agency: Agency
    organisation: str = Field(pattern=ID_PATTERN)
    status: AckStatus
    acknowledged_at: Instant
    reason_code: (
        Literal["wrong_recipient", "wrong_child", "duplicate", "insufficient_detail", "other"]
        | None
    ) = Field(default=None, description="Required when status is 'rejected'.")

    @model_validator(mode="after")
    def _rejection_has_reason(self) -> "Acknowledgement":
        if self.status is AckStatus.REJECTED and self.reason_code is None:
            raise ValueError("a rejected acknowledgement needs a reason_code")
        return self
