"""Driving the console in Debian's chromium: launch it trusting only the local CA, sign a
person in through Keycloak's own login page, check a page with axe-core, move by the
keyboard alone, and keep every address asked for."""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, Playwright

from streams.tools.platform import browser as chromium
from streams.tools.platform.idp import StaffAccount
from streams.tools.platform.localkafka import LocalKafkaSettings
from tests.factories import PERSONAL_VALUES

T = TypeVar("T")
AXE_LOG = Path(".local/console/axe.txt")
FLOWS = Path(".local/console/flows.txt")
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
URLS: list[str] = []  # every address the browser asked for, in every test


def off_loop(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking Kafka helper (it calls asyncio.run) on a thread of its own: this one
    holds Playwright's event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call, *args, **kwargs).result()


PERSONAL_EXTRA: list[str] = []  # each test module's own invented children


def personal_values() -> tuple[str, ...]:
    """The invented children's values, the twin's name, and the demo staff's own details."""
    staff = ("Priya Shah", "Tom Becker", "Alan Moss", "Dee Patel", "Priya Lane", "council.example")
    return (*PERSONAL_VALUES, "Zachary", *staff, *PERSONAL_EXTRA)


def launch(playwright: Playwright, kafka: LocalKafkaSettings) -> Browser:
    return chromium.launch(playwright, kafka.secrets.ca_file)


_NO_SCRIPT: set[int] = set()  # contexts with JavaScript switched off (by id)


def context(browser: Browser, javascript: bool = True) -> BrowserContext:
    made = browser.new_context(
        java_script_enabled=javascript, viewport={"width": 1280, "height": 900}
    )
    made.on("request", lambda request: URLS.append(request.url))
    made.set_default_timeout(15_000)
    if not javascript:
        _NO_SCRIPT.add(id(made))
    return made


def sign_in(ctx: BrowserContext, console_url: str, person: StaffAccount) -> Page:
    return chromium.sign_in(ctx, console_url, person)


_CHECKERS: dict[int, Page] = {}  # a scripted page per browser, for pages rendered without


def axe(page: Page, state: str) -> int:
    """axe-core on the page as it is now; the result is logged, and must be none. A page
    in a context without JavaScript (where axe cannot run) is checked as that context
    rendered it: its HTML, in a page of the same browser with scripts for axe only."""
    checked = page
    if id(page.context) in _NO_SCRIPT:
        running = page.context.browser
        assert running is not None
        if id(running) not in _CHECKERS or _CHECKERS[id(running)].is_closed():
            _CHECKERS[id(running)] = running.new_context(
                viewport={"width": 1280, "height": 900}
            ).new_page()
        checked = _CHECKERS[id(running)]
        base = page.url.split("/", 3)
        html = re.sub(r"<script\b.*?</script>", "", page.content(), flags=re.S)  # as it ran
        checked.set_content(html.replace("<head>", f'<head><base href="{base[0]}//{base[2]}/">', 1))
    # Only the violations in full: the passes' node lists are large, and only sent back.
    options = {"runOnly": {"type": "tag", "values": WCAG_22_AA}, "resultTypes": ["violations"]}
    results = Axe().run(checked, options=options)
    violations = results.response["violations"]
    path = re.sub(r"/rev-[0-9a-f-]+", "/{review}", page.url.split("?")[0].split("//", 1)[1])
    path = re.sub(r"/ntf-[0-9a-f-]+", "/{notification}", path)
    path = re.sub(r"/whatif/[A-Za-z0-9_-]{16}", "/whatif/{job}", path)
    path = path.partition("/")[2]
    AXE_LOG.parent.mkdir(parents=True, exist_ok=True)
    with AXE_LOG.open("a") as out:
        out.write(f"  {len(violations)} violations  /{path:<28} {state}\n")
    problems = [(v["id"], [n["html"][:120] for n in v["nodes"][:3]]) for v in violations]
    assert not violations, problems
    return len(violations)


def flow(line: str) -> None:
    FLOWS.parent.mkdir(parents=True, exist_ok=True)
    with FLOWS.open("a") as out:
        out.write(f"  {line}\n")


def http_as(ctx: BrowserContext, base_url: str, ca_file: Path) -> httpx.Client:
    """A plain HTTP client holding the browser context's cookies (its session, if any),
    trusting the local CA: for requests a page would not send (no CSRF token, a replay)."""
    trust = ssl.create_default_context(cafile=str(ca_file))
    client = httpx.Client(base_url=base_url, verify=trust, follow_redirects=False)
    for cookie in ctx.cookies():
        if base_url.endswith(cookie["domain"]) or cookie["domain"] in base_url:
            client.cookies.set(cookie["name"], cookie["value"])
    return client


def post_form(page: Page, action: str, fields: dict[str, str]) -> None:
    """Submit a form the page never offered (an old tab, a forged page), as the browser
    would, and wait for what the console answers."""
    with page.expect_navigation():
        page.evaluate(
            """([action, fields]) => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = action;
                for (const [name, value] of Object.entries(fields)) {
                    const input = document.createElement("input");
                    input.type = "hidden"; input.name = name; input.value = value;
                    form.appendChild(input);
                }
                document.body.appendChild(form);
                form.submit();
            }""",
            [action, fields],
        )


def tab_to(page: Page, selector: str, limit: int = 150) -> None:
    """Press Tab until the element ``selector`` has the focus (the keyboard alone)."""
    target = page.locator(selector)
    for _ in range(limit):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never took the focus in {limit} presses of Tab")


def until(page: Page, text: str, timeout_s: float = 30, path: str | None = None) -> None:
    """Reload ``path`` (or the page) until ``text`` appears: the console follows the bus."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in page.content():
            return
        page.wait_for_timeout(250)
        page.goto(path) if path else page.reload()
    raise AssertionError(f"{text!r} did not appear within {timeout_s:.0f} s")
