"""The policy what-if on the console, in-process: a policy officer chooses days and a draft,
the job runs in a spawned process of its own and reports its progress, and the result
page shows the impact and every changed notification in a table sorted on the server.
The job's body here hands back the generated fortnight of ``test_whatif`` replayed by
the test (no broker); the real body, reading the topics, runs in the browser tests."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import pickle
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from streams.console.whatifs import Jobs, Reporter
from streams.history import Outcome
from streams.routing import default_policy_text
from streams.whatif import fidelity
from tests.console_support import build, client, sign_in
from tests.unit import test_whatif as generated

R3_12H = generated.R3_12H
DAYS = {  # the generated fortnight: 2 to 15 November 2026 (London is on UTC then)
    "since-day": "2",
    "since-month": "11",
    "since-year": "2026",
    "until-day": "15",
    "until-month": "11",
    "until-year": "2026",
}


OUTCOME_FILE = "FRONTDOOR_TEST_WHATIF_OUTCOME"  # where the job's body finds its result


def replay_generated(
    settings: Any, since: datetime, until: datetime, as_at: datetime, draft: str, out: Any
) -> None:
    """A job's body: the generated fortnight's R3-within-12-hours what-if, replayed by the
    test beforehand (``outcome``), reported as the real body reports its progress."""
    os.setpgrp()
    path = Path(os.environ[OUTCOME_FILE])
    with Reporter(out)("replaying", "incidents", 2) as bar:
        # Under way until the test has seen the progress (then the result, at once).
        deadline = time.monotonic() + 60
        while not path.with_suffix(".go").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        outcome = pickle.loads(path.read_bytes())
        bar.update(2)
    out.put(("done", outcome))


@pytest.fixture
def outcome(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    """The generated fortnight replayed under the live policy and R3 within 12 hours."""
    live = generated.replayed(default_policy_text())
    diff = generated._diff(R3_12H)
    trust = fidelity(live.sent, live.sent, live.matches, live.matches, diff.since, diff.until)
    made = Outcome(diff, trust, len(generated.history().arrivals), 0, None, 1.0)
    path = tmp_path / "outcome.pickle"
    path.write_bytes(pickle.dumps(made))
    monkeypatch.setenv(OUTCOME_FILE, str(path))
    return made


def never_ends(
    settings: Any, since: datetime, until: datetime, as_at: datetime, draft: str, out: Any
) -> None:
    os.setpgrp()
    with Reporter(out)("reading the topics", "records", None) as bar:
        while True:
            bar.update(1)
            time.sleep(0.05)


def officers_console(body: Any = replay_generated) -> Any:
    console, _, _ = build(now=generated.AS_AT)
    console.whatifs = Jobs(console.settings, worker=body)
    return console


async def _start(http: httpx.AsyncClient, csrf: str, draft: str, **fields: str) -> httpx.Response:
    return await http.post(
        "/whatif",
        data={"csrf_token": csrf, **DAYS, **fields},
        files={"draft": ("r3-12h.yaml", draft.encode(), "application/yaml")},
    )


async def _reported(
    http: httpx.AsyncClient, job: str, stage: str, timeout_s: float = 60
) -> dict[str, Any]:
    """The job's progress once it reports ``stage``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now: dict[str, Any] = (await http.get(f"{job}/progress")).json()
        if stage in now["said"]:
            return now
        await asyncio.sleep(0.1)
    raise AssertionError(f"the what-if never reported {stage!r} in {timeout_s} s")


async def _finished(http: httpx.AsyncClient, job: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    seen: list[str] = []
    while time.monotonic() < deadline:
        now = (await http.get(f"{job}/progress")).json()
        seen.append(now["said"])
        if not now["running"]:
            return {"last": now, "seen": seen}
        await asyncio.sleep(0.2)
    raise AssertionError(f"the what-if did not finish in {timeout_s} s: {seen[-3:]}")


async def test_a_policy_officer_runs_a_whatif_and_reads_its_impact_in_a_sorted_table(
    outcome: Outcome,
) -> None:
    console = officers_console()
    cookie, csrf = sign_in(console, "officer")
    expected = outcome.diff
    async with client(console, cookie) as http:
        home = await http.get("/")
        assert 'href="/whatif"' in home.text
        form = await http.get("/whatif")
        assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
        live = await http.get("/whatif/policy.yaml")
        assert live.text == default_policy_text()
        started = await _start(http, csrf, R3_12H)
        assert started.status_code == 303
        job = started.headers["location"]
        assert re.fullmatch(r"/whatif/[A-Za-z0-9_-]{16}", job)
        halfway = await _reported(http, job, "replaying")
        assert "Step 3 of 5, replaying: 0 of 2 incidents (0 %)" in halfway["said"]
        assert halfway["running"] and halfway["percent"] == 0
        running = await http.get(job)
        assert running.status_code == 200 and "What-if running" in running.text
        Path(os.environ[OUTCOME_FILE]).with_suffix(".go").touch()
        followed = await _finished(http, job)
        assert followed["last"]["failed"] is False

        shown = await http.get(job)
        text = shown.text
        assert shown.status_code == 200 and "What the draft would have changed" in text
        figures = expected.all.figures()
        cards = re.findall(r'console-figure__number">(\d+)</span>([^<]+)<', text)
        assert [(int(n), t.strip()) for n, t in cards] == [
            (figures["newly_notified"], "notifications newly sent"),
            (figures["no_longer_notified"], "notifications no longer sent"),
            (figures["met_to_missed"], "deadlines met would be missed"),
            (figures["missed_to_met"], "deadlines missed would be met"),
        ]
        assert figures["met_to_missed"] > 0 and figures["deadlines_earlier"] > 0
        assert f"Each notification that changes ({len(expected.rows)})" in text

        # Sorted on the server: by when the deadline moves (the earliest move first), then
        # by the draft's deadline the other way round; aria-sort says which.
        by_moved = await http.get(job, params={"sort": "moved", "order": "ascending"})
        assert 'aria-sort="ascending"><a class="govuk-link console-sort" href="' in by_moved.text
        moved = [(r.deadline_draft - r.deadline_live) for r in expected.rows if r.deadline_live]
        largest = min(moved)
        hours, minutes = divmod(int(abs(largest.total_seconds())) // 60, 60)
        first_row = by_moved.text.split('<tbody class="govuk-table__body">')[-1]
        assert f"earlier by {hours}h{minutes:02d}m" in first_row.split("</tr>")[0]
        by_draft = await http.get(job, params={"sort": "draft", "order": "descending"})
        latest = max(r.deadline_draft for r in expected.rows if r.deadline_draft)
        body = by_draft.text.split('<tbody class="govuk-table__body">')[-1].split("</tr>")[0]
        assert latest.astimezone(console.zone).strftime("%a %-d %b %Y %H:%M") in body
        assert 'aria-sort="descending"' in by_draft.text
        pages = -(-len(expected.rows) // 50)
        if pages > 1:
            last = await http.get(job, params={"sort": "draft", "page": str(pages)})
            assert f"of {len(expected.rows)}." in last.text and "govuk-pagination" in last.text

        rows = list(csv.DictReader(io.StringIO((await http.get(f"{job}/changes.csv")).text)))
        assert len(rows) == len(expected.rows)
        report = await http.get(f"{job}/report.html")
        assert report.headers["content-disposition"].startswith("attachment")
        listed = await http.get("/whatif")
        assert job in listed.text and "finished" in listed.text

        everything = text + by_moved.text + by_draft.text + report.text
        assert generated.personal_in(everything) == [], "personal data on a page"


async def test_only_policy_officers_run_one_and_only_its_owner_sees_a_job(
    outcome: Outcome,
) -> None:
    console = officers_console()
    cookie, csrf = sign_in(console, "officer")
    other, _ = sign_in(console, "officer2")
    manager, _ = sign_in(console, "manager")
    Path(os.environ[OUTCOME_FILE]).with_suffix(".go").touch()
    async with client(console, cookie) as http:
        job = (await _start(http, csrf, R3_12H)).headers["location"]
        await _finished(http, job)
    async with client(console, manager) as http:
        assert (await http.get("/whatif")).status_code == 403
        assert (await http.get(job)).status_code == 403
        home = await http.get("/")
        assert 'href="/whatif"' not in home.text
    async with client(console, other) as http:
        assert (await http.get(job)).status_code == 404
        assert (await http.get(f"{job}/changes.csv")).status_code == 404
        assert job not in (await http.get("/whatif")).text
    async with client(console) as http:  # no session
        assert (await http.post("/whatif", data=DAYS)).status_code == 401


async def test_a_bad_form_is_said_field_by_field_and_starts_nothing() -> None:
    console = officers_console()
    cookie, csrf = sign_in(console, "officer")
    broken = R3_12H.replace("clock: hours, amount: 12", "clock: fortnights, amount: 12")
    async with client(console, cookie) as http:
        bad = await _start(http, csrf, broken)
        assert bad.status_code == 400
        assert "The draft policy is not valid: rule R3" in bad.text
        assert "deadline.clock" in bad.text and 'href="#draft"' in bad.text
        assert bad.text.count("govuk-error-message") >= 1
        days = await _start(http, csrf, R3_12H, **{"until-day": "31", "until-month": "2"})
        assert days.status_code == 400 and "Enter the last day as a real date" in days.text
        missing = await http.post("/whatif", data={"csrf_token": csrf, **DAYS})
        assert missing.status_code == 400 and "Choose the draft policy file" in missing.text
        forged = await _start(http, "not-the-token", R3_12H)
        assert forged.status_code == 403
    assert console.whatifs is not None and not console.whatifs.jobs


async def test_one_runs_at_a_time_and_stopping_it_stops_its_process() -> None:
    console = officers_console(never_ends)
    cookie, csrf = sign_in(console, "officer")
    other, other_csrf = sign_in(console, "officer2")
    async with client(console, cookie) as http:
        job = (await _start(http, csrf, R3_12H)).headers["location"]
        deadline = time.monotonic() + 60
        while (now := (await http.get(f"{job}/progress")).json())["step"] == 0:
            assert time.monotonic() < deadline, "the job never reported"
            await asyncio.sleep(0.2)
        assert now["running"] and "reading the topics" in now["said"]
        page = await http.get(job)
        assert "What-if running" in page.text and "Stop this what-if" in page.text
        async with client(console, other) as second:
            busy = await _start(second, other_csrf, R3_12H)
            assert busy.status_code == 409 and "Another what-if is running" in busy.text
        assert console.whatifs is not None
        (held,) = console.whatifs.jobs.values()
        assert held.process is not None and held.process.is_alive()
        stopped = await http.post(f"{job}/stop", data={"csrf_token": csrf})
        assert stopped.status_code == 303
        held.process.join(10)
        assert not held.process.is_alive()
        assert (await http.get(f"{job}/progress")).json()["said"] == "Stopped before it finished."
        assert console.whatifs.running() is None
