"""An acknowledgement made for a recipient, by whichever channel it came through: the
gateway (a system with an API key) or the console (a person signed in). Stamped by the
channel's clock, identified so that a retry repeats it, and validated by the contract's
own rules (a rejection needs its reason): the one builder both channels use. Pure."""

from __future__ import annotations

import json
import re
from datetime import datetime

from schemas import Acknowledgement, DeadLetter
from schemas.enums import AckStatus, Agency
from schemas.envelope import SOURCE_PATTERN, derived_id
from streams.incidents import Origin, validate


def acknowledgement_id(
    notification_id: str, status: AckStatus, agency: Agency, organisation: str
) -> str:
    """Once per (notification, status, recipient): a retry, or a colleague acknowledging
    the same thing a moment later, repeats the first and makes no second."""
    return derived_id("ack", notification_id, status.value, agency.value, organisation)


def acknowledge(
    notification_id: str,
    agency: Agency,
    organisation: str,
    status: AckStatus,
    now: datetime,
    *,
    reason_code: str | None = None,
    by: str | None = None,
    note: str | None = None,
    channel: str = "http",
) -> Acknowledgement | DeadLetter:
    """The recipient's acknowledgement at ``now``, or why the contract refuses it."""
    fields = {
        "event_id": acknowledgement_id(notification_id, status, agency, organisation),
        "source": organisation if re.fullmatch(SOURCE_PATTERN, organisation) else agency.value,
        "produced_at": now.isoformat(),
        "notification_id": notification_id,
        "agency": agency.value,
        "organisation": organisation,
        "status": status.value,
        "acknowledged_at": now.isoformat(),
        "reason_code": reason_code,
        "acknowledged_by": by,
        "note": note,
    }
    return validate(Acknowledgement, json.dumps(fields).encode(), Origin(channel), now)
