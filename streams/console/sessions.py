"""Staff sessions, kept on the server: the cookie carries only a random id.

A session is made when someone starts to sign in (it holds the OpenID Connect state,
nonce and PKCE verifier), given a new id once they have signed in (so an id seen before
sign-in is worth nothing after it), touched on every request, and ended by sign-out, by
``idle_s`` without a request, or ``max_s`` after sign-in whatever happens. A session that
timed out is remembered as such for ``idle_s`` more, so every request that carries it
(a stylesheet, the duty board's refresh, another tab) says why, not only the first one.
Every form carries the session's CSRF token. Times are the real clock's (``time.time``),
never a demo's simulated one.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streams.access import Acting

COOKIE = "__Host-frontdoor-console"  # __Host-: Secure, Path=/, no Domain: this host only
ANONYMOUS_LIMIT = 10_000  # sessions still signing in, at most (a flood cannot exhaust memory)
ENDED_LIMIT = 10_000  # timed-out sessions remembered, at most


@dataclass(frozen=True)
class Staff:
    """A signed-in person: a staff id from the provider's subject (never an email address),
    their name (shown to colleagues, never logged), and what their roles let them act as."""

    staff_id: str
    name: str
    roles: tuple[str, ...]
    organisations: tuple[str, ...]
    acting: tuple[Acting, ...]
    id_token: str = field(repr=False, default="")


@dataclass
class Session:
    id: str
    created: float
    last_seen: float
    csrf: str
    staff: Staff | None = None
    signed_in_at: float | None = None
    data: dict[str, Any] = field(default_factory=dict)  # sign-in state, drafts, messages


class Sessions:
    """Every session, by id; ``get`` says why one is not there (unknown, idle, expired)."""

    def __init__(self, idle_s: float, max_s: float, clock: Callable[[], float]) -> None:
        self.idle_s, self.max_s, self._clock = idle_s, max_s, clock
        self._by_id: dict[str, Session] = {}
        self._ended_by_id: dict[str, tuple[str, float]] = {}  # id -> (why, when), oldest first

    def __len__(self) -> int:
        return sum(1 for s in self._by_id.values() if s.staff is not None)

    def new(self) -> Session:
        now = self._clock()
        self._sweep(now)
        anonymous = [s for s in self._by_id.values() if s.staff is None]
        if len(anonymous) >= ANONYMOUS_LIMIT:
            oldest = min(anonymous, key=lambda s: s.last_seen)
            del self._by_id[oldest.id]
        session = Session(secrets.token_urlsafe(32), now, now, secrets.token_urlsafe(32))
        self._by_id[session.id] = session
        return session

    def get(self, session_id: str | None) -> tuple[Session | None, str]:
        """The live session with this id, touched; or None and why: '' (no cookie),
        'unknown' (never issued, or forged), 'idle' or 'expired' (it timed out)."""
        if not session_id:
            return None, ""
        now = self._clock()
        session = self._by_id.get(session_id)
        if session is None:
            ended = self._ended_by_id.get(session_id)
            if ended is not None and now - ended[1] <= self.idle_s:
                return None, ended[0]
            self._ended_by_id.pop(session_id, None)
            return None, "unknown"
        why = self._ended(session, now)
        if why:
            self._timed_out(session, why, now)
            return None, why
        session.last_seen = now
        return session, ""

    def signed_in(self, session: Session, staff: Staff) -> Session:
        """The person has signed in: the same data under a new id and a new CSRF token."""
        self._by_id.pop(session.id, None)
        now = self._clock()
        fresh = Session(
            secrets.token_urlsafe(32),
            now,
            now,
            secrets.token_urlsafe(32),
            staff=staff,
            signed_in_at=now,
            data={k: v for k, v in session.data.items() if not k.startswith("_state_")},
        )
        self._by_id[fresh.id] = fresh
        return fresh

    def end(self, session: Session) -> None:
        self._by_id.pop(session.id, None)

    def _ended(self, session: Session, now: float) -> str:
        if now - session.last_seen > self.idle_s:
            return "idle"
        started = session.signed_in_at if session.signed_in_at is not None else session.created
        if now - started > self.max_s:
            return "expired"
        return ""

    def _timed_out(self, session: Session, why: str, now: float) -> None:
        del self._by_id[session.id]
        if session.staff is None:
            return  # a sign-in never finished: nothing to explain
        self._ended_by_id[session.id] = (why, now)
        while len(self._ended_by_id) > ENDED_LIMIT:
            del self._ended_by_id[next(iter(self._ended_by_id))]

    def _sweep(self, now: float) -> None:
        ended = [(s, why) for s in self._by_id.values() if (why := self._ended(s, now))]
        for stale, why in ended:
            self._timed_out(stale, why, now)
        while self._ended_by_id:
            oldest = next(iter(self._ended_by_id))
            if now - self._ended_by_id[oldest][1] <= self.idle_s:
                break
            del self._ended_by_id[oldest]


def csrf_ok(session: Session | None, token: str | None) -> bool:
    """Whether a POST carries its session's CSRF token (compared in constant time)."""
    if session is None or not token:
        return False
    return hmac.compare_digest(session.csrf.encode(), token.encode())
