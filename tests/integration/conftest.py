"""Integration fixtures: the real local broker (started by `make test`), topics and a
consumer group of each test's own, and a real `frontdoor worker` process."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.localkafka import LocalKafkaSettings, broker_answers
from streams.settings import Settings
from streams.worker_process import WorkerProcess, free_port, start_worker


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    bootstrap = LocalKafkaSettings().bootstrap
    if not broker_answers(bootstrap, timeout_s=5):
        pytest.fail(f"no Kafka broker answers on {bootstrap}: run the tests with `make test`")
    return bootstrap


@pytest.fixture
def settings(kafka_bootstrap: str, tmp_path: Path) -> Settings:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    return Settings(
        broker_url=f"kafka://{kafka_bootstrap}",
        topic_prefix=f"{namespace}.",
        app_id=f"frontdoor-{namespace}",
        partitions=2,
        web_port=free_port(),
        state_dir=tmp_path / "state",
    )


@pytest.fixture
def worker(settings: Settings, tmp_path: Path) -> Iterator[WorkerProcess]:
    running = start_worker(settings, tmp_path / "worker.log")
    try:
        running.wait_ready(90)
        yield running
    finally:
        running.stop()
