"""The demo's agencies in the console: three more incidents reach two schools' inboxes;
each school's safeguarding lead signs in through Keycloak in a headless browser; the
first school's lead takes, acknowledges and prints its notifications, the second's sends
one back as not for them (the child has moved school); the front door's duty manager
finds it on the duty board. A screenshot of each screen under ``.local/demo-console/``.
The console emails each school through a real SMTP server on 127.0.0.1 (aiosmtpd);
every email it received is checked for personal data.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from schemas import Notification
from schemas.enums import Agency, ChildRole, ChildStatus, Gender, IncidentType, RiskGrade
from streams import topics
from streams.settings import Settings
from streams.tools.demo.day import say
from streams.tools.platform import idp
from streams.tools.platform.console_process import ConsoleProcess
from streams.tools.platform.mailrelay import MailRelay
from streams.topics.io import produce, read_all

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

SHOTS = Path(".local/demo-console")
SCHOOL_A, SCHOOL_B = "urn:100000", "urn:100001"
DEMO_SCHOOLS = (SCHOOL_A, SCHOOL_B)  # in the demo council (its policy's schools)
# Who hears of what: each school's shared safeguarding mailbox (one old address bounces),
# and the front door's.
ADDRESSES = {
    f"school/{SCHOOL_A}": ["safeguarding@school-100000.example", "deputy@school-100000.example"],
    f"school/{SCHOOL_B}": ["safeguarding@school-100001.example", "old-lead@bounce.invalid"],
    "social_care/E09000030:front-door": ["front-door@council-mail.example"],
}
# Invented children, not known to the council: the police name their school.
CHILDREN = [
    (SCHOOL_A, "Imogen", "Ashworth-Kaur", "2016-06-14", "victim"),
    (SCHOOL_A, "Reuben", "Ashworth-Kaur", "2013-02-09", "witness"),
    (SCHOOL_B, "Cosima", "Delacroix-Hale", "2015-11-23", "victim"),
]


def mail_relay(home: Path) -> tuple[MailRelay, Path]:
    """The local SMTP server the console sends to, and the addresses file it reads."""
    relay = MailRelay(spool=home / "mail").start()
    for old in (home / "mail").glob("*.eml"):
        old.unlink()
    addresses = home / "mail-to.yaml"
    addresses.parent.mkdir(parents=True, exist_ok=True)
    addresses.write_text(yaml.safe_dump(ADDRESSES))
    return relay, addresses


@dataclass
class Schools:
    """What the schools and the duty manager did, for the summary."""

    notifications: int = 0
    acknowledged: list[str] = field(default_factory=list)  # "received" / "actioned"
    sent_back: bool = False
    on_the_board: bool = False
    routed: bool = False
    screenshots: list[Path] = field(default_factory=list)
    emails: int = 0
    addresses: int = 0
    leaked: int = 0
    checked: int = 0
    skipped: str = ""


def publish(settings: Settings, clock: Callable[[], datetime], force: str, after: int) -> list[str]:
    """Two domestic-abuse incidents reported a few minutes ago (simulated clock): a brother
    and sister at the first school, and a girl the police think attends the second. On the
    force's own topic, continuing its sequence; their references."""
    now = clock()
    references = []
    for number, children in enumerate((CHILDREN[:2], CHILDREN[2:]), start=1):
        reference = f"CAD-DEMO-SCHOOL-{number}"
        incident = {
            "event_id": f"{force.lower()}-demo-school-{number}",
            "source": force,
            "produced_at": now.isoformat(),
            "incident_reference": reference,
            "incident_type": "domestic_abuse",
            "occurred_at": (now - timedelta(minutes=50)).isoformat(),
            "reported_at": (now - timedelta(minutes=10)).isoformat(),
            "risk_grade": "medium",
            "dash_ticks": 7,
            "sequence": after + number,
            "location_postcode": "n1 9gu",
            "circumstances": "Raised voices; a neighbour called it in.",
            "children": [
                {
                    "person_reference": f"{force}-DEMO-{number}-{i}",
                    "role": role,
                    "given_name": given,
                    "family_name": family,
                    "date_of_birth": born,
                    "gender": "female" if given in ("Imogen", "Cosima") else "male",
                    "address": "12 Wharf Lane, London",
                    "postcode": "n1 9gu",
                    "school_urn": urn.removeprefix("urn:"),
                }
                for i, (urn, given, family, born, role) in enumerate(children, start=1)
            ],
        }
        key = f"{force}:{reference}".encode()
        produce(settings, topics.force_incidents(force), [(key, json.dumps(incident).encode())])
        references.append(reference)
    return references


def _schools_told(
    settings: Settings, references: list[str], timeout_s: float = 60
) -> list[Notification]:
    deadline = time.monotonic() + timeout_s
    found: list[Notification] = []
    while time.monotonic() < deadline:
        found = [
            n
            for m in read_all(settings, [topics.NOTIFY[Agency.SCHOOL]])
            if m.value
            and (n := Notification.model_validate_json(m.value)).incident_reference in references
        ]
        if len(found) >= len(CHILDREN):
            return found
        time.sleep(0.5)
    return found


def play(
    settings: Settings,
    clock: Callable[[], datetime],
    force: str,
    after: int,
    console: ConsoleProcess,
    provider: idp.IdpSettings,
    ca_file: Path,
    relay: MailRelay,
) -> Schools:
    done = Schools()
    try:
        from playwright.sync_api import sync_playwright

        from streams.tools.platform import browser
    except ImportError:
        done.skipped = "Playwright is not installed (make demo installs it)"
        return done
    references = publish(settings, clock, force, after)
    told = _schools_told(settings, references)
    done.notifications = len(told)
    if len(told) < len(CHILDREN):
        done.skipped = "the schools' notifications did not arrive in time"
        return done
    staff = {a.username: a for a in idp.staff(provider)}
    try:
        with sync_playwright() as playwright:
            chromium = browser.launch(playwright, ca_file)
            try:
                _first_school(chromium, console, staff, done)
                _second_school(chromium, console, staff, done)
                _duty_manager(chromium, console, staff, done)
            finally:
                chromium.close()
    except browser.BrowserMissing as missing:
        done.skipped = str(missing)
    _emails(settings, relay, done)
    return done


def _shot(page: Page, done: Schools, name: str) -> None:
    path = SHOTS / f"inbox-{len(done.screenshots) + 1:02d}-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    done.screenshots.append(path)


def _signed_in(
    chromium: Browser, console: ConsoleProcess, person: idp.StaffAccount
) -> tuple[BrowserContext, Page]:
    """A browser of the person's own, signed in through Keycloak's page."""
    from streams.tools.platform import browser

    ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
    return ctx, browser.sign_in(ctx, console.base_url, person)


def _until(page: Page, url: str, text: str, timeout_s: float = 30) -> bool:
    """Reload ``url`` until ``text`` is on it (the console follows the bus)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        page.goto(url)
        if text in page.content():
            return True
        page.wait_for_timeout(300)
    return False


def _first_school(
    chromium: Browser, console: ConsoleProcess, staff: dict[str, Any], done: Schools
) -> None:
    ctx, page = _signed_in(chromium, console, staff["dsl-100000"])
    if not _until(page, f"{console.base_url}/inbox", "Reuben"):
        done.skipped = "the first school's inbox did not show its notifications"
        return
    _shot(page, done, "school-100000-inbox")
    for name, status in (("Imogen", "received"), ("Reuben", "actioned")):
        page.goto(f"{console.base_url}/inbox")
        page.get_by_role("link", name=re.compile(name)).first.click()
        page.wait_for_url(re.compile(r".*/inbox/ntf-[0-9a-f-]+$"))
        if name == "Imogen":
            page.get_by_role("button", name="Take it").click()
            _shot(page, done, "school-100000-notification-taken")
        label = "We have received it" if status == "received" else "We have acted on it"
        with page.expect_navigation():
            page.get_by_role("button", name=label).click()
        done.acknowledged.append(status)
        if name == "Imogen":
            _shot(page, done, "school-100000-acknowledged")
            page.goto(page.url + "/print")
            _shot(page, done, "school-100000-print-view")
    ctx.close()


def _second_school(
    chromium: Browser, console: ConsoleProcess, staff: dict[str, Any], done: Schools
) -> None:
    ctx, page = _signed_in(chromium, console, staff["dsl-100001"])
    if not _until(page, f"{console.base_url}/inbox", "Cosima"):
        done.skipped = "the second school's inbox did not show its notification"
        return
    page.get_by_role("link", name=re.compile("Cosima")).first.click()
    page.wait_for_url(re.compile(r".*/inbox/ntf-[0-9a-f-]+$"))
    _shot(page, done, "school-100001-notification")
    page.get_by_role("link", name="This notification is not for us").click()
    page.get_by_label(re.compile("It is not for us")).check()
    page.fill("#note", "Cosima moved to St Anne's in September")
    _shot(page, done, "school-100001-sending-it-back")
    page.get_by_role("button", name="Send it back to the front door").click()
    page.wait_for_url(re.compile(r".*/inbox$"))
    done.sent_back = "Sent back to the front door" in page.content()
    ctx.close()


def _duty_manager(
    chromium: Browser, console: ConsoleProcess, staff: dict[str, Any], done: Schools
) -> None:
    ctx, page = _signed_in(chromium, console, staff["duty-manager"])
    done.on_the_board = _until(page, f"{console.base_url}/duty", "moved to St Anne")
    _shot(page, done, "duty-board")
    if done.on_the_board:
        row = page.locator("tr", has_text="moved to St Anne")
        row.get_by_role("link").first.click()
        page.wait_for_url(re.compile(r".*/duty/notifications/ntf-[0-9a-f-]+$"))
        _shot(page, done, "duty-board-sent-back")
        page.fill("#note", "Phoned St Anne's designated safeguarding lead")
        page.get_by_role("button", name="Mark it as routed").click()
        page.wait_for_url(re.compile(r".*/duty$"))
        done.routed = "Marked as routed by hand" in page.content()
    ctx.close()


def personal_values(settings: Settings) -> set[str]:
    """Every value of every notification the demo sent that could identify a child or say
    what happened (closed-list words such as "victim" or "female" apart)."""
    closed = {m.value for e in (ChildRole, Gender, RiskGrade, IncidentType, ChildStatus) for m in e}
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and len(value) >= 4 and not value.isdigit():
            found.add(value)
        elif isinstance(value, date) and not isinstance(value, datetime):
            found.update({value.isoformat(), f"{value.day} {value:%B %Y}"})

    for m in read_all(settings, list(topics.NOTIFY.values())):
        if m.value:
            n = Notification.model_validate_json(m.value)
            walk(n.payload.model_dump())
            found.update({n.person_reference, n.incident_reference})
    for _, given, family, born, _ in CHILDREN:
        found.update({given, family, born})
    return found - closed - {"social_care", "school", "health", "early_help", "domestic_abuse"}


def _emails(settings: Settings, relay: MailRelay, done: Schools) -> None:
    deadline = time.monotonic() + 15  # the console sends in the background
    while time.monotonic() < deadline and not any("100001" in r.text for r in relay.received):
        time.sleep(0.5)
    received = relay.received
    values = personal_values(settings)
    done.emails = len(received)
    done.addresses = len({a for r in received for a in r.recipients})
    done.checked = len(values)
    done.leaked = sum(
        1 for r in received if any(re.search(rf"\b{re.escape(v)}\b", r.text, re.I) for v in values)
    )


def show(done: Schools, relay: MailRelay) -> None:
    if done.skipped:
        say("schools", f"not shown in the browser: {done.skipped}")
    else:
        say(
            "schools",
            f"{done.notifications} notifications reached two schools' inboxes; school 100000's "
            f"lead took one, acknowledged {len(done.acknowledged)} "
            f"({', '.join(done.acknowledged)}) and printed one; school 100001's lead sent one "
            f"back as not for them{'' if done.sent_back else ' (NOT confirmed)'}",
        )
        say(
            "duty board",
            "the duty manager saw it sent back and routed it by hand"
            if done.on_the_board and done.routed
            else "the duty manager did NOT see the notification sent back",
        )
    say(
        "email",
        f"the local SMTP server (127.0.0.1:{relay.port}) received {done.emails} alert emails "
        f"for {done.addresses} addresses; "
        + (
            f"none held personal data (each checked against {done.checked} values)"
            if done.leaked == 0
            else f"{done.leaked} HELD PERSONAL DATA"
        ),
    )
    say(
        "schools",
        f"screenshots of each screen: {SHOTS}/inbox-*.png ({len(done.screenshots)} files)",
    )
