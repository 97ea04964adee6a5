"""`frontdoor bench pipeline` (`make bench`): throughput and latency on the real local
broker, side by side with the limits, in one run.

1. raw aiokafka passthrough (consume, produce each message, no logic);
2. naive faust passthrough (an agent awaiting one send per event);
3. the full pipeline (validate, match against a council replica, route, dispatch, track
   deadlines) over pre-published incidents;
4. latency (incident published -> front-door notification on its topic) at a fixed
   offered load;
5. replica rebuild speed and worker restart-to-ready time.

Throughput is counted from the Kafka timestamps of the outputs (first to last), so
start-up is not part of it. Every figure is printed with its unit.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import aiokafka
import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas.enums import Agency
from streams import access, topics
from streams.operations import acl
from streams.routing import load_policy
from streams.settings import Settings
from streams.tools.platform import localkafka
from streams.tools.platform.worker_process import (
    WorkerProcess,
    free_port,
    settings_env,
    start_worker,
    wait_for,
)
from streams.tools.synthetic import Council, Incidents, IncidentStream, council, incidents
from streams.topics import RematchRequest, admin
from streams.topics.io import produce

WORK = Path(".local/bench")


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    note: str = ""


async def _count_until(settings: Settings, name: str, want: int, timeout_s: float) -> list[int]:
    """Timestamps (ms) of the first ``want`` records of topic ``name``."""
    consumer = AIOKafkaConsumer(
        name,
        **settings.aiokafka_options(),
        group_id=None,
        auto_offset_reset="earliest",
        fetch_max_bytes=50 * 2**20,
    )
    await consumer.start()
    stamps: list[int] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(stamps) < want and time.monotonic() < deadline:
            for messages in (await consumer.getmany(timeout_ms=500, max_records=20_000)).values():
                stamps.extend(m.timestamp for m in messages)
    finally:
        await consumer.stop()
    if len(stamps) < want:
        raise TimeoutError(f"only {len(stamps)} of {want} records on {name} in {timeout_s} s")
    return stamps[:want]


# Incidents are published as a force does, on its own topic (synthetic incidents are MPS's).
FORCE = topics.force_incidents("MPS")
# What a frontdoor worker consumes; the run is over when its group has committed all of it.
_INPUTS = (
    topics.force_incidents("MPS"),
    topics.POLICE_INCIDENTS,
    topics.REVIEW_DECISIONS,
    topics.REMATCH,
    topics.CHILD_HISTORY,
    topics.DEADLINES,
    topics.SEQUENCES,
    topics.ACKS,
    *topics.AGENCY_ACKS.values(),
    topics.MEETINGS,
)


async def _finished_at(settings: Settings, timeout_s: float) -> float:
    """Unix time (s) of the worker's last write: once its consumer group has committed
    every input, internal topics included (deadline tracking and repeat-escalation
    history follow the notifications), the newest record on its outputs and its tables'
    changelogs. faust commits every few seconds; the records' own timestamps are exact."""
    from aiokafka.admin import AIOKafkaAdminClient

    def partitions(names: list[str]) -> list[TopicPartition]:
        return [TopicPartition(n, p) for n in names for p in range(settings.partitions)]

    inputs = partitions([topics.topic_name(spec, settings) for spec in _INPUTS])
    outputs = partitions(
        [topics.topic_name(spec, settings) for spec in (topics.AUDIT, *topics.NOTIFY.values())]
        + [f"{settings.app_id}-{t}-changelog" for t in ("deadlines", "child-history", "pending")]
    )
    admin = AIOKafkaAdminClient(**settings.aiokafka_options())
    consumer = AIOKafkaConsumer(**settings.aiokafka_options(), group_id=None)
    await admin.start()
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            ends = await consumer.end_offsets(inputs)
            committed = await admin.list_consumer_group_offsets(settings.app_id)
            if all(
                ends[tp] == 0 or (tp in committed and committed[tp].offset >= ends[tp])
                for tp in inputs
            ):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"the worker did not drain its inputs in {timeout_s} s")
            await asyncio.sleep(0.25)
        ends = await consumer.end_offsets(outputs)
        written = [tp for tp in outputs if ends[tp] > 0]
        consumer.assign(written)
        for tp in written:
            consumer.seek(tp, ends[tp] - 1)
        last: dict[TopicPartition, int] = {}
        while len(last) < len(written) and time.monotonic() < deadline:
            for tp, messages in (await consumer.getmany(timeout_ms=500)).items():
                last[tp] = max(m.timestamp for m in messages)
        return max(last.values()) / 1000
    finally:
        await consumer.stop()
        await admin.close()


def _rate(stamps: list[int]) -> float:
    span = (max(stamps) - min(stamps)) / 1000
    return len(stamps) / span if span > 0 else float("inf")


def _create(settings: Settings, *names: str, partitions: int = 1) -> None:
    async def go() -> None:
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic

        client = AIOKafkaAdminClient(**settings.aiokafka_options())
        await client.start()
        try:
            await client.create_topics([NewTopic(n, partitions, 1) for n in names])
            await admin.wait_for_leaders(client, list(names))
        finally:
            await client.close()

    asyncio.run(go())


def raw_passthrough(settings: Settings, count: int) -> Figure:
    source, sink = f"bench.raw.{uuid.uuid4().hex[:6]}.in", f"bench.raw.{uuid.uuid4().hex[:6]}.out"
    _create(settings, source, sink)
    payload = b"x" * 600

    async def go() -> None:
        producer = AIOKafkaProducer(
            **settings.aiokafka_options(), acks="all", enable_idempotence=True, linger_ms=5
        )
        consumer = AIOKafkaConsumer(
            source, **settings.aiokafka_options(), group_id=None, auto_offset_reset="earliest"
        )
        await producer.start()
        await consumer.start()
        try:
            for n in range(count):
                await producer.send(source, payload, key=str(n).encode())
            await producer.flush()
            moved = 0
            while moved < count:
                for messages in (await consumer.getmany(timeout_ms=500)).values():
                    for m in messages:
                        await producer.send(sink, m.value, key=m.key)
                    moved += len(messages)
            await producer.flush()
        finally:
            await consumer.stop()
            await producer.stop()

    asyncio.run(go())
    stamps = asyncio.run(_count_until(settings, sink, count, 120))
    return Figure("raw aiokafka passthrough", _rate(stamps), "msg/s", f"{count} messages")


def faust_passthrough(settings: Settings, count: int) -> Figure:
    run = uuid.uuid4().hex[:6]
    source, sink = f"bench.faust.{run}.in", f"bench.faust.{run}.out"
    _create(settings, source, sink)
    produce(
        settings,
        topics.TopicSpec(source, "", RematchRequest, "", (), ()),
        [(str(n).encode(), b"x" * 600) for n in range(count)],
    )
    env = {
        **settings_env(settings),
        "BENCH_APP_ID": f"bench-faust-{run}",
        "BENCH_SOURCE": source,
        "BENCH_SINK": sink,
    }
    WORK.mkdir(parents=True, exist_ok=True)
    with (WORK / "faust-passthrough.log").open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streams.tools.bench.passthrough_app",
                "worker",
                "--without-web",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=WORK,
        )
    try:
        stamps = asyncio.run(_count_until(settings, sink, count, 300))
    finally:
        process.terminate()
        process.wait(timeout=30)
    return Figure("naive faust passthrough", _rate(stamps), "msg/s", f"{count} messages")


def _pipeline_settings(base: Settings, name: str) -> Settings:
    run = f"{name}-{uuid.uuid4().hex[:6]}"
    return base.model_copy(
        update={
            "topic_prefix": f"bench.{run}.",
            "app_id": f"frontdoor-bench-{run}",
            "web_port": free_port(),
            "state_dir": WORK / run,
            "partitions": 1,
        }
    )


def _live_incidents(seed: int, count: int, known: Council) -> tuple[Incidents, int]:
    """Valid incidents reported in the last hours (deadlines in the future, as live), and
    how many children they name."""
    now = datetime.now(UTC)
    stream = IncidentStream(
        seed=seed,
        invalid_rate=0.0,
        late_report_rate=0.0,
        start=now - timedelta(hours=6),
        span=timedelta(hours=1),
    )
    day = incidents(stream, count, known)
    return day, sum(len(json.loads(v)["children"]) for _, v in day.events)


def _deploy(settings: Settings) -> None:
    """A run's topics, and on the secured broker its ACLs (the worker runs as itself)."""
    acl.provision(settings)


def _as_worker(settings: Settings) -> Settings:
    return localkafka.acting_as(settings, access.WORKER)


def pipeline(base: Settings, records: int, count: int) -> tuple[list[Figure], Settings]:
    settings = _pipeline_settings(base, "pipeline")
    _deploy(settings)
    the_council = council(2, records)
    started = time.monotonic()
    produce(settings, topics.CHILD_RECORDS, the_council.events())
    day, children = _live_incidents(2, count, the_council)
    produce(settings, FORCE, day.events)
    print(
        f"  published {records} records and {count} incidents in "
        f"{time.monotonic() - started:.0f} s",
        flush=True,
    )
    log_path = WORK / "pipeline-worker.log"
    began = time.monotonic()
    worker = start_worker(_as_worker(settings), log_path, loglevel="info")
    try:
        worker.wait_ready(600)
        ready_s = time.monotonic() - began
        caught = re.search(r"replica caught up: (\d+) records in ([\d.]+) s", worker.log())
        rebuild = int(caught.group(1)) / float(caught.group(2)) if caught else float("nan")
        stamps = asyncio.run(
            _count_until(
                settings.model_copy(), topics.topic_name(topics.AUDIT, settings), children, 1800
            )
        )
        finished = asyncio.run(_finished_at(settings, 1800))
    finally:
        worker.stop()
    # From the first audit record (start-up excluded) to the worker's last write, its
    # deadline tracking and history included.
    rate = count / (finished - min(stamps) / 1000)
    began = time.monotonic()
    again = start_worker(_as_worker(settings), WORK / "pipeline-restart.log")
    try:
        again.wait_ready(600)
        restart_s = time.monotonic() - began
        resumed = re.search(
            r"replica caught up: (\d+) records in ([\d.]+) s \((\d+) from this worker's snapshot",
            again.log(),
        )
        idle = idle_cpu(again.process.pid)
    finally:
        again.stop()
    restore = (
        int(resumed.group(3)) / float(resumed.group(2))
        if resumed and int(resumed.group(3))
        else float("nan")
    )
    return [
        Figure(
            "full pipeline",
            rate,
            "incidents/s",
            f"{count} incidents ({children} children), {records}-record replica",
        ),
        Figure("replica rebuild from the topic", rebuild, "records/s", f"{records} records"),
        Figure("replica restore at restart", restore, "records/s", "snapshot + topic tail"),
        Figure("first start to ready", ready_s, "s", "replica rebuilt from the topic"),
        Figure(
            "restart to ready", restart_s, "s", f"{records} records, snapshots + changelog tails"
        ),
        Figure("idle worker CPU", idle, "% of a core", f"caught up, nothing arriving, {IDLE_S} s"),
    ], settings


IDLE_S = 15


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(pid: int) -> float:
    """What a process that has nothing to do costs (% of a core), after 5 s to settle:
    every worker of a deployment pays it all day, and every test's worker too."""
    time.sleep(5)
    before, began = cpu_s(pid), time.monotonic()
    time.sleep(IDLE_S)
    return 100 * (cpu_s(pid) - before) / (time.monotonic() - began)


def scaling(base: Settings, records: int, count: int) -> list[Figure]:
    """The same work on two partitions with one worker, then with two."""
    rates = []
    for workers in (1, 2):
        settings = _pipeline_settings(base, f"scale{workers}").model_copy(update={"partitions": 2})
        _deploy(settings)
        the_council = council(4, records)
        produce(settings, topics.CHILD_RECORDS, the_council.events())
        day, children = _live_incidents(4, count, the_council)
        running: list[WorkerProcess] = []
        try:
            for n in range(workers):
                own = _as_worker(settings).model_copy(update={"web_port": free_port()})
                running.append(start_worker(own, WORK / f"scale{workers}-{n}.log"))
            for worker in running:
                worker.wait_ready(600)
            wait_for(
                partial(_all_assigned, running),
                60,
                "every worker to own partitions",
            )
            produce(settings, FORCE, day.events)
            stamps = asyncio.run(
                _count_until(settings, topics.topic_name(topics.AUDIT, settings), children, 1800)
            )
            finished = asyncio.run(_finished_at(settings, 1800))
        finally:
            for worker in running:
                worker.stop()
        rates.append(count / (finished - min(stamps) / 1000))
    note = f"{count} incidents on 2 partitions"
    return [
        Figure("pipeline, 1 worker", rates[0], "incidents/s", note),
        Figure("pipeline, 2 workers", rates[1], "incidents/s", note),
        Figure("2 workers / 1 worker", rates[1] / rates[0], "x"),
    ]


def _all_assigned(workers: list[WorkerProcess]) -> bool:
    return all(json.loads(w.get("/health")[1])["assigned_partitions"] for w in workers)


def latency(base: Settings, records: int, rate: float, seconds: float) -> list[Figure]:
    settings = _pipeline_settings(base, "latency")
    _deploy(settings)
    the_council = council(3, records)
    produce(settings, topics.CHILD_RECORDS, the_council.events())
    count = int(rate * seconds)
    now = datetime.now(UTC)
    day = incidents(
        IncidentStream(
            seed=3,
            invalid_rate=0.0,
            start=now - timedelta(hours=2),
            span=timedelta(hours=1),
            late_report_rate=0.0,
        ),
        count,
        the_council,
    )
    worker = start_worker(_as_worker(settings), WORK / "latency-worker.log")
    try:
        worker.wait_ready(600)

        async def offer() -> None:
            producer = AIOKafkaProducer(
                **settings.aiokafka_options(), acks="all", enable_idempotence=True
            )
            await producer.start()
            try:
                name = topics.topic_name(FORCE, settings)
                start = time.monotonic()
                for n, (key, value) in enumerate(day.events):
                    delay = start + n / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    await producer.send(name, value, key=key)
                await producer.flush()
            finally:
                await producer.stop()

        asyncio.run(offer())
        sent = asyncio.run(_stamps_by_key(settings, topics.POLICE_INCIDENTS, count))
        front_door = asyncio.run(_first_notification(settings, sent, 300))
    finally:
        worker.stop()
    waits = sorted(front_door)
    q = statistics.quantiles(waits, n=100, method="inclusive")
    note = f"{rate:.0f} incidents/s offered for {seconds:.0f} s"
    at = f"at {rate:.0f}/s"
    return [
        Figure(f"latency p50 {at}", q[49], "ms", note),
        Figure(f"latency p95 {at}", q[94], "ms", note),
        Figure(f"latency p99 {at}", q[98], "ms", note),
        Figure(f"latency max {at}", waits[-1], "ms", note),
    ]


async def _stamps_by_key(settings: Settings, spec: topics.TopicSpec, count: int) -> dict[str, int]:
    consumer = AIOKafkaConsumer(
        topics.topic_name(spec, settings),
        **settings.aiokafka_options(),
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    out: dict[str, int] = {}
    try:
        while len(out) < count:
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                for m in messages:
                    out[json.loads(m.value)["incident_reference"]] = m.timestamp
    finally:
        await consumer.stop()
    return out


async def _first_notification(
    settings: Settings, sent: dict[str, int], timeout_s: float
) -> list[float]:
    """Per incident, ms from its publication to its first social-care notification."""
    consumer = AIOKafkaConsumer(
        topics.topic_name(topics.NOTIFY[Agency.SOCIAL_CARE], settings),
        **settings.aiokafka_options(),
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    first: dict[str, float] = {}
    deadline = time.monotonic() + timeout_s
    try:
        while len(first) < len(sent) and time.monotonic() < deadline:
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                for m in messages:
                    ref = json.loads(m.value)["incident_reference"]
                    if ref in sent and ref not in first:
                        first[ref] = m.timestamp - sent[ref]
    finally:
        await consumer.stop()
    return list(first.values())


def run(
    records: int = 100_000,
    count: int = 50_000,
    rate: float = 500.0,
    seconds: float = 60.0,
    passthrough: int = 100_000,
    steady_rate: float = 100.0,
) -> int:
    logging_quiet()
    kafka = localkafka.LocalKafkaSettings()
    broker = localkafka.start(kafka, access.parties(load_policy(None)))
    base = localkafka.client_settings(kafka, "admin")
    removed = admin.delete_prefixed(base, ("bench.", "frontdoor-bench-"))  # they cost the broker
    if kafka.secured:
        acl.revoke(base, ("bench.", "frontdoor-bench-"))
    print(
        f"pipeline benchmark on the local broker {kafka.bootstrap}, {kafka.security.upper()} "
        f"({len(removed)} topics of earlier runs removed)",
        flush=True,
    )
    figures: list[Figure] = []
    try:
        figures.append(raw_passthrough(base, passthrough))
        print(f"  {figures[-1].name}: {figures[-1].value:,.0f} {figures[-1].unit}", flush=True)
        figures.append(faust_passthrough(base, passthrough // 4))
        print(f"  {figures[-1].name}: {figures[-1].value:,.0f} {figures[-1].unit}", flush=True)
        found, _ = pipeline(base, records, count)
        figures += found
        print(f"  {found[0].name}: {found[0].value:,.0f} {found[0].unit}", flush=True)
        figures += latency(base, records, rate, seconds)
        if steady_rate:  # and at a load one worker sustains, for what latency it adds
            figures += latency(base, records, steady_rate, seconds)
        figures += scaling(base, records, max(count // 5, 1000))
        if kafka.secured:
            figures += security_cost(kafka, figures, records, count, passthrough)
    finally:
        if not broker.reused:
            localkafka.stop(kafka)
    by_name = {f.name: f for f in figures}
    full = by_name["full pipeline"].value
    figures.insert(
        3,
        Figure("pipeline / raw passthrough", full / by_name["raw aiokafka passthrough"].value, "x"),
    )
    figures.insert(
        4,
        Figure(
            "pipeline / naive faust passthrough",
            full / by_name["naive faust passthrough"].value,
            "x",
        ),
    )
    print()
    width = max(len(f.name) for f in figures)
    for f in figures:
        value = (
            f"{f.value:.4f}"
            if f.value < 1
            else f"{f.value:,.2f}"
            if f.value < 100
            else f"{f.value:,.0f}"
        )
        print(f"  {f.name:<{width}}  {value:>12} {f.unit:<12} {f.note}")
    print(
        f"\n  machine: {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB; "
        f"Python {platform.python_version()}, faust-streaming {faust.__version__}, "
        f"aiokafka {aiokafka.__version__}, Kafka {_kafka_version()}; "
        f"{datetime.now(UTC):%Y-%m-%d}"
    )
    return 0


def security_cost(
    secured: localkafka.LocalKafkaSettings,
    figures: list[Figure],
    records: int,
    count: int,
    passthrough: int,
) -> list[Figure]:
    """The same raw passthrough and full pipeline on a plaintext broker (no TLS, no SCRAM,
    no ACLs) started beside the secured one: what security costs, in the same run."""
    plain = secured.model_copy(
        update={
            "port": secured.port + 200,
            "controller_port": secured.controller_port + 200,
            "home": secured.home.parent / f"{secured.home.name}-plaintext",
            "security": "plaintext",
        }
    )
    localkafka.start(plain)
    try:
        base = localkafka.client_settings(plain, "admin")
        admin.delete_prefixed(base, ("bench.", "frontdoor-bench-"))
        print(f"  plaintext broker for comparison on {plain.bootstrap}", flush=True)
        raw = raw_passthrough(base, passthrough)
        found, _ = pipeline(base, records, count)
    finally:
        localkafka.stop(plain)
    by_name = {f.name: f.value for f in figures}
    return [
        Figure("raw aiokafka passthrough, plaintext broker", raw.value, "msg/s", raw.note),
        Figure("raw passthrough: SASL_SSL / plaintext", by_name[raw.name] / raw.value, "x"),
        Figure("full pipeline, plaintext broker", found[0].value, found[0].unit, found[0].note),
        Figure("full pipeline: SASL_SSL / plaintext", by_name[found[0].name] / found[0].value, "x"),
    ]


def _kafka_version() -> str:
    jars = list((localkafka.DEPLOY_DIR / "lib").glob("kafka_2.13-*.jar"))
    return jars[0].stem.removeprefix("kafka_2.13-") if jars else "?"


def logging_quiet() -> None:
    import logging

    logging.getLogger("aiokafka").setLevel(logging.ERROR)
