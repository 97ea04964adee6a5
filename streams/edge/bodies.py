"""The gateway's request and response bodies (the events themselves are ``schemas``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.acknowledgement import RejectReason
from schemas.enums import AckStatus
from schemas.review import Note


class Reason(BaseModel):
    location: str = Field(description="Path of the failing field; '' for the whole request.")
    error_type: str
    message: str


class ProblemBody(BaseModel):
    title: str
    status: int
    detail: str
    reasons: list[Reason] | None = None


class Accepted(BaseModel):
    event_id: str
    status: Literal["accepted"] = "accepted"
    data_quality: list[dict[str, str]] = Field(
        default_factory=list, description="Fields dropped or ignored, by name (never values)."
    )


class Deleted(BaseModel):
    child_id: str
    status: Literal["deleted"] = "deleted"


class AcknowledgementRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: AckStatus
    reason_code: RejectReason | None = Field(
        default=None, description="Required when status is 'rejected'."
    )
    note: Note | None = Field(
        default=None,
        description="A rejection's words for the front door routing it by hand (e.g. where "
        "the child is now). Only with 'rejected'.",
    )


class AcknowledgementAccepted(BaseModel):
    acknowledgement_id: str
    notification_id: str
    acknowledged_at: str
    status: Literal["accepted"] = "accepted"


class NotificationItem(BaseModel):
    notification_id: str
    revision: int
    status: Literal["open", "acknowledged"]
    acknowledgement: AckStatus | None
    acknowledged_at: str | None
    deadline: str
    notification: dict[str, Any] = Field(description="As sent: schemas/jsonschema/notification.v1")


class NotificationPage(BaseModel):
    items: list[NotificationItem]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")


class WebhookRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, description="https URL notifications are POSTed to.")


class WebhookView(BaseModel):
    url: str
    secret_version: int
    secret: str | None = Field(
        default=None,
        description="Only when registering: the whsec_ secret to verify signatures with.",
    )


class Health(BaseModel):
    status: Literal["ready", "starting"]
