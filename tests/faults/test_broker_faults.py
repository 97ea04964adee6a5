"""The broker itself fails mid-stream: a single broker stopped for 10-30 s and started
again, and the partition leader of a three-node cluster (replication factor 3,
``min.insync.replicas=2``) killed. Workers recover without a restart; nothing is lost;
no decision changes."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import LeaderNotAvailableError, NotLeaderForPartitionError
from prometheus_client.parser import text_string_to_metric_families

from streams import access, topics
from streams.routing import load_policy
from streams.settings import Settings
from streams.tools.platform import localkafka
from streams.tools.platform.worker_process import WorkerProcess, free_ports, wait_for
from streams.topics.follow import Publisher as FollowPublisher
from streams.topics.io import produce
from tests.faults.harness import (
    FULL,
    Publisher,
    clean_run,
    converged,
    frozen,
    judge,
    launch,
    load,
    missing_rules,
    outcome,
    record,
    settle,
)

INCIDENTS = 3_000 if FULL else 300
RECORDS = 1_000 if FULL else 300
RATE = 40.0 if FULL else 20.0
EXPIRES_AFTER_S = 4.0


def spaced_ports(nodes: int) -> tuple[int, int]:
    """Base client and controller ports with ``+10 n`` free for every node."""
    for _ in range(50):
        port, controller = free_ports(2)
        wanted = [p + 10 * n for p in (port, controller) for n in range(nodes)]
        if len(set(wanted)) == len(wanted) and all(_free(p) for p in wanted):
            return port, controller
    raise RuntimeError("no free spaced ports")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def own_kafka(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[localkafka.LocalKafkaSettings]:
    nodes = getattr(request, "param", 1)
    port, controller = spaced_ports(nodes)
    kafka = localkafka.LocalKafkaSettings(
        port=port,
        controller_port=controller,
        home=tmp_path / "kafka",
        heap="384m" if nodes > 1 else "512m",
        nodes=nodes,
        start_timeout_s=120,
    )
    localkafka.start(kafka, access.parties(load_policy(None)))
    yield kafka
    localkafka.stop(kafka)


def run_settings(kafka: localkafka.LocalKafkaSettings, tmp_path: Path) -> Settings:
    base = localkafka.client_settings(
        kafka,
        "admin",
        topic_prefix="f.",
        app_id="frontdoor-faults",
        replication_factor=min(kafka.nodes, 3),
        state_dir=tmp_path / "state",
    )
    return frozen(base, tmp_path / "policy.yaml")


def workers(run: Settings, tmp_path: Path, count: int) -> list[WorkerProcess]:
    started = [launch(run, tmp_path, n) for n in range(count)]
    for w in started:
        w.wait_ready(120)
    return started


@pytest.mark.long
def test_the_broker_stopped_for_10_to_30_s_loses_nothing(
    own_kafka: localkafka.LocalKafkaSettings, tmp_path: Path
) -> None:
    rng = random.Random(13)
    the_load = load(seed=13, records=RECORDS, count=INCIDENTS)
    clean = clean_run(the_load)
    # The worker's producer gives up on a partition without a leader after 4 s, well
    # inside the outage: a batch expires unsent, its sequence number spent, and the
    # worker must start a new producer session rather than be refused for good.
    run = run_settings(own_kafka, tmp_path).model_copy(
        update={"producer_request_timeout_s": EXPIRES_AFTER_S}
    )
    produce(run, topics.CHILD_RECORDS, the_load.council.events())
    (worker,) = workers(run, tmp_path, 1)
    since = datetime.now(UTC) - timedelta(seconds=5)
    publisher = Publisher(run, the_load.day.events, RATE)
    publisher.start()
    probe = SessionProbe(run)
    outages: list[float] = []
    for _ in range(3 if FULL else 1):
        time.sleep(rng.uniform(3, 6))
        away = rng.uniform(10, 30) if FULL else 10.0
        if not outages:
            probe.start()
            wait_for(lambda: probe.sending.is_set() or None, 30, "the probe to send")
        localkafka.stop(own_kafka)
        time.sleep(away)
        localkafka.start(own_kafka)
        probe.back.set()
        outages.append(away)
    probe.join(timeout=180)
    publisher.join(timeout=900)
    # The test's own publisher (an aiokafka producer) has once hung for good after the
    # broker came back; say so rather than judging a run whose incidents were never sent.
    assert not publisher.is_alive(), "the test's publisher is stuck since the broker restart"
    assert publisher.error is None

    accounting = settle(run, since, timeout_s=600 if FULL else 300)
    seen = converged(run, clean, 180 if FULL else 60)
    survived = worker.process.poll() is None and worker.ready()
    renewed = _counted(worker, "frontdoor_producer_sessions_renewed_total")
    worker.stop()
    verdict = judge(clean, seen)
    record(
        fault="broker stopped and started again (one node)",
        tries=len(outages),
        load=f"{INCIDENTS} incidents at {RATE:.0f}/s, {RECORDS} council records",
        outages_s=[round(o, 1) for o in outages],
        worker_survived=survived,
        producer_sessions_renewed=renewed,
        publisher_sends_expired=probe.expired,
        publisher_refused_during=dict(probe.refused),
        publisher_after_restart=dict(Counter(probe.after)),
        publisher_retries=publisher.retries,
        **outcome(accounting, verdict),
    )
    assert accounting.complete, f"{len(accounting.unaccounted)} incidents unaccounted for"
    assert verdict.clean, (verdict, missing_rules(clean, seen))
    assert survived, "the worker should recover without a restart"
    # The gateway's and console's publisher delivers again after the restart. When one
    # of its sends expired unsent in the stop (most runs; not all under load, when its
    # sends time out before a batch is made), aiokafka alone is refused from there for
    # good (checked: 10 of 10 after the restart); the faults table says which it was.
    assert probe.error is None and not probe.is_alive(), probe.error
    assert probe.after[-5:] == ["delivered"] * 5, probe.after


PROBE_TOPIC = "f.probe.v1"
PROBE_EXPIRES_S = 2.0


class SessionProbe(threading.Thread):
    """The gateway's and console's ``Publisher`` sending every 10 ms from just before the
    broker stops until it is back (sends that find no leader expire unsent after 2 s),
    then ten more, each of which must be delivered."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.sending = threading.Event()
        self.back = threading.Event()
        self.expired = 0
        self.refused: Counter[str] = Counter()
        self.after: list[str] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as error:  # reported by the test
            self.error = error

    async def _run(self) -> None:
        admin = AIOKafkaAdminClient(**self.settings.aiokafka_options())
        await admin.start()
        try:
            await admin.create_topics([NewTopic(PROBE_TOPIC, 1, 1)])
        finally:
            await admin.close()
        publisher = FollowPublisher(self.settings, request_timeout_s=PROBE_EXPIRES_S)
        await publisher.start()
        try:
            await publisher.send(PROBE_TOPIC, "before", b"{}")
            self.sending.set()
            during = []
            while not self.back.is_set():
                during.append(asyncio.ensure_future(self._during(publisher, len(during))))
                await asyncio.sleep(0.01)
            await asyncio.wait_for(asyncio.gather(*during), 120)
            for n in range(10):
                try:
                    await asyncio.wait_for(publisher.send(PROBE_TOPIC, f"after-{n}", b"{}"), 30)
                    self.after.append("delivered")
                except Exception as error:
                    self.after.append(type(error).__name__)
        finally:
            await publisher.stop()

    async def _during(self, publisher: FollowPublisher, n: int) -> None:
        try:
            await publisher.send(PROBE_TOPIC, f"during-{n}", b"{}")
        except (NotLeaderForPartitionError, LeaderNotAvailableError):
            self.expired += 1
        except Exception as error:  # refused (with aiokafka alone: for good)
            self.refused[type(error).__name__] += 1


def _counted(worker: WorkerProcess, name: str) -> float:
    status, body = worker.get("/metrics")
    assert status == 200
    return sum(
        sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name == name
    )


async def _leader(kafka: localkafka.LocalKafkaSettings, topic: str, partition: int) -> int:
    admin = AIOKafkaAdminClient(**localkafka.client_settings(kafka, "admin").aiokafka_options())
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        return int(
            next(p["leader"] for p in described["partitions"] if p["partition"] == partition)
        )
    finally:
        await admin.close()


@pytest.mark.full  # make faults only: three broker JVMs on two cores
@pytest.mark.parametrize("own_kafka", [3], indirect=True)
def test_killing_a_partition_leader_of_a_three_node_cluster_loses_nothing(
    own_kafka: localkafka.LocalKafkaSettings, tmp_path: Path
) -> None:
    rng = random.Random(14)
    the_load = load(seed=14, records=RECORDS, count=INCIDENTS)
    clean = clean_run(the_load)
    run = run_settings(own_kafka, tmp_path)
    produce(run, topics.CHILD_RECORDS, the_load.council.events())
    pool = workers(run, tmp_path, 2)
    since = datetime.now(UTC) - timedelta(seconds=5)
    publisher = Publisher(run, the_load.day.events, RATE)
    publisher.start()
    victims = [topics.POLICE_INCIDENTS, topics.NOTIFY[next(iter(topics.NOTIFY))], topics.DEADLINES]
    killed: list[str] = []
    for spec in victims[: 3 if FULL else 1]:
        time.sleep(rng.uniform(3, 6))
        name = topics.topic_name(spec, run)
        partition = rng.randrange(run.partitions)
        node = asyncio.run(_leader(own_kafka, name, partition))
        localkafka.kill(own_kafka, node)
        killed.append(f"node {node} (leader of {spec.name}[{partition}])")
        time.sleep(10)
        localkafka.start(own_kafka)  # the killed node comes back and catches up
    publisher.join(timeout=900)
    assert publisher.error is None

    accounting = settle(run, since, timeout_s=600 if FULL else 300)
    seen = converged(run, clean, 180 if FULL else 60)
    survived = all(w.process.poll() is None and w.ready() for w in pool)
    for w in pool:
        w.stop()
    verdict = judge(clean, seen)
    record(
        fault="kill -9 a partition leader (three-node cluster, RF 3, min ISR 2)",
        tries=len(killed),
        load=f"{INCIDENTS} incidents at {RATE:.0f}/s, {RECORDS} council records, two workers",
        killed=killed,
        workers_survived=survived,
        **outcome(accounting, verdict),
    )
    assert accounting.complete, f"{len(accounting.unaccounted)} incidents unaccounted for"
    assert verdict.clean, (verdict, missing_rules(clean, seen))
