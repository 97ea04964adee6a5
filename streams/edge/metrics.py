"""The gateway's Prometheus metrics (prefix ``frontdoor_edge_``), one registry per
gateway. Labels are closed lists only: route templates (never a path with ids in it),
methods, status codes, principals of the access plan, agencies, outcomes."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15)
DELIVERY_BUCKETS = (0.01, 0.05, 0.25, 1, 5, 30, 60, 300, 900, 1800, 3600, 7200)


class EdgeMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "frontdoor_edge_requests_total",
            "HTTP requests answered, by route template, method and status code.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "frontdoor_edge_request_duration_seconds",
            "Time to answer a request, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.published = Counter(
            "frontdoor_edge_published_total",
            "Events the gateway published once the broker acknowledged them (acks=all), by kind.",
            ["kind"],
            registry=r,
        )
        self.replayed = Counter(
            "frontdoor_edge_replayed_total",
            "Retried requests answered with the first answer, publishing nothing.",
            registry=r,
        )
        self.rate_limited = Counter(
            "frontdoor_edge_rate_limited_total",
            "Requests refused with 429, by principal.",
            ["principal"],
            registry=r,
        )
        self.unauthenticated = Counter(
            "frontdoor_edge_unauthenticated_total",
            "Requests without a valid API key.",
            registry=r,
        )
        self.deliveries = Counter(
            "frontdoor_edge_webhook_deliveries_total",
            "Notifications pushed to a webhook, by agency and outcome (delivered, gave_up, "
            "unregistered: the registration was removed while retrying).",
            ["agency", "outcome"],
            registry=r,
        )
        self.attempts = Counter(
            "frontdoor_edge_webhook_attempts_total",
            "Webhook delivery attempts, by agency and result (ok, http_4xx, http_5xx, "
            "timeout, connect_error).",
            ["agency", "result"],
            registry=r,
        )
        self.retries = Counter(
            "frontdoor_edge_webhook_retries_total",
            "Webhook attempts that were retries of an earlier failed attempt, by agency.",
            ["agency"],
            registry=r,
        )
        self.delivery_time = Histogram(
            "frontdoor_edge_webhook_delivery_seconds",
            "From the first attempt to the receiver's 2xx, by agency.",
            ["agency"],
            buckets=DELIVERY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "frontdoor_edge_webhook_in_flight",
            "Webhook deliveries under way (including those waiting to retry).",
            registry=r,
        )
        self.held = Gauge(
            "frontdoor_edge_notifications_held",
            "Notifications the gateway holds for GET /v1/notifications.",
            registry=r,
        )
        self.unreadable = Counter(
            "frontdoor_edge_unreadable_total",
            "Records on a topic the gateway follows that it could not read, by topic kind.",
            ["kind"],
            registry=r,
        )
