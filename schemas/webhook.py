"""Webhook registration: where frontdoor pushes one organisation's notifications.

Topic ``frontdoor.webhooks.v1`` (compacted, the gateway's own), keyed
``<agency>/<organisation>``; a null value removes the registration. The signing secret
is never stored: the gateway derives it from its own key and ``secret_version``
(registering again makes the next version, so a leaked secret is replaced by
re-registering).
"""

from typing import Literal

from pydantic import Field

from schemas.enums import Agency
from schemas.envelope import ID_PATTERN, VERSION_PATTERN, OutboundEvent


def registration_key(agency: Agency, organisation: str) -> str:
    return f"{agency.value}/{organisation}"


class WebhookRegistration(OutboundEvent):
    event_type: Literal["webhook_registration"] = "webhook_registration"
    schema_version: str = Field(default="1.0", pattern=VERSION_PATTERN)
    agency: Agency
    organisation: str = Field(pattern=ID_PATTERN)
    url: str = Field(
        max_length=2000,
        pattern=r"^https?://[^\s]+$",
        description="Where notifications are POSTed; https (http only where the gateway "
        "allows it, for a receiver on the same host).",
    )
    secret_version: int = Field(ge=1)
