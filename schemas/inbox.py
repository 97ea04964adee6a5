"""What people did in an organisation's inbox on the console (topic
``console.inbox-activity.v1``, keyed ``<agency>/<organisation>``): who took a notification
or handed it to a colleague, who printed it, which alert emails were sent, and which
rejected notifications the front door routed by hand. The console rebuilds from it who
has what, and which alerts are already sent, after a restart; it is also the audit of who
handled each notification. People are named by staff id (the identity provider's
subject), with the display name their colleagues see; never an email address."""

from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from schemas.enums import Agency
from schemas.envelope import ID_PATTERN, Instant, OutboundEvent
from schemas.review import Note

StaffName = str  # a display name as the identity provider gives it
InboxAction = Literal["signed_in", "taken", "handed", "released", "printed", "alerted", "routed"]


class InboxActivity(OutboundEvent):
    """One thing a person (or, for ``alerted``, the console) did in an organisation's inbox.

    ``signed_in``: the person works for this organisation (their colleagues may hand them
    notifications). ``taken`` / ``released``: the person has, or no longer has, the
    notification. ``handed``: given to ``to_staff_id``. ``printed``: a print view made.
    ``alerted``: an alert email (``alert``: a new notification, or a reminder before the
    deadline) sent for ``notification_ids``. ``routed``: the front door routed a rejected
    notification by hand (``note`` says how).
    """

    event_type: Literal["inbox_activity"] = "inbox_activity"
    agency: Agency
    organisation: str = Field(pattern=ID_PATTERN)
    action: InboxAction
    at: Instant
    notification_ids: list[str] = Field(
        default_factory=list, max_length=1000, description="The notifications concerned."
    )
    staff_id: str | None = Field(default=None, pattern=ID_PATTERN, description="Who did it.")
    staff_name: str | None = Field(default=None, max_length=200)
    to_staff_id: str | None = Field(default=None, pattern=ID_PATTERN)
    to_name: str | None = Field(default=None, max_length=200)
    alert: Literal["arrival", "reminder"] | None = None
    due: AwareDatetime | None = Field(default=None, description="An alert's earliest deadline.")
    note: Note | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "InboxActivity":
        if (self.action == "alerted") != (self.alert is not None):
            raise ValueError("an alert kind goes with 'alerted', and only with it")
        if self.action != "alerted" and self.staff_id is None:
            raise ValueError(f"{self.action!r} names the person who did it")
        if (self.action == "handed") != (self.to_staff_id is not None):
            raise ValueError("'handed' names the colleague, and only it")
        if self.action not in ("signed_in",) and not self.notification_ids:
            raise ValueError(f"{self.action!r} names the notifications it concerns")
        return self
