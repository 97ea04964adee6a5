"""`frontdoor bench console` (in `make bench`): the console's page latency with 10,000
open reviews and 10,000 open notifications.

On the real local broker, a harsh council (50,000 children, every one with a brother or
sister, twins) and police-side children made from it with several errors each and no NHS
number, matched by the same core the worker runs until 10,000 of them are possible
matches; their incidents, the records and the possible matches are published as the
worker would have. A real `frontdoor console` follows them (time to ready and memory
measured), a reviewer signs in through the real Keycloak in chromium, and a plain HTTPS
client then asks for the queue (first, deep) and for pairs, one reviewer at a time and
eight at once, and records decisions through check-your-answers (each published,
acks=all). Then the agency inbox and the duty board: 10,000 open notifications, half of
them one school's (a harsher inbox than any school's), the rest spread over 400
organisations of every agency; a school's lead and the duty manager signed in through
Keycloak; the inbox's first and a deep page, a notification, an acknowledgement
(published, acks=all) and the duty board. The load generator shares the machine's two
cores with the console, the broker and Keycloak: the figures are a ceiling on latency,
not a floor.
"""

from __future__ import annotations

import asyncio
import random
import re
import ssl
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from schemas import ChildRecord, Notification, PoliceIncident
from schemas.enums import Agency
from schemas.notification import notification_id
from schemas.police import incident_key
from streams import access, topics
from streams.console import COOKIE
from streams.incidents import process_incident
from streams.matching import Replica
from streams.operations import acl
from streams.routing import load_policy
from streams.settings import Settings
from streams.tools.bench.pipeline import WORK, Figure, logging_quiet
from streams.tools.platform import idp, localkafka
from streams.tools.platform.console_process import ConsoleProcess, start_console
from streams.tools.platform.worker_process import wait_for
from streams.tools.synthetic import DEMO_DAY, HARSH, council, matching_cases
from streams.topics.io import produce

REVIEWS = 10_000
NOTIFICATIONS = 10_000
COUNCIL_SIZE = 50_000
SCHOOL = "urn:100000"  # the benchmark's lead's school (dsl-100000 in the realm)


def run(reviews: int = REVIEWS, council_size: int = COUNCIL_SIZE) -> int:
    logging_quiet()
    kafka = localkafka.LocalKafkaSettings()
    broker = localkafka.start(kafka, access.parties(load_policy(None)))
    provider = idp.IdpSettings()
    launched = idp.launch(provider, kafka) is not None
    run_id = uuid.uuid4().hex[:8]
    settings = localkafka.client_settings(
        kafka, "admin", topic_prefix=f"bench.console{run_id}.", app_id=f"frontdoor-bench-c{run_id}"
    )
    acl.provision(settings)
    print(
        f"console benchmark on the local broker {kafka.bootstrap}: a harsh council of "
        f"{council_size:,} children and {reviews:,} open reviews",
        flush=True,
    )
    try:
        began = time.monotonic()
        published = _publish(settings, reviews, council_size)
        print(
            f"  {published.reviews:,} possible matches from {published.children:,} police-side "
            f"children, published in {time.monotonic() - began:.0f} s",
            flush=True,
        )
        began = time.monotonic()
        notifications = _notifications(settings, NOTIFICATIONS)
        one = sum(1 for n in notifications if n.recipient.organisation == SCHOOL)
        print(
            f"  {len(notifications):,} open notifications ({one:,} to one school) "
            f"published in {time.monotonic() - began:.0f} s",
            flush=True,
        )
        idp.start(provider, kafka)
        figures = _measure(kafka, provider, settings, published, notifications)
    finally:
        if launched:
            idp.stop(provider)
        if not broker.reused:
            localkafka.stop(kafka)
    print()
    width = max(len(f.name) for f in figures)
    for f in figures:
        value = f"{f.value:,.1f}" if f.value < 1000 else f"{f.value:,.0f}"
        print(f"  {f.name:<{width}}  {value:>9} {f.unit:<5} {f.note}")
    return 0


@dataclass(frozen=True)
class Published:
    reviews: int
    children: int
    review_ids: list[str]


def _publish(settings: Settings, wanted: int, council_size: int) -> Published:
    """Records, then incidents and possible matches made by the worker's own core."""
    policy = load_policy(None)
    calendar = policy.calendar()
    the_council = council(31, council_size, siblings_for_all=True, twins=0.05)
    produce(settings, topics.CHILD_RECORDS, the_council.events())
    replica = Replica()
    for record in the_council.records:
        replica.upsert(ChildRecord.model_validate(record))
    incidents: list[tuple[bytes, bytes]] = []
    matches: list[tuple[bytes, bytes]] = []
    review_ids: list[str] = []
    children = 0
    seed = 41
    while len(review_ids) < wanted:
        for case in matching_cases(seed, the_council, 4000, with_nhs=False, noise=HARSH):
            children += 1
            incident = _incident(case.child, children)
            for outcome in process_incident(incident, replica, policy, calendar, DEMO_DAY):
                if outcome.review is None:
                    continue
                key = incident_key(incident.source, incident.incident_reference).encode()
                incidents.append((key, incident.model_dump_json().encode()))
                matches.append((key, outcome.review.model_dump_json().encode()))
                review_ids.append(outcome.review.review_id)
            if len(review_ids) >= wanted:
                break
        seed += 1
    produce(settings, topics.POLICE_INCIDENTS, incidents)
    produce(settings, topics.REVIEW_MATCHES, matches)
    return Published(len(review_ids), children, review_ids)


def _incident(child: dict[str, Any], n: int) -> PoliceIncident:
    reported = DEMO_DAY + timedelta(minutes=n % 1440)
    return PoliceIncident.model_validate(
        {
            "event_id": f"bench-{n}",
            "source": "MPS",
            "produced_at": reported.isoformat(),
            "incident_reference": f"CAD-B{n:07d}",
            "incident_type": "domestic_abuse",
            "occurred_at": (reported - timedelta(hours=1)).isoformat(),
            "reported_at": reported.isoformat(),
            "risk_grade": "medium",
            "sequence": n,
            "children": [{**child, "role": "victim"}],
        }
    )


def _notifications(settings: Settings, count: int) -> list[Notification]:
    """Open notifications due from two hours ago to three days ahead (the console runs on
    the real clock): half to one school, the rest over 400 organisations of every agency,
    each with the payload its agency is sent."""
    rng = random.Random(17)
    now = datetime.now(UTC)
    policy = load_policy(None)
    services = list(policy.services().items())
    made: list[Notification] = []
    records: list[tuple[bytes, bytes]] = []
    for n in range(count):
        if n % 2 == 0:
            agency, organisation = Agency.SCHOOL, SCHOOL
        elif n % 5 == 1:
            agency, organisation = Agency.SCHOOL, f"urn:{100100 + n % 200}"
        elif n % 5 == 3:
            agency, organisation = Agency.SOCIAL_CARE, f"{policy.council_code}:team:T{n % 150}"
        else:
            service, agency = services[n % len(services)]
            organisation = f"{policy.council_code}:{service}"
        reference = f"CAD-N{n:07d}"
        occurred = now - timedelta(hours=rng.uniform(1, 30))
        base = {
            "incident_reference": reference,
            "incident_type": "domestic_abuse",
            "occurred_at": occurred,
        }
        named = {
            "given_name": f"Child{n}",
            "family_name": "Benchmark",
            "date_of_birth": date(2014, 1 + n % 12, 1 + n % 28),
        }
        payloads: dict[Agency, dict[str, Any]] = {
            Agency.SCHOOL: {
                **named,
                "child_present": True,
                "brief_circumstances": "Raised voices.",
            },
            Agency.HEALTH: {**named, "risk_grade": "medium"},
            Agency.EARLY_HELP: named,
            Agency.DOMESTIC_ABUSE: {"risk_grade": "medium", "children_in_household": 2},
            Agency.YOUTH_JUSTICE: named,
            Agency.SOCIAL_CARE: {
                "reported_at": occurred + timedelta(minutes=30),
                "risk_grade": "medium",
                "child": {"person_reference": f"MPS-P-{n}", "role": "victim", **named},
            },
        }
        notification = Notification.model_validate(
            {
                "event_id": f"bench-ntf-{n}",
                "source": "frontdoor",
                "produced_at": now,
                "notification_id": notification_id(
                    "MPS", reference, f"MPS-P-{n}", agency, organisation
                ),
                "incident_reference": reference,
                "person_reference": f"MPS-P-{n}",
                "recipient": {"agency": agency, "organisation": organisation},
                "rules": ["R1" if agency is Agency.SCHOOL else "R3"],
                "deadline": now + timedelta(hours=rng.uniform(-2, 72)),
                "deadline_clock": "school_day" if agency is Agency.SCHOOL else "hours",
                "payload": {"kind": agency.value, **base, **payloads[agency]},
            }
        )
        made.append(notification)
        records.append(
            (notification.notification_id.encode(), notification.model_dump_json().encode())
        )
    for agency in Agency:
        spec = topics.NOTIFY[agency]
        mine = [r for r, m in zip(records, made, strict=True) if m.recipient.agency is agency]
        produce(settings, spec, mine)
    return made


def _measure(
    kafka: localkafka.LocalKafkaSettings,
    provider: idp.IdpSettings,
    settings: Settings,
    published: Published,
    notifications: list[Notification],
) -> list[Figure]:
    began = time.monotonic()
    console = start_console(kafka, provider, settings, WORK / f"console-{settings.app_id}")
    figures: list[Figure] = []
    try:
        console.wait_ready(600)
        ready = time.monotonic()
        figures.append(Figure("console ready (followed every topic)", ready - began, "s"))
        wait_for(lambda: _prepared(console), 600, "the console to order its queue")
        figures.append(
            Figure(
                "queue's order worked out, after ready",
                time.monotonic() - ready,
                "s",
                "what each pair holds back, between batches",
            )
        )
        figures.append(Figure("console resident memory", _rss_mib(console.process.pid), "MiB"))
        signing_in = time.monotonic()
        cookie = _signed_in(kafka, provider, console.base_url, "reviewer-1")
        figures.append(
            Figure(
                "sign-in through Keycloak, in chromium",
                time.monotonic() - signing_in,
                "s",
                "start page to the queue, with the browser's start",
            )
        )
        trust = ssl.create_default_context(cafile=str(kafka.secrets.ca_file))
        with _client(console.base_url, trust, cookie) as http:
            figures += _latencies("queue, first page", [lambda: http.get("/reviews")] * 300)
            deep = [lambda: http.get("/reviews?page=150")] * 100
            figures += _latencies("queue, page 150", deep)
            sample = random.Random(5).sample(published.review_ids, 1000)
            figures += _latencies("a pair", [_getter(http, f"/reviews/{r}") for r in sample])
        figures += asyncio.run(_concurrent(console.base_url, trust, cookie, sample[:800]))
        with _client(console.base_url, trust, cookie) as http:
            token = _csrf(http.get("/").text)
            decide = [_decision(http, token, r) for r in published.review_ids[-50:]]
            figures += _latencies("a decision (choose, check, record: acks=all)", decide)
        figures += _inbox_and_board(kafka, provider, console, trust, notifications)
    finally:
        console.stop()
    return figures


def _inbox_and_board(
    kafka: localkafka.LocalKafkaSettings,
    provider: idp.IdpSettings,
    console: ConsoleProcess,
    trust: ssl.SSLContext,
    notifications: list[Notification],
) -> list[Figure]:
    """A school's lead with 5,000 open notifications, and the duty manager's board over
    all 10,000 (and the 10,000 reviews)."""
    figures: list[Figure] = []
    school = [n.notification_id for n in notifications if n.recipient.organisation == SCHOOL]
    wait_for(
        lambda: _open_notifications(console) >= len(notifications) - 50,
        600,
        "the console to hold the notifications",
    )
    lead = _signed_in(kafka, provider, console.base_url, "dsl-100000")
    with _client(console.base_url, trust, lead) as http:
        figures += _latencies("inbox, first page (5,000 open)", [lambda: http.get("/inbox")] * 200)
        figures += _latencies("inbox, page 50", [lambda: http.get("/inbox?page=50")] * 100)
        sample = random.Random(9).sample(school, 600)
        figures += _latencies(
            "a notification", [_getter(http, f"/inbox/{i}") for i in sample[:500]]
        )
        token = _csrf(http.get("/").text)
        acks = [_acknowledgement(http, token, i) for i in sample[500:]]
        figures += _latencies("an acknowledgement (published, acks=all)", acks)
    manager = _signed_in(kafka, provider, console.base_url, "duty-manager")
    with _client(console.base_url, trust, manager) as http:
        figures += _latencies(
            "duty board (10,000 open, 10,000 reviews)", [lambda: http.get("/duty")] * 100
        )
    return figures


def _acknowledgement(http: httpx.Client, token: str, ident: str) -> Callable[[], httpx.Response]:
    form = {"csrf_token": token, "status": "received"}
    return lambda: http.post(f"/inbox/{ident}/acknowledgement", data=form)


def _open_notifications(console: ConsoleProcess) -> float:
    status, text = console.get("/metrics")
    found = re.search(r"^frontdoor_console_notifications_open (\S+)$", text, re.M)
    return float(found.group(1)) if status == 200 and found else 0.0


def _client(base_url: str, trust: ssl.SSLContext, cookie: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, verify=trust, cookies={COOKIE: cookie})


def _signed_in(
    kafka: localkafka.LocalKafkaSettings, provider: idp.IdpSettings, url: str, who: str
) -> str:
    from playwright.sync_api import sync_playwright

    from streams.tools.platform import browser

    person = next(a for a in idp.staff(provider) if a.username == who)
    with sync_playwright() as playwright:
        chromium = browser.launch(playwright, kafka.secrets.ca_file)
        try:
            ctx = chromium.new_context()
            browser.sign_in(ctx, url, person)
            return next(c["value"] for c in ctx.cookies() if c["name"] == COOKIE)
        finally:
            chromium.close()


def _getter(http: httpx.Client, path: str) -> Callable[[], httpx.Response]:
    return lambda: http.get(path)


def _timed(call: Callable[[], httpx.Response]) -> float:
    started = time.perf_counter()
    answer = call()
    if answer.status_code >= 400:
        raise RuntimeError(f"the console answered {answer.status_code}")
    return (time.perf_counter() - started) * 1000


def _latencies(name: str, calls: list[Callable[[], Any]]) -> list[Figure]:
    took = sorted(_timed(call) for call in calls)
    return _quantiles(name, took, f"{len(took)} requests, one at a time")


def _quantiles(name: str, took: list[float], note: str) -> list[Figure]:
    took = sorted(took)
    p99 = took[min(len(took) - 1, int(len(took) * 0.99))]
    return [
        Figure(f"{name}: p50", statistics.median(took), "ms", note),
        Figure(f"{name}: p99", p99, "ms"),
    ]


async def _concurrent(
    base_url: str, trust: ssl.SSLContext, cookie: str, review_ids: list[str], clients: int = 8
) -> list[Figure]:
    """Eight reviewers at once, each asking for pairs as fast as the console answers."""
    took: list[float] = []
    queue = list(review_ids)

    async def reviewer() -> None:
        async with httpx.AsyncClient(
            base_url=base_url, verify=trust, cookies={COOKIE: cookie}
        ) as http:
            while queue:
                review = queue.pop()
                started = time.perf_counter()
                answer = await http.get(f"/reviews/{review}")
                if answer.status_code >= 400:
                    raise RuntimeError(f"the console answered {answer.status_code}")
                took.append((time.perf_counter() - started) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(reviewer() for _ in range(clients)))
    rate = len(took) / (time.perf_counter() - began)
    return [
        *_quantiles(f"a pair, {clients} reviewers at once", took, f"{len(took)} requests"),
        Figure(f"pairs served, {clients} reviewers at once", rate, "/s"),
    ]


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if found is None:
        raise RuntimeError("no CSRF token on the console's start page")
    return found.group(1)


def _decision(http: httpx.Client, token: str, review_id: str) -> Callable[[], httpx.Response]:
    """Not sure (no second reviewer needed): choose, check, record."""

    def decide() -> httpx.Response:
        chosen = http.post(
            f"/reviews/{review_id}/decision",
            data={"csrf_token": token, "decision": "unsure", "reason": "other"},
        )
        if chosen.status_code != 303:
            return chosen
        check = http.get(f"/reviews/{review_id}/check")
        draft = re.search(r'name="draft" value="([^"]+)"', check.text)
        if draft is None:
            raise RuntimeError("no draft on the check page")
        return http.post(
            f"/reviews/{review_id}/check", data={"csrf_token": token, "draft": draft.group(1)}
        )

    return decide


def _prepared(console: ConsoleProcess) -> bool:
    """Whether the console has worked out what every open pair holds back."""
    status, text = console.get("/metrics")
    found = re.search(r"^frontdoor_console_reviews_unprepared (\S+)$", text, re.M)
    return status == 200 and found is not None and float(found.group(1)) == 0


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
