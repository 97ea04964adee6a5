"""`make demo`: the whole path on the embedded local Kafka, with a printed account of it.

Starts (or reuses) the local broker, declares a fresh set of demo topics, publishes a
synthetic council's child records, runs a real worker, publishes a day of police
incidents with realistic noise, answers the possible matches as a reviewer would, sends
a few council records late, and prints what frontdoor did. Deterministic for a seed.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from schemas import AuditRecord, DeadLetter, PossibleMatch
from schemas.enums import Agency
from streams import localkafka, topics
from streams.policy import default_policy_text
from streams.settings import Settings
from streams.synthetic import (
    COUNCIL,
    DEMO_DAY,
    PERSON_FIELDS,
    Council,
    Incidents,
    IncidentStream,
    council,
    incidents,
)
from streams.topic_io import Record, consume, produce
from streams.worker_process import WorkerProcess, free_port, start_worker, wait_for

DEMO_PREFIX = "demo."


def _say(label: str, text: str) -> None:
    print(f"  {label:<11} {text}", flush=True)


def _table(title: str, header: tuple[str, ...], rows: list[tuple[object, ...]]) -> None:
    cells = [tuple(str(c) for c in header)] + [tuple(str(c) for c in row) for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        first = f"{row[0]:<{widths[0]}}"
        rest = "  ".join(f"{c:>{w}}" for c, w in zip(row[1:], widths[1:], strict=True))
        print(f"  {first}  {rest}")
        if n == 0:
            print(f"  {'-' * (sum(widths) + 2 * (len(widths) - 1))}")


def _until(
    what: str, fetch: Callable[[], list[Record]], want: int, timeout_s: float = 90
) -> list[Record]:
    found: list[Record] = []
    live = sys.stdout.isatty()

    def enough() -> bool:
        nonlocal found
        found = fetch()
        if live:
            print(f"\r  {'waiting':<11} {what}: {len(found)}/{want}   ", end="", flush=True)
        return len(found) >= want

    try:
        wait_for(enough, timeout_s, what, interval_s=0.5)
    finally:
        if live:
            print("\r" + " " * 72 + "\r", end="", flush=True)
    return found


def run_demo(seed: int = 7, incidents_count: int = 400, council_size: int = 5000) -> int:
    began = time.monotonic()
    print(
        f"frontdoor demo: a council of {council_size} children and a day of police "
        f"incidents (seed {seed})\n"
    )
    kafka = localkafka.LocalKafkaSettings()
    broker = localkafka.start(kafka)
    how = "reused" if broker.reused else "started"
    _say("broker", f"{broker.bootstrap} {how} in {broker.seconds:.1f} s")

    the_council = council(seed, council_size)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    # The council's own schools, so a school elsewhere routes by R2 rather than R1.
    policy_file = Path(".local/demo-policy.yaml")
    policy_file.parent.mkdir(parents=True, exist_ok=True)
    policy_file.write_text(
        default_policy_text().replace(
            "schools: null", f"schools: [{', '.join(the_council.schools)}]"
        )
    )
    base = Settings(broker_url=f"kafka://{kafka.bootstrap}", partitions=2, policy_file=policy_file)
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

    t0 = time.monotonic()
    produce(settings, topics.CHILD_RECORDS, the_council.events())
    _say(
        "council",
        f"{len(the_council.records)} child records published in {time.monotonic() - t0:.1f} s",
    )

    log_path = Path(".local/demo-worker.log")
    worker = start_worker(settings, log_path)
    try:
        t0 = time.monotonic()
        worker.wait_ready(120)
        _, health = worker.get("/health")
        records = json.loads(health)["replica"]["records"]
        _say(
            "worker",
            f"ready in {time.monotonic() - t0:.1f} s with {records} records "
            f"({worker.base_url}, log {log_path})",
        )
        summary = _run_day(settings, worker, seed, the_council, incidents_count)
    finally:
        code = worker.stop()
        _say("worker", f"stopped (exit code {code})")
        if not broker.reused:
            localkafka.stop(kafka)
            _say("broker", "stopped")
    ok = summary()
    print(f"\ndemo took {time.monotonic() - began:.1f} s")
    return 0 if ok else 1


def _run_day(
    settings: Settings, worker: WorkerProcess, seed: int, the_council: Council, count: int
) -> Callable[[], bool]:
    day = incidents(IncidentStream(seed=seed), count, the_council)
    t0 = time.monotonic()
    produce(settings, topics.POLICE_INCIDENTS, day.events)
    valid_children = len(day.truth)
    invalid = sum(1 for _, v in day.events if not _is_valid(v))
    _say("police", f"{len(day.events)} incidents ({valid_children} children) published")

    audits = _until(
        "children routed",
        lambda: consume(settings, topics.AUDIT, valid_children, 5),
        valid_children,
    )
    letters = _until(
        "dead letters", lambda: consume(settings, topics.DEAD_LETTERS, invalid, 5), invalid
    )
    routed_s = time.monotonic() - t0
    _say("processed", f"{len(day.events)} incidents in {routed_s:.1f} s")

    # A reviewer decides every possible match: confirm the true record if shortlisted.
    to_review = sum(1 for m in audits if b'"decision":"review"' in m.value)
    reviews = [
        PossibleMatch.model_validate_json(m.value)
        for m in consume(settings, topics.REVIEW_MATCHES, to_review, 30)
    ]
    decisions = []
    for review in reviews:
        truth = day.truth.get(review.person_reference)
        confirm = truth is not None and truth in {c.record_id for c in review.candidates}
        decisions.append(
            (
                f"{review.police_source}:{review.incident_reference}".encode(),
                json.dumps(
                    {
                        "event_id": f"decision-{review.review_id}",
                        "source": settings.app_id,
                        "produced_at": DEMO_DAY.isoformat(),
                        "review_id": review.review_id,
                        "decision": "confirm" if confirm else "reject",
                        "record_id": truth if confirm else None,
                        "decided_by": "demo-reviewer",
                        "decided_at": DEMO_DAY.isoformat(),
                    }
                ).encode(),
            )
        )
    produce(settings, topics.REVIEW_DECISIONS, decisions)
    decided = _until(
        "review decisions applied",
        lambda: [
            m
            for m in consume(settings, topics.AUDIT, valid_children + len(decisions), 5)
            if AuditRecord.model_validate_json(m.value).stage == "review_decided"
        ],
        len(decisions),
    )
    _say(
        "reviews",
        f"{len(reviews)} possible matches decided "
        f"({sum(b'confirm' in v for _, v in decisions)} confirmed)",
    )

    late = _late_records(day, audits)
    produce(settings, topics.CHILD_RECORDS, late)
    rematched = _until(
        "late records re-matched",
        lambda: [
            m
            for m in consume(settings, topics.AUDIT, 1, 5)
            if AuditRecord.model_validate_json(m.value).stage == "rematched"
        ],
        len(late),
    )
    _say(
        "late",
        f"{len(late)} council records arrived after their incidents; "
        f"{len(rematched)} children re-matched and routed again",
    )
    _, metrics_body = worker.get("/metrics")
    audits = consume(settings, topics.AUDIT, len(audits) + len(decided), 5)
    expected: Counter[str] = Counter()
    ids: set[str] = set()
    for m in audits:
        for made in AuditRecord.model_validate_json(m.value).child.notifications:
            if made.notification_id not in ids:
                ids.add(made.notification_id)
                expected[made.recipient.agency.value] += 1
    notified = {
        agency: _unique(consume(settings, spec, expected[agency.value], 30))
        for agency, spec in topics.NOTIFY.items()
    }

    def summary() -> bool:
        return _summarise(day, audits, letters, notified, reviews, metrics_body.decode(), invalid)

    return summary


def _late_records(
    day: Incidents, audits: list[Record], how_many: int = 10
) -> list[tuple[bytes | None, bytes | None]]:
    """Records the council creates for children police told it about but it did not know."""
    by_reference = {}
    for _, value in day.events:
        try:
            incident = json.loads(value)
            by_reference[incident["incident_reference"]] = incident
        except (ValueError, KeyError, TypeError):
            continue
    made: list[tuple[bytes | None, bytes | None]] = []
    for m in audits:
        audit = AuditRecord.model_validate_json(m.value)
        if len(made) == how_many or audit.child.decision is None:
            break
        if audit.child.decision.value != "none" or audit.incident_reference not in by_reference:
            continue
        child = next(
            c
            for c in by_reference[audit.incident_reference]["children"]
            if c["person_reference"] == audit.child.person_reference
        )
        child_id = f"LATE-{len(made):03d}"
        record = {k: child[k] for k in PERSON_FIELDS if k in child}
        record.update(
            {
                "event_id": f"late-{child_id}",
                "source": COUNCIL,
                "produced_at": DEMO_DAY.isoformat(),
                "council_code": COUNCIL,
                "child_id": child_id,
                "status": "child_in_need",
                "allocated_worker": "SW-200",
                "updated_at": DEMO_DAY.isoformat(),
            }
        )
        made.append((f"{COUNCIL}:{child_id}".encode(), json.dumps(record).encode()))
    return made


def _unique(messages: list[Record]) -> list[Record]:
    """One message per key: a re-sent notification keeps its id, so it counts once."""
    return list({m.key: m for m in messages}.values())


def _is_valid(value: bytes) -> bool:
    try:
        data = json.loads(value)
    except ValueError:
        return False
    return (
        "children" in data
        and isinstance(data.get("sequence"), int)
        and data["occurred_at"].endswith("+00:00")
    )


def _summarise(
    day: Incidents,
    audits: list[Record],
    letters: list[Record],
    notified: dict[Agency, list[Record]],
    reviews: list[PossibleMatch],
    metrics_text: str,
    invalid: int,
) -> bool:
    records = [AuditRecord.model_validate_json(m.value) for m in audits]
    routed = [r for r in records if r.stage == "routed"]
    decided = [r for r in records if r.stage == "review_decided"]
    rematched = [r for r in records if r.stage == "rematched"]
    dead = [DeadLetter.model_validate_json(m.value) for m in letters]
    decisions = Counter(r.child.decision.value for r in routed if r.child.decision)
    wrong = [
        r
        for r in routed
        if r.child.decision
        and r.child.decision.value == "auto"
        and r.child.record_id != day.truth.get(r.child.person_reference)
    ]
    known_missed = [
        r
        for r in routed
        if r.child.decision
        and r.child.decision.value == "none"
        and day.truth.get(r.child.person_reference)
    ]
    incidents_valid = len({r.incident_reference for r in routed})
    _table(
        "Incidents",
        ("", "count"),
        [
            ("published", len(day.events)),
            ("valid", incidents_valid),
            ("dead-lettered", len(dead)),
            ("children routed", len(routed)),
        ],
    )
    _table(
        "Matching children to council records",
        ("decision", "children"),
        [
            ("auto-linked", decisions.get("auto", 0)),
            ("  of which wrong (false link)", len(wrong)),
            ("possible match, to review", decisions.get("review", 0)),
            ("  confirmed by the reviewer", sum(1 for r in decided if r.child.record_id)),
            ("no match (not known)", decisions.get("none", 0)),
            ("  of which were known (missed)", len(known_missed)),
            ("  matched later to a late council record", len(rematched)),
        ],
    )
    per_rule: Counter[tuple[str, str]] = Counter()
    for agency, messages in notified.items():
        for m in messages:
            for rule in json.loads(m.value)["rules"]:
                per_rule[(agency.value, rule)] += 1
    _table(
        "Notifications sent, per agency and rule (a notification naming two rules counts "
        "under both)",
        ("agency", "rule", "count"),
        [
            (a, r, n)
            for (a, r), n in sorted(per_rule.items(), key=lambda x: (x[0][0], int(x[0][1][1:])))
        ],
    )
    _table(
        "Notifications per agency topic",
        ("topic", "messages"),
        [(topics.NOTIFY[a].name, len(m)) for a, m in notified.items()],
    )
    series = [line for line in metrics_text.splitlines() if line.startswith("frontdoor_")]
    print(f"\nThe worker's /metrics had {len(series)} frontdoor_ series at the end.")
    accounted = len(routed) == len(day.truth) and len(dead) == invalid
    print(
        f"{'Every' if accounted else 'NOT every'} incident accounted for: "
        f"{len(routed)} children routed, {len(dead)} invalid incidents dead-lettered."
    )
    return accounted and not wrong
