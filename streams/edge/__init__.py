"""The HTTPS edge: parties that do not speak Kafka publish, receive, acknowledge and are
pushed to over HTTPS, with the Kafka side's contracts, validator and access plan.

``create_gateway`` is the FastAPI application over a ``Gateway`` (its parts: credentials,
permissions, publisher, inbox, webhook registrations); ``run_gateway`` the shell that
serves it; ``signing`` the webhook signatures a receiver verifies.
"""

from streams.edge.app import Gateway, Problem, create_gateway, openapi_document, published_openapi
from streams.edge.credentials import Credentials, CredentialsError, Party, add_key, key_hash
from streams.edge.inbox import Inbox, Status
from streams.edge.kafka import Delivery, Dispatcher, Follower, Publisher, Registrations
from streams.edge.metrics import EdgeMetrics
from streams.edge.ratelimit import RateLimiter
from streams.edge.replies import Replies, Reply
from streams.edge.service import run_gateway, serve
from streams.edge.settings import EdgeSettings
from streams.edge.signing import Backoff, derive_secret, sign, verify

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
    "RateLimiter",
    "Registrations",
    "Replies",
    "Reply",
    "Status",
    "add_key",
    "create_gateway",
    "derive_secret",
    "key_hash",
    "openapi_document",
    "published_openapi",
    "run_gateway",
    "serve",
    "sign",
    "verify",
]
