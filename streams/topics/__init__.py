"""What every party agrees a topic is, with no faust: the worker, the gateway, the access
plan, the operator commands and the tools all speak it.

- ``catalogue``: every topic declared once (``TopicSpec``: name, key, contract, config),
  the per-force and per-agency families, ``topic_name`` and ``spec_of``;
- ``messages``: frontdoor's internal messages (batches of the core's own models);
- ``admin``: declare the topics on a broker, wait for leaders, delete a run's topics;
- ``io``: produce to and read from topics outside the worker, every read with a timeout;
- ``follow``: follow topics from the beginning for a service that holds what it shows
  (the gateway, the console), and the ``acks=all`` ``Publisher`` they write with;
- ``idempotence``: an idempotent producer refused after an outage starts a new session;
- ``reports``: the compliance report of a period from the topics (``frontdoor report``,
  the demo, the console's duty board).
"""

from streams.topics import admin, follow, io
from streams.topics.catalogue import (
    ACKS,
    AGENCY_ACKS,
    ALL,
    AUDIT,
    BY_NAME,
    CHILD_HISTORY,
    CHILD_RECORDS,
    COMPLIANCE_ALERTS,
    CONSOLE_OWN,
    DAY_MS,
    DEAD_LETTERS,
    DEADLINES,
    EDGE_OWN,
    INBOX_ACTIVITY,
    MEETINGS,
    NOTIFY,
    POLICE_INCIDENTS,
    REMATCH,
    REVIEW_DECISIONS,
    REVIEW_MATCHES,
    SEQUENCES,
    SERVICE_OWN,
    WEBHOOKS,
    WHATIF_READS,
    TopicSpec,
    agency_acks,
    for_forces,
    force_incidents,
    notify_topic,
    spec_of,
    topic_name,
)
from streams.topics.messages import (
    Batch,
    ChildrenNotified,
    DeadlineCommands,
    RematchRequest,
    SequencesObserved,
)

__all__ = [
    "ACKS",
    "AGENCY_ACKS",
    "ALL",
    "AUDIT",
    "BY_NAME",
    "CHILD_HISTORY",
    "CHILD_RECORDS",
    "COMPLIANCE_ALERTS",
    "CONSOLE_OWN",
    "DAY_MS",
    "DEADLINES",
    "DEAD_LETTERS",
    "EDGE_OWN",
    "INBOX_ACTIVITY",
    "MEETINGS",
    "NOTIFY",
    "POLICE_INCIDENTS",
    "REMATCH",
    "REVIEW_DECISIONS",
    "REVIEW_MATCHES",
    "SEQUENCES",
    "SERVICE_OWN",
    "WEBHOOKS",
    "WHATIF_READS",
    "Batch",
    "ChildrenNotified",
    "DeadlineCommands",
    "RematchRequest",
    "SequencesObserved",
    "TopicSpec",
    "admin",
    "agency_acks",
    "follow",
    "for_forces",
    "force_incidents",
    "io",
    "notify_topic",
    "spec_of",
    "topic_name",
]
