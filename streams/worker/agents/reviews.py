"""Children who wait: a reviewer's decision, or a council record that arrives later.

``review.decisions.v1`` is keyed like the possible match it decides (by incident), so it
reaches the worker that holds the incident in its ``pending`` table. A council record
that arrives or changes asks the owner of every waiting incident it could affect to
match it again (``frontdoor.rematch.v1``, keyed by incident); a periodic sweep asks for
all of them, and lets expired ones go.
"""

from __future__ import annotations

from datetime import datetime

from schemas import ReviewDecision
from streams import topics
from streams.compliance import close_command
from streams.incidents import apply_review_decision, rematch
from streams.matching import Key
from streams.topics import RematchRequest
from streams.worker import metrics
from streams.worker.agents.outcomes import Pending, publish
from streams.worker.context import Incoming, WorkerContext
from streams.worker.outbox import Outbox


class Reviews:
    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self.pending = Pending(ctx)

    # -- review.decisions.v1
    def review_decided(self, out: Outbox, event: Incoming, now: datetime) -> None:
        ctx = self.ctx
        decision = ctx.accept(out, event, ReviewDecision, topics.REVIEW_DECISIONS, now)
        if decision is None:
            return
        key = event.text_key
        entry = self.pending.load(key)
        if entry is None:
            metrics.REVIEW_DECISIONS.labels(outcome="nothing_pending").inc()
            return
        outcome, left, what = apply_review_decision(
            entry, decision, ctx.replica, ctx.policy, ctx.calendar, now
        )
        metrics.REVIEW_DECISIONS.labels(outcome=what).inc()
        if outcome is not None:
            ctx.track(out, [close_command(decision.review_id)])
            publish(ctx, out, entry.incident, [outcome], now)
            self.pending.store(key, left)

    # -- frontdoor.rematch.v1
    def rematch_requested(self, out: Outbox, event: Incoming, now: datetime) -> None:
        ctx = self.ctx
        key = event.text_key
        entry = self.pending.load(key)
        if entry is None:
            return
        if entry.expired(now, ctx.policy.rematch_window_hours):
            self.pending.store(key, None)
            return
        outcomes, left = rematch(entry, ctx.replica, ctx.policy, ctx.calendar, now)
        if outcomes:
            publish(ctx, out, entry.incident, outcomes, now)
            self.pending.store(key, left)

    def request_rematch(self, out: Outbox, changed: list[str] | None) -> None:
        """Ask the owner of each waiting incident that these changed records could affect
        to match it again; ``None`` asks for all (the periodic sweep)."""
        matcher = self.ctx.replica.matcher
        keys: frozenset[Key] = frozenset().union(*(matcher.record_keys(r) for r in changed or []))
        if changed is not None and not keys:
            return
        request = RematchRequest(reason="record_changed" if changed else "sweep")
        for key, entry in self.pending:
            if changed is None or any(
                keys & matcher.child_keys(entry.child(p.person_reference)) for p in entry.children
            ):
                out.send(self.ctx.name(topics.REMATCH), key, request)

    async def sweep_pending(self) -> None:
        ctx = self.ctx
        if ctx.replica_caught_up:
            out = ctx.outbox()
            self.request_rematch(out, None)
            await ctx.flush(out)
