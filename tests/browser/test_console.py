"""The review console in Debian's chromium, signed in through the real Keycloak, on the
real broker with a real worker: each role's sign-in, a possible match settled by two
reviewers and the school told, the same journeys without JavaScript and by the keyboard
alone, claims, the refusals, and the authorisation matrix written from the roles."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from schemas import AuditRecord, Notification, ReviewDecision
from schemas.enums import Agency
from schemas.police import incident_key
from streams import topics
from streams.console import COOKIE
from streams.topics.io import find, produce, read_all
from tests import factories
from tests.browser.conftest import People, Stack
from tests.browser.support import (
    URLS,
    axe,
    context,
    flow,
    http_as,
    off_loop,
    personal_values,
    post_form,
    sign_in,
    tab_to,
    until,
)

# One group (one stack, one at a time), started first: its tests are the run's longest chain.
pytestmark = [pytest.mark.integration, pytest.mark.long, pytest.mark.xdist_group("console")]
MATRIX = Path(".local/console/matrix.txt")


def publish_incident(stack: Stack) -> str:
    """An incident whose first child (a date of birth a digit or two off, no NHS number)
    the matcher cannot link alone: a possible match, with the child's twin as the runner-up.
    Its reference, new for each test."""
    reference = f"CAD-{uuid.uuid4().hex[:8].upper()}"
    now = datetime.now(UTC)
    data = factories.incident(
        incident_reference=reference,
        event_id=f"evt-{reference}",
        risk_grade="medium",
        occurred_at=(now - timedelta(hours=1)).isoformat(),
        reported_at=(now - timedelta(minutes=5)).isoformat(),
    )
    data["children"][0]["nhs_number"] = None
    key = incident_key(data["source"], reference).encode()
    off_loop(produce, stack.settings, topics.POLICE_INCIDENTS, [(key, json.dumps(data).encode())])
    return reference


def open_pair(page: Page, stack: Stack, reference: str) -> str:
    """From the queue, once the console holds the incident's pair: its review id."""
    until(page, reference, path=f"{stack.console.base_url}/reviews")
    row = page.locator("tr", has_text=reference)
    row.get_by_role("link").first.click()
    page.wait_for_url(re.compile(r".*/reviews/rev-[0-9a-f-]+$"))
    return page.url.rsplit("/", 1)[1]


def through_check(page: Page, state: str, expect: str = "") -> None:
    """Continue to "check your answers" (checked with axe, and for ``expect``), record."""
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r".*/check$"))
    assert expect in page.content()
    axe(page, state)
    page.get_by_role("button", name="Record this decision").click()
    page.wait_for_url(re.compile(r".*/reviews$"))


def signed_in(
    browser: Browser, stack: Stack, who: str, javascript: bool = True
) -> tuple[BrowserContext, Page]:
    ctx = context(browser, javascript)
    return ctx, sign_in(ctx, stack.console.base_url, stack.staff[who])


def test_each_role_signs_in_through_the_providers_page_and_meets_only_its_pages(
    browser: Browser, stack: Stack
) -> None:
    anonymous = context(browser)
    start = anonymous.new_page()
    start.goto(stack.console.base_url + "/")
    axe(start, "signed out: the start page")
    start.goto(stack.console.base_url + "/accessibility")
    axe(start, "the accessibility statement")
    start.goto(stack.console.base_url + "/reviews")
    assert "You need to sign in" in start.content()
    axe(start, "refused: not signed in (401)")
    anonymous.close()

    checked: set[str] = set()

    def axe_once(page: Page, state: str) -> None:
        if state not in checked:
            checked.add(state)
            axe(page, state)

    for who, lands in [
        ("reviewer-2", "/reviews"),
        ("duty-manager", "/duty"),
        ("dsl-100000", "/inbox"),
    ]:
        ctx, page = signed_in(browser, stack, who)
        assert page.url == stack.console.base_url + lands, who
        assert f"Signed in as {stack.staff[who].name}" in page.content()
        (cookie,) = [c for c in ctx.cookies() if c["name"] == COOKIE]
        assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax"
        assert cookie["expires"] == -1  # gone with the browser; the server ends it sooner
        assert cookie["path"] == "/" and not cookie["domain"].startswith(".")
        if who == "duty-manager":
            axe(page, "the duty board")
            page.goto(stack.console.base_url + "/reviews")
            assert "Possible matches to review" in page.content()  # reads it, decides nothing
        elif who == "dsl-100000":
            axe(page, "the inbox")
            page.goto(stack.console.base_url + "/reviews")
            assert "You cannot review possible matches" in page.content()
            axe_once(page, "refused: a role that may not review (403)")
        else:
            axe(page, "the queue")
        # Sign-out ends the session at the provider too: signing in again asks again.
        page.get_by_role("button", name=re.compile("Sign out")).click()
        page.wait_for_url(re.compile(r".*/signed-out.*"))
        axe_once(page, "signed out")
        assert not [c for c in ctx.cookies() if c["name"] == COOKIE]
        page.goto(stack.console.base_url + "/auth/sign-in")
        page.wait_for_selector("#username")
        ctx.close()

    # Without JavaScript the provider's sign-out is one more button; either way the ID
    # token (the person's name and email, base64-encoded) is posted, never in an address.
    ctx, page = signed_in(browser, stack, "reviewer-2", javascript=False)
    page.get_by_role("button", name=re.compile("Sign out")).click()
    page.wait_for_selector("form[data-sign-out]")
    axe_once(page, "signing out at the provider, without JavaScript")
    page.get_by_role("button", name="Continue signing out").click()
    page.wait_for_url(re.compile(r".*/signed-out.*"))
    ctx.close()
    assert not [u for u in URLS if "id_token" in u], "an ID token in an address"
    flow(
        "each role signs in on Keycloak's page, lands where its role allows, "
        "signs out at the provider (the ID token posted, never in an address)"
    )


def test_a_possible_match_settled_by_two_reviewers_releases_the_held_notification_to_the_school(
    people: People, stack: Stack
) -> None:
    reference = publish_incident(stack)
    _, first = people("reviewer-1")
    review_id = open_pair(first, stack, reference)
    content = first.content()
    assert "Candidate 1" in content and "Candidate 2" in content
    assert "do not agree enough to link without a person" in content  # why, in words
    assert "Also candidate 2" in content  # the twin, in the household, plainly
    assert first.locator("mark.console-differs").count() > 0  # differing characters
    axe(first, "a pair: side by side, claimed by me")

    first.get_by_role("button", name="Continue").click()
    assert "Select whether a candidate is the child" in first.content()
    axe(first, "a pair: the decision left out (400)")
    first.get_by_label(re.compile("Candidate 1 is the child")).check()
    through_check(
        first,
        "check your answers: a confirmation needing four eyes",
        expect="a second reviewer must approve it",
    )
    assert "waits for a second reviewer" in first.content()
    axe(first, "the queue: a decision recorded (banner)")
    first.goto(f"{stack.console.base_url}/reviews/{review_id}")
    assert "You proposed this decision" in first.content()
    assert first.locator("form[action$='/approval']").count() == 0  # not their own
    axe(first, "a pair awaiting a second reviewer: the proposer's view")

    _, second = people("reviewer-2")
    second.goto(f"{stack.console.base_url}/reviews/{review_id}")
    assert "Awaiting a second reviewer" in second.content()
    axe(second, "a pair awaiting a second reviewer: another reviewer's view")
    second.get_by_label(re.compile("Yes, candidate 1 is the child")).check()
    through_check(second, "check your answers: approving")
    assert "the notifications it held back are on their way" in second.content()

    decisions = [
        ReviewDecision.model_validate_json(m.value)
        for m in off_loop(read_all, stack.settings, [topics.REVIEW_DECISIONS])
        if m.value
    ]
    mine = [d for d in decisions if d.review_id == review_id]
    assert [d.decision for d in mine] == ["propose", "confirm"]
    proposal, confirmation = mine
    assert confirmation.decided_by == proposal.decided_by != confirmation.approved_by
    assert all("@" not in d.decided_by for d in mine)  # a staff id, never an email
    assert confirmation.evidence is not None and confirmation.evidence.model_version
    assert {c.record_id for c in confirmation.evidence.candidates} == {
        "E09000030:C-100",
        "E09000030:C-101",
    }

    def school(record: Any) -> Notification | None:
        told = Notification.model_validate_json(record.value)
        return told if told.incident_reference == reference else None

    notification = off_loop(find, stack.settings, [topics.NOTIFY[Agency.SCHOOL]], school)
    assert notification.recipient.organisation == "urn:100000" and notification.revision == 1

    def decided(record: Any) -> AuditRecord | None:
        audit = AuditRecord.model_validate_json(record.value)
        return (
            audit
            if (audit.incident_reference, audit.stage) == (reference, "review_decided")
            else None
        )

    audit = off_loop(find, stack.settings, [topics.AUDIT], decided)
    assert audit.review is not None
    assert (audit.review.decided_by, audit.review.approved_by) == (
        proposal.decided_by,
        confirmation.approved_by,
    )
    assert audit.child.record_id == "E09000030:C-100"
    flow(
        "a pair raised by the worker, proposed by one reviewer, approved by another; "
        "the school told (revision 1), the audit names both"
    )


def test_without_javascript_a_reviewer_marks_a_pair_not_sure_then_settles_it_as_none(
    browser: Browser, stack: Stack
) -> None:
    reference = publish_incident(stack)
    ctx, page = signed_in(browser, stack, "reviewer-1", javascript=False)
    review_id = open_pair(page, stack, reference)
    axe(page, "a pair, without JavaScript")
    page.get_by_label("I am not sure").check()
    page.get_by_role("button", name="Continue").click()
    assert "Select why you are not sure" in page.content()
    axe(page, "a pair: not sure without a reason (400), without JavaScript")
    page.get_by_label("I am not sure").check()
    page.get_by_label("It could be a brother, sister or twin").check()
    page.fill("#note", "Ask the school which twin was at home")
    through_check(page, "check your answers: not sure", expect="Nothing is sent")
    row = page.locator("tr", has_text=reference)
    assert "Not sure" in row.inner_text()

    page.goto(f"{stack.console.base_url}/reviews/{review_id}")
    assert "Ask the school which twin was at home" in page.content()  # shown to colleagues
    axe(page, "a pair marked not sure")
    page.get_by_label("None of these is the child").check()
    through_check(page, "check your answers: none of these")
    assert reference not in page.content()  # settled: off the queue
    page.goto(f"{stack.console.base_url}/reviews/{review_id}")
    assert "already been settled" in page.content()
    axe(page, "a settled pair (409)")

    def early_help(record: Any) -> Notification | None:
        told = Notification.model_validate_json(record.value)
        return told if told.incident_reference == reference else None

    off_loop(find, stack.settings, [topics.NOTIFY[Agency.EARLY_HELP]], early_help)  # R8
    ctx.close()
    flow(
        "without JavaScript: a pair marked not sure with a reason and a note, then none of "
        "these; the worker routes the child as not known (early help, R8)"
    )


def test_by_keyboard_alone_with_shortcuts_that_never_fire_while_typing(
    people: People, stack: Stack
) -> None:
    reference = publish_incident(stack)
    _, page = people("reviewer-2")
    until(page, reference, path=f"{stack.console.base_url}/reviews")
    link = page.locator("tr", has_text=reference).get_by_role("link").first
    tab_to(page, f"a[href='{link.get_attribute('href')}']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/reviews/rev-[0-9a-f-]+$"))

    page.keyboard.press("2")  # the shortcut: candidate 2
    assert page.locator("input[value='candidate-2']").is_checked()
    page.keyboard.press("u")
    assert page.locator("input[value='unsure']").is_checked()
    tab_to(page, "#note")
    page.keyboard.type("2 n u 1")  # typed into the note: no shortcut fires
    assert page.locator("input[value='unsure']").is_checked()
    assert page.input_value("#note") == "2 n u 1"
    tab_to(page, "input[name='reason'][value='need_police_information']")  # into the group
    page.keyboard.press("ArrowDown")  # arrows move and choose within a radio group
    page.keyboard.press("ArrowDown")
    assert page.locator("input[value='possible_sibling_or_twin']").is_checked()
    tab_to(page, "button.govuk-button:not(.govuk-button--secondary)")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/check$"))
    axe(page, "check your answers, reached by keyboard")
    tab_to(page, "form[action$='/check'] button")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/reviews$"))
    assert "Recorded as not sure" in page.content()
    flow(
        "by keyboard alone: Tab to the pair, shortcuts 2 and u, typing '2 n u 1' in the note "
        "fires none, Space and Enter to record"
    )


def test_a_pair_one_reviewer_opened_is_shown_to_the_other_as_being_reviewed(
    people: People, stack: Stack
) -> None:
    reference = publish_incident(stack)
    _, first = people("reviewer-1")
    review_id = open_pair(first, stack, reference)
    _, second = people("reviewer-2")
    until(second, reference, path=f"{stack.console.base_url}/reviews")
    assert "Being reviewed by Priya Shah" in second.locator("tr", has_text=reference).inner_text()
    second.goto(f"{stack.console.base_url}/reviews/{review_id}")
    assert "Being reviewed by Priya Shah" in second.content()
    assert second.locator("form#decide").count() == 0
    axe(second, "a pair claimed by someone else")

    # Posted anyway (an old tab): refused, and nothing is published.
    csrf = second.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    post_form(second, f"/reviews/{review_id}/decision", {"csrf_token": csrf, "decision": "none"})
    assert "Someone else is working on this pair" in second.content()
    axe(second, "refused: someone else is working on the pair (409)")
    second.goto(f"{stack.console.base_url}/reviews/rev-00000000-0000-0000-0000-000000000000")
    assert "Page not found" in second.content()
    axe(second, "a page that is not there (404)")

    first.get_by_role("button", name="Leave this pair for someone else").click()
    first.wait_for_url(re.compile(r".*/reviews$"))
    second.goto(f"{stack.console.base_url}/reviews/{review_id}")
    assert second.locator("form#decide").count() == 1
    flow("claims: a pair opened by one reviewer is 'being reviewed' for the other until left")


def test_refused_without_its_csrf_token_with_a_forged_cookie_and_when_signed_out(
    browser: Browser, stack: Stack
) -> None:
    reference = publish_incident(stack)
    ctx, page = signed_in(browser, stack, "reviewer-1")
    review_id = open_pair(page, stack, reference)
    url = f"/reviews/{review_id}/decision"
    with http_as(ctx, stack.console.base_url, stack.console.ca_file) as http:
        no_token = http.post(url, data={"decision": "none"})
        wrong_token = http.post(url, data={"decision": "none", "csrf_token": "x" * 43})
    assert (no_token.status_code, wrong_token.status_code) == (403, 403)
    assert "This form could not be accepted" in no_token.text
    post_form(page, url, {"decision": "none"})  # as a forged page would, in the browser
    assert "This form could not be accepted" in page.content()
    axe(page, "refused: a form without its CSRF token (403)")
    page.goto(f"{stack.console.base_url}/reviews/{review_id}")

    forged = context(browser)
    forged.add_cookies(
        [{"name": COOKIE, "value": secrets.token_urlsafe(32), "url": stack.console.base_url}]
    )
    forged_page = forged.new_page()
    forged_page.goto(f"{stack.console.base_url}/reviews/{review_id}")
    assert "You need to sign in" in forged_page.content()
    with http_as(forged, stack.console.base_url, stack.console.ca_file) as http:
        assert http.post(url, data={"decision": "none"}).status_code == 401
    forged.close()

    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    with http_as(ctx, stack.console.base_url, stack.console.ca_file) as old:
        page.get_by_role("button", name=re.compile("Sign out")).click()
        page.wait_for_url(re.compile(r".*/signed-out.*"))
        after = old.post(url, data={"decision": "none", "csrf_token": csrf})
    assert after.status_code == 401  # the old session and its token are worth nothing
    decisions = off_loop(read_all, stack.settings, [topics.REVIEW_DECISIONS])
    assert not [
        m
        for m in decisions
        if m.value and ReviewDecision.model_validate_json(m.value).review_id == review_id
    ]
    ctx.close()
    flow(
        "refused: a POST without or with a wrong CSRF token (403), a forged cookie (401), "
        "a signed-out session (401)"
    )


# The intended rights, written from the roles (DOMAIN.md §8, issue 23), not read from the
# code: a reviewer works the review console; the duty manager and the schools' leads have
# no review pages; nobody signed in has only the start page, the statement and operations.
# 200 shown, 303 done and moved on, 401 sign in, 403 not for this role, 409 not now.
ROLES = ("anonymous", "reviewer-1", "duty-manager", "dsl-100000")
UNSURE = {"decision": "unsure", "reason": "other"}
NOBODY = "/reviews/rev-00000000-0000-0000-0000-000000000000"
ACTIONS: list[tuple[str, str, str, dict[str, str], tuple[int, int, int, int]]] = [
    ("start page", "GET", "/", {}, (200, 200, 200, 200)),
    ("accessibility statement", "GET", "/accessibility", {}, (200, 200, 200, 200)),
    ("health", "GET", "/health", {}, (200, 200, 200, 200)),
    ("metrics", "GET", "/metrics", {}, (200, 200, 200, 200)),
    ("the queue", "GET", "/reviews", {}, (401, 200, 200, 403)),
    ("a pair", "GET", "/reviews/{review}", {}, (401, 200, 200, 403)),
    ("decide (to check)", "POST", "/reviews/{review}/decision", UNSURE, (401, 303, 403, 403)),
    ("check your answers", "GET", "/reviews/{review}/check", {}, (401, 200, 403, 403)),
    (
        "record, wrong draft",
        "POST",
        "/reviews/{review}/check",
        {"draft": "x"},
        (401, 409, 403, 403),
    ),
    ("approve (none asked)", "POST", "/reviews/{review}/approval", {}, (401, 409, 403, 403)),
    ("leave the pair", "POST", "/reviews/{review}/release", {}, (401, 303, 403, 403)),
    ("a pair that is not there", "GET", NOBODY, {}, (401, 404, 404, 403)),
]


def test_the_authorisation_matrix_role_by_page_by_action(
    browser: Browser, people: People, stack: Stack
) -> None:
    reference = publish_incident(stack)
    sessions: dict[str, tuple[BrowserContext, httpx.Client, str]] = {}
    for role in ROLES:
        if role == "anonymous":
            ctx = context(browser)
            page = ctx.new_page()
            page.goto(stack.console.base_url + "/")
        else:
            ctx, page = people(role)
            page.goto(stack.console.base_url + "/")
        csrf = page.locator("input[name=csrf_token]").first
        token = (csrf.get_attribute("value") or "") if csrf.count() else ""
        sessions[role] = (ctx, http_as(ctx, stack.console.base_url, stack.console.ca_file), token)
    review_id = open_pair(people("reviewer-1")[1], stack, reference)

    lines, wrong = [], []
    for name, method, path, form, expected in ACTIONS:
        cells = []
        for role, want in zip(ROLES, expected, strict=True):
            _, http, csrf = sessions[role]
            url = path.format(review=review_id)
            if method == "GET":
                got = http.get(url).status_code
            else:
                got = http.post(url, data={**form, "csrf_token": csrf}).status_code
            cells.append(f"{got}{'' if got == want else '!'}")
            if got != want:
                wrong.append((name, role, got, want))
        lines.append(f"  {name:<26} {method:<5} " + " ".join(f"{c:>13}" for c in cells))
    header = f"  {'action':<26} {'':<5} " + " ".join(f"{r:>13}" for r in ROLES)
    MATRIX.parent.mkdir(parents=True, exist_ok=True)
    count = len(ACTIONS) * len(ROLES)
    summary = f"  {len(ACTIONS)} actions x {len(ROLES)} roles = {count} cells, "
    summary += f"{count - len(wrong)} as intended"
    MATRIX.write_text("\n".join([summary, header, *lines]) + "\n")
    for _, http, _ in sessions.values():
        http.close()
    sessions["anonymous"][0].close()
    assert not wrong, wrong


def test_no_personal_value_in_the_consoles_metrics(browser: Browser, stack: Stack) -> None:
    status, body = off_loop(stack.console.get, "/metrics")
    assert status == 200 and "frontdoor_console_requests_total" in body
    assert 'route="/reviews/{review_id}"' in body  # the route template, never the id
    assert not [v for v in personal_values() if v in body]
    assert "rev-" not in body


def test_a_session_past_its_lifetime_is_refused(browser: Browser, stack: Stack) -> None:
    """A console of its own whose sessions last four seconds, whatever is done with them:
    asked again and again (which would keep an idle session alive), it ends all the same."""
    short = stack.short
    short.wait_ready(60)
    ctx = context(browser)
    page = sign_in(ctx, short.base_url, stack.staff["reviewer-1"])
    until(page, "Your session has ended", timeout_s=30, path=f"{short.base_url}/reviews")
    assert "signed in a long time ago" in page.content()
    axe(page, "refused: a session past its lifetime (401)")
    with http_as(ctx, short.base_url, short.ca_file) as http:
        assert http.get("/reviews").status_code == 401
    ctx.close()
    short.stop()  # done with: it need not follow the topics for the other tests
    flow("a session past its lifetime is refused, however busy (a console with 4 s sessions)")
