"""Each organisation's notifications, as the gateway shows them: open ones due soonest
first, with cursor paging. Pure: fed the notification and acknowledgement topics.

An organisation sees only notifications whose recipient it is, each as it was sent
(already minimised for its agency), latest revision only. An acknowledgement may be read
before the notification it closes (two topics); it is kept until that arrives.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from schemas import Acknowledgement, Notification
from schemas.enums import AckStatus, Agency


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ALL = "all"


@dataclass
class Held:
    notification: Notification
    acknowledged: AckStatus | None = None
    acknowledged_at: datetime | None = None

    @property
    def order(self) -> tuple[datetime, str]:
        return self.notification.deadline, self.notification.notification_id

    def view(self) -> dict[str, Any]:
        return {
            "notification_id": self.notification.notification_id,
            "revision": self.notification.revision,
            "status": "acknowledged" if self.acknowledged else "open",
            "acknowledgement": self.acknowledged.value if self.acknowledged else None,
            "acknowledged_at": self.acknowledged_at.isoformat() if self.acknowledged_at else None,
            "deadline": self.notification.deadline.isoformat(),
            "notification": self.notification.model_dump(mode="json"),
        }


class BadCursor(ValueError):
    pass


def encode_cursor(order: tuple[datetime, str]) -> str:
    raw = json.dumps([order[0].isoformat(), order[1]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, ident = json.loads(raw)
        at = datetime.fromisoformat(when)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise BadCursor("the cursor is not one this service gave") from exc
    if at.tzinfo is None or not isinstance(ident, str):
        raise BadCursor("the cursor is not one this service gave")
    return at, ident


class Inbox:
    def __init__(self) -> None:
        self._held: dict[str, Held] = {}
        self._by_org: dict[tuple[Agency, str], set[str]] = {}
        self._early_acks: dict[str, Acknowledgement] = {}

    def __len__(self) -> int:
        return len(self._held)

    def notification(self, notification: Notification) -> bool:
        """Keep ``notification`` (the highest revision wins); True if it is new or newer."""
        ident = notification.notification_id
        held = self._held.get(ident)
        if held is not None and held.notification.revision >= notification.revision:
            return False
        if held is None:
            held = Held(notification)
            self._held[ident] = held
            owner = (notification.recipient.agency, notification.recipient.organisation)
            self._by_org.setdefault(owner, set()).add(ident)
            early = self._early_acks.pop(ident, None)
            if early is not None:
                self.acknowledgement(early)
        else:
            held.notification = notification
        return True

    def acknowledgement(self, ack: Acknowledgement) -> None:
        held = self._held.get(ack.notification_id)
        if held is None:
            self._early_acks[ack.notification_id] = ack
            return
        recipient = held.notification.recipient
        if (ack.agency, ack.organisation) != (recipient.agency, recipient.organisation):
            return  # not the recipient's: the worker dead-letters it; it closes nothing
        if held.acknowledged_at is None or ack.acknowledged_at < held.acknowledged_at:
            held.acknowledged, held.acknowledged_at = ack.status, ack.acknowledged_at

    def get(self, agency: Agency, organisation: str, notification_id: str) -> Held | None:
        """The notification if this organisation is its recipient (else as if none)."""
        held = self._held.get(notification_id)
        if held is None:
            return None
        recipient = held.notification.recipient
        return (
            held if (recipient.agency, recipient.organisation) == (agency, organisation) else None
        )

    def page(
        self,
        agency: Agency,
        organisation: str,
        status: Status,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[Held], str | None]:
        """Up to ``limit`` of the organisation's notifications due soonest first, after
        ``cursor``; and the cursor for the next page (None when there is none)."""
        after = decode_cursor(cursor) if cursor else None
        chosen = [
            h
            for h in (self._held[i] for i in self._by_org.get((agency, organisation), ()))
            if status is Status.ALL or (h.acknowledged is None) == (status is Status.OPEN)
        ]
        chosen.sort(key=lambda h: h.order)
        if after is not None:
            chosen = [h for h in chosen if h.order > after]
        items = chosen[:limit]
        more = len(chosen) > limit
        return items, encode_cursor(items[-1].order) if more and items else None
