"""``frontdoor console``: the console's shell. Builds it from settings, follows the topics,
starts the producer, and serves HTTPS with uvicorn until SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass
from datetime import timedelta

import uvicorn
import uvloop

from streams.access import Permissions
from streams.console.app import create_console
from streams.console.book import ReviewBook
from streams.console.claims import Claims
from streams.console.follower import Follower
from streams.console.mail import Mailer, load_addresses
from streams.console.metrics import ConsoleMetrics
from streams.console.parts import Console
from streams.console.sessions import Sessions
from streams.console.settings import ConsoleSettings
from streams.console.signin import SignIn
from streams.console.templating import templates
from streams.console.whatifs import Jobs
from streams.matching import MatchModel
from streams.routing import load_policy
from streams.settings import Settings
from streams.topics.follow import Publisher

log = logging.getLogger("frontdoor.console")


@dataclass(frozen=True)
class Running:
    console: Console
    publisher: Publisher
    follower: Follower
    mailer: Mailer


def assemble(settings: Settings, config: ConsoleSettings) -> Running:
    """Every part from settings: the access plan, the book and the follower that fills it,
    sessions and claims on the real clock, sign-in, the producer."""
    policy = load_policy(settings.policy_file)
    model = MatchModel.load(settings.match_model)
    book = ReviewBook(policy, model)
    metrics = ConsoleMetrics()
    clock = settings.clock()
    follower = Follower(settings, book, metrics, clock)
    publisher = Publisher(settings)
    console = Console(
        settings=settings,
        config=config,
        policy=policy,
        permissions=Permissions(policy, settings),
        book=book,
        sessions=Sessions(config.session_idle_s, config.session_max_s, time.time),
        claims=Claims(config.claim_s, time.time),
        signin=SignIn(config, policy),
        publisher=publisher,
        metrics=metrics,
        templates=templates(),
        clock=clock,
        ready=follower.caught_up.is_set,
        inbox=follower.inbox,
        activity=follower.activity,
        alerts=follower.alerts,
        whatifs=Jobs(settings),
    )
    mailer = Mailer(
        config=config,
        inbox=console.inbox,
        activity=console.activity,
        metrics=metrics,
        addresses=load_addresses(config.mail_to_file),
        zone=policy.calendar().zone,
        reminder_before=timedelta(minutes=policy.inbox.reminder_before_minutes),
        clock=clock,
        monotonic=time.monotonic,
        record=console.record,
        ready=follower.caught_up.is_set,
    )
    return Running(console, publisher, follower, mailer)


def https_server(running: Running, config: ConsoleSettings) -> uvicorn.Server:
    """uvicorn serving the console; SIGTERM and SIGINT are a clean stop (exit 0)."""
    server = uvicorn.Server(
        uvicorn.Config(
            create_console(running.console),
            host=config.host,
            port=config.port,
            ssl_certfile=None if config.insecure_http else str(config.tls_certfile),
            ssl_keyfile=None if config.insecure_http else str(config.tls_keyfile),
            http="httptools",
            access_log=False,  # ours names the route template, never a path's ids or a query
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=10,
        )
    )
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, lambda *_: setattr(server, "should_exit", True))
    return server


async def serve(settings: Settings, config: ConsoleSettings) -> None:
    """Serve until stopped; a follower that dies stops the console (exit 1)."""
    running = assemble(settings, config)
    server = https_server(running, config)
    await running.publisher.start()
    following = asyncio.create_task(running.follower.run(), name="follower")
    mailing = asyncio.create_task(running.mailer.run(), name="mailer")
    try:
        serving = asyncio.create_task(server.serve(), name="server")
        done, _ = await asyncio.wait([serving, following], return_when=asyncio.FIRST_COMPLETED)
        if following in done and following.exception() is not None:
            log.error("console follower stopped: %s", type(following.exception()).__name__)
            server.should_exit = True
            await serving
            raise SystemExit(1)
    finally:
        following.cancel()
        mailing.cancel()
        await asyncio.gather(following, mailing, return_exceptions=True)
        if running.console.whatifs is not None:
            running.console.whatifs.close()
        await running.publisher.stop()


def run_console(settings: Settings, config: ConsoleSettings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs the provider's URLs
    uvloop.run(serve(settings, config))
