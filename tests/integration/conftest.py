"""Integration fixtures: the real local broker (started by `make test`), topics and a
consumer group of each test's own, and real `frontdoor worker` processes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from streams.settings import Settings
from streams.tools.localkafka import LocalKafkaSettings, broker_answers
from streams.tools.worker_process import WorkerProcess, free_port, start_worker
from streams.worker import admin


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    bootstrap = LocalKafkaSettings().bootstrap
    if not broker_answers(bootstrap, timeout_s=5):
        pytest.fail(f"no Kafka broker answers on {bootstrap}: run the tests with `make test`")
    return bootstrap


@pytest.fixture
def settings(kafka_bootstrap: str, tmp_path: Path) -> Settings:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    made = Settings(
        broker_url=f"kafka://{kafka_bootstrap}",
        topic_prefix=f"{namespace}.",
        app_id=f"frontdoor-{namespace}",
        partitions=2,
        web_port=free_port(),
        state_dir=tmp_path / "state",
    )
    admin.create_all(made)
    return made


class StartWorker(Protocol):
    def __call__(self, **changes: Any) -> WorkerProcess:
        """A worker with the test's settings, plus ``changes`` (e.g. ``policy_file``)."""
        ...


@pytest.fixture
def start(settings: Settings, tmp_path: Path) -> Iterator[StartWorker]:
    """Start a worker (after the test has published what must be there first)."""
    started: list[WorkerProcess] = []

    def _start(**changes: Any) -> WorkerProcess:
        if started:  # a second worker needs its own web port
            changes = {"web_port": free_port(), **changes}
        own = settings.model_copy(update=changes) if changes else settings
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
