"""A worker's replica snapshot: trusted only when it is its own, recent, and still fits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from schemas import ChildRecord, InvolvedChild
from streams import topics
from streams.matching import Matcher, MatchModel, Replica
from streams.worker import snapshots
from streams.worker.snapshots import SNAPSHOT_MAX_AGE_S, Snapshot, load_replica, save_replica
from tests import factories

TOPIC = "council.child-records.v1"
NOW = 1_800_000_000.0


def record(child_id: str, **changes: Any) -> ChildRecord:
    return ChildRecord.model_validate(
        factories.example("child-record", child_id=child_id, **changes)
    )


def child() -> InvolvedChild:
    return InvolvedChild.model_validate(factories.incident()["children"][0])


def replica() -> Replica:
    held = Replica(Matcher())
    held.upsert(record("C-100"))  # Zebedee, the factory incident's child
    held.upsert(record("C-200", given_name="Ottoline", date_of_birth="2020-07-01"))
    held.delete("E09000030:C-200")
    return held


def saved(tmp_path: Path, **changes: Any) -> Path:
    fields: dict[str, Any] = {
        "topic": TOPIC,
        "offsets": {0: 3, 1: 0},
        "replica": replica(),
        "written_at": NOW,
    }
    fields.update(changes)
    path = tmp_path / "state" / "replica.snapshot"
    save_replica(path, Snapshot(**fields))
    return path


def test_a_snapshot_restores_records_index_and_offsets(tmp_path: Path) -> None:
    path = saved(tmp_path)
    model = MatchModel.load()
    loaded = load_replica(path, TOPIC, model, NOW + 60)
    assert loaded is not None
    assert loaded.offsets == {0: 3, 1: 0}
    restored = Replica(Matcher())
    restored.restore(loaded.replica)
    assert set(restored.records) == {"E09000030:C-100"}  # the deletion survived too
    assert restored.matcher.model is model  # today's parameters, not the pickled ones
    result = restored.matcher.match(child())
    assert (result.decision, result.record_id) == ("auto", "E09000030:C-100")
    assert not list(path.parent.glob("*.partial"))


@pytest.mark.parametrize(
    "why",
    ["other topic", "too old", "other code", "torn file", "missing"],
)
def test_a_snapshot_it_cannot_trust_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, why: str
) -> None:
    path = saved(tmp_path)
    topic, now = TOPIC, NOW + 60
    if why == "other topic":
        topic = "demo.council.child-records.v1"
    elif why == "too old":
        now = NOW + SNAPSHOT_MAX_AGE_S + 1
    elif why == "other code":
        monkeypatch.setattr(snapshots, "snapshot_fingerprint", lambda: "changed")
    elif why == "torn file":
        path.write_bytes(path.read_bytes()[:100])
    else:
        path.unlink()
    assert load_replica(path, topic, MatchModel.load(), now) is None


def test_offsets_must_lie_within_the_topic_as_it_is_now() -> None:
    snapshot = Snapshot(TOPIC, {0: 3, 1: 0}, Replica(Matcher()), NOW)
    assert snapshot.fits({0: 0, 1: 0}, {0: 10, 1: 0})
    assert not snapshot.fits({0: 0, 1: 0}, {0: 2, 1: 0})  # recreated: fewer records now
    assert not snapshot.fits({0: 4, 1: 0}, {0: 10, 1: 0})  # truncated past the offset
    assert not snapshot.fits({0: 0, 1: 0, 2: 0}, {0: 10, 1: 0, 2: 0})  # repartitioned


def test_snapshots_expire_before_kafka_forgets_a_tombstone() -> None:
    kept_ms = int(topics.CHILD_RECORDS.config["delete.retention.ms"])
    assert kept_ms / 2 >= SNAPSHOT_MAX_AGE_S * 1000
