"""The HTTPS edge: parties that do not speak Kafka publish, receive, acknowledge and are
pushed to over HTTPS, with the Kafka side's contracts, validator and access plan.

In the shape of FastAPI's bigger applications: ``app`` builds the application from the
``routes`` (one router per resource), the ``deps`` every route states (caller,
permission, body) and the ``problems`` it may answer, over a ``Gateway`` (its parts:
credentials, permissions, publisher, inbox, webhook registrations, replies, rate limit,
metrics). The broker side: ``publisher`` (acks=all), ``follower`` (the inbox and the
registrations, from the topics), ``webhooks`` (signed pushes, retried, given up on with
an alert). ``service`` is the shell that runs it all; ``signing`` the signatures a
receiver verifies.
"""

from streams.edge.app import create_gateway, published_openapi
from streams.edge.credentials import Credentials, CredentialsError, Party, add_key, key_hash
from streams.edge.follower import Follower, Registrations
from streams.edge.gateway import Gateway, Publishes
from streams.edge.metrics import EdgeMetrics
from streams.edge.problems import Problem
from streams.edge.publisher import Publisher
from streams.edge.ratelimit import RateLimiter
from streams.edge.replies import Replies, Reply, Unsettled
from streams.edge.service import run_gateway, serve
from streams.edge.settings import EdgeSettings
from streams.edge.signing import Backoff, derive_secret, sign, verify
from streams.edge.webhooks import Delivery, Dispatcher
from streams.inbox import Inbox, Status

__all__ = [
    "Backoff",
    "Credentials",
    "CredentialsError",
    "Delivery",
    "Dispatcher",
    "EdgeMetrics",
    "EdgeSettings",
    "Follower",
    "Gateway",
    "Inbox",
    "Party",
    "Problem",
    "Publisher",
    "Publishes",
    "RateLimiter",
    "Registrations",
    "Replies",
    "Reply",
    "Status",
    "Unsettled",
    "add_key",
    "create_gateway",
    "derive_secret",
    "key_hash",
    "published_openapi",
    "run_gateway",
    "serve",
    "sign",
    "verify",
]
