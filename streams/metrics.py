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
LAST_PROCESSED = Gauge(
    "frontdoor_last_processed_timestamp_seconds",
    "Unix time at which the worker last finished processing an event.",
    registry=REGISTRY,
)
