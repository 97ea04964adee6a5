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
from dataclasses import dataclass
from pathlib import Path

import uvicorn
import uvloop

from streams.access import Permissions
from streams.edge.app import create_gateway
from streams.edge.credentials import Credentials
from streams.edge.follower import Follower, Registrations
from streams.edge.gateway import Gateway
from streams.edge.metrics import EdgeMetrics
from streams.edge.publisher import Publisher
from streams.edge.ratelimit import RateLimiter
from streams.edge.replies import Replies
from streams.edge.settings import EdgeSettings
from streams.edge.signing import Backoff
from streams.edge.webhooks import Dispatcher
from streams.inbox import Inbox
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


@dataclass(frozen=True)
class Parts:
    """The gateway's parts and the broker-side loops that feed and follow them."""

    gateway: Gateway
    publisher: Publisher
    follower: Follower
    dispatcher: Dispatcher


def assemble(settings: Settings, edge: EdgeSettings) -> Parts:
    """Every part from settings: credentials, the access plan, the producer, the inbox and
    webhook registrations with the follower that fills them, and the webhook pusher."""
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
    return Parts(gw, publisher, follower, dispatcher)


def https_server(parts: Parts, edge: EdgeSettings) -> uvicorn.Server:
    """uvicorn serving the application; SIGTERM and SIGINT are a clean stop (exit 0)."""
    config = uvicorn.Config(
        create_gateway(parts.gateway),
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
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, lambda *_: setattr(server, "should_exit", True))
    return server


async def serve(settings: Settings, edge: EdgeSettings) -> None:
    """Serve until stopped; a follower or pusher that dies stops the gateway (exit 1)."""
    parts = assemble(settings, edge)
    server = https_server(parts, edge)
    await parts.publisher.start()
    background = [asyncio.create_task(parts.follower.run(), name="follower")]
    try:

        async def dispatch_when_caught_up() -> None:
            await parts.follower.caught_up.wait()  # registrations known before any push
            await parts.dispatcher.run()

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
        await parts.publisher.stop()


def run_gateway(settings: Settings, edge: EdgeSettings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs every webhook URL
    # uvloop and httptools (uvicorn's fast paths): measured in `frontdoor bench gateway`.
    uvloop.run(serve(settings, edge))
