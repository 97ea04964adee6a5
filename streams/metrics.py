"""frontdoor's own Prometheus metrics (prefix ``frontdoor_``, units in names).

Label values come only from closed lists (enums, topic specs, reason classes), never
from event content, so no metric can carry a name, an id or free text.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics

disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created doubles the scrape

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = "text/plain; version=0.0.4"

INCIDENTS_RECEIVED = Counter(
    "frontdoor_incidents_received_total",
    "Valid police incidents received, by incident type.",
    ["incident_type"],
    registry=REGISTRY,
)
CHILDREN_RECEIVED = Counter(
    "frontdoor_incident_children_received_total",
    "Children named in valid police incidents.",
    registry=REGISTRY,
)
INVALID_EVENTS = Counter(
    "frontdoor_invalid_events_total",
    "Events sent to the dead-letter topic, by topic and reason class.",
    ["topic", "reason"],
    registry=REGISTRY,
)
DATA_QUALITY_WARNINGS = Counter(
    "frontdoor_data_quality_warnings_total",
    "Optional fields dropped from otherwise valid events, by warning code.",
    ["code"],
    registry=REGISTRY,
)
MATCH_DECISIONS = Counter(
    "frontdoor_match_decisions_total",
    "Children matched against council records, by decision and stage.",
    ["decision", "stage"],
    registry=REGISTRY,
)
NOTIFICATIONS = Counter(
    "frontdoor_notifications_total",
    "Notifications sent, by recipient agency and each rule that named the recipient.",
    ["agency", "rule"],
    registry=REGISTRY,
)
REVIEW_DECISIONS = Counter(
    "frontdoor_review_decisions_total",
    "Review decisions received, by what they did.",
    ["outcome"],
    registry=REGISTRY,
)
PENDING_INCIDENTS = Gauge(
    "frontdoor_pending_incidents",
    "Incidents on this worker with children unmatched or under review (re-matched on "
    "late council records).",
    registry=REGISTRY,
)
REPLICA_RECORDS = Gauge(
    "frontdoor_replica_records",
    "Council child records held in this worker's replica.",
    registry=REGISTRY,
)
LAST_PROCESSED = Gauge(
    "frontdoor_last_processed_timestamp_seconds",
    "Unix time at which the worker last finished processing an event.",
    registry=REGISTRY,
)
