"""frontdoor's own Prometheus metrics (prefix ``frontdoor_``, units in names).

Label values come only from closed lists (enums, topic specs, reason classes, the
policy's rule ids and force codes), never from event content, so no metric can carry a
name, an id or free text.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

from schemas.enums import Agency, AlertKind

disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created doubles the scrape

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = "text/plain; version=0.0.4"

HOUR = 3600.0
DAY = 24 * HOUR
# Every default deadline is a boundary: 1 H, 2 H, 4 H, 24 H; a working day is at most
# about 1 to 4 days (weekends, bank holidays), three working days about 3 to 6.
DEADLINE_BUCKETS = (
    60,
    300,
    900,
    1800,
    HOUR,
    2 * HOUR,
    4 * HOUR,
    8 * HOUR,
    16 * HOUR,
    DAY,
    2 * DAY,
    3 * DAY,
    4 * DAY,
    6 * DAY,
    8 * DAY,
)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


def _counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
    return Counter(name, doc, list(labels), registry=REGISTRY)


def _gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
    return Gauge(name, doc, list(labels), registry=REGISTRY)


# -- intake ---------------------------------------------------------------------------------
INCIDENTS_RECEIVED = _counter(
    "frontdoor_incidents_received_total",
    "Valid police incidents received, by force and incident type.",
    ("force", "incident_type"),
)
CHILDREN_RECEIVED = _counter(
    "frontdoor_incident_children_received_total", "Children named in valid police incidents."
)
INVALID_EVENTS = _counter(
    "frontdoor_invalid_events_total",
    "Events sent to the dead-letter topic, by topic and reason class.",
    ("topic", "reason"),
)
PROCESSING_ERRORS = _counter(
    "frontdoor_processing_errors_total",
    "Valid events dead-lettered because processing them failed (reason class "
    "processing_error), by agent.",
    ("agent",),
)
DELIVERY_RETRIES = _counter(
    "frontdoor_delivery_retries_total",
    "Batch deliveries retried after the producer gave up (broker unreachable, leader "
    "moving), by agent or task.",
    ("agent",),
)
PRODUCER_SESSIONS_RENEWED = _counter(
    "frontdoor_producer_sessions_renewed_total",
    "New idempotent producer sessions started because the broker refused the old one's "
    "sequence numbers (a batch expired unsent during an outage longer than the request "
    "timeout); each is followed by a delivery retry.",
)
EVENTS_SETTLED = _counter(
    "frontdoor_events_settled_total",
    "Input events settled, by agent: what they produced was delivered (or they were "
    "dead-lettered), and only then acknowledged for commit.",
    ("agent",),
)
UNSETTLED_AGE = _gauge(
    "frontdoor_unsettled_batch_age_seconds",
    "How long the batch an agent is working on has been held (0 between batches); a "
    "batch is normally settled within a second. Its events are not committed meanwhile.",
    ("agent",),
)
COMMITS_REFUSED = _counter(
    "frontdoor_commits_refused_total",
    "Offset commits the group refused (a rebalance moved the partitions on): those "
    "events are read again by their new owner.",
)
COMMIT_GAPS = _counter(
    "frontdoor_commit_gaps_total",
    "Batches in which events were missing before the ones handed over (around a "
    "rebalance): the commit stopped at the gap and the partition was read again from it.",
    ("agent",),
)
EVENTS_ALREADY_SETTLED = _counter(
    "frontdoor_events_already_settled_total",
    "Input events handed over again after a seek (a gap or a stall read again) that this "
    "worker had already settled and committed: skipped, not processed twice.",
    ("agent",),
)
REVOKE_WAITS = _counter(
    "frontdoor_revoke_waits_total",
    "Rebalances in which this worker gave up its partitions only after delivering the "
    "batches it held (so the next owner rebuilds its tables from every write).",
)
TIMER_ERRORS = _counter(
    "frontdoor_timer_errors_total", "Timer runs that failed (the timer runs again).", ("timer",)
)
DATA_QUALITY_WARNINGS = _counter(
    "frontdoor_data_quality_warnings_total",
    "Optional fields dropped from otherwise valid events, by warning code.",
    ("code",),
)
# -- matching and routing -------------------------------------------------------------------
MATCH_DECISIONS = _counter(
    "frontdoor_match_decisions_total",
    "Children matched against council records, by decision and stage.",
    ("decision", "stage"),
)
NOTIFICATIONS = _counter(
    "frontdoor_notifications_total",
    "Notifications sent, by recipient agency and each rule that named the recipient.",
    ("agency", "rule"),
)
REVIEW_DECISIONS = _counter(
    "frontdoor_review_decisions_total",
    "Review decisions received, by what they did: confirm, reject; or left the pair "
    "waiting: propose, unsure (not final), four_eyes (no second reviewer's approval), "
    "already_settled, record_gone; nothing_pending (no incident waits under the key).",
    ("outcome",),
)
PROCESSING_LATENCY = Histogram(
    "frontdoor_processing_latency_seconds",
    "From an incident's publication (its Kafka timestamp) to its notifications being sent.",
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
# -- deadlines and acknowledgements ------------------------------------------------------------
ACKNOWLEDGEMENTS = _counter(
    "frontdoor_acknowledgements_total",
    "First acknowledgements of notifications, by agency and status.",
    ("agency", "status"),
)
ACK_SECONDS = Histogram(
    "frontdoor_acknowledgement_seconds",
    "From a notification being sent to its first acknowledgement, by agency.",
    ["agency"],
    buckets=DEADLINE_BUCKETS,
    registry=REGISTRY,
)
MISSED = _counter(
    "frontdoor_notifications_missed_total",
    "Notifications not acknowledged by their deadline, by agency and rule.",
    ("agency", "rule"),
)
LATE = _counter(
    "frontdoor_notifications_late_total",
    "Notifications acknowledged after their deadline, by agency and rule.",
    ("agency", "rule"),
)
ALERTS = _counter(
    "frontdoor_compliance_alerts_total", "Compliance alerts raised, by kind.", ("kind",)
)
# Missed and late alerts are counted again per agency and rule.
ALERTS_BY_RULE = {AlertKind.MISSED: MISSED, AlertKind.LATE: LATE}
OPEN_NOTIFICATIONS = _gauge(
    "frontdoor_open_notifications",
    "Notifications on this worker not yet acknowledged, by agency.",
    ("agency",),
)
DUE_SOON = _gauge(
    "frontdoor_notifications_due",
    "Unacknowledged notifications due within the next period, by agency (1h, 4h, 24h); "
    "'overdue' for those already past their deadline.",
    ("agency", "within"),
)
OLDEST_PENDING = _gauge(
    "frontdoor_oldest_pending_notification_age_seconds",
    "Age of the oldest unacknowledged notification on this worker, by agency.",
    ("agency",),
)
OLDEST_PAST_DEADLINE = _gauge(
    "frontdoor_oldest_pending_past_deadline_seconds",
    "How far past its deadline the most overdue unacknowledged notification is, by agency "
    "(0 when none is overdue).",
    ("agency",),
)
REVIEWS_AWAITING = _gauge(
    "frontdoor_reviews_awaiting_decision",
    "Possible matches on this worker waiting for a person's decision.",
)
# -- police side ------------------------------------------------------------------------------
REPORT_DELAY = Histogram(
    "frontdoor_police_report_delay_seconds",
    "reported_at minus occurred_at of valid incidents, by force.",
    ["force"],
    buckets=DEADLINE_BUCKETS,
    registry=REGISTRY,
)
# From seconds (a healthy force) to days (one that holds incidents back).
ARRIVAL_BUCKETS = (1, 5, 15, 60, 300, 900, 1800, *DEADLINE_BUCKETS[4:])
ARRIVAL_DELAY = Histogram(
    "frontdoor_police_arrival_delay_seconds",
    "How long after the force recorded it (reported_at) a valid incident reached "
    "frontdoor, by force.",
    ["force"],
    buckets=ARRIVAL_BUCKETS,
    registry=REGISTRY,
)
LATE_TO_FRONTDOOR = _counter(
    "frontdoor_police_late_to_frontdoor_total",
    "Incidents that reached frontdoor beyond the policy's limit after the force recorded "
    "them, by force.",
    ("force",),
)
LATE_REPORTS = _counter(
    "frontdoor_police_late_reports_total",
    "Incidents reported beyond the policy's limit, by force and incident type.",
    ("force", "incident_type"),
)
SEQUENCE_GAPS = _counter(
    "frontdoor_police_sequence_gaps_total",
    "Gaps in a force's sequence numbers not filled in time (possible lost incidents).",
    ("force",),
)
SEQUENCE_MISSING = _counter(
    "frontdoor_police_sequence_missing_total",
    "Sequence numbers in gaps not filled in time, by force.",
    ("force",),
)
BATCHING = _counter(
    "frontdoor_police_batching_total", "Batching alerts raised, by force.", ("force",)
)
# -- strategy meetings ------------------------------------------------------------------------
MEETING_INVITES = _counter(
    "frontdoor_strategy_meeting_invitations_total",
    "Invitations to strategy meetings that were held, by party.",
    ("party",),
)
MEETING_ATTENDANCE = _counter(
    "frontdoor_strategy_meeting_attendances_total",
    "Attendances at strategy meetings that were held, by party.",
    ("party",),
)
MEETING_PARTICIPATION = _gauge(
    "frontdoor_strategy_meeting_participation_ratio",
    "Attended / invited for held strategy meetings seen by this worker, by party.",
    ("party",),
)
# -- state ----------------------------------------------------------------------------------
PENDING_INCIDENTS = _gauge(
    "frontdoor_pending_incidents",
    "Incidents on this worker with children unmatched or under review (re-matched on "
    "late council records).",
)
REPLICA_RECORDS = _gauge(
    "frontdoor_replica_records", "Council child records held in this worker's replica."
)
LAST_PROCESSED = _gauge(
    "frontdoor_last_processed_timestamp_seconds",
    "Unix time at which the worker last finished processing an incident.",
)


def declare_series(forces: list[str]) -> None:
    """Create the labelled histogram series at start, so rates and quantiles exist from
    the first scrape (a series that first appears with observations has no rate)."""
    for agency in Agency:
        ACK_SECONDS.labels(agency=agency.value)
    for force in forces:
        REPORT_DELAY.labels(force=force)
        ARRIVAL_DELAY.labels(force=force)
