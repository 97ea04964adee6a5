"""``frontdoor whatif`` on the real broker, as the operations principal: it reads a period
the worker really processed, reproduces what was sent, and writes nothing at all."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import AuditRecord, PoliceIncident
from streams import access, topics
from streams.incidents import Origin, validate
from streams.operations import whatif
from streams.routing import default_policy_text
from streams.settings import Settings
from streams.tools.platform.localkafka import acting_as
from streams.tools.platform.worker_process import wait_for
from streams.tools.synthetic import IncidentStream, council, incidents
from streams.topics.io import produce, read_all
from tests.integration.conftest import StartWorker
from tests.integration.helpers import acknowledge_all, notifications


def _ends(settings: Settings) -> dict[TopicPartition, int]:
    """The end offset of every partition of every topic the namespace has."""

    async def read() -> dict[TopicPartition, int]:
        consumer = AIOKafkaConsumer(**settings.aiokafka_options(), group_id=None)
        await consumer.start()
        try:
            cluster = await consumer._client.fetch_all_metadata()  # aiokafka: no public call
            names = [
                t
                for t in cluster.topics()
                if t.startswith((settings.topic_prefix, settings.app_id))
            ]
            partitions = [
                TopicPartition(t, p) for t in names for p in cluster.partitions_for_topic(t) or ()
            ]
            return dict(await consumer.end_offsets(partitions))
        finally:
            await consumer.stop()

    return asyncio.run(read())


def test_whatif_reproduces_the_period_and_no_topic_moves_while_it_runs(
    settings: Settings, start: StartWorker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    known = council(seed=21, size=150)
    made = incidents(
        IncidentStream(seed=21, start=now - timedelta(hours=3), span=timedelta(hours=2)), 40, known
    )
    produce(settings, topics.CHILD_RECORDS, known.events())
    produce(settings, topics.POLICE_INCIDENTS, made.events)
    children = sum(
        len(v.children)
        for n, (k, raw) in enumerate(made.events)
        if isinstance(v := validate(PoliceIncident, raw, Origin("t", 0, n, k), now), PoliceIncident)
    )
    worker = start()

    def routed() -> int | None:
        seen = [
            AuditRecord.model_validate_json(m.value) for m in read_all(settings, [topics.AUDIT])
        ]
        count = sum(1 for a in seen if a.stage == "routed")
        return count if count >= children else None

    wait_for(routed, 90, "every child routed")
    sent = notifications(settings, 1)
    acknowledge_all(settings, sent[::2])  # half acknowledged now, on time
    wait_for(lambda: len(read_all(settings, [topics.ACKS])) >= len(sent[::2]) or None, 30, "acks")
    worker.stop()

    draft = tmp_path / "draft.yaml"
    draft.write_text(
        default_policy_text().replace(
            "    deadline: {clock: hours, amount: 24}\n",
            "    deadline: {clock: hours, amount: 12}\n",
        )
    )
    before = _ends(settings)
    operations = acting_as(settings, access.OPERATIONS)
    out = tmp_path / "whatif.json"
    code = whatif.run(
        operations,
        now - timedelta(days=1),
        now + timedelta(hours=1),
        draft,
        "json",
        out,
        say=None,
    )
    after = _ends(settings)
    said = capsys.readouterr().err
    assert code == 0
    # The period starts before the first incident, but retention removed none: no warning.
    assert "its retention" not in said, said
    assert after == before and len(before) > 20, "a topic moved while the what-if ran"

    result = json.loads(out.read_text())
    assert result["incidents"] > 30
    trust = result["fidelity"]
    assert (trust["reproduced"], trust["why"]) == (trust["actual"], {}), trust
    assert trust["actual"] == len({n.notification_id for n in sent})
    assert result["all"]["deadlines_earlier"] > 0
    assert result["all"]["newly_notified"] == result["all"]["no_longer_notified"] == 0
