"""Integration fixtures: the real local broker (started by `make test`, secured: SASL_SSL
and ACLs), topics, ACLs and a consumer group of each test's own, and real
`frontdoor worker` processes connecting as the `worker` principal. ``settings`` itself is
the admin principal: tests publish and read as it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import pytest

from streams import access
from streams.operations import acl
from streams.settings import Settings
from streams.tools.platform.localkafka import (
    LocalKafkaSettings,
    acting_as,
    broker_answers,
    client_settings,
)
from streams.tools.platform.worker_process import WorkerProcess, free_port, start_worker
from streams.topics import admin


@pytest.fixture(scope="session")
def local_kafka() -> LocalKafkaSettings:
    kafka = LocalKafkaSettings()
    if not broker_answers(kafka, timeout_s=5):
        pytest.fail(f"no Kafka broker answers on {kafka.bootstrap}: run the tests with `make test`")
    return kafka


@pytest.fixture(scope="session")
def kafka_bootstrap(local_kafka: LocalKafkaSettings) -> str:
    return local_kafka.bootstrap


@contextmanager
def namespace(local_kafka: LocalKafkaSettings, state: Path, partitions: int) -> Iterator[Settings]:
    """A deployment of its own on the shared broker (topics, ACLs, consumer groups under
    one prefix and app id), as the admin principal, removed afterwards: the broker holds
    only the namespaces of the tests running now, so none is slower than the one before."""
    name = f"t{uuid.uuid4().hex[:10]}"
    made = client_settings(
        local_kafka,
        "admin",
        topic_prefix=f"{name}.",
        app_id=f"frontdoor-{name}",
        partitions=partitions,
        web_port=free_port(),
        state_dir=state,
    )
    acl.provision(made)
    try:
        yield made
    finally:  # the worker's own (faust) topics are named by its app id
        ours = (made.topic_prefix, made.app_id)
        admin.delete_prefixed(made, ours)
        acl.revoke(made, ours)


@pytest.fixture
def settings(
    local_kafka: LocalKafkaSettings, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Settings]:
    """Two partitions a topic, or as many as ``@pytest.mark.partitions(n)`` asks."""
    marker = request.node.get_closest_marker("partitions")
    with namespace(local_kafka, tmp_path / "state", marker.args[0] if marker else 2) as made:
        yield made


@pytest.fixture
def worker_settings(settings: Settings) -> Settings:
    """The test's settings as the worker principal (what `start` runs workers with)."""
    return acting_as(settings, access.WORKER)


class StartWorker(Protocol):
    def __call__(self, **changes: Any) -> WorkerProcess:
        """A worker with the test's settings, plus ``changes`` (e.g. ``policy_file``)."""
        ...


@pytest.fixture
def start(worker_settings: Settings, tmp_path: Path) -> Iterator[StartWorker]:
    """Start a worker (after the test has published what must be there first)."""
    started: list[WorkerProcess] = []

    def _start(**changes: Any) -> WorkerProcess:
        if started:  # a second worker needs its own web port
            changes = {"web_port": free_port(), **changes}
        own = worker_settings.model_copy(update=changes) if changes else worker_settings
        running = start_worker(own, tmp_path / f"worker-{len(started)}.log")
        started.append(running)
        running.wait_ready(90)
        return running

    yield _start
    for running in started:
        running.stop()


@pytest.fixture
def worker(start: StartWorker) -> WorkerProcess:
    return start()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests first: in parallel, the run ends when its longest test does."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """What the security and compliance tests measured, if they ran (see test_security.py
    and test_compliance_workers.py)."""
    for title, path in (
        ("ACL matrix", Path(".local/security/acl-matrix.txt")),
        ("Planted compliance cases", Path(".local/compliance/planted.txt")),
        ("Gateway authorisation matrix", Path(".local/security/edge-matrix.txt")),
        ("Gateway hostile input", Path(".local/security/edge-schemathesis.txt")),
        ("Gateway webhooks observed", Path(".local/security/edge-webhooks.txt")),
    ):
        if path.exists():
            terminalreporter.section(f"{title} (also in {path})")
            for line in path.read_text().splitlines():
                terminalreporter.write_line(line)
