"""Policy officers' what-if jobs: a period replayed under the live policy and a draft
(``streams.history``), run in the background while the officer watches its progress.

Each job runs in a process of its own, spawned: the replay is CPU work that would hold
the console's event loop through the GIL, a year's replay takes gigabytes that are given
back when it ends, and a process can be stopped. It leads its own process group (a long
period routes in forked processes of its own), so stopping it stops them too. It reports
counts (stage, done, total, rate: never data) and hands back its ``Outcome``.

One job runs at a time on a console (two would halve each other's speed on the same
cores). Finished jobs are kept in memory, the latest few, each for its owner only: a
restart forgets them (the result page says so and offers its downloads).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import queue
import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.process import BaseProcess
from typing import Any

from streams.console.days import Days
from streams.history import Outcome, analyse
from streams.routing import load_policy, parse_policy
from streams.settings import Settings

log = logging.getLogger("frontdoor.console.whatif")

KEEP = 5  # finished jobs kept (each holds its diff in memory)
REPORT_EVERY_S = 0.5
STAGES = (
    "reading the topics",
    "council records",
    "replaying",
    "reading what was sent",
    "comparing",
)


class Busy(Exception):
    """Another what-if is running on this console."""


@dataclass
class Job:
    """One what-if: its period (whole local days), its draft, where it has got to."""

    id: str
    owner: str  # the staff id of who started it
    period: Days  # whole local days
    draft_name: str
    started: float  # real clock (time.time)
    stage: str = "starting"
    done: int = 0
    total: int | None = None
    rate: float = 0.0  # per second, in the stage's unit
    unit: str = ""
    finished: float | None = None
    outcome: Outcome | None = None
    failed: str | None = None  # why, in words (no data)
    process: BaseProcess | None = field(default=None, repr=False)
    orders: dict[tuple[str, bool], list[Any]] = field(default_factory=dict, repr=False)
    figures: dict[str, Any] = field(default_factory=dict, repr=False)  # the result's, once

    @property
    def running(self) -> bool:
        return self.finished is None

    @property
    def step(self) -> int:
        """Which of the ``STAGES`` it is in, from 1 (0 while starting)."""
        return STAGES.index(self.stage) + 1 if self.stage in STAGES else 0

    @property
    def percent(self) -> int | None:
        if self.total:
            return min(100, int(100 * self.done / self.total))
        return None


class Reporter:
    """A ``Bars`` for a job: counts sent to the console every half second, and at the end
    of each stage."""

    def __init__(self, out: Any) -> None:
        self.out = out

    def __call__(self, what: str, unit: str, total: int | None) -> _Stage:
        return _Stage(self.out, what, unit, total)


class _Stage:
    def __init__(self, out: Any, what: str, unit: str, total: int | None) -> None:
        self.out, self.what, self.unit, self.total = out, what, unit, total
        self.done, self.began, self.said = 0, time.monotonic(), 0.0

    def __enter__(self) -> _Stage:
        self._say()
        return self

    def update(self, n: int) -> None:
        self.done += n
        if time.monotonic() - self.said >= REPORT_EVERY_S:
            self._say()

    def __exit__(self, *exc: object) -> None:
        self._say()

    def _say(self) -> None:
        self.said = time.monotonic()
        rate = self.done / max(self.said - self.began, 1e-6)
        self.out.put(("progress", self.what, self.unit, self.done, self.total, rate))


def _work(
    settings: Settings, since: datetime, until: datetime, as_at: datetime, draft: str, out: Any
) -> None:
    """The job's process: what ``frontdoor whatif`` runs, its progress sent as counts."""
    os.setpgrp()  # stopping the job stops the routing processes it forks too
    try:
        live = load_policy(settings.policy_file)
        drafted = parse_policy(draft)
        outcome = analyse(settings, since, until, live, drafted, as_at, Reporter(out))
        out.put(("progress", "comparing", "", 1, 1, 0.0))
        out.put(("done", outcome))
    except Exception as exc:  # the console says it failed; the name only (no data)
        out.put(("failed", type(exc).__name__))


@dataclass
class Jobs:
    """The console's what-if jobs. ``start`` refuses while one runs (``Busy``)."""

    settings: Settings
    jobs: dict[str, Job] = field(default_factory=dict)
    follows: set[asyncio.Task[None]] = field(default_factory=set)
    worker: Callable[..., None] = _work  # the job's process body (a test may swap it)

    def running(self) -> Job | None:
        return next((j for j in self.jobs.values() if j.running), None)

    def of(self, owner: str) -> list[Job]:
        """The person's jobs, the latest first."""
        return sorted((j for j in self.jobs.values() if j.owner == owner), key=lambda j: -j.started)

    def find(self, owner: str, job_id: str) -> Job | None:
        """A job by id, only for its owner (anyone else: as if it did not exist)."""
        job = self.jobs.get(job_id)
        return job if job is not None and job.owner == owner else None

    def start(
        self,
        owner: str,
        period: Days,
        since: datetime,
        until: datetime,
        as_at: datetime,
        draft_text: str,
        draft_name: str,
    ) -> Job:
        if self.running() is not None:
            raise Busy
        job = Job(secrets.token_urlsafe(12), owner, period, draft_name, time.time())
        context = multiprocessing.get_context("spawn")
        out = context.Queue()
        job.process = context.Process(
            target=self.worker,
            args=(self.settings, since, until, as_at, draft_text, out),
            name="frontdoor-whatif",
        )
        job.process.start()
        self.jobs[job.id] = job
        task = asyncio.get_running_loop().create_task(self._follow(job, out))
        self.follows.add(task)
        task.add_done_callback(self.follows.discard)
        self._forget_old()
        log.info("what-if started")
        return job

    async def _follow(self, job: Job, out: Any) -> None:
        """Take the job's messages until it is done, failed or gone."""
        process = job.process
        assert process is not None
        while job.running:
            try:
                message = await asyncio.to_thread(out.get, True, 0.25)
            except queue.Empty:
                if not process.is_alive():
                    self._finish(job, failed="The what-if stopped before it finished.")
                continue
            kind = message[0]
            if kind == "progress":
                _, job.stage, job.unit, job.done, job.total, job.rate = message
            elif kind == "done":
                job.outcome = message[1]
                self._finish(job)
            else:
                self._finish(job, failed=f"The what-if could not be made ({message[1]}).")
        await asyncio.to_thread(process.join, 5)

    def _finish(self, job: Job, failed: str | None = None) -> None:
        job.finished, job.failed = time.time(), failed
        log.info("what-if %s", "failed" if failed else "finished")

    def stop(self, job: Job) -> None:
        """Stop a running job and every process it started."""
        process = job.process
        if job.running and process is not None and process.pid is not None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):  # not yet its own group
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
            self._finish(job, failed="Stopped before it finished.")

    def close(self) -> None:
        """On the console's way out: no job outlives it."""
        for job in self.jobs.values():
            self.stop(job)

    def _forget_old(self) -> None:
        done = sorted((j for j in self.jobs.values() if not j.running), key=lambda j: j.started)
        for job in done[: max(0, len(done) - KEEP)]:
            del self.jobs[job.id]
