"""What people did in each organisation's inbox, rebuilt from ``console.inbox-activity.v1``:
who has each notification now, the colleagues a notification can be handed to, which alert
emails were sent (so that a restarted console sends none twice), and which rejected
notifications the front door has routed by hand. Pure: fed the topic's events in order."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas import InboxActivity
from schemas.enums import Agency
from schemas.inbox import InboxAction
from streams.inbox import Owner


@dataclass(frozen=True)
class Holder:
    staff_id: str
    name: str


class Activity:
    def __init__(self) -> None:
        self._holders: dict[str, Holder] = {}
        self._colleagues: dict[Owner, dict[str, str]] = {}
        self._alerted: set[tuple[str, str]] = set()  # (notification id, arrival | reminder)
        self._routed: dict[str, InboxActivity] = {}
        self._history: dict[str, list[InboxActivity]] = {}
        self.seen: set[str] = set()  # event ids applied (a repeat changes nothing)

    def apply(self, event: InboxActivity) -> None:
        if event.event_id in self.seen:
            return
        self.seen.add(event.event_id)
        owner = (event.agency, event.organisation)
        people = self._colleagues.setdefault(owner, {})
        if event.staff_id is not None and event.staff_name:
            people[event.staff_id] = event.staff_name
        if event.to_staff_id is not None and event.to_name:
            people[event.to_staff_id] = event.to_name
        for ident in event.notification_ids:
            if event.action != "alerted":
                self._history.setdefault(ident, []).append(event)
            if event.action == "taken" and event.staff_id and event.staff_name:
                self._holders[ident] = Holder(event.staff_id, event.staff_name)
            elif event.action == "handed" and event.to_staff_id:
                self._holders[ident] = Holder(event.to_staff_id, event.to_name or "a colleague")
            elif event.action == "released":
                self._holders.pop(ident, None)
            elif event.action == "alerted" and event.alert is not None:
                self._alerted.add((ident, event.alert))
            elif event.action == "routed":
                self._routed[ident] = event

    def holder(self, notification_id: str) -> Holder | None:
        return self._holders.get(notification_id)

    def colleagues(self, owner: Owner) -> dict[str, str]:
        """Everyone seen working for the organisation (signed in, took or was handed one),
        by staff id: whom a notification can be handed to."""
        return dict(self._colleagues.get(owner, {}))

    def alerted(self, notification_id: str, alert: str) -> bool:
        return (notification_id, alert) in self._alerted

    def routed(self, notification_id: str) -> InboxActivity | None:
        return self._routed.get(notification_id)

    def history(self, notification_id: str) -> list[InboxActivity]:
        """Who handled the notification, in order (the audit shown with it)."""
        return list(self._history.get(notification_id, []))


def event(
    agency: Agency,
    organisation: str,
    action: InboxAction,
    now: datetime,
    notification_ids: list[str] | None = None,
    staff: tuple[str, str] | None = None,
    **more: Any,
) -> InboxActivity:
    """One thing done in an organisation's inbox, by ``staff`` (id, name), at ``now``."""
    staff_id, staff_name = staff if staff is not None else (None, None)
    return InboxActivity(
        event_id=f"act-{uuid.uuid4()}",
        source="console",
        produced_at=now,
        agency=agency,
        organisation=organisation,
        action=action,
        at=now,
        notification_ids=notification_ids or [],
        staff_id=staff_id,
        staff_name=staff_name,
        **more,
    )
