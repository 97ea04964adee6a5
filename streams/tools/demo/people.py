"""The demo's people: the console and Keycloak beside the worker, and two reviewers who
settle the most urgent possible match in a headless browser as people would, one
deciding and (four eyes) the other approving; a screenshot of each step under
``.local/demo-console/``.

The reviewer decides as the simulated one does (``day.would_confirm``: names and a date
of birth or NHS number agreeing: confirm; otherwise none of these).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemas import AuditRecord, PossibleMatch
from streams import topics
from streams.settings import Settings
from streams.tools.demo.day import say, would_confirm
from streams.tools.platform import idp
from streams.tools.platform.console_process import ConsoleProcess
from streams.topics.io import find, read_all

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

SHOTS = Path(".local/demo-console")
VIEW: ViewportSize = {"width": 1280, "height": 900}


@dataclass
class Settled:
    """What the console's reviewers did, for the summary."""

    review_id: str = ""
    person_reference: str = ""
    decision: str = ""
    record_id: str | None = None
    released: list[str] = field(default_factory=list)  # recipients the decision released
    screenshots: list[Path] = field(default_factory=list)
    skipped: str = ""  # why nothing was settled, when nothing was


def settle_one(
    settings: Settings, console: ConsoleProcess, provider: idp.IdpSettings, ca_file: Path
) -> Settled:
    """Two reviewers settle the queue's first pair in chromium; then wait for the worker
    to act on it (its audit record) and say what it released."""
    settled = Settled()
    try:
        from playwright.sync_api import sync_playwright

        from streams.tools.platform import browser
    except ImportError:
        settled.skipped = "Playwright is not installed (make demo installs it)"
        return settled
    matches = {
        m.review_id: m
        for m in (
            PossibleMatch.model_validate_json(r.value)
            for r in read_all(settings, [topics.REVIEW_MATCHES])
        )
    }
    staff = {a.username: a for a in idp.staff(provider)}
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    try:
        with sync_playwright() as playwright:
            chromium = browser.launch(playwright, ca_file)
            try:
                _decide(chromium, console, staff, matches, settled)
            finally:
                chromium.close()
    except browser.BrowserMissing as missing:
        settled.skipped = str(missing)
        return settled
    if settled.review_id:
        _released(settings, settled)
    return settled


def _shot(page: Page, settled: Settled, name: str) -> None:
    path = SHOTS / f"{len(settled.screenshots) + 1:02d}-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    settled.screenshots.append(path)


def _decide(
    chromium: Browser,
    console: ConsoleProcess,
    staff: dict[str, idp.StaffAccount],
    matches: dict[str, PossibleMatch],
    settled: Settled,
) -> None:
    from streams.tools.platform import browser

    ctx = chromium.new_context(viewport=VIEW)
    page = ctx.new_page()
    page.goto(f"{console.base_url}/")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#username")
    _shot(page, settled, "sign-in-at-the-provider")
    ctx.close()

    ctx = chromium.new_context(viewport=VIEW)
    page = browser.sign_in(ctx, console.base_url, staff["reviewer-1"])
    _shot(page, settled, "queue")
    first = page.locator("table.console-queue tbody tr a").first
    if first.count() == 0:
        settled.skipped = "no possible match was waiting for a person"
        return
    first.click()
    page.wait_for_url(re.compile(r".*/reviews/rev-[0-9a-f-]+$"))
    review_id = page.url.rsplit("/", 1)[1]
    match = matches[review_id]
    settled.review_id, settled.person_reference = review_id, match.person_reference
    _shot(page, settled, "pair-side-by-side")
    best = match.candidates[0]
    if would_confirm(best.reasons):
        page.locator("input[name=decision][value='candidate-1']").check()
        settled.record_id = best.record_id
    else:
        page.locator("input[name=decision][value='none']").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r".*/check$"))
    _shot(page, settled, "check-your-answers")
    four_eyes = "a second reviewer must approve it" in page.content()
    page.get_by_role("button", name="Record this decision").click()
    page.wait_for_url(re.compile(r".*/reviews$"))
    _shot(page, settled, "recorded")
    ctx.close()
    settled.decision = "confirm" if settled.record_id else "reject"
    if not four_eyes:
        return
    ctx = chromium.new_context(viewport=VIEW)
    page = browser.sign_in(ctx, console.base_url, staff["reviewer-2"])
    page.goto(f"{console.base_url}/reviews/{review_id}")
    _shot(page, settled, "second-reviewer")
    page.locator("input[name=approval][value='approve']").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r".*/check$"))
    page.get_by_role("button", name="Record this decision").click()
    page.wait_for_url(re.compile(r".*/reviews$"))
    _shot(page, settled, "approved")
    ctx.close()
    settled.decision = "confirm, approved by a second reviewer"


def _released(settings: Settings, settled: Settled) -> None:
    """Wait for the worker's audit record of the decision: what it released."""

    def decided(record: Any) -> AuditRecord | None:
        audit = AuditRecord.model_validate_json(record.value)
        review = audit.review
        return audit if review is not None and review.review_id == settled.review_id else None

    audit = find(settings, [topics.AUDIT], decided, timeout_s=60)
    settled.released = [n.recipient.organisation for n in audit.child.notifications]


def show(settled: Settled, console: ConsoleProcess, provider: idp.IdpSettings) -> None:
    """The console's address, the demo sign-ins, and what the reviewers did."""
    say("console", f"{console.base_url} (HTTPS, log {console.log_path}); sign in as:")
    for person in idp.staff(provider):
        where = f" for {', '.join(person.organisations)}" if person.organisations else ""
        roles = ", ".join(r.replace("_", " ") for r in person.roles)
        print(f"{'':14}{person.username:<14} password {person.password}  ({roles}{where})")
    if settled.skipped:
        say("console", f"no review settled in the browser: {settled.skipped}")
        return
    say(
        "console",
        f"two reviewers in a headless browser settled the most urgent possible match "
        f"({settled.decision}); the worker then told {len(settled.released)} recipients: "
        f"{', '.join(settled.released) or 'nobody more'}",
    )
    say("console", f"screenshots of each step: {SHOTS}/ ({len(settled.screenshots)} files)")
