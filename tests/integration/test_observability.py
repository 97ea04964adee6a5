"""Every dashboard panel's query returns data from a real Prometheus that scraped a real
worker during a scenario, and no metric carries personal data."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schemas import Notification
from schemas.enums import AlertKind
from streams import topics
from streams.settings import Settings
from streams.tools.generators import dashboards
from streams.tools.platform.worker_process import free_port, wait_for
from streams.tools.synthetic import IncidentStream, council, incidents
from streams.topics.io import consume, produce
from tests import factories
from tests.integration.conftest import StartWorker
from tests.integration.helpers import (
    acknowledge,
    compliance_policy,
    incident,
    notifications,
    publish_incident,
    publish_records,
)


@pytest.fixture
def prometheus(tmp_path: Path, settings: Settings) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not installed: `make test` installs it (Debian: prometheus)")
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n  - job_name: frontdoor\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{settings.web_port}']\n"
    )
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "prometheus.log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _get(f"{url}/-/ready") is not None, 30, "Prometheus to be ready")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bytes(response.read())
    except OSError:
        return None


def _query(prometheus: str, expr: str) -> list[dict[str, object]]:
    body = _get(f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
    assert body is not None, f"Prometheus did not answer for {expr}"
    data = json.loads(body)
    assert data["status"] == "success", data
    return list(data["data"]["result"])


def _has_data(result: list[dict[str, object]]) -> bool:
    values = [float(r["value"][1]) for r in result]  # type: ignore[index]
    return bool(values) and not all(math.isnan(v) for v in values)


def test_every_dashboard_panel_returns_data_and_no_metric_carries_personal_data(
    settings: Settings, start: StartWorker, tmp_path: Path, prometheus: str
) -> None:
    the_council = council(seed=11, size=200)
    review_me = dict(factories.example("child-record"), date_of_birth="2016-02-27", nhs_number=None)
    publish_records(settings, *the_council.records, review_me)
    worker = start(policy_file=compliance_policy(tmp_path))
    scraped = 'up{job="frontdoor"} == 1'
    wait_for(lambda: _query(prometheus, scraped), 30, "Prometheus to scrape the worker")
    now = datetime.now(UTC)
    # A day's worth of synthetic incidents about this council's children (personal data).
    day = incidents(IncidentStream(seed=11, start=now - timedelta(hours=30)), 30, the_council)
    produce(settings, topics.POLICE_INCIDENTS, day.events)
    # Planted: a possible match, a missed, a late, an injury, a late report, a gap, an
    # incident late to frontdoor, a meeting.
    review = incident("CAD-REVIEW", 1000, now - timedelta(hours=1), now)
    review["children"][0]["nhs_number"] = None
    publish_incident(settings, review)
    publish_incident(settings, incident("CAD-MISSED", 1001, now - timedelta(hours=1), now))
    late = incident("CAD-LATE", 1003, now - timedelta(days=3), now)  # 1002 never arrives
    late["injury"] = True
    publish_incident(settings, late)
    held_back = incident("CAD-HELD-BACK", 1004, now - timedelta(hours=4), now - timedelta(hours=3))
    publish_incident(settings, held_back)
    meeting = factories.example("strategy-meeting")
    produce(settings, topics.MEETINGS, [(b"SM-2026-0042", json.dumps(meeting).encode())])

    def late_notification() -> Notification | None:
        found = [
            n
            for n in notifications(settings, 10**6, linger_s=0, timeout_s=1)
            if n.incident_reference == "CAD-LATE"
        ]
        return found[0] if found else None

    sent = wait_for(late_notification, 60, "the planted late notification")
    acknowledge(settings, sent, sent.deadline + timedelta(seconds=5))

    kinds_wanted = {
        AlertKind.MISSED,
        AlertKind.LATE,
        AlertKind.SEQUENCE_GAP,
        AlertKind.LATE_POLICE_REPORT,
        AlertKind.LATE_TO_FRONTDOOR,
    }

    def alerted() -> bool:
        found = consume(settings, topics.COMPLIANCE_ALERTS, 10**6, timeout_s=1)
        kinds = {json.loads(m.value)["kind"] for m in found}
        return kinds_wanted <= {AlertKind(k) for k in kinds}

    wait_for(alerted, 90, "the planted missed, late, gap, late-report and late-to-frontdoor alerts")

    failures = []
    for title, expr in dashboards.queries():
        try:
            wait_for(lambda e=expr: _has_data(_query(prometheus, e)), 30, title)  # type: ignore[misc]
        except TimeoutError:
            failures.append(f"{title}: {expr}")
    assert failures == [], "panels without data:\n" + "\n".join(failures)

    status, body = worker.get("/metrics")
    text = body.decode()
    personal = {
        v
        for r in the_council.records
        for v in (
            r["given_name"],
            r["family_name"],
            r.get("nhs_number"),
            r["postcode"],
            r["address"],
            r["date_of_birth"],
        )
        if v
    }
    personal |= {
        json.loads(v)["incident_reference"]
        for _, v in day.events
        if v.startswith(b"{") and b"incident_reference" in v[:400] and _json_ok(v)
    }
    personal |= set(factories.PERSONAL_VALUES)
    leaked = sorted(v for v in personal if f'"{v}"' in text or f" {v}\n" in text)
    assert status == 200 and leaked == []


def _json_ok(value: bytes) -> bool:
    try:
        json.loads(value)
    except ValueError:
        return False
    return True
