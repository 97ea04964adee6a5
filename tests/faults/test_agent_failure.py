"""An agent that dies (a fault planted in its batch processing, not in a handler: those
are isolated) stops the worker with its batch unacknowledged, so nothing is committed
past it and a restarted worker processes it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from streams import access, topics
from streams.settings import Settings
from streams.tools.platform.localkafka import acting_as
from streams.tools.platform.worker_process import settings_env, start_worker
from streams.topics.io import consume, produce
from tests import factories
from tests.faults.harness import record


def incident(ref: str) -> bytes:
    data = factories.incident(incident_reference=ref, event_id=f"evt-{ref}")
    data["children"] = data["children"][:1]
    return json.dumps(data).encode()


def test_a_dying_agent_stops_the_worker_and_its_batch_is_processed_after_a_restart(
    settings: Settings, tmp_path: Path
) -> None:
    refs = ["CAD-1", "CRASH-AGENT", "CAD-2"]
    produce(settings, topics.POLICE_INCIDENTS, [(b"MPS:ONE", incident(r)) for r in refs])
    began = time.monotonic()
    with (tmp_path / "faulty.log").open("wb") as log:
        faulty = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.faulty_worker", "-l", "info"],
            env=settings_env(acting_as(settings, access.WORKER)),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        code = faulty.wait(timeout=120)
    stopped_after = time.monotonic() - began
    audited_meanwhile = consume(settings, topics.AUDIT, 3, timeout_s=3)
    text = (tmp_path / "faulty.log").read_text(errors="replace")

    replacement = start_worker(acting_as(settings, access.WORKER), tmp_path / "worker.log")
    replacement.wait_ready(120)
    audited = consume(settings, topics.AUDIT, 3, timeout_s=60)
    replacement.stop()
    record(
        fault="an agent dies mid-batch (planted)",
        tries=1,
        load="3 incidents on one partition, the 2nd planted",
        worker_exit_code=code,
        stopped_after_s=round(stopped_after, 1),
        audited_before_restart=len(audited_meanwhile),
        audited_after_restart=len(audited),
    )
    assert code != 0
    assert "agent incident_arrived stopped: SystemError" in text
    assert "planted" not in text  # the exception's message is never logged
    # The batch holding the planted incident (and whatever followed it in that batch) is
    # never settled; CAD-1 may have been settled in a batch of its own before it.
    settled_before = {json.loads(m.value)["incident_reference"] for m in audited_meanwhile}
    assert settled_before <= {"CAD-1"}
    # After the restart the failed batch is processed: all three are audited.
    assert {json.loads(m.value)["incident_reference"] for m in audited} == set(refs)
