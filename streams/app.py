"""The Faust app: thin agents that read, call the pure core, and write.

At-least-once with an idempotent, acks=all producer (faust's exactly_once has open
bugs); agent concurrency stays at 1 (faust issue 606); outputs carry deterministic ids
so a retry or replay never produces a second, different event.

Topology (every worker):

* ``council.child-records.v1`` -> the records replica and match index, read from every
  partition by a task of each worker (faust-streaming has no stream-table join);
* ``police.incidents.v1`` -> validate, match, route, dispatch; children still waiting
  (no match yet, or under review) are kept in the ``pending`` table keyed by incident;
* ``review.decisions.v1`` (keyed by incident, co-partitioned) -> resume routing;
* ``frontdoor.rematch.v1`` (internal, keyed by incident) -> match waiting children again
  when a council record arrives or changes, and on a periodic sweep;
* ``frontdoor.child-history.v1`` (internal, keyed by child) -> repeat escalation (R12).
"""

from __future__ import annotations

import asyncio
import gc
import heapq
import json
import logging
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import murmur2
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from prometheus_client import generate_latest
from pydantic import BaseModel, ValidationError

from schemas import (
    Acknowledgement,
    ChildRecord,
    ComplianceAlert,
    DeadLetter,
    PoliceIncident,
    ReviewDecision,
    StrategyMeeting,
)
from schemas.council import ChildRecordDeleted
from schemas.deadletter import DeadLetterReason
from schemas.enums import Agency, AlertKind, MatchDecision
from schemas.notification import Notification
from streams import metrics, topics
from streams.clock import Clock
from streams.deadlines import (
    DeadlineCommand,
    Tracked,
    acknowledge,
    check,
    close,
    register,
    track_notification,
    track_review,
    track_watch,
    watch_id,
)
from streams.history import ChildNotified, Seen, escalation, remember
from streams.matching import Matcher, MatchModel
from streams.pipeline import (
    ChildOutcome,
    PendingIncident,
    apply_review_decision,
    audit_record,
    child_key,
    incident_key,
    pending_after,
    process_incident,
    rematch,
    review_id,
)
from streams.police_signals import (
    BatchingDetector,
    SequenceObserved,
    SourceSequence,
    late_report,
    observe,
    overdue_gaps,
    report_delay,
)
from streams.policy import Policy, PolicyError, load_policy
from streams.replica import Replica
from streams.settings import Settings
from streams.validation import Origin, dead_letter_for, validate

log = logging.getLogger(__name__)

E = TypeVar("E", bound=BaseModel)
SWEEP_INTERVAL_S = 300.0
DEADLINE_CHECK_INTERVAL_S = 1.0  # a miss is flagged within about a second of its deadline
DEADLINE_SCAN_INTERVAL_S = 15.0  # full walk: gauges (one scrape interval), recovered items
SEQUENCE_SCAN_INTERVAL_S = 5.0


class _IdempotentProducer(faust_aiokafka.Producer):
    def _settings_extra(self) -> Mapping[str, Any]:
        return {"acks": "all", "enable_idempotence": True}


class _Transport(faust_aiokafka.Transport):
    Producer = _IdempotentProducer


class FrontdoorApp(faust.App):
    """faust.App whose producer is idempotent with acks=all even outside transactions."""

    replica_ready: asyncio.Event | None = None

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)

    def _new_producer_transport(self) -> Any:
        return _Transport(self.conf.broker_producer, self)

    def is_ready(self) -> bool:
        """Ready once the replica has caught up, this worker owns partitions and no
        rebalance is in progress."""
        if self.should_stop or self.rebalancing or self._consumer is None:
            return False
        caught_up = self.replica_ready is not None and self.replica_ready.is_set()
        return caught_up and bool(self.consumer.assignment())


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


def _message_time(message: Any) -> datetime | None:
    stamp = getattr(message, "timestamp", None)
    return datetime.fromtimestamp(stamp, UTC) if stamp else None


def create_app(
    settings: Settings | None = None, clock: Clock | None = None, policy: Policy | None = None
) -> FrontdoorApp:
    settings = settings or Settings()
    clock = clock or settings.clock()
    policy = policy or load_policy(settings.policy_file)
    calendar = policy.calendar()
    replica = Replica(Matcher(model=MatchModel.load(settings.match_model)))
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
    decisions = topic(topics.REVIEW_DECISIONS)
    rematch_requests = topic(topics.REMATCH)
    child_history = topic(topics.CHILD_HISTORY)
    audit_out = topic(topics.AUDIT)
    dead_letters = topic(topics.DEAD_LETTERS)
    reviews_out = topic(topics.REVIEW_MATCHES)
    notify_out = {agency: topic(spec) for agency, spec in topics.NOTIFY.items()}
    alerts_out = topic(topics.COMPLIANCE_ALERTS)
    deadlines_out = topic(topics.DEADLINES)
    sequences = topic(topics.SEQUENCES)
    meetings = topic(topics.MEETINGS)
    acks_name = topics.topic_name(topics.ACKS, settings)
    deadlines_name = topics.topic_name(topics.DEADLINES, settings)
    # Acknowledgements and deadline commands share one agent: both are keyed by the
    # notification id and co-partitioned, so one worker owns each deadline.
    deadline_events = app.topic(
        deadlines_name,
        acks_name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    signals = policy.signals
    metrics.declare_series(
        agencies=[a.value for a in Agency],
        forces=[*signals.police_sources, "other"],
    )
    batching = BatchingDetector(
        window=timedelta(minutes=signals.batching_window_minutes),
        min_events=signals.batching_min_events,
        stale_after=timedelta(hours=signals.batching_stale_hours),
    )

    # Keys and values are bytes, so what recovery reads back from a changelog is what was
    # written (a str key would come back as bytes and miss).
    pending = app.Table("pending", default=None, key_type=bytes, value_type=bytes)
    history = app.Table("child-history", default=None, key_type=bytes, value_type=bytes)
    deadline_table = app.Table("deadlines", default=None, key_type=bytes, value_type=bytes)
    sequence_table = app.Table("sequences", default=None, key_type=bytes, value_type=bytes)
    meeting_table = app.Table("meetings", default=None, key_type=bytes, value_type=bytes)

    async def send(out: faust.TopicT, key: str, value: BaseModel) -> None:
        await out.send(key=key.encode(), value=value.model_dump_json().encode())

    async def dead_letter(spec: topics.TopicSpec, key: bytes | None, letter: DeadLetter) -> None:
        await dead_letters.send(key=key, value=letter.model_dump_json().encode())
        metrics.INVALID_EVENTS.labels(topic=spec.name, reason=letter.reason_class).inc()

    async def send_notification(notification: Notification) -> None:
        await send(
            notify_out[notification.recipient.agency], notification.notification_id, notification
        )
        for rule in notification.rules:
            metrics.NOTIFICATIONS.labels(
                agency=notification.recipient.agency.value, rule=rule
            ).inc()

    async def track(command: DeadlineCommand) -> None:
        await send(deadlines_out, command.id, command)

    async def publish(
        incident: PoliceIncident,
        outcomes: Iterable[ChildOutcome],
        published_at: datetime | None = None,
        settles_review: str | None = None,
    ) -> None:
        key = incident_key(incident)
        now = clock()
        for outcome in outcomes:
            ref = outcome.child.person_reference
            for notification in outcome.notifications:
                await send_notification(notification)
                await track(
                    DeadlineCommand(
                        op="track",
                        id=notification.notification_id,
                        item=track_notification(notification, now),
                    )
                )
            if published_at is not None and outcome.notifications:
                # Wall time, even under a simulated clock: Kafka timestamps are wall time.
                waited = time.time() - published_at.timestamp()
                metrics.PROCESSING_LATENCY.observe(max(waited, 0))
            if outcome.review is not None:
                await send(reviews_out, key, outcome.review)
                await track(
                    DeadlineCommand(
                        op="track",
                        id=outcome.review.review_id,
                        item=track_review(outcome.review, now),
                    )
                )
            elif outcome.audit.stage == "rematched":
                await track(DeadlineCommand(op="close", id=review_id(incident, outcome.child)))
            watch = watch_id(incident.source, incident.incident_reference, ref)
            if not outcome.notifications and outcome.audit.stage == "routed":
                due = incident.reported_at + timedelta(hours=policy.signals.no_notification_hours)
                await track(
                    DeadlineCommand(
                        op="track",
                        id=watch,
                        item=track_watch(
                            incident.source, incident.incident_reference, ref, due, now
                        ),
                    )
                )
            elif outcome.notifications and outcome.audit.stage != "routed":
                await track(DeadlineCommand(op="close", id=watch))
            await send(audit_out, key, outcome.audit)
            metrics.MATCH_DECISIONS.labels(
                decision=outcome.decision, stage=outcome.audit.stage
            ).inc()
            if outcome.notifications:
                notified = ChildNotified(
                    child_key=child_key(incident, outcome.child, outcome.record),
                    incident=incident,
                    person_reference=outcome.child.person_reference,
                    record=outcome.record,
                )
                await send(child_history, notified.child_key, notified)

    def store_pending(key: str, entry: PendingIncident | None) -> None:
        if entry is not None:
            pending[key.encode()] = entry.model_dump_json().encode()
        elif pending.get(key.encode()) is not None:
            del pending[key.encode()]
        metrics.PENDING_INCIDENTS.set(len(pending))

    def load_pending(key: str) -> PendingIncident | None:
        raw = pending.get(key.encode())
        return PendingIncident.model_validate_json(raw) if raw else None

    async def wait_for_replica() -> None:
        if app.replica_ready is not None and not app.replica_ready.is_set():
            await app.replica_ready.wait()

    async def accept(event: Any, model: type[E], spec: topics.TopicSpec) -> E | None:
        """The validated event, or None once it is on the dead-letter topic."""
        message = event.message
        origin = Origin(message.topic, message.partition, message.offset, message.key)
        result = validate(model, event.value, origin, clock())
        if isinstance(result, DeadLetter):
            await dead_letter(spec, message.key, result)
            return None
        return result

    @app.agent(incidents, concurrency=1)
    async def handle_incidents(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            await wait_for_replica()
            message = event.message
            now = clock()
            result = await accept(event, PoliceIncident, topics.POLICE_INCIDENTS)
            if result is None:
                # Dead-lettered, not lost: its sequence number still counts if readable.
                seen = _sequence_of(event.value)
                if seen is not None:
                    await send(sequences, seen.source, seen)
            else:
                metrics.INCIDENTS_RECEIVED.labels(
                    force=signals.force_label(result.source),
                    incident_type=result.incident_type.value,
                ).inc()
                metrics.CHILDREN_RECEIVED.inc(len(result.children))
                for warning in result.data_quality:
                    metrics.DATA_QUALITY_WARNINGS.labels(code=warning.code.value).inc()
                await police_signals_for(result, now)
                published_at = _message_time(message)
                outcomes = process_incident(result, replica, policy, calendar, now, published_at)
                await publish(result, outcomes, published_at)
                key = incident_key(result)
                stored = load_pending(key)
                store_pending(
                    key, pending_after(result, outcomes, stored.received_at if stored else now)
                )
            metrics.LAST_PROCESSED.set(time.time())

    @app.agent(decisions, concurrency=1)
    async def handle_review_decisions(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            await wait_for_replica()
            now = clock()
            result = await accept(event, ReviewDecision, topics.REVIEW_DECISIONS)
            if result is None:
                continue
            key = (event.message.key or b"").decode(errors="replace")
            entry = load_pending(key)
            if entry is None:
                metrics.REVIEW_DECISIONS.labels(outcome="nothing_pending").inc()
                continue
            outcome, left, what = apply_review_decision(
                entry, result, replica, policy, calendar, now
            )
            metrics.REVIEW_DECISIONS.labels(
                outcome=what if outcome is not None else "not_applied"
            ).inc()
            if outcome is not None:
                await track(DeadlineCommand(op="close", id=result.review_id))
                await publish(entry.incident, [outcome])
                store_pending(key, left)

    @app.agent(rematch_requests, concurrency=1)
    async def handle_rematch(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            await wait_for_replica()
            key = (event.message.key or b"").decode(errors="replace")
            entry = load_pending(key)
            if entry is None:
                continue
            now = clock()
            if entry.expired(now, policy.rematch_window_hours):
                store_pending(key, None)
                continue
            outcomes, left = rematch(entry, replica, policy, calendar, now)
            if outcomes:
                await publish(entry.incident, outcomes)
                store_pending(key, left)

    @app.agent(child_history, concurrency=1)
    async def handle_child_history(stream: faust.StreamT[bytes]) -> None:
        keep_days = policy.repeat_rule.within_days if policy.repeat_rule else 1
        async for event in stream.events():
            notified = ChildNotified.model_validate_json(event.value)
            raw = history.get(notified.child_key.encode())
            before = [Seen.model_validate(s) for s in _json_list(raw)]
            after = remember(before, notified.seen, keep_days)
            history[notified.child_key.encode()] = _dump_list(after)
            if any(s.incident_key == notified.seen.incident_key for s in before):
                continue  # this incident was counted before (a replay or a rematch)
            escalated = escalation(after, notified, policy, calendar, clock())
            if escalated is not None:
                await send_notification(escalated)
                await track(
                    DeadlineCommand(
                        op="track",
                        id=escalated.notification_id,
                        item=track_notification(escalated, clock()),
                    )
                )
                decision = MatchDecision.AUTO if notified.record else None
                audit = audit_record(
                    notified.incident,
                    notified.person_reference,
                    "escalated",
                    decision,
                    notified.record,
                    [escalated],
                    clock(),
                )
                await send(audit_out, notified.seen.incident_key, audit)

    async def raise_alerts(alerts: Iterable[ComplianceAlert]) -> None:
        for alert in alerts:
            await send(alerts_out, alert.alert_id, alert)
            metrics.ALERTS.labels(kind=alert.kind.value).inc()
            by_rule = {AlertKind.MISSED: metrics.MISSED, AlertKind.LATE: metrics.LATE}
            counter = by_rule.get(alert.kind)
            if counter is not None and alert.agency is not None:
                for rule in (alert.rule or "").split("+"):
                    counter.labels(agency=alert.agency.value, rule=rule).inc()

    async def police_signals_for(incident: PoliceIncident, now: datetime) -> None:
        force = signals.force_label(incident.source)
        delay = report_delay(incident).total_seconds()
        metrics.REPORT_DELAY.labels(force=force).observe(max(delay, 0))
        limit = timedelta(hours=signals.late_report_limit(incident.incident_type))
        late = late_report(incident, limit, now)
        if late is not None:
            metrics.LATE_REPORTS.labels(
                force=force, incident_type=incident.incident_type.value
            ).inc()
            await raise_alerts([late])
        burst = batching.observe(incident, now)
        if burst is not None and burst.alert_id not in batching_raised:
            batching_raised.add(burst.alert_id)
            metrics.BATCHING.labels(force=force).inc()
            await raise_alerts([burst])
        await send(
            sequences,
            incident.source,
            SequenceObserved(source=incident.source, sequence=incident.sequence),
        )

    batching_raised: set[str] = set()
    parsed: dict[bytes, tuple[int, bytes, Tracked]] = {}
    check_requested: set[str] = set()

    def load_tracked(key: str) -> Tracked | None:
        raw = deadline_table.get(key.encode())
        return Tracked.model_validate_json(raw) if raw else None

    # Items this worker wrote, by deadline: the 1 s check pops only what has come due.
    # Items recovered from the changelog (after a restart or a rebalance) join it at the
    # next full scan.
    due_heap: list[tuple[datetime, str]] = []

    def store_tracked(key: str, item: Tracked | None) -> None:
        if item is None:
            if deadline_table.get(key.encode()) is not None:
                del deadline_table[key.encode()]
            return
        deadline_table[key.encode()] = item.model_dump_json().encode()
        if item.deadline is not None and not item.settled and not item.missed_flagged:
            heapq.heappush(due_heap, (item.deadline, key))

    @app.agent(deadline_events, concurrency=1)
    async def handle_deadlines(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            now = clock()
            if event.message.topic == acks_name:
                ack = await accept(event, Acknowledgement, topics.ACKS)
                if ack is None:
                    continue
                if event.message.key != ack.notification_id.encode():
                    await dead_letter(
                        topics.ACKS,
                        event.message.key,
                        dead_letter_for(
                            event.value,
                            _origin(event.message),
                            now,
                            "schema",
                            [
                                DeadLetterReason(
                                    location="(key)",
                                    error_type="key_mismatch",
                                    message="the record key must be the notification_id",
                                )
                            ],
                        ),
                    )
                    continue
                held = load_tracked(ack.notification_id)
                item, alerts = acknowledge(held, ack, now)
                if held is None or held.acked_at is None:
                    agency = ack.agency.value
                    metrics.ACKNOWLEDGEMENTS.labels(agency=agency, status=ack.status.value).inc()
                    if item.registered_at is not None:
                        waited = (ack.acknowledged_at - item.registered_at).total_seconds()
                        metrics.ACK_SECONDS.labels(agency=agency).observe(max(waited, 0))
                store_tracked(ack.notification_id, item)
                await raise_alerts(alerts)
                continue
            command = DeadlineCommand.model_validate_json(event.value)
            held = load_tracked(command.id)
            if command.op == "track" and command.item is not None:
                item, alerts = register(held, command.item, now)
                store_tracked(command.id, item)
                await raise_alerts(alerts)
            elif command.op == "close":
                store_tracked(command.id, close(held, now))
            elif held is not None:
                item, alerts = check(held, now)
                check_requested.discard(command.id)
                store_tracked(command.id, None if item.forgettable(now) else item)
                await raise_alerts(alerts)

    def owned_partitions(name: str) -> set[int]:
        return {tp.partition for tp in _assignment(app) if tp.topic == name}

    async def request_check(item_id: str) -> None:
        if item_id not in check_requested:
            check_requested.add(item_id)
            await track(DeadlineCommand(op="check", id=item_id))

    @app.timer(interval=DEADLINE_CHECK_INTERVAL_S)  # type: ignore[untyped-decorator]
    async def check_due() -> None:
        """Ask for a check of every item whose deadline has passed (flagged within ~1 s)."""
        now = clock()
        mine = owned_partitions(deadlines_name)
        while due_heap and due_heap[0][0] <= now:
            _, key = heapq.heappop(due_heap)
            item = load_tracked(key)
            if (
                item is not None
                and item.due(now)
                and _partition_of(key.encode(), settings.partitions) in mine
            ):
                await request_check(key)  # the agent re-reads the item and decides

    @app.timer(interval=DEADLINE_SCAN_INTERVAL_S)  # type: ignore[untyped-decorator]
    async def scan_deadlines() -> None:
        """Walk every item this worker owns: open-work gauges, forgetting, and items
        recovered from the changelog that the due-time heap does not know yet."""
        now = clock()
        mine = owned_partitions(deadlines_name)
        open_by: dict[str, list[Tracked]] = {a.value: [] for a in Agency}
        awaiting_review = 0
        for raw_key, raw in list(deadline_table.items()):
            cached = parsed.get(raw_key)
            if cached and cached[1] == raw:
                partition, item = cached[0], cached[2]
            else:  # parse (and hash the key: murmur2 is pure Python) once per change
                partition = _partition_of(raw_key, settings.partitions)
                item = Tracked.model_validate_json(raw)
                parsed[raw_key] = (partition, raw, item)
            if partition not in mine:
                continue
            if item.kind == "notification" and not item.settled and item.agency is not None:
                open_by[item.agency.value].append(item)
            elif item.kind == "review" and not item.settled:
                awaiting_review += 1
            if item.due(now) or item.forgettable(now):
                await request_check(item.id)
        for gone in set(parsed) - set(deadline_table.keys()):
            parsed.pop(gone, None)
        metrics.REVIEWS_AWAITING.set(awaiting_review)
        for agency, items in open_by.items():
            _open_work_gauges(agency, items, now)

    @app.agent(sequences, concurrency=1)
    async def handle_sequences(stream: faust.StreamT[bytes]) -> None:
        window = timedelta(minutes=signals.sequence_gap_minutes)
        async for event in stream.events():
            seen = SequenceObserved.model_validate_json(event.value)
            key = seen.source.encode()
            raw = sequence_table.get(key)
            state = SourceSequence.model_validate_json(raw) if raw else None
            now = clock()
            if seen.sequence is not None:
                state = observe(state, seen.source, seen.sequence, now)
            if state is None:
                continue
            state, alerts = overdue_gaps(state, window, now)
            sequence_table[key] = state.model_dump_json().encode()
            force = signals.force_label(seen.source)
            for alert in alerts:
                metrics.SEQUENCE_GAPS.labels(force=force).inc()
                span = (alert.subject.sequence_to or 0) - (alert.subject.sequence_from or 0) + 1
                metrics.SEQUENCE_MISSING.labels(force=force).inc(span)
            await raise_alerts(alerts)

    @app.timer(interval=SEQUENCE_SCAN_INTERVAL_S)  # type: ignore[untyped-decorator]
    async def scan_sequences() -> None:
        now = clock()
        window = timedelta(minutes=signals.sequence_gap_minutes)
        for raw in list(sequence_table.values()):
            state = SourceSequence.model_validate_json(raw)
            if any(not g.alerted and g.opened_at + window <= now for g in state.gaps):
                await send(sequences, state.source, SequenceObserved(source=state.source))

    meeting_counts: dict[str, list[int]] = {}

    @app.agent(meetings, concurrency=1)
    async def handle_meetings(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            meeting = await accept(event, StrategyMeeting, topics.MEETINGS)
            if meeting is None:
                continue
            key = meeting.meeting_id.encode()
            if meeting.status != "held" or meeting_table.get(key) == b"held":
                meeting_table[key] = meeting.status.encode()
                continue
            meeting_table[key] = b"held"
            for party in meeting.invited:
                came = party in meeting.attended
                metrics.MEETING_INVITES.labels(party=party.value).inc()
                if came:
                    metrics.MEETING_ATTENDANCE.labels(party=party.value).inc()
                counts = meeting_counts.setdefault(party.value, [0, 0])
                counts[0] += 1
                counts[1] += int(came)
                metrics.MEETING_PARTICIPATION.labels(party=party.value).set(counts[1] / counts[0])

    async def request_rematch(changed: list[str] | None) -> None:
        """Ask the owner of each waiting incident that these changed records could affect
        to match it again; ``None`` asks for all (the periodic sweep)."""
        keys: frozenset[str] = frozenset().union(
            *(replica.matcher.record_keys(r) for r in changed or [])
        )
        if changed is not None and not keys:
            return
        for raw_key, raw in list(pending.items()):
            key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
            entry = PendingIncident.model_validate_json(raw)
            if changed is None or any(
                keys & replica.matcher.child_keys(entry.child(p.person_reference))
                for p in entry.children
            ):
                request = topics.RematchRequest(reason="record_changed" if changed else "sweep")
                await send(rematch_requests, key, request)

    @app.task  # type: ignore[untyped-decorator]
    async def follow_council_records() -> None:
        app.replica_ready = asyncio.Event()
        await _follow_records(app, settings, replica, dead_letter, request_rematch, clock)

    @app.timer(interval=SWEEP_INTERVAL_S)  # type: ignore[untyped-decorator]
    async def sweep_pending() -> None:
        if app.replica_ready is not None and app.replica_ready.is_set():
            await request_rematch(None)

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        ready = app.is_ready()
        assigned = sorted(f"{tp.topic}:{tp.partition}" for tp in _assignment(app))
        body = {
            "status": "ready" if ready else "starting",
            "replica": {
                "records": len(replica),
                "caught_up": bool(app.replica_ready and app.replica_ready.is_set()),
            },
            "assigned_partitions": assigned,
        }
        return web.json(body, status=200 if ready else 503)

    @app.page("/metrics")
    async def prometheus_metrics(web: Any, request: Any) -> Any:
        # aiohttp refuses a charset inside content_type; the exposition format is UTF-8.
        return web.bytes(generate_latest(metrics.REGISTRY), content_type=metrics.CONTENT_TYPE)

    return app


async def _follow_records(
    app: FrontdoorApp,
    settings: Settings,
    replica: Replica,
    dead_letter: Callable[[topics.TopicSpec, bytes | None, DeadLetter], Any],
    request_rematch: Callable[[list[str] | None], Any],
    clock: Clock,
) -> None:
    """Read every partition of the council records topic, from the start, for ever."""
    name = topics.topic_name(topics.CHILD_RECORDS, settings)
    consumer = AIOKafkaConsumer(
        **settings.aiokafka_options(),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=2000,
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(name, p) for p in await _partitions(consumer, name)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        targets = await consumer.end_offsets(partitions)
        started = time.monotonic()
        ready = app.replica_ready
        assert ready is not None
        while not app.should_stop:
            batch = await consumer.getmany(timeout_ms=500)
            changed: list[str] = []
            for messages in batch.values():
                for message in messages:
                    applied = _apply_record(replica, message, clock)
                    if isinstance(applied, DeadLetter):
                        await dead_letter(topics.CHILD_RECORDS, message.key, applied)
                    elif applied is not None:
                        changed.append(applied)
            if changed and ready.is_set():
                await request_rematch(changed)  # once per batch, not once per record
            metrics.REPLICA_RECORDS.set(len(replica))
            if not ready.is_set() and all(
                await asyncio.gather(*(_reached(consumer, tp, targets[tp]) for tp in partitions))
            ):
                ready.set()
                metrics.LAST_PROCESSED.set(time.time())  # "stalled" counts from readiness
                # The replica is long-lived: keep the collector from walking it again and
                # again (its pauses showed as the matcher's p99 latency).
                gc.freeze()
                log.info(
                    "council records replica caught up: %d records in %.1f s",
                    len(replica),
                    time.monotonic() - started,
                )
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, name: str) -> list[int]:
    cluster = await consumer._client.fetch_all_metadata()  # no public call returns it
    found = cluster.partitions_for_topic(name)
    if not found:
        raise RuntimeError(f"topic {name} does not exist; run `frontdoor topics create`")
    return sorted(found)


async def _reached(consumer: AIOKafkaConsumer, tp: TopicPartition, target: int) -> bool:
    return bool(await consumer.position(tp) >= target)


def _apply_record(replica: Replica, message: Any, clock: Clock) -> str | DeadLetter | None:
    """Apply one upsert or tombstone; the changed record's id, a dead letter, or None."""
    key = (message.key or b"").decode(errors="replace")
    if message.value is None:
        try:
            deleted = ChildRecordDeleted.from_key(key)
        except ValueError:
            return None
        replica.delete(deleted.key)
        return None
    origin = Origin(message.topic, message.partition, message.offset, message.key)
    result = validate(ChildRecord, message.value, origin, clock())
    if isinstance(result, DeadLetter):
        return result
    return result.key if replica.upsert(result) else None


def _json_list(raw: bytes | None) -> list[Any]:
    return list(json.loads(raw)) if raw else []


def _dump_list(items: list[Seen]) -> bytes:
    return ("[" + ",".join(s.model_dump_json() for s in items) + "]").encode()


def _sequence_of(raw: bytes | None) -> SequenceObserved | None:
    """Source and sequence number from an event that failed validation, if they are there."""
    try:
        data = json.loads(raw or b"")
        return SequenceObserved(source=str(data["source"]), sequence=int(data["sequence"]))
    except (ValueError, TypeError, KeyError):
        return None


def _partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2) puts ``key`` in."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


def _origin(message: Any) -> Origin:
    return Origin(message.topic, message.partition, message.offset, message.key)


def _open_work_gauges(agency: str, items: list[Tracked], now: datetime) -> None:
    metrics.OPEN_NOTIFICATIONS.labels(agency=agency).set(len(items))
    for label, hours in (("1h", 1), ("4h", 4), ("24h", 24)):
        horizon = now + timedelta(hours=hours)
        due = sum(1 for i in items if i.deadline is not None and now < i.deadline <= horizon)
        metrics.DUE_SOON.labels(agency=agency, within=label).set(due)
    overdue = [i for i in items if i.deadline is not None and i.deadline <= now]
    metrics.DUE_SOON.labels(agency=agency, within="overdue").set(len(overdue))
    ages = [(now - i.registered_at).total_seconds() for i in items if i.registered_at]
    metrics.OLDEST_PENDING.labels(agency=agency).set(max(ages, default=0))
    past = [(now - i.deadline).total_seconds() for i in overdue if i.deadline is not None]
    metrics.OLDEST_PAST_DEADLINE.labels(agency=agency).set(max(past, default=0))


def _assignment(app: FrontdoorApp) -> set[TP]:
    return set(app.consumer.assignment()) if app._consumer is not None else set()


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
    topics.create_all(settings)
    app = create_app(settings, policy=policy)
    faust.Worker(app, loglevel=loglevel).execute_from_commandline()
