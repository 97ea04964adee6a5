"""How faust runs the topology's streams, tasks, timers and pages.

Every agent takes its events in batches, handles each on its own (one that fails is
dead-lettered, the batch goes on), sends what the batch produced through an ``Outbox``
straight to the idempotent producer, and commits the batch's offsets itself once every
delivery has succeeded. Delivery is retried while the broker is away. Anything else
that goes wrong stops the worker with its batch uncommitted, so whoever owns the
partitions next reads the events again.

Why frontdoor commits and faust does not: faust acknowledges (and so may commit) a
message it *skips* during a rebalance, even on a stream with acks off, and it
acknowledges a ``take_events`` batch whose processing raised. The fault suite lost 99
of 10,000 incidents that way with kill -9 during rebalances (faust issue robinhood#604
describes the same). Input topics are therefore declared with faust's acks off, and
the only offsets committed for them are those of events this worker has settled, and
never past one it has not (``Committer``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mode import CrashingSupervisor

from streams.topics.idempotence import SessionNotRenewable
from streams.worker import metrics
from streams.worker.batching import batches
from streams.worker.committer import UNSTALL_EVERY_S, Committer
from streams.worker.context import Incoming, WorkerContext
from streams.worker.outbox import Outbox
from streams.worker.state import writing_to
from streams.worker.topology import Page, Stream, Task, Timer

if TYPE_CHECKING:
    from streams.worker.app import FrontdoorApp

log = logging.getLogger(__name__)

# Agents take up to BATCH_MAX events, or what arrived within BATCH_WITHIN_S of the first,
# at a time (``batches``; an idle agent does not wake): large enough to spread a delivery
# round trip over many events, small enough that a batch (~1.5 ms an incident) does not
# hold the event loop for long.
BATCH_MAX = 200
BATCH_WITHIN_S = 0.01
RETRY_FIRST_S, RETRY_MAX_S = 0.5, 30.0


class WorkerFailed(RuntimeError):
    """An agent or task stopped unexpectedly; its type only, never its message."""


def agent(app: FrontdoorApp, ctx: WorkerContext, stream: Stream) -> None:
    """A faust agent that takes events in batches, handles each, then delivers what the
    batch produced before its offsets are acknowledged."""
    channel = app.topic(
        *(ctx.name(spec) for spec in stream.reads),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        acks=False,  # faust never commits these: the Committer does, after delivery
    )
    held_since: list[float] = []  # when the batch in hand was taken
    committer = Committer(app, stream.name, set(channel.topics), busy=lambda: bool(held_since))
    app.holding.append(committer.busy)  # a rebalance waits for it (FrontdoorApp)
    metrics.UNSETTLED_AGE.labels(agent=stream.name).set_function(
        lambda: time.time() - held_since[0] if held_since else 0.0
    )

    async def run(events_in: Any) -> None:
        try:
            async for handed in batches(events_in, BATCH_MAX, BATCH_WITHIN_S):
                events = committer.unsettled(handed)
                if not events:
                    continue
                held_since[:] = [time.time()]
                if stream.needs_replica:
                    await ctx.wait_for_replica()
                with writing_to(ctx.outbox()) as out:
                    stream.handle(ctx, out, [_incoming(event) for event in events])
                if not await deliver_until_done(app, ctx, out, stream.name):
                    return  # stopping: the batch stays uncommitted
                await committer.settled(events)
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

    async def unstall() -> None:
        if not (app.should_stop or app.rebalancing):
            await committer.unstall(time.monotonic())

    unstall.__qualname__ = unstall.__name__ = f"unstall_{stream.name}"
    app.timer(interval=UNSTALL_EVERY_S)(guarded(Timer(UNSTALL_EVERY_S, unstall, ())))


async def deliver_until_done(app: FrontdoorApp, ctx: WorkerContext, out: Outbox, what: str) -> bool:
    """Deliver, retrying with backoff while the broker is away; False only when the worker
    is stopping first (the batch, unacknowledged, is read again by the next owner)."""
    wait = RETRY_FIRST_S
    while True:
        try:
            await ctx.flush(out)
            return True
        except SessionNotRenewable:
            raise  # the agent fails and the worker restarts with a new producer
        except Exception as error:
            if app.should_stop:
                return False
            metrics.DELIVERY_RETRIES.labels(agent=what).inc()
            log.warning(
                "%s: delivery failed (%s); again in %.1f s", what, type(error).__name__, wait
            )
            await asyncio.sleep(wait)
            wait = min(wait * 2, RETRY_MAX_S)


def failing_loudly(app: FrontdoorApp, task: Task) -> Callable[[], Awaitable[None]]:
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


def guarded(timer: Timer) -> Callable[[], Awaitable[None]]:
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
        tuple(dict(message.headers or ()).items()),
    )


def page(app: FrontdoorApp, declared: Page) -> None:
    async def view(web: Any, request: Any) -> Any:
        response = declared.render()
        # aiohttp refuses a charset inside content_type; the exposition format is UTF-8.
        return web.bytes(response.body, content_type=response.content_type, status=response.status)

    view.__name__ = view.__qualname__ = declared.path.strip("/") or "index"
    app.page(declared.path)(view)
