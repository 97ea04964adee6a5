"""Alert emails: an organisation hears that something is waiting in its inbox, never what.

Email is not a secure channel for the content (DOMAIN.md section 8), so an alert says only
"1 new notification for School (URN 100000), due before Thu 26 Nov 08:30", with the
inbox's address. Two kinds, one email per organisation and kind at a time:

- **arrival**: notifications that reached the inbox and were not alerted yet;
- **reminder**: notifications nobody has acknowledged ``reminder_before`` (policy) before
  their deadline, to the whole organisation.

``due`` works out which alerts are owed (pure: the inbox, what was already sent, the
clock). ``Mailer`` sends them through a real SMTP client (aiosmtplib) to the configured
relay, in the background: a relay that is down, or an address it refuses, is retried
with a growing wait, counted in metrics, and never holds up a page. An alert is recorded
as sent in ``console.inbox-activity.v1`` once the relay has it, so a restarted console
sends none twice.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import aiosmtplib
import yaml

from schemas import InboxActivity
from schemas.enums import Agency
from streams.console import activity, words
from streams.console.activity import Activity
from streams.console.metrics import ConsoleMetrics
from streams.console.settings import ConsoleSettings
from streams.inbox import Inbox, Owner

log = logging.getLogger("frontdoor.console.mail")
SCAN_S = 5.0


AlertKind = Literal["arrival", "reminder"]


@dataclass(frozen=True)
class Alert:
    """One email owed to one organisation: which notifications, and the earliest deadline."""

    owner: Owner
    kind: AlertKind
    notification_ids: tuple[str, ...]
    due: datetime

    @property
    def key(self) -> tuple[Owner, str, tuple[str, ...]]:
        return self.owner, self.kind, self.notification_ids


def due(
    inbox: Inbox,
    activity: Activity,
    addressed: set[Owner],
    now: datetime,
    reminder_before: timedelta,
) -> list[Alert]:
    """The alerts owed now, to organisations that have an address: for each, one for the
    notifications not yet alerted on arrival, and one for those not acknowledged within
    ``reminder_before`` of their deadline (and not past it)."""
    owed: dict[tuple[Owner, AlertKind], list[tuple[datetime, str]]] = {}
    for held in inbox:
        n = held.notification
        owner = (n.recipient.agency, n.recipient.organisation)
        if held.acks or owner not in addressed:
            continue
        ident = n.notification_id
        if not activity.alerted(ident, "arrival"):
            owed.setdefault((owner, "arrival"), []).append((n.deadline, ident))
        if n.deadline - reminder_before <= now < n.deadline and not activity.alerted(
            ident, "reminder"
        ):
            owed.setdefault((owner, "reminder"), []).append((n.deadline, ident))
    return [
        Alert(owner, kind, tuple(i for _, i in sorted(items)), min(d for d, _ in items))
        for (owner, kind), items in sorted(owed.items())
    ]


def message(
    alert: Alert, zone: ZoneInfo, sender: str, to: list[str], inbox_url: str
) -> EmailMessage:
    """The email: who it is for, how many, by when, and where to read them. No name, no
    date of birth, no incident: nothing that would matter if it went astray."""
    agency, organisation = alert.owner
    where = words.organisation(agency, organisation)
    count = len(alert.notification_ids)
    plural = "s" if count != 1 else ""
    when = words.local(alert.due, zone)
    if alert.kind == "arrival":
        subject = f"{count} new notification{plural} for {where}, due before {when}"
        verb = "is" if count == 1 else "are"
        opening = f"{count} new notification{plural} for {where} {verb} waiting in frontdoor."
    else:
        subject = (
            f"Reminder: {count} notification{plural} for {where} not yet acknowledged, "
            f"due before {when}"
        )
        opening = (
            f"Nobody at {where} has acknowledged {count} notification{plural} yet, and the "
            f"first is due before {when}."
        )
    body = "\n\n".join(
        [
            opening,
            f"The earliest is due before {when}.",
            f"Sign in to read and acknowledge {'it' if count == 1 else 'them'}: {inbox_url}",
            "This email says only that something is waiting: what it is about is in the "
            "console, for the people who may see it.",
        ]
    )
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail["Subject"] = subject
    mail["Message-ID"] = f"<alert-{uuid.uuid4()}@frontdoor>"
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(body)
    return mail


def load_addresses(path: Path | None) -> dict[Owner, list[str]]:
    """Each organisation's alert addresses: ``<agency>/<organisation>: [address, ...]``."""
    if path is None:
        return {}
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping of '<agency>/<organisation>' to addresses")
    found: dict[Owner, list[str]] = {}
    for key, addresses in raw.items():
        agency, _, organisation = str(key).partition("/")
        if agency not in Agency.__members__.values() or not organisation:
            raise ValueError(f"{path}: {key!r} is not '<agency>/<organisation>'")
        if not isinstance(addresses, list) or not all(
            isinstance(a, str) and "@" in a for a in addresses
        ):
            raise ValueError(f"{path}: {key!r} needs a list of email addresses")
        found[(Agency(agency), organisation)] = list(addresses)
    return found


class Refused(Exception):
    """The relay refused every address for good (a bounce)."""


@dataclass
class Pending:
    alert: Alert
    to: list[str]
    attempts: int = 0
    next_try: float = 0.0


@dataclass
class Mailer:
    """Sends the alerts owed, in the background; ``scan`` is one pass (the tests call it)."""

    config: ConsoleSettings
    inbox: Inbox
    activity: Activity
    metrics: ConsoleMetrics
    addresses: dict[Owner, list[str]]
    zone: ZoneInfo
    reminder_before: timedelta
    clock: Callable[[], datetime]  # the deployment's (deadlines)
    monotonic: Callable[[], float]  # the real one (retries)
    record: Callable[[InboxActivity], Awaitable[None]]
    ready: Callable[[], bool]
    pending: dict[tuple[Owner, str, tuple[str, ...]], Pending] = field(default_factory=dict)

    async def run(self) -> None:
        while True:
            try:
                await self.scan()
            except Exception as exc:
                log.warning("alert emails: a pass failed (%s)", type(exc).__name__)
            await asyncio.sleep(SCAN_S)

    async def scan(self) -> None:
        if not self.ready() or not self.config.smtp_host:
            return
        now = self.clock()
        owed = due(self.inbox, self.activity, set(self.addresses), now, self.reminder_before)
        for alert in owed:  # what is already on its way (being retried) is not owed twice
            busy = {
                i
                for p in self.pending.values()
                if (p.alert.owner, p.alert.kind) == (alert.owner, alert.kind)
                for i in p.alert.notification_ids
            }
            fresh = tuple(i for i in alert.notification_ids if i not in busy)
            if not fresh:
                continue
            deadlines = [h.notification.deadline for i in fresh if (h := self.inbox.find(i))]
            alert = Alert(alert.owner, alert.kind, fresh, min(deadlines, default=alert.due))
            self.pending[alert.key] = Pending(alert, list(self.addresses[alert.owner]))
        self.metrics.mail_queued.set(len(self.pending))
        for key, item in list(self.pending.items()):
            if item.next_try > self.monotonic():
                continue
            await self._attempt(key, item, now)
        self.metrics.mail_queued.set(len(self.pending))

    async def _attempt(
        self, key: tuple[Owner, str, tuple[str, ...]], item: Pending, now: datetime
    ) -> None:
        item.attempts += 1
        url = f"{self.config.base_url}/inbox"
        mail = message(item.alert, self.zone, self.config.mail_from, item.to, url)
        try:
            refused = await self._send(mail, item.to)
        except (TimeoutError, aiosmtplib.SMTPException, OSError, Refused) as exc:
            bounce = isinstance(exc, Refused)
            self.metrics.mail.labels("bounced" if bounce else "retried").inc()
            log.warning("alert email not sent (%s), try %d", type(exc).__name__, item.attempts)
            if item.attempts >= self.config.mail_attempts:
                self.metrics.mail.labels("given_up").inc()
                log.error("alert email given up after %d tries", item.attempts)
                del self.pending[key]
                await self._recorded(item.alert, now, sent=False)
                return
            item.next_try = self.monotonic() + self.config.mail_retry_s * 2 ** (item.attempts - 1)
            return
        for _ in refused:
            self.metrics.mail.labels("bounced").inc()
        self.metrics.mail.labels("sent").inc()
        del self.pending[key]
        await self._recorded(item.alert, now, sent=True)

    async def _send(self, mail: EmailMessage, to: list[str]) -> list[str]:
        """Hand the email to the relay; the addresses it refused (it took the rest)."""
        context = None
        if self.config.smtp_starttls:
            context = ssl.create_default_context(
                cafile=str(self.config.smtp_ca_file) if self.config.smtp_ca_file else None
            )
        password = (
            self.config.smtp_password_file.read_text().strip()
            if self.config.smtp_password_file
            else None
        )
        try:
            errors, _ = await aiosmtplib.send(
                mail,
                recipients=to,
                hostname=self.config.smtp_host,
                port=self.config.smtp_port,
                start_tls=self.config.smtp_starttls,
                tls_context=context,
                username=self.config.smtp_username,
                password=password,
                timeout=15,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise Refused(f"{len(exc.recipients)} addresses refused") from None
        return list(errors)

    async def _recorded(self, alert: Alert, now: datetime, sent: bool) -> None:
        """Keep that the alert went (or was given up on): no second one after a restart."""
        agency, organisation = alert.owner
        event = activity.event(
            agency,
            organisation,
            "alerted",
            now,
            list(alert.notification_ids),
            alert=alert.kind,
            due=alert.due,
            note=None if sent else "given up: the relay did not take it",
        )
        try:
            await self.record(event)
        except Exception as exc:
            log.warning("alert email not recorded as sent (%s)", type(exc).__name__)
            self.activity.apply(event)
