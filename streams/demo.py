"""`make demo`: the whole path on the embedded local Kafka, with a printed account of it.

Starts (or reuses) the local broker, declares a fresh set of demo topics, runs a real
worker, publishes a day of synthetic police incidents (some with data-quality problems,
some invalid), waits until every one is accounted for, and prints what happened.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from schemas import AuditRecord, DeadLetter
from streams import localkafka, topics
from streams.settings import Settings
from streams.synthetic import IncidentStream, incidents
from streams.topic_io import consume, produce
from streams.worker_process import free_port, start_worker

DEMO_PREFIX = "demo."


def _say(label: str, text: str) -> None:
    print(f"  {label:<11} {text}", flush=True)


def _table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"\n{title}")
    print(f"  {'-' * (width + 12)}")
    for key, value in rows:
        print(f"  {key:<{width}}  {value:>10}")


def run_demo(seed: int = 7, incidents_count: int = 200) -> int:
    began = time.monotonic()
    print(f"frontdoor demo: one day of synthetic police incidents (seed {seed})\n")
    kafka = localkafka.LocalKafkaSettings()
    broker = localkafka.start(kafka)
    _say(
        "broker",
        f"{broker.bootstrap} {'reused' if broker.reused else 'started'} in {broker.seconds:.1f} s",
    )

    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    base = Settings(broker_url=f"kafka://{kafka.bootstrap}")
    removed = topics.delete_prefixed(base, DEMO_PREFIX)
    settings = base.model_copy(
        update={
            "topic_prefix": f"{DEMO_PREFIX}{run_id}.",
            "app_id": f"frontdoor-demo-{run_id}",
            "web_port": free_port(),
            "state_dir": Path(".local/demo-state") / run_id,
        }
    )
    created = topics.create_all(settings)
    _say(
        "topics",
        f"{sum(created.values())} created under '{settings.topic_prefix}' "
        f"({len(removed)} from the last demo removed)",
    )

    log_path = Path(".local/demo-worker.log")
    worker = start_worker(settings, log_path)
    try:
        t0 = time.monotonic()
        worker.wait_ready(120)
        _say(
            "worker", f"ready in {time.monotonic() - t0:.1f} s ({worker.base_url}, log {log_path})"
        )

        events = list(incidents(IncidentStream(seed=seed), incidents_count))
        t0 = time.monotonic()
        produce(settings, topics.POLICE_INCIDENTS, events)
        _say(
            "published",
            f"{len(events)} incidents to {settings.topic_prefix}police.incidents.v1 "
            f"in {time.monotonic() - t0:.1f} s",
        )

        t0 = time.monotonic()
        audited = consume(settings, topics.AUDIT, 1, timeout_s=5)
        letters = consume(settings, topics.DEAD_LETTERS, 0, timeout_s=1)
        deadline = time.monotonic() + 90
        while len(audited) + len(letters) < len(events) and time.monotonic() < deadline:
            done = len(audited) + len(letters)
            print(f"\r  processing  {done}/{len(events)}", end="", flush=True)
            audited = consume(settings, topics.AUDIT, len(events) - len(letters), timeout_s=2)
            letters = consume(settings, topics.DEAD_LETTERS, len(events) - len(audited), 1)
        print(
            f"\r  processed   {len(audited) + len(letters)}/{len(events)} in "
            f"{time.monotonic() - t0:.1f} s   "
        )
        _, metrics_body = worker.get("/metrics")
    finally:
        code = worker.stop()
        _say("worker", f"stopped (exit code {code})")
        if not broker.reused:
            localkafka.stop(kafka)
            _say("broker", "stopped")

    records = [AuditRecord.model_validate_json(m.value) for m in audited]
    dead = [DeadLetter.model_validate_json(m.value) for m in letters]
    types = Counter(r.incident_type.value for r in records)
    warnings = Counter(w.code.value for r in records for w in r.data_quality)
    reasons = Counter(d.reason_class for d in dead)
    _table(
        "Incidents",
        [
            ("published", str(len(events))),
            ("valid (audited)", str(len(records))),
            ("invalid (dead-lettered)", str(len(dead))),
            ("children named", str(sum(len(r.children) for r in records))),
        ],
    )
    _table("Valid incidents by type", sorted(((k, str(v)) for k, v in types.items())))
    _table(
        "Fields dropped as malformed (incident kept)",
        sorted((k, str(v)) for k, v in warnings.items()) or [("none", "0")],
    )
    _table("Dead letters by reason", sorted((k, str(v)) for k, v in reasons.items()))
    metric_lines = [
        line for line in metrics_body.decode().splitlines() if line.startswith("frontdoor_")
    ]
    print(f"\nWorker /metrics at the end ({len(metric_lines)} series), e.g.:")
    for line in metric_lines[:6]:
        print(f"  {line}")
    accounted = len(records) + len(dead) == len(events)
    print(
        f"\n{'All' if accounted else 'NOT all'} {len(events)} incidents accounted for; "
        f"demo took {time.monotonic() - began:.1f} s."
    )
    return 0 if accounted else 1
