"""The Faust app: thin agents that read, call the pure core, and write.

At-least-once with an idempotent, acks=all producer (faust's exactly_once has open
bugs); agent concurrency stays at 1 (faust issue 606); outputs carry deterministic ids
so a retry or replay never produces a second, different event.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from prometheus_client import generate_latest

from schemas import PoliceIncident
from schemas.deadletter import DeadLetter
from streams import metrics, topics
from streams.audit import validated_audit
from streams.settings import Settings
from streams.validation import Origin, validate

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class _IdempotentProducer(faust_aiokafka.Producer):
    def _settings_extra(self) -> Mapping[str, Any]:
        return {"acks": "all", "enable_idempotence": True}


class _Transport(faust_aiokafka.Transport):
    Producer = _IdempotentProducer


class FrontdoorApp(faust.App):
    """faust.App whose producer is idempotent with acks=all even outside transactions."""

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)

    def _new_producer_transport(self) -> Any:
        return _Transport(self.conf.broker_producer, self)

    def is_ready(self) -> bool:
        """Ready once this worker owns partitions and no rebalance is in progress."""
        if self.should_stop or self.rebalancing or self._consumer is None:
            return False
        return bool(self.consumer.assignment())


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


def create_app(settings: Settings | None = None, clock: Clock = utc_now) -> FrontdoorApp:
    settings = settings or Settings()
    app = FrontdoorApp(
        settings.app_id,
        broker=settings.broker_url,
        broker_credentials=_broker_credentials(settings),
        processing_guarantee="at_least_once",
        producer_acks=-1,
        topic_replication_factor=settings.replication_factor,
        topic_partitions=settings.partitions,
        consumer_auto_offset_reset="earliest",
        datadir=str(settings.state_dir),
        web_host=settings.web_host,
        web_bind=settings.web_host,
        web_port=settings.web_port,
        web_stats_enabled=False,
        web_graph_enabled=False,
        web_tables_enabled=False,
        autodiscover=False,
    )

    def topic(spec: topics.TopicSpec) -> faust.TopicT:
        return app.topic(
            topics.topic_name(spec, settings),
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
        )

    incidents = topic(topics.POLICE_INCIDENTS)
    audit_out = topic(topics.AUDIT)
    dead_letters = topic(topics.DEAD_LETTERS)

    async def dead_letter(spec: topics.TopicSpec, key: bytes | None, letter: DeadLetter) -> None:
        await dead_letters.send(key=key, value=letter.model_dump_json().encode())
        metrics.INVALID_EVENTS.labels(topic=spec.name, reason=letter.reason_class).inc()

    @app.agent(incidents, concurrency=1)
    async def ingest_incidents(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            message = event.message
            origin = Origin(message.topic, message.partition, message.offset, message.key)
            result = validate(PoliceIncident, event.value, origin, clock())
            if isinstance(result, DeadLetter):
                await dead_letter(topics.POLICE_INCIDENTS, message.key, result)
            else:
                record = validated_audit(result, clock())
                key = f"{result.source}:{result.incident_reference}".encode()
                await audit_out.send(key=key, value=record.model_dump_json().encode())
                metrics.INCIDENTS_RECEIVED.labels(incident_type=result.incident_type.value).inc()
                metrics.CHILDREN_RECEIVED.inc(len(result.children))
                for warning in result.data_quality:
                    metrics.DATA_QUALITY_WARNINGS.labels(code=warning.code.value).inc()
            metrics.LAST_PROCESSED.set(time.time())

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        ready = app.is_ready()
        assigned = sorted(f"{tp.topic}:{tp.partition}" for tp in _assignment(app))
        body = {"status": "ready" if ready else "starting", "assigned_partitions": assigned}
        return web.json(body, status=200 if ready else 503)

    @app.page("/metrics")
    async def prometheus_metrics(web: Any, request: Any) -> Any:
        # aiohttp refuses a charset inside content_type; the exposition format is UTF-8.
        return web.bytes(generate_latest(metrics.REGISTRY), content_type=metrics.CONTENT_TYPE)

    return app


def _assignment(app: FrontdoorApp) -> set[TP]:
    return set(app.consumer.assignment()) if app._consumer is not None else set()


def run_worker(loglevel: str = "info", settings: Settings | None = None) -> None:
    """Declare the topics (idempotent), then run a worker until SIGTERM/SIGINT."""
    settings = settings or Settings()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    topics.create_all(settings)
    app = create_app(settings)
    faust.Worker(app, loglevel=loglevel).execute_from_commandline()
