"""The Faust app that runs the worker's topology (``streams.worker.topology``).

At-least-once with an idempotent, acks=all producer (faust's exactly_once has open
bugs); how each stream, task, timer and page runs on faust is ``streams.worker.running``.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, cast

import faust
from faust.exceptions import ConsumerNotStarted
from faust.transport.drivers import aiokafka as faust_aiokafka
from pydantic import ValidationError

from streams.clock import Clock
from streams.connection import diagnose
from streams.routing import Policy, PolicyError, load_policy
from streams.settings import Settings
from streams.topics import admin
from streams.topics.idempotence import SESSION_BROKEN, renew_if_broken
from streams.worker import metrics, running
from streams.worker.context import Tables, WorkerContext
from streams.worker.outbox import Outbox, deliver
from streams.worker.state import BatchedTable
from streams.worker.topology import Topology, build_topology

log = logging.getLogger(__name__)


class _IdempotentProducer(faust_aiokafka.Producer):
    def _settings_extra(self) -> Mapping[str, Any]:
        return {"acks": "all", "enable_idempotence": True}


# aiokafka leaves out of a fetch every partition whose records are not yet consumed, and
# sends no other fetch to a broker while one is in flight; faust long-polls for 1,500 ms.
# A partition drained just after a fetch went out (an incident on its way through the
# intake, a deadline check) so waited up to 1.5 s: the signals' tail. The worker's
# ``fetch_max_wait_ms`` (100 ms) bounds it.
class _PromptConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        app = cast("FrontdoorApp", self.app)
        consumer._fetch_max_wait_ms = app.fetch_max_wait_ms  # faust's: a fixed 1,500 ms
        return consumer


class _EveryRecord(dict[Any, int | None]):
    """faust's read offsets, written by faust but never consulted: every record fetched is
    handed over.

    faust drops a fetched record below the offset it last handed over on its partition.
    When the Committer seeks back to a gap (``committer.Committer``), faust's fetch loop may
    still be handing over the rest of a fetch from beyond the gap, and it moves that mark
    past the gap again: the records read again from the gap are then all dropped, none is
    settled, and the partition stalls until a newer record arrives, or for good once a
    force's traffic stops (CI, 2026-12-07: 91 of 600 incidents stuck after one kill -9).
    A record handed over twice is harmless: the Committer never commits behind its mark
    and notification ids are deterministic."""

    def __getitem__(self, tp: Any) -> None:
        return None


class _PromptConsumer(faust_aiokafka.Consumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_offset = _EveryRecord()

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _PromptConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(faust_aiokafka.Transport):
    Consumer = _PromptConsumer
    Producer = _IdempotentProducer


class FrontdoorApp(faust.App):
    """faust.App as the worker's ``Runtime``, with a producer that is idempotent with
    acks=all even outside transactions."""

    worker_context: WorkerContext | None = None
    topology: Topology | None = None
    failed: str | None = None  # the agent or task that stopped the worker
    fetch_max_wait_ms: int = 100
    # each agent's: does it hold a batch not yet delivered and committed?
    holding: list[Callable[[], bool]]

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
        return ctx is not None and ctx.replica_caught_up and bool(self.assigned())

    async def _on_partitions_revoked(self, revoked: Any) -> None:
        """Give up partitions only once every batch in hand is delivered (bounded by
        most of the rebalance timeout): the next owner's tables are rebuilt from the
        changelog as it stands when it is assigned, and a table write this worker
        delivered after that would land behind the new owner's and be what a later
        rebuild reads (a child's history going back: R12 escalations never sent, fault
        suite). The group assigns no one until every member has rejoined, after this."""
        limit = time.monotonic() + self.conf.broker_rebalance_timeout * 0.8
        waited = False
        if not self.should_stop and self.consumer.assignment():
            self.consumer.stop_flow()  # as faust does next: no agent takes a new batch
            self.flow_control.suspend()
        while any(held() for held in self.holding) and time.monotonic() < limit:
            waited = True
            await asyncio.sleep(0.02)
        if waited:
            metrics.REVOKE_WAITS.inc()
        await super()._on_partitions_revoked(revoked)

    def stopping(self) -> bool:
        return bool(self.should_stop)

    def assigned(self) -> set[tuple[str, int]]:
        if self._consumer is None:
            return set()
        try:
            assignment = self.consumer.assignment()
        except ConsumerNotStarted:  # its thread starts a moment after it (/health: 500 then)
            return set()
        return {(tp.topic, tp.partition) for tp in assignment}

    async def deliver(self, out: Outbox) -> None:
        faust_producer: Any = self.producer
        producer = faust_producer._ensure_producer()  # the idempotent acks=all aiokafka one
        try:
            await deliver(producer, out)
        except SESSION_BROKEN as error:
            if renew_if_broken(producer, error):  # else: SessionNotRenewable stops the worker
                metrics.PRODUCER_SESSIONS_RENEWED.inc()
            raise

    async def fail(self, what: str, error: str) -> None:
        """Stop the worker: /health says so at once, and the process exits for its
        supervisor to restart it from the last committed offsets. Called outside the
        ``except`` block, so no log carries the exception's message (it may quote data)."""
        self.failed = what
        log.error("%s stopped: %s; stopping the worker", what, error)
        await self.crash(running.WorkerFailed(f"{what}: {error}"))


def create_app(
    settings: Settings | None = None, clock: Clock | None = None, policy: Policy | None = None
) -> FrontdoorApp:
    settings = settings or Settings()
    app = FrontdoorApp(
        settings.app_id,
        broker=settings.broker_url,
        broker_credentials=broker_credentials(settings),
        processing_guarantee="at_least_once",
        producer_acks=-1,
        # faust's default is 20 minutes, and aiokafka waits that long for any produce
        # response (and for a topic's metadata) before it retries. In CI (2026-12-07) a
        # worker delivered nothing for 5 minutes, its producer's batches unsent and its
        # health still ready, until the group evicted it: what one lost or held response
        # does under a 20-minute timeout. The idempotent producer retries a timed-out
        # request without duplicating it; deliver_until_done retries what it gives up on,
        # in a new producer session when a batch expired unsent (streams.topics.idempotence).
        producer_request_timeout=settings.producer_request_timeout_s,
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
    app.fetch_max_wait_ms = settings.fetch_max_wait_ms
    app.holding = []  # each agent adds its own (streams.worker.running)
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
        running.agent(app, ctx, stream)
    for task in app.topology.tasks:
        app.task(running.failing_loudly(app, task))
    for timer in app.topology.timers:
        app.timer(interval=timer.every_s)(running.guarded(timer))
    for page in app.topology.pages:
        running.page(app, page)
    return app


def broker_credentials(settings: Settings) -> Any:
    """faust's credentials for ``settings`` (None on a plaintext broker)."""
    if settings.security_protocol.startswith("SASL"):
        password = settings.password() or ""
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
    reason = diagnose(settings)
    if reason is not None:
        print(f"frontdoor worker: cannot connect to Kafka: {reason}", file=sys.stderr)
        raise SystemExit(2)
    try:
        admin.create_all(settings, worker_only=True)
    except RuntimeError as exc:  # e.g. topics with another partition count
        print(f"frontdoor worker: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    app = create_app(settings, policy=policy)
    faust.Worker(app, loglevel=loglevel).execute_from_commandline()
