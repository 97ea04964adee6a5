"""Webhook signatures in the manner of the Standard Webhooks specification. Pure.

Each delivery carries ``webhook-id`` (the same on every retry of it: receivers drop
repeats by it), ``webhook-timestamp`` (unix seconds) and ``webhook-signature``:
``v1,`` + base64 of HMAC-SHA256 over ``<id>.<timestamp>.<body>`` with the receiver's
secret. The secret is ``whsec_`` + base64 of 32 bytes; the gateway derives it from its
own key, the organisation and the registration's version, so it is stored nowhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from dataclasses import dataclass

SECRET_PREFIX = "whsec_"
TOLERANCE_S = 300  # how far from now a receiver should accept a timestamp


def derive_secret(gateway_key: bytes, registration: str, version: int) -> str:
    raw = hmac.new(gateway_key, f"webhook\x1f{registration}\x1f{version}".encode(), hashlib.sha256)
    return SECRET_PREFIX + base64.b64encode(raw.digest()).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify(secret: str, headers: dict[str, str], body: bytes, now: float) -> bool:
    """What a receiver does (and the tests): a signature that matches, on time."""
    try:
        message_id = headers["webhook-id"]
        timestamp = int(headers["webhook-timestamp"])
        offered = headers["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > TOLERANCE_S:
        return False
    expected = sign(secret, message_id, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter, bounded in total: after attempt n the wait is a
    random time between half and all of ``first_s * 2**n`` (at most ``cap_s``), so
    receivers coming back are not hit by every sender at once; no attempt starts later
    than ``give_up_after_s`` after the first."""

    first_s: float = 1.0
    cap_s: float = 300.0
    give_up_after_s: float = 3600.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.cap_s, self.first_s * 2 ** min(attempt, 40))
        return rng.uniform(ceiling / 2, ceiling)
