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
* ``frontdoor.child-history.v2`` (internal, by child) -> repeat escalation (R12).

Every agent takes its events in batches (``take_events``), calls the core for each, and
sends what the batch produced through an ``Outbox`` straight to the idempotent producer,
waiting for every delivery before the batch's offsets are acknowledged. Internal events
for one partition travel as one message per batch.
"""

from __future__ import annotations

import asyncio
import gc
import heapq
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
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
    DeadlineCommands,
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
from streams.history import ChildNotified, ChildrenNotified, Seen, escalation, remember
from streams.matching import Matcher, MatchModel
from streams.outbox import Outbox, deliver, partition_of
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
    SequencesObserved,
    SourceSequence,
    late_report,
    observe,
    overdue_gaps,
    report_delay,
)
from streams.policy import Policy, PolicyError, load_policy
from streams.replica import Replica, Snapshot, load_snapshot, save_snapshot
from streams.settings import Settings
from streams.state import BatchedTable, writing_to
from streams.validation import Origin, dead_letter_for, validate

log = logging.getLogger(__name__)

E = TypeVar("E", bound=BaseModel)
SWEEP_INTERVAL_S = 300.0
DEADLINE_CHECK_INTERVAL_S = 1.0  # a miss is flagged within about a second of its deadline
DEADLINE_SCAN_INTERVAL_S = 15.0  # full walk: gauges (one scrape interval), recovered items
SEQUENCE_SCAN_INTERVAL_S = 5.0
SCAN_SLICE = 2_000  # items a table walk looks at before letting other work run
# Agents take up to BATCH_MAX events, or what arrived within BATCH_WITHIN_S, at a time:
# large enough to spread a delivery round trip over many events, small enough that a
# batch (~1.5 ms an incident) does not hold the event loop for long.
BATCH_MAX = 200
BATCH_WITHIN_S = 0.01


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
        Table=BatchedTable,  # changelog writes go out with each batch (streams/state.py)
    )

    def topic(spec: topics.TopicSpec) -> faust.TopicT:
        return app.topic(
            topics.topic_name(spec, settings),
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
        )

    def name(spec: topics.TopicSpec) -> str:
        return topics.topic_name(spec, settings)

    # What the agents read (faust topics) ...
    incidents = topic(topics.POLICE_INCIDENTS)
    decisions = topic(topics.REVIEW_DECISIONS)
    rematch_requests = topic(topics.REMATCH)
    child_history_in = topic(topics.CHILD_HISTORY)
    sequences_in = topic(topics.SEQUENCES)
    meetings = topic(topics.MEETINGS)
    # ... and what they write, through an outbox (topic names).
    child_history = name(topics.CHILD_HISTORY)
    sequences = name(topics.SEQUENCES)
    rematch_out = name(topics.REMATCH)
    audit_out = name(topics.AUDIT)
    dead_letters = name(topics.DEAD_LETTERS)
    reviews_out = name(topics.REVIEW_MATCHES)
    notify_out = {agency: name(spec) for agency, spec in topics.NOTIFY.items()}
    alerts_out = name(topics.COMPLIANCE_ALERTS)
    acks_name = name(topics.ACKS)
    deadlines_name = name(topics.DEADLINES)
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
    # written (a str key would come back as bytes and miss). Agents handle a batch of
    # events at a time, so a table's changelog partition comes from its key (the same
    # murmur2 hash the input topics are partitioned by; BatchedTable), not from "the
    # current event".
    def table(name: str) -> Any:
        return app.Table(name, default=None, key_type=bytes, value_type=bytes)

    pending = table("pending")
    history = table("child-history")
    deadline_table = table("deadlines")
    sequence_table = table("sequences")
    meeting_table = table("meetings")

    def outbox() -> Outbox:
        return Outbox(settings.partitions)

    async def flush(out: Outbox) -> None:
        if len(out):
            # The idempotent acks=all aiokafka producer under faust's own send path.
            producer: Any = app.producer
            await deliver(producer._ensure_producer(), out)

    def agent(
        channel: faust.ChannelT[bytes],
        handle: Callable[[Outbox, Any], None],
        needs_replica: bool = False,
    ) -> None:
        """A faust agent that takes events in batches, handles each, then delivers what
        the batch produced before its offsets are acknowledged."""

        async def run(stream: Any) -> None:  # take_events is missing from faust's StreamT
            async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
                if needs_replica:
                    await wait_for_replica()
                with writing_to(outbox()) as out:
                    for event in events:
                        handle(out, event)
                await flush(out)
                metrics.LAST_PROCESSED.set(time.time())

        run.__qualname__ = run.__name__ = handle.__name__  # what faust's logs call the agent
        app.agent(channel, name=f"frontdoor.{handle.__name__}", concurrency=1)(run)

    def dead_letter(
        out: Outbox, spec: topics.TopicSpec, key: bytes | None, letter: DeadLetter
    ) -> None:
        out.send(dead_letters, key, letter)
        metrics.INVALID_EVENTS.labels(topic=spec.name, reason=letter.reason_class).inc()

    def send_notification(out: Outbox, notification: Notification) -> None:
        out.send(
            notify_out[notification.recipient.agency], notification.notification_id, notification
        )
        for rule in notification.rules:
            metrics.NOTIFICATIONS.labels(
                agency=notification.recipient.agency.value, rule=rule
            ).inc()

    def track(out: Outbox, command: DeadlineCommand) -> None:
        out.send_internal(deadlines_name, command.id, command)

    def observe_latency(out: Outbox, published_at: datetime) -> None:
        # Wall time, even under a simulated clock: Kafka timestamps are wall time.
        stamp = published_at.timestamp()
        out.then(lambda: metrics.PROCESSING_LATENCY.observe(max(time.time() - stamp, 0)))

    def publish(
        out: Outbox,
        incident: PoliceIncident,
        outcomes: Iterable[ChildOutcome],
        published_at: datetime | None = None,
    ) -> None:
        key = incident_key(incident)
        now = clock()
        for outcome in outcomes:
            ref = outcome.child.person_reference
            for notification in outcome.notifications:
                send_notification(out, notification)
                track(
                    out,
                    DeadlineCommand(
                        op="track",
                        id=notification.notification_id,
                        item=track_notification(notification, now),
                    ),
                )
            if published_at is not None and outcome.notifications:
                observe_latency(out, published_at)
            if outcome.review is not None:
                out.send(reviews_out, key, outcome.review)
                track(
                    out,
                    DeadlineCommand(
                        op="track",
                        id=outcome.review.review_id,
                        item=track_review(outcome.review, now),
                    ),
                )
            elif outcome.audit.stage == "rematched":
                track(out, DeadlineCommand(op="close", id=review_id(incident, outcome.child)))
            watch = watch_id(incident.source, incident.incident_reference, ref)
            if not outcome.notifications and outcome.audit.stage == "routed":
                due = incident.reported_at + timedelta(hours=policy.signals.no_notification_hours)
                track(
                    out,
                    DeadlineCommand(
                        op="track",
                        id=watch,
                        item=track_watch(
                            incident.source, incident.incident_reference, ref, due, now
                        ),
                    ),
                )
            elif outcome.notifications and outcome.audit.stage != "routed":
                track(out, DeadlineCommand(op="close", id=watch))
            out.send(audit_out, key, outcome.audit)
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
                out.send_internal(child_history, notified.child_key, notified)

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

    def accept(out: Outbox, event: Any, model: type[E], spec: topics.TopicSpec) -> E | None:
        """The validated event, or None once it is on its way to the dead-letter topic."""
        result = validate(model, event.value, _origin(event.message), clock())
        if isinstance(result, DeadLetter):
            dead_letter(out, spec, event.message.key, result)
            return None
        return result

    def incident_arrived(out: Outbox, event: Any) -> None:
        now = clock()
        result = accept(out, event, PoliceIncident, topics.POLICE_INCIDENTS)
        if result is None:
            # Dead-lettered, not lost: its sequence number still counts if readable.
            seen = _sequence_of(event.value)
            if seen is not None:
                out.send_internal(sequences, seen.source, seen)
            return
        metrics.INCIDENTS_RECEIVED.labels(
            force=signals.force_label(result.source),
            incident_type=result.incident_type.value,
        ).inc()
        metrics.CHILDREN_RECEIVED.inc(len(result.children))
        for warning in result.data_quality:
            metrics.DATA_QUALITY_WARNINGS.labels(code=warning.code.value).inc()
        police_signals_for(out, result, now)
        published_at = _message_time(event.message)
        outcomes = process_incident(result, replica, policy, calendar, now, published_at)
        publish(out, result, outcomes, published_at)
        key = incident_key(result)
        stored = load_pending(key)
        store_pending(key, pending_after(result, outcomes, stored.received_at if stored else now))

    def review_decided(out: Outbox, event: Any) -> None:
        now = clock()
        result = accept(out, event, ReviewDecision, topics.REVIEW_DECISIONS)
        if result is None:
            return
        key = (event.message.key or b"").decode(errors="replace")
        entry = load_pending(key)
        if entry is None:
            metrics.REVIEW_DECISIONS.labels(outcome="nothing_pending").inc()
            return
        outcome, left, what = apply_review_decision(entry, result, replica, policy, calendar, now)
        applied = what if outcome is not None else "not_applied"
        metrics.REVIEW_DECISIONS.labels(outcome=applied).inc()
        if outcome is not None:
            track(out, DeadlineCommand(op="close", id=result.review_id))
            publish(out, entry.incident, [outcome])
            store_pending(key, left)

    def rematch_requested(out: Outbox, event: Any) -> None:
        key = (event.message.key or b"").decode(errors="replace")
        entry = load_pending(key)
        if entry is None:
            return
        now = clock()
        if entry.expired(now, policy.rematch_window_hours):
            store_pending(key, None)
            return
        outcomes, left = rematch(entry, replica, policy, calendar, now)
        if outcomes:
            publish(out, entry.incident, outcomes)
            store_pending(key, left)

    keep_days = policy.repeat_rule.within_days if policy.repeat_rule else 1

    def children_notified(out: Outbox, event: Any) -> None:
        for notified in ChildrenNotified.model_validate_json(event.value).items:
            raw = history.get(notified.child_key.encode())
            before = [Seen.model_validate(s) for s in _json_list(raw)]
            after = remember(before, notified.seen, keep_days)
            history[notified.child_key.encode()] = _dump_list(after)
            if any(s.incident_key == notified.seen.incident_key for s in before):
                continue  # this incident was counted before (a replay or a rematch)
            escalated = escalation(after, notified, policy, calendar, clock())
            if escalated is None:
                continue
            send_notification(out, escalated)
            track(
                out,
                DeadlineCommand(
                    op="track",
                    id=escalated.notification_id,
                    item=track_notification(escalated, clock()),
                ),
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
            out.send(audit_out, notified.seen.incident_key, audit)

    def raise_alerts(out: Outbox, alerts: Iterable[ComplianceAlert]) -> None:
        for alert in alerts:
            out.send(alerts_out, alert.alert_id, alert)
            metrics.ALERTS.labels(kind=alert.kind.value).inc()
            by_rule = {AlertKind.MISSED: metrics.MISSED, AlertKind.LATE: metrics.LATE}
            counter = by_rule.get(alert.kind)
            if counter is not None and alert.agency is not None:
                for rule in (alert.rule or "").split("+"):
                    counter.labels(agency=alert.agency.value, rule=rule).inc()

    def police_signals_for(out: Outbox, incident: PoliceIncident, now: datetime) -> None:
        force = signals.force_label(incident.source)
        delay = report_delay(incident).total_seconds()
        metrics.REPORT_DELAY.labels(force=force).observe(max(delay, 0))
        limit = timedelta(hours=signals.late_report_limit(incident.incident_type))
        late = late_report(incident, limit, now)
        if late is not None:
            metrics.LATE_REPORTS.labels(
                force=force, incident_type=incident.incident_type.value
            ).inc()
            raise_alerts(out, [late])
        burst = batching.observe(incident, now)
        if burst is not None and burst.alert_id not in batching_raised:
            batching_raised.add(burst.alert_id)
            metrics.BATCHING.labels(force=force).inc()
            raise_alerts(out, [burst])
        out.send_internal(
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

    def acknowledged(out: Outbox, event: Any, now: datetime) -> None:
        ack = accept(out, event, Acknowledgement, topics.ACKS)
        if ack is None:
            return
        if event.message.key != ack.notification_id.encode():
            reason = DeadLetterReason(
                location="(key)",
                error_type="key_mismatch",
                message="the record key must be the notification_id",
            )
            letter = dead_letter_for(event.value, _origin(event.message), now, "schema", [reason])
            dead_letter(out, topics.ACKS, event.message.key, letter)
            return
        held = load_tracked(ack.notification_id)
        item, alerts = acknowledge(held, ack, now)
        if held is None or held.acked_at is None:
            agency = ack.agency.value
            metrics.ACKNOWLEDGEMENTS.labels(agency=agency, status=ack.status.value).inc()
            if item.registered_at is not None:
                waited = (ack.acknowledged_at - item.registered_at).total_seconds()
                metrics.ACK_SECONDS.labels(agency=agency).observe(max(waited, 0))
        store_tracked(ack.notification_id, item)
        raise_alerts(out, alerts)

    def deadline_event(out: Outbox, event: Any) -> None:
        now = clock()
        if event.message.topic == acks_name:
            acknowledged(out, event, now)
            return
        for command in DeadlineCommands.model_validate_json(event.value).items:
            held = load_tracked(command.id)
            if command.op == "track" and command.item is not None:
                item, alerts = register(held, command.item, now)
                store_tracked(command.id, item)
                raise_alerts(out, alerts)
            elif command.op == "close":
                store_tracked(command.id, close(held, now))
            elif held is not None:
                item, alerts = check(held, now)
                check_requested.discard(command.id)
                store_tracked(command.id, None if item.forgettable(now) else item)
                raise_alerts(out, alerts)

    def owned_partitions(name: str) -> set[int]:
        return {tp.partition for tp in _assignment(app) if tp.topic == name}

    def request_check(out: Outbox, item_id: str) -> None:
        if item_id not in check_requested:
            check_requested.add(item_id)
            track(out, DeadlineCommand(op="check", id=item_id))

    @app.timer(interval=DEADLINE_CHECK_INTERVAL_S)  # type: ignore[untyped-decorator]
    async def check_due() -> None:
        """Ask for a check of every item whose deadline has passed (flagged within ~1 s)."""
        now = clock()
        mine = owned_partitions(deadlines_name)
        out = outbox()
        while due_heap and due_heap[0][0] <= now:
            _, key = heapq.heappop(due_heap)
            item = load_tracked(key)
            if (
                item is not None
                and item.due(now)
                and partition_of(key.encode(), settings.partitions) in mine
            ):
                request_check(out, key)  # the agent re-reads the item and decides
        await flush(out)

    @app.timer(interval=DEADLINE_SCAN_INTERVAL_S)  # type: ignore[untyped-decorator]
    async def scan_deadlines() -> None:
        """Walk every item this worker owns: open-work gauges, forgetting, and items
        recovered from the changelog that the due-time heap does not know yet."""
        now = clock()
        mine = owned_partitions(deadlines_name)
        open_by: dict[str, list[Tracked]] = {a.value: [] for a in Agency}
        awaiting_review = 0
        out = outbox()
        for n, (raw_key, raw) in enumerate(list(deadline_table.items())):
            if n % SCAN_SLICE == SCAN_SLICE - 1:
                await asyncio.sleep(0)  # a long walk must not hold up incidents
            cached = parsed.get(raw_key)
            if cached and cached[1] == raw:
                partition, item = cached[0], cached[2]
            else:  # parse (and hash the key: murmur2 is pure Python) once per change
                partition = partition_of(raw_key, settings.partitions)
                item = Tracked.model_validate_json(raw)
                parsed[raw_key] = (partition, raw, item)
            if partition not in mine:
                continue
            if item.kind == "notification" and not item.settled and item.agency is not None:
                open_by[item.agency.value].append(item)
            elif item.kind == "review" and not item.settled:
                awaiting_review += 1
            if item.due(now) or item.forgettable(now):
                request_check(out, item.id)
        for gone in set(parsed) - set(deadline_table.keys()):
            parsed.pop(gone, None)
        metrics.REVIEWS_AWAITING.set(awaiting_review)
        for agency, items in open_by.items():
            _open_work_gauges(agency, items, now)
        await flush(out)

    window = timedelta(minutes=signals.sequence_gap_minutes)

    def sequences_observed(out: Outbox, event: Any) -> None:
        now = clock()
        for seen in SequencesObserved.model_validate_json(event.value).items:
            key = seen.source.encode()
            raw = sequence_table.get(key)
            state = SourceSequence.model_validate_json(raw) if raw else None
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
            raise_alerts(out, alerts)

    @app.timer(interval=SEQUENCE_SCAN_INTERVAL_S)  # type: ignore[untyped-decorator]
    async def scan_sequences() -> None:
        now = clock()
        out = outbox()
        for raw in list(sequence_table.values()):
            state = SourceSequence.model_validate_json(raw)
            if any(not g.alerted and g.opened_at + window <= now for g in state.gaps):
                out.send_internal(sequences, state.source, SequenceObserved(source=state.source))
        await flush(out)

    meeting_counts: dict[str, list[int]] = {}

    def meeting_held(out: Outbox, event: Any) -> None:
        meeting = accept(out, event, StrategyMeeting, topics.MEETINGS)
        if meeting is None:
            return
        key = meeting.meeting_id.encode()
        if meeting.status != "held" or meeting_table.get(key) == b"held":
            meeting_table[key] = meeting.status.encode()
            return
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

    agent(incidents, incident_arrived, needs_replica=True)
    agent(decisions, review_decided, needs_replica=True)
    agent(rematch_requests, rematch_requested, needs_replica=True)
    agent(child_history_in, children_notified)
    agent(deadline_events, deadline_event)
    agent(sequences_in, sequences_observed)
    agent(meetings, meeting_held)

    def request_rematch(out: Outbox, changed: list[str] | None) -> None:
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
                out.send(rematch_out, key, request)

    @app.task  # type: ignore[untyped-decorator]
    async def follow_council_records() -> None:
        app.replica_ready = asyncio.Event()
        await _follow_records(app, settings, replica, dead_letter, request_rematch, flush, clock)

    @app.timer(interval=SWEEP_INTERVAL_S)  # type: ignore[untyped-decorator]
    async def sweep_pending() -> None:
        if app.replica_ready is not None and app.replica_ready.is_set():
            out = outbox()
            request_rematch(out, None)
            await flush(out)

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
    dead_letter: Callable[[Outbox, topics.TopicSpec, bytes | None, DeadLetter], None],
    request_rematch: Callable[[Outbox, list[str] | None], None],
    flush: Callable[[Outbox], Awaitable[None]],
    clock: Clock,
) -> None:
    """Read every partition of the council records topic for ever: from this worker's
    last snapshot if it has one it can trust, else from the start."""
    name = topics.topic_name(topics.CHILD_RECORDS, settings)
    snapshot_path = settings.state_dir / "replica.snapshot"
    consumer = AIOKafkaConsumer(
        **settings.aiokafka_options(),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=2000,
    )
    await consumer.start()
    ready = app.replica_ready
    assert ready is not None
    read_to: dict[int, int] = {}  # next offset to read, per partition: what a snapshot records
    try:
        started = time.monotonic()
        partitions = [TopicPartition(name, p) for p in await _partitions(consumer, name)]
        consumer.assign(partitions)
        firsts = await consumer.beginning_offsets(partitions)
        targets = await consumer.end_offsets(partitions)
        snapshot = load_snapshot(snapshot_path, name, replica.matcher.model, time.time())
        if snapshot is not None and snapshot.fits(
            {tp.partition: firsts[tp] for tp in partitions},
            {tp.partition: targets[tp] for tp in partitions},
        ):
            replica.restore(snapshot.replica)
            read_to = dict(snapshot.offsets)
        if read_to:
            for tp in partitions:
                consumer.seek(tp, read_to[tp.partition])
        else:
            await consumer.seek_to_beginning(*partitions)
            read_to = {tp.partition: firsts[tp] for tp in partitions}
        restored = len(replica)
        # Catching up makes hundreds of thousands of long-lived objects; collector passes
        # over them cost about a third of the rebuild. Collect again once caught up.
        gc.disable()
        while not app.should_stop:
            batch = await consumer.getmany(timeout_ms=500)
            changed: list[str] = []
            out = Outbox(settings.partitions)
            for messages in batch.values():
                for message in messages:
                    applied = _apply_record(replica, message, clock)
                    read_to[message.partition] = message.offset + 1
                    if isinstance(applied, DeadLetter):
                        dead_letter(out, topics.CHILD_RECORDS, message.key, applied)
                    elif applied is not None:
                        changed.append(applied)
            if changed and ready.is_set():
                request_rematch(out, changed)  # once per batch, not once per record
            await flush(out)
            metrics.REPLICA_RECORDS.set(len(replica))
            if not ready.is_set() and all(
                await asyncio.gather(*(_reached(consumer, tp, targets[tp]) for tp in partitions))
            ):
                ready.set()
                metrics.LAST_PROCESSED.set(time.time())  # "stalled" counts from readiness
                # The replica is long-lived: keep the collector from walking it again and
                # again (its pauses showed as the matcher's p99 latency).
                gc.freeze()
                gc.enable()
                log.info(
                    "council records replica caught up: %d records in %.1f s "
                    "(%d from this worker's snapshot)",
                    len(replica),
                    time.monotonic() - started,
                    restored,
                )
    finally:
        gc.enable()
        await consumer.stop()
        if ready.is_set():  # only a caught-up replica is worth keeping
            began = time.monotonic()
            save_snapshot(snapshot_path, Snapshot(name, read_to, replica, time.time()))
            log.info(
                "replica snapshot of %d records written in %.1f s",
                len(replica),
                time.monotonic() - began,
            )


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
