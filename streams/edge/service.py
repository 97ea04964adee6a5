"""``frontdoor gateway``: the edge's shell. Builds the gateway from settings, starts the
producer, the follower and the webhook dispatcher, and serves HTTPS with uvicorn until
SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import time
from pathlib import Path

import uvicorn
import uvloop

from streams.access import Permissions
from streams.edge.app import Gateway, create_gateway
from streams.edge.credentials import Credentials
from streams.edge.inbox import Inbox
from streams.edge.kafka import Dispatcher, Follower, Publisher, Registrations
from streams.edge.metrics import EdgeMetrics
from streams.edge.ratelimit import RateLimiter
from streams.edge.replies import Replies
from streams.edge.settings import EdgeSettings
from streams.edge.signing import Backoff
from streams.routing import load_policy
from streams.settings import Settings

log = logging.getLogger("frontdoor.edge")


def gateway_key(path: Path) -> bytes:
    """The key webhook secrets derive from: made once, owner-only."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32))
    return path.read_bytes()


async def serve(settings: Settings, edge: EdgeSettings) -> None:
    policy = load_policy(settings.policy_file)
    credentials = Credentials.load(edge.keys_file, set(policy.signals.police_sources))
    metrics = EdgeMetrics()
    inbox, registrations = Inbox(), Registrations()
    publisher = Publisher(settings)
    follower = Follower(settings, inbox, registrations, metrics)
    key = gateway_key(edge.webhook_key_file)
    clock = settings.clock()
    gw = Gateway(
        settings=settings,
        permissions=Permissions(policy, settings),
        credentials=credentials,
        publisher=publisher,
        inbox=inbox,
        registrations=registrations,
        replies=Replies(time.monotonic),
        limiter=RateLimiter(edge.rate_per_second, edge.rate_burst, time.monotonic),
        metrics=metrics,
        clock=clock,
        gateway_key=key,
        ready=follower.caught_up.is_set,
        publish_timeout_s=edge.publish_timeout_s,
        allow_http_webhooks=edge.webhook_allow_http,
    )
    dispatcher = Dispatcher(
        settings,
        registrations,
        publisher,
        metrics,
        key,
        Backoff(edge.webhook_first_retry_s, edge.webhook_max_retry_s, edge.webhook_give_up_s),
        clock,
        attempt_timeout_s=edge.webhook_timeout_s,
        in_flight=edge.webhook_in_flight,
    )
    config = uvicorn.Config(
        create_gateway(gw),
        host=edge.host,
        port=edge.port,
        ssl_certfile=None if edge.insecure_http else str(edge.tls_certfile),
        ssl_keyfile=None if edge.insecure_http else str(edge.tls_keyfile),
        http="httptools",
        access_log=False,  # ours names the route template, never a path's ids or a query
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    for stop in (signal.SIGTERM, signal.SIGINT):  # a stop is a clean stop, exit code 0
        signal.signal(stop, lambda *_: setattr(server, "should_exit", True))
    await publisher.start()
    background = [asyncio.create_task(follower.run(), name="follower")]
    try:

        async def dispatch_when_caught_up() -> None:
            await follower.caught_up.wait()  # registrations known before any push
            await dispatcher.run()

        background.append(asyncio.create_task(dispatch_when_caught_up(), name="dispatcher"))
        serving = asyncio.create_task(server.serve(), name="server")
        done, _ = await asyncio.wait([serving, *background], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not serving and task.exception() is not None:
                log.error(
                    "gateway %s stopped: %s", task.get_name(), type(task.exception()).__name__
                )
                server.should_exit = True
                await serving
                raise SystemExit(1)
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await publisher.stop()


def run_gateway(settings: Settings, edge: EdgeSettings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs every webhook URL
    # uvloop and httptools (uvicorn's fast paths): measured in `frontdoor bench gateway`.
    uvloop.run(serve(settings, edge))
