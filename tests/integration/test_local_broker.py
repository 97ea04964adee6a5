"""The local broker runner: cold start, reuse, status, stop, and a clear start-up failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.tools.platform import localkafka
from streams.tools.platform.worker_process import free_ports


@pytest.fixture
def own_broker(tmp_path: Path):  # type: ignore[no-untyped-def]
    port, controller_port = free_ports(2)
    settings = localkafka.LocalKafkaSettings(
        port=port, controller_port=controller_port, home=tmp_path / "kafka", heap="512m"
    )
    yield settings
    localkafka.stop(settings)


def test_start_reuses_a_running_broker_and_stop_stops_it(own_broker) -> None:  # type: ignore[no-untyped-def]
    first = localkafka.start(own_broker)
    assert not first.reused
    assert first.pid is not None
    assert localkafka.broker_answers(own_broker)
    print(f"cold start (format + start): {first.seconds:.1f} s")
    # make test's nodes run the quick compiler only (FRONTDOOR_KAFKA_JIT=quick)
    command = Path(f"/proc/{first.pid}/cmdline").read_bytes().split(b"\0")
    assert (b"-XX:TieredStopAtLevel=1" in command) == (own_broker.jit == "quick")

    again = localkafka.start(own_broker)
    assert again.reused
    assert again.pid == first.pid

    assert localkafka.status(own_broker) == (first.pid, True)
    assert localkafka.stop(own_broker) is True
    assert localkafka.status(own_broker) == (None, False)
    assert localkafka.stop(own_broker) is False

    warm = localkafka.start(own_broker)  # storage already formatted
    assert not warm.reused
    assert warm.pid != first.pid
    print(f"warm start: {warm.seconds:.1f} s")


def test_a_broker_that_does_not_answer_in_time_fails_with_its_log_tail(own_broker) -> None:  # type: ignore[no-untyped-def]
    impatient = own_broker.model_copy(update={"start_timeout_s": 0.01})
    with pytest.raises(localkafka.BrokerError) as info:
        localkafka.start(impatient)
    message = str(info.value)
    assert f"did not answer on {own_broker.bootstrap}" in message
    assert "last lines of its log" in message
