"""The console in a real browser: Debian's chromium driven by Playwright (nothing
downloads a browser), signing people in through the real Keycloak login page, on the
real secured broker with a real worker and a real `frontdoor console` process.

One stack for every browser test (they run one at a time, in one xdist group): a
namespace of its own on the broker, the council's records, a worker, a console
registered with the provider and sending its alert emails to a real SMTP server on
127.0.0.1, and a gateway (the same notifications over HTTPS). Package-scoped, so that
Playwright's event loop (its sync API holds one on the thread) is gone before the next
package's tests, which call ``asyncio.run``, run in the same process. Every page a test
opens is checked with axe-core for WCAG 2.2 AA, and every address the browser asks for is
kept: at the end none may hold a personal value, nor may the console's log or metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from schemas.enums import Agency
from streams import access
from streams.routing import load_policy
from streams.settings import Settings
from streams.tools.platform import idp
from streams.tools.platform.console_process import ConsoleProcess, start_console
from streams.tools.platform.gateway_process import GatewayProcess, start_gateway
from streams.tools.platform.localkafka import LocalKafkaSettings, acting_as, broker_answers
from streams.tools.platform.mailrelay import MailRelay
from streams.tools.platform.worker_process import WorkerProcess, start_worker
from streams.topics import CHILD_RECORDS
from streams.topics.io import produce
from tests.browser.support import AXE_LOG, URLS, context, launch, personal_values, sign_in
from tests.console_support import records
from tests.integration.conftest import namespace


@dataclass
class Stack:
    kafka: LocalKafkaSettings
    provider: idp.IdpSettings
    settings: Settings  # the namespace, as the admin principal
    worker: WorkerProcess
    console: ConsoleProcess
    staff: dict[str, idp.StaffAccount]
    relay: MailRelay
    gateway: GatewayProcess
    keys: dict[str, str]  # an API key for each organisation that reads over HTTPS
    short: ConsoleProcess  # a second console whose sessions last 4 s (started with the rest)
    visited: list[str] = field(default_factory=list)


# Each organisation's alert addresses (one that bounces: its school changed its lead).
ADDRESSES = {
    "school/urn:100000": ["safeguarding@school-100000.example", "deputy@school-100000.example"],
    "school/urn:100001": ["safeguarding@school-100001.example", "old-lead@bounce.invalid"],
    "social_care/E09000030:front-door": ["front-door@council-mail.example"],
}
GATEWAY_KEYS = {  # name -> (principal, organisation)
    "school-a": (access.agency_principal(Agency.SCHOOL), "urn:100000"),
    "school-b": (access.agency_principal(Agency.SCHOOL), "urn:100001"),
    "front-door": (access.agency_principal(Agency.SOCIAL_CARE), "E09000030:front-door"),
    "duty-team": (access.agency_principal(Agency.SOCIAL_CARE), "E09000030:emergency-duty-team"),
}


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    kafka = LocalKafkaSettings()
    if not broker_answers(kafka, timeout_s=5):
        pytest.fail(f"no Kafka broker answers on {kafka.bootstrap}: run the tests with `make test`")
    provider = idp.IdpSettings()
    try:  # make test launched it in the background: wait for it (or start it)
        idp.start(provider, kafka)
    except idp.IdpError as error:
        pytest.fail(f"no identity provider on {provider.base_url}: {error}")
    home = tmp_path_factory.mktemp("console-stack")
    with namespace(kafka, home / "state", 2) as settings:
        produce(
            settings,
            CHILD_RECORDS,
            [(r.key.encode(), r.model_dump_json().encode()) for r in records()],
        )
        worker = start_worker(acting_as(settings, access.WORKER), home / "worker.log")
        relay = MailRelay(spool=home / "mail").start()
        addresses = home / "mail-to.yaml"
        addresses.write_text(yaml.safe_dump(ADDRESSES))
        console = start_console(
            kafka,
            provider,
            settings,
            home,
            smtp_host="127.0.0.1",
            smtp_port=relay.port,
            mail_to_file=addresses,
            mail_retry_s=2,
            mail_from="frontdoor@council-mail.example",
            grafana_url="https://grafana.council-mail.example/d/frontdoor",
        )
        short = start_console(kafka, provider, settings, home / "short", session_max_s=4)
        forces = set(load_policy(None).signals.police_sources)
        gateway, keys = start_gateway(kafka, settings, home / "gateway", GATEWAY_KEYS, forces)
        try:
            worker.wait_ready(90)
            console.wait_ready(60)
            gateway.wait_ready(60)
            staff = {a.username: a for a in idp.staff(provider)}
            yield Stack(
                kafka, provider, settings, worker, console, staff, relay, gateway, keys, short
            )
        finally:
            short.stop()
            console.stop()
            gateway.stop()
            worker.stop()
            relay.stop()
            _no_personal_data(console)


def _no_personal_data(console: ConsoleProcess) -> None:
    """What the console wrote to its log, and every address the browser asked for."""
    log = console.log()
    values = personal_values()
    assert not [v for v in values if v in log], "personal data in the console's log"
    leaked = [u for u in URLS if any(v.lower() in u.lower() for v in values)]
    assert not leaked, f"personal data in {len(leaked)} addresses the browser asked for"


@pytest.fixture(scope="package")
def browser(stack: Stack) -> Iterator[Browser]:
    """Playwright's sync API holds an event loop on this thread while it runs: the stack
    (which uses asyncio.run) is made first, and tests reach Kafka off this thread
    (``support.off_loop``)."""
    with sync_playwright() as running:
        launched = launch(running, stack.kafka)
        yield launched
        launched.close()


People = Callable[[str], tuple[BrowserContext, Page]]


@pytest.fixture(scope="package")
def people(browser: Browser, stack: Stack) -> Iterator[People]:
    """A person signed in once for every test that needs them (each sign-in goes through
    Keycloak's page; the tests that sign out, or need JavaScript off, sign in their own)."""
    signed: dict[str, tuple[BrowserContext, Page]] = {}

    def person(who: str) -> tuple[BrowserContext, Page]:
        if who not in signed:
            ctx = context(browser)
            signed[who] = (ctx, sign_in(ctx, stack.console.base_url, stack.staff[who]))
        return signed[who]

    yield person
    for ctx, _ in signed.values():
        ctx.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """axe-core's results, page by page and state by state, and the matrix."""
    for title, path in (
        ("Console: axe-core at WCAG 2.2 AA, every page and state", AXE_LOG),
        ("Console: authorisation matrix", Path(".local/console/matrix.txt")),
        ("Console: browser flows", Path(".local/console/flows.txt")),
        (
            "Console: isolation, organisation x page and channel",
            Path(".local/console/isolation.txt"),
        ),
        ("Console: alert emails", Path(".local/console/mail.txt")),
    ):
        if path.exists():
            terminalreporter.section(f"{title} (also in {path})")
            for line in path.read_text().splitlines():
                terminalreporter.write_line(line)
