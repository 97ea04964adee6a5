"""The Faust app that runs the worker's topology (``streams.worker.topology``).

At-least-once with an idempotent, acks=all producer (faust's exactly_once has open
bugs); every agent takes its events in batches, handles each on its own (one that fails
is dead-lettered, the batch goes on), sends what the batch produced through an
``Outbox`` straight to that producer, and acknowledges the batch's events only once
every delivery has succeeded. Delivery is retried while the broker is away. Anything
else that goes wrong stops the worker, its batch unacknowledged, so the events are
read again by whoever owns their partitions next: faust's ``take_events`` would
acknowledge a batch whose processing raised, and an agent it restarted would read on
past it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from mode import CrashingSupervisor
from pydantic import ValidationError

from streams.clock import Clock
from streams.routing import Policy, PolicyError, load_policy
from streams.settings import Settings
from streams.worker import admin, metrics
from streams.worker.context import Incoming, Tables, WorkerContext
from streams.worker.outbox import Outbox, deliver
from streams.worker.state import BatchedTable, writing_to
from streams.worker.topology import Page, Stream, Task, Timer, Topology, build_topology

log = logging.getLogger(__name__)

# Agents take up to BATCH_MAX events, or what arrived within BATCH_WITHIN_S, at a time:
# large enough to spread a delivery round trip over many events, small enough that a
# batch (~1.5 ms an incident) does not hold the event loop for long.
BATCH_MAX = 200
BATCH_WITHIN_S = 0.01
RETRY_FIRST_S, RETRY_MAX_S = 0.5, 30.0


class WorkerFailed(RuntimeError):
    """An agent or task stopped unexpectedly; its type only, never its message."""


class _IdempotentProducer(faust_aiokafka.Producer):
    def _settings_extra(self) -> Mapping[str, Any]:
        return {"acks": "all", "enable_idempotence": True}


class _Transport(faust_aiokafka.Transport):
    Producer = _IdempotentProducer


class FrontdoorApp(faust.App):
    """faust.App as the worker's ``Runtime``, with a producer that is idempotent with
    acks=all even outside transactions."""

    worker_context: WorkerContext | None = None
    topology: Topology | None = None
    failed: str | None = None  # the agent or task that stopped the worker

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)

    def _new_producer_transport(self) -> Any:
        return _Transport(self.conf.broker_producer, self)

    def is_ready(self) -> bool:
        """Ready once the replica has caught up, this worker owns partitions and no
        rebalance is in progress."""
        if self.failed or self.should_stop or self.rebalancing or self._consumer is None:
            return False
        ctx = self.worker_context
        return ctx is not None and ctx.replica_caught_up and bool(self.consumer.assignment())

    def stopping(self) -> bool:
        return bool(self.should_stop)

    def assigned(self) -> set[tuple[str, int]]:
        if self._consumer is None:
            return set()
        return {(tp.topic, tp.partition) for tp in self.consumer.assignment()}

    async def deliver(self, out: Outbox) -> None:
        producer: Any = self.producer  # the idempotent acks=all aiokafka producer underneath
        await deliver(producer._ensure_producer(), out)

    async def fail(self, what: str, error: str) -> None:
        """Stop the worker: /health says so at once, and the process exits for its
        supervisor to restart it from the last committed offsets. Called outside the
        ``except`` block, so no log carries the exception's message (it may quote data)."""
        self.failed = what
        log.error("%s stopped: %s; stopping the worker", what, error)
        await self.crash(WorkerFailed(f"{what}: {error}"))


def create_app(
    settings: Settings | None = None, clock: Clock | None = None, policy: Policy | None = None
) -> FrontdoorApp:
    settings = settings or Settings()
    app = FrontdoorApp(
        settings.app_id,
        broker=settings.broker_url,
        broker_credentials=_broker_credentials(settings),
        processing_guarantee="at_least_once",
        producer_acks=-1,
        topic_replication_factor=settings.replication_factor,
        topic_partitions=settings.partitions,
        table_standby_replicas=0,  # a worker must scan only the pending incidents it owns
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        consumer_group_instance_id=settings.instance_id,
        datadir=str(settings.state_dir),
        web_host=settings.web_host,
        web_bind=settings.web_host,
        web_port=settings.web_port,
        web_stats_enabled=False,
        web_graph_enabled=False,
        web_tables_enabled=False,
        autodiscover=False,
        Table=BatchedTable,  # changelog writes go out with each batch (streams/worker/state.py)
    )
    policy = policy or load_policy(settings.policy_file)
    # Keys and values are bytes, so what recovery reads back from a changelog is what was
    # written; a table's changelog partition comes from its key (BatchedTable).
    tables = Tables.create(
        lambda name: app.Table(name, default=None, key_type=bytes, value_type=bytes)
    )
    ctx = WorkerContext.create(settings, clock or settings.clock(), policy, tables, app)
    metrics.declare_series(forces=[*policy.signals.police_sources, "other"])
    app.worker_context, app.topology = ctx, build_topology(ctx)
    for stream in app.topology.streams:
        _agent(app, ctx, stream)
    for task in app.topology.tasks:
        app.task(_failing_loudly(app, task))
    for timer in app.topology.timers:
        app.timer(interval=timer.every_s)(_guarded(timer))
    for page in app.topology.pages:
        _page(app, page)
    return app


def _agent(app: FrontdoorApp, ctx: WorkerContext, stream: Stream) -> None:
    """A faust agent that takes events in batches, handles each, then delivers what the
    batch produced before its offsets are acknowledged."""
    channel = app.topic(
        *(ctx.name(spec) for spec in stream.reads),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    held_since: list[float] = []  # when the batch in hand was taken
    metrics.UNSETTLED_AGE.labels(agent=stream.name).set_function(
        lambda: time.time() - held_since[0] if held_since else 0.0
    )

    async def run(events_in: Any) -> None:  # noack_take is missing from faust's StreamT
        try:
            async for events in events_in.noack_take(BATCH_MAX, within=BATCH_WITHIN_S):
                held_since[:] = [time.time()]
                if stream.needs_replica:
                    await ctx.wait_for_replica()
                with writing_to(ctx.outbox()) as out:
                    stream.handle(ctx, out, [_incoming(event) for event in events])
                await _deliver(app, ctx, out, stream.name)
                for event in events:
                    await events_in.ack(event)
                held_since.clear()
                metrics.EVENTS_SETTLED.labels(agent=stream.name).inc(len(events))
                metrics.LAST_PROCESSED.set(time.time())
            return
        except asyncio.CancelledError:
            raise  # stopping: the batch stays unacknowledged
        except Exception as error:
            failure = type(error).__name__
        await app.fail(f"agent {stream.name}", failure)
        raise WorkerFailed(stream.name)

    run.__qualname__ = run.__name__ = stream.name  # what faust's logs call the agent
    app.agent(
        channel,
        name=f"frontdoor.{stream.name}",
        concurrency=1,
        supervisor_strategy=CrashingSupervisor,  # never restarted in place (see above)
    )(run)


async def _deliver(app: FrontdoorApp, ctx: WorkerContext, out: Outbox, what: str) -> None:
    """Deliver, retrying with backoff while the broker is away; give up only when the
    worker is stopping (the batch, unacknowledged, is read again by the next owner)."""
    wait = RETRY_FIRST_S
    while True:
        try:
            await ctx.flush(out)
            return
        except Exception as error:
            if app.should_stop:
                raise
            metrics.DELIVERY_RETRIES.labels(agent=what).inc()
            log.warning(
                "%s: delivery failed (%s); again in %.1f s", what, type(error).__name__, wait
            )
            await asyncio.sleep(wait)
            wait = min(wait * 2, RETRY_MAX_S)


def _failing_loudly(app: FrontdoorApp, task: Task) -> Callable[[], Awaitable[None]]:
    """A task that stops stops the worker: a replica no longer followed must not be
    matched against as if it were current."""

    async def run() -> None:
        try:
            await task.run()
            return
        except asyncio.CancelledError:
            raise
        except Exception as error:
            failure = type(error).__name__
        await app.fail(f"task {task.run.__name__}", failure)

    run.__qualname__ = run.__name__ = task.run.__name__
    return run


def _guarded(timer: Timer) -> Callable[[], Awaitable[None]]:
    """A timer run that fails is counted and logged (type only); the timer runs again."""

    async def run() -> None:
        try:
            await timer.run()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            metrics.TIMER_ERRORS.labels(timer=timer.run.__name__).inc()
            log.error("timer %s failed: %s", timer.run.__name__, type(error).__name__)

    run.__qualname__ = run.__name__ = timer.run.__name__
    return run


def _incoming(event: Any) -> Incoming:
    message = event.message
    return Incoming(
        message.topic,
        message.partition,
        message.offset,
        message.key,
        event.value,
        message.timestamp,
    )


def _page(app: FrontdoorApp, page: Page) -> None:
    async def view(web: Any, request: Any) -> Any:
        response = page.render()
        # aiohttp refuses a charset inside content_type; the exposition format is UTF-8.
        return web.bytes(response.body, content_type=response.content_type, status=response.status)

    view.__name__ = view.__qualname__ = page.path.strip("/") or "index"
    app.page(page.path)(view)


def _broker_credentials(settings: Settings) -> Any:
    if settings.security_protocol.startswith("SASL"):
        password = settings.sasl_password.get_secret_value() if settings.sasl_password else ""
        ssl_context = settings.ssl_context() if settings.security_protocol == "SASL_SSL" else None
        return faust.SASLCredentials(
            username=settings.sasl_username,
            password=password,
            mechanism=settings.sasl_mechanism,
            ssl_context=ssl_context,
        )
    if settings.security_protocol == "SSL":
        return faust.SSLCredentials(settings.ssl_context())
    return None


def run_worker(loglevel: str = "info", settings: Settings | None = None) -> None:
    """Check the policy, declare the topics (idempotent), then run until SIGTERM/SIGINT."""
    settings = settings or Settings()
    try:
        policy = load_policy(settings.policy_file)
    except PolicyError as exc:
        print(f"frontdoor worker: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except ValidationError as exc:  # pragma: no cover - settings already validated
        raise SystemExit(str(exc)) from None
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    admin.create_all(settings)
    app = create_app(settings, policy=policy)
    faust.Worker(app, loglevel=loglevel).execute_from_commandline()
