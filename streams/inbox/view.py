"""Each organisation's notifications, as every channel shows them (the gateway's API, its
webhooks, the console's inbox): the latest revision of each, and its acknowledgement
state. Pure: fed the notification and acknowledgement topics.

An organisation sees only notifications whose recipient it is, each as it was sent
(already minimised for its agency). An acknowledgement may be read before the
notification it closes (two topics); it is kept until that arrives. One from anyone but
the recipient closes nothing (the worker dead-letters it). The earliest acknowledgement
closes the deadline (``acknowledged_at``); the latest says where it stands now
(``acknowledged``: received, then actioned).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
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
    acks: list[Acknowledgement] = field(default_factory=list)  # in acknowledged_at order

    @property
    def first_ack(self) -> Acknowledgement | None:
        return self.acks[0] if self.acks else None

    @property
    def acknowledged(self) -> AckStatus | None:
        """Where it stands now: the latest acknowledgement's status (None: open)."""
        return self.acks[-1].status if self.acks else None

    @property
    def acknowledged_at(self) -> datetime | None:
        """When its deadline closed: the earliest acknowledgement."""
        return self.acks[0].acknowledged_at if self.acks else None

    @property
    def rejected(self) -> Acknowledgement | None:
        """The recipient's rejection, if it has rejected the notification."""
        return next((a for a in self.acks if a.status is AckStatus.REJECTED), None)

    @property
    def revised(self) -> bool:
        """Whether the content changed since it was first sent (a later revision)."""
        return self.notification.revision > 0

    @property
    def order(self) -> tuple[datetime, str]:
        return self.notification.deadline, self.notification.notification_id

    def view(self) -> dict[str, Any]:
        """The item every channel shows: the same fields for the API and the console."""
        return {
            "notification_id": self.notification.notification_id,
            "revision": self.notification.revision,
            "status": "acknowledged" if self.acks else "open",
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


Owner = tuple[Agency, str]


class Inbox:
    def __init__(self) -> None:
        self._held: dict[str, Held] = {}
        self._by_org: dict[Owner, set[str]] = {}
        self._early_acks: dict[str, list[Acknowledgement]] = {}

    def __len__(self) -> int:
        return len(self._held)

    def __iter__(self) -> Iterator[Held]:
        return iter(self._held.values())

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
            for early in self._early_acks.pop(ident, []):
                self.acknowledgement(early)
        else:
            held.notification = notification
        return True

    def acknowledgement(self, ack: Acknowledgement) -> Held | None:
        """Apply ``ack``; the notification it closes, if held and the ack is the
        recipient's (a repeat of one already held changes nothing)."""
        held = self._held.get(ack.notification_id)
        if held is None:
            self._early_acks.setdefault(ack.notification_id, []).append(ack)
            return None
        recipient = held.notification.recipient
        if (ack.agency, ack.organisation) != (recipient.agency, recipient.organisation):
            return None  # not the recipient's: the worker dead-letters it; it closes nothing
        if all(a.event_id != ack.event_id for a in held.acks):
            held.acks.append(ack)
            held.acks.sort(key=lambda a: a.acknowledged_at)
        return held

    def get(self, agency: Agency, organisation: str, notification_id: str) -> Held | None:
        """The notification if this organisation is its recipient (else as if none)."""
        held = self._held.get(notification_id)
        if held is None:
            return None
        recipient = held.notification.recipient
        return (
            held if (recipient.agency, recipient.organisation) == (agency, organisation) else None
        )

    def find(self, notification_id: str) -> Held | None:
        """Any organisation's notification: for the front door's duty board only."""
        return self._held.get(notification_id)

    def of(self, agency: Agency, organisation: str) -> list[Held]:
        """All of the organisation's notifications, due soonest first."""
        chosen = [self._held[i] for i in self._by_org.get((agency, organisation), ())]
        chosen.sort(key=lambda h: h.order)
        return chosen

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
            for h in self.of(agency, organisation)
            if status is Status.ALL or (not h.acks) == (status is Status.OPEN)
        ]
        if after is not None:
            chosen = [h for h in chosen if h.order > after]
        items = chosen[:limit]
        more = len(chosen) > limit
        return items, encode_cursor(items[-1].order) if more and items else None
