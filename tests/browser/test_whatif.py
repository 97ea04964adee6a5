"""The policy what-if in a real browser: a policy officer signs in through Keycloak's page,
chooses today and a draft policy file (R3 within 12 hours instead of 24), watches the job's
progress, and reads the result, sorting its table by a column's heading; then the same
result without JavaScript. The job reads the real topics as the ``console`` principal.
Every page and state is checked with axe-core at WCAG 2.2 AA."""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from schemas.enums import Agency
from streams.routing import default_policy_text, load_policy
from tests.browser.conftest import People, Stack
from tests.browser.support import axe, context, flow
from tests.browser.test_inbox import child, publish, sent_to

pytestmark = [pytest.mark.integration, pytest.mark.long, pytest.mark.xdist_group("console")]
SHOTS = Path(".local/console/shots")
DRAFT = default_policy_text().replace(
    "    deadline: {clock: hours, amount: 24}\n", "    deadline: {clock: hours, amount: 12}\n", 1
)


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"whatif-{name}.png"), full_page=True)


def _choose(page: Page, day: datetime, draft: Path | None) -> None:
    for prefix in ("since", "until"):
        page.fill(f"#{prefix}-day", str(day.day))
        page.fill(f"#{prefix}-month", str(day.month))
        page.fill(f"#{prefix}-year", str(day.year))
    if draft is not None:
        page.set_input_files("#draft", str(draft))
    page.get_by_role("button", name="Run the what-if").click()


def _minutes(moved: str) -> int:
    """A "Moved by" cell in minutes: "earlier by 4h50m" is -290, "—" is 0."""
    found = re.fullmatch(r"(earlier|later) by (\d+)h(\d+)m", moved.strip())
    if found is None:
        return 0
    minutes = int(found.group(2)) * 60 + int(found.group(3))
    return -minutes if found.group(1) == "earlier" else minutes


def _result(page: Page, timeout_s: float = 180) -> None:
    """Wait on the job's page for the link its script adds when the job is done (or the
    result itself, if it was done before the page came)."""
    heading = page.get_by_role("heading", name="What the draft would have changed")
    link = page.get_by_role("link", name="See what the draft would have changed")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if heading.count():
            return
        if link.count():
            link.click()
            heading.wait_for()
            return
        page.wait_for_timeout(250)
    raise AssertionError(
        f"the what-if did not finish in {timeout_s:.0f} s: {page.content()[-800:]}"
    )


def test_a_policy_officer_tries_a_draft_on_today_and_sorts_what_it_changes(
    people: People, browser: Browser, stack: Stack, tmp_path: Path
) -> None:
    # A child the council does not know, a standard-risk domestic-abuse incident: the front
    # door is told under R3 (24 hours; 12 in the draft) and R2 (before school starts).
    reference = publish(
        stack, [child(None, 9_000 + uuid.uuid4().int % 1_000)], timedelta(minutes=5), "standard"
    )
    sent_to(stack, reference, Agency.SOCIAL_CARE, 1)  # the worker has routed it
    draft = tmp_path / "r3-within-12-hours.yaml"
    draft.write_text(DRAFT)
    _, page = people("policy-officer")
    base = stack.console.base_url
    page.goto(f"{base}/")
    page.get_by_role("link", name="Try a draft policy on past incidents").click()
    page.wait_for_url(f"{base}/whatif")
    axe(page, "the what-if: choose the days and a draft")
    _shot(page, "form")

    page.get_by_role("button", name="Run the what-if").click()
    content = page.content()
    assert "Enter the first day as a real date" in content
    assert "Choose the draft policy file" in content

    broken = tmp_path / "broken.yaml"
    broken.write_text(DRAFT.replace("clock: hours, amount: 12", "clock: fortnights, amount: 12"))
    today = datetime.now(load_policy(None).calendar().zone)
    _choose(page, today, broken)
    assert (
        "The draft policy is not valid: rule R3 (rules[2]), field deadline.clock" in page.content()
    )
    axe(page, "the what-if: a draft that is not a valid policy (400)")

    _choose(page, today, draft)
    page.wait_for_url(re.compile(r".*/whatif/[A-Za-z0-9_-]{16}$"))
    job = page.url
    if "What-if running" in page.content():
        axe(page, "the what-if: running, its progress shown")
        _shot(page, "running")
    _result(page)
    axe(page, "the what-if: its result")
    _shot(page, "result")
    text = page.content()
    trust = re.search(r"reproduced exactly <strong>(\d+) of the (\d+) notifications", text)
    assert trust is not None and int(trust.group(1)) >= 1
    earlier = re.search(r"Deadlines earlier \(median, p90\)\s*</dt>\s*<dd[^>]*>\s*(\d+) \(", text)
    assert earlier is not None and int(earlier.group(1)) >= 1, "R3's deadlines 12 hours earlier"

    # Sorted on the server by a column's heading: the largest move earlier first.
    page.get_by_role("link", name="Moved by").click()
    page.wait_for_url(re.compile(r".*sort=moved.*"))
    header = page.locator("th[aria-sort]")
    assert header.inner_text().startswith("Moved by")
    order = header.get_attribute("aria-sort")
    page.get_by_role("link", name=re.compile(r"^Moved by")).click()
    page.wait_for_url(re.compile(r".*sort=moved.*"))
    assert page.locator("th[aria-sort]").get_attribute("aria-sort") != order
    if page.locator("th[aria-sort]").get_attribute("aria-sort") == "descending":
        page.get_by_role("link", name=re.compile(r"^Moved by")).click()
        page.wait_for_url(re.compile(r".*order=ascending.*"))
    rows = [r.split("\t") for r in page.locator("#changes ~ div table tbody tr").all_inner_texts()]
    moves = [_minutes(r[7]) for r in rows]
    assert moves == sorted(moves) and moves[0] < 0, moves
    mine = [r for r in rows if reference in r[0]]
    assert not mine or mine[0][7].startswith("earlier by"), mine
    axe(page, "the what-if: its table sorted by a heading")

    # The same result without JavaScript: the person's own job (the same session), sorted
    # by links.
    quiet = context(browser, javascript=False)
    try:
        quiet.add_cookies(page.context.cookies())
        plain = quiet.new_page()
        plain.goto(f"{job}?sort=draft&order=descending")
        assert (
            plain.locator("th[aria-sort='descending']").inner_text().startswith("Deadline, draft")
        )
        axe(plain, "the what-if: its result without JavaScript")
    finally:
        quiet.close()
    flow(
        "a policy officer runs a what-if of today (R3 within 12 hours) and sorts what it changes;"
        " a bad draft is named by rule and field; the result reads the same without JavaScript"
    )
