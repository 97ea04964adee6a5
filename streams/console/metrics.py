"""The console's Prometheus metrics (prefix ``frontdoor_console_``), one registry per
console. Labels are closed lists only: route templates (never a path with ids in it),
methods, status codes, decisions, outcomes, topic kinds."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class ConsoleMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "frontdoor_console_requests_total",
            "Pages and form posts answered, by route template, method and status code.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "frontdoor_console_request_duration_seconds",
            "Time to answer, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.sign_ins = Counter(
            "frontdoor_console_sign_ins_total",
            "Sign-ins, by outcome (signed_in, refused: the provider or its token said no, "
            "no_role: signed in with no role the console knows).",
            ["outcome"],
            registry=r,
        )
        self.refused = Counter(
            "frontdoor_console_refused_total",
            "Requests refused, by why (csrf, no_session, session_idle, session_expired, "
            "forbidden, claimed).",
            ["why"],
            registry=r,
        )
        self.decisions = Counter(
            "frontdoor_console_decisions_total",
            "Review decisions published (acks=all), by decision (confirm, reject, propose, "
            "unsure).",
            ["decision"],
            registry=r,
        )
        self.open_reviews = Gauge(
            "frontdoor_console_reviews_open",
            "Possible matches not yet settled, as the console holds them.",
            registry=r,
        )
        self.unprepared = Gauge(
            "frontdoor_console_reviews_unprepared",
            "Open possible matches whose urgency (what they hold back) is not worked out yet: "
            "after a start, or a change to their incident or records.",
            registry=r,
        )
        self.sessions = Gauge("frontdoor_console_sessions", "Signed-in sessions held.", registry=r)
        self.unreadable = Counter(
            "frontdoor_console_unreadable_total",
            "Records on a topic the console follows that it could not read, by topic kind.",
            ["kind"],
            registry=r,
        )
        self.acknowledgements = Counter(
            "frontdoor_console_acknowledgements_total",
            "Acknowledgements people made in the inbox (published, acks=all), by agency and "
            "status (received, actioned, rejected).",
            ["agency", "status"],
            registry=r,
        )
        self.inbox_activity = Counter(
            "frontdoor_console_inbox_activity_total",
            "Things people did in an inbox (taken, handed, released, printed, signed_in, "
            "routed) and alert emails recorded as sent (alerted), by action.",
            ["action"],
            registry=r,
        )
        self.open_notifications = Gauge(
            "frontdoor_console_notifications_open",
            "Notifications not yet acknowledged, every organisation's, as the console holds them.",
            registry=r,
        )
        self.mail = Counter(
            "frontdoor_console_mail_total",
            "Alert emails, by outcome: sent (the relay took it), retried (the relay was down "
            "or refused for now), bounced (an address refused for good), given_up (retries "
            "spent).",
            ["outcome"],
            registry=r,
        )
        self.mail_queued = Gauge(
            "frontdoor_console_mail_queued",
            "Alert emails waiting to be sent (the inbox never waits for them).",
            registry=r,
        )
