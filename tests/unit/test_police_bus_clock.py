"""Police-side signals on the bus's clock, through the worker: a sequence gap falls due a
window after the number beyond it reached the force's topic, however long a worker took
to read it (a backlog) and across a restart; and no gap is flagged early because a
number that filled it in time was still in a worker's backlog."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from schemas import ComplianceAlert
from schemas.enums import AlertKind
from streams.topics import COMPLIANCE_ALERTS, force_incidents
from streams.worker import WorkerTestDriver
from tests import factories

ON_BUS = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # when the force's incidents reached the bus
WINDOW = timedelta(minutes=30)  # the default policy's sequence_gap_minutes
SECOND = timedelta(seconds=1)


def publish(
    driver: WorkerTestDriver, numbers: list[int], on_bus: datetime = ON_BUS, valid: bool = True
) -> None:
    """MPS's incidents with these sequence numbers, stamped by the broker ``on_bus``; each
    its own batch."""
    for n in numbers:
        data = factories.incident(
            sequence=n,
            incident_reference=f"CAD-2026-{n:06d}",
            event_id=f"mps-evt-{n:04d}",
            occurred_at=(ON_BUS - timedelta(minutes=50)).isoformat(),
            reported_at=(ON_BUS - timedelta(minutes=10)).isoformat(),
        )
        if not valid:
            data["risk_grade"] = "not a grade"  # dead-lettered; its number still arrived
        key = f"MPS:{data['incident_reference']}"
        driver.send(force_incidents("MPS"), key, json.dumps(data).encode(), published_at=on_bus)


def gaps(driver: WorkerTestDriver) -> list[ComplianceAlert]:
    alerts = [s.model(ComplianceAlert) for s in driver.sent_to(COMPLIANCE_ALERTS)]
    return [a for a in alerts if a.kind is AlertKind.SEQUENCE_GAP]


def flagged_at(driver: WorkerTestDriver, missing: tuple[int, int], at: datetime) -> None:
    """Run the driver's clock to a second before ``at`` (nothing flagged), then a second
    past it: the gap, once, due a window after the bus, however late it was flagged."""
    driver.advance(at - SECOND - driver.now)
    assert gaps(driver) == []
    driver.advance(2 * SECOND)
    (gap,) = gaps(driver)
    assert (gap.subject.sequence_from, gap.subject.sequence_to) == missing
    assert gap.deadline == ON_BUS + WINDOW
    assert gap.lateness_seconds == (at + SECOND - gap.deadline).total_seconds()
    driver.advance(WINDOW)
    assert len(gaps(driver)) == 1


def test_a_worker_20_minutes_behind_that_catches_up_flags_the_gap_when_it_fell_due() -> None:
    with WorkerTestDriver(ON_BUS + timedelta(minutes=20)) as behind:
        publish(behind, [1, 2, 4])  # read 20 minutes after they reached the bus
        publish(behind, [5], on_bus=behind.now)  # then live again
        flagged_at(behind, (3, 3), ON_BUS + WINDOW)


def test_a_number_still_in_a_workers_backlog_when_the_gap_fell_due_fills_it() -> None:
    with WorkerTestDriver(ON_BUS + WINDOW + timedelta(minutes=5)) as behind:
        publish(behind, [1, 2, 4])
        behind.advance(SECOND)  # a check between the batches: the gap is not judged early
        publish(behind, [3], on_bus=ON_BUS + timedelta(minutes=10))  # in time, read late
        publish(behind, [5], on_bus=behind.now)
        behind.advance(WINDOW)
        assert gaps(behind) == []


def test_a_backlog_that_ends_with_the_force_quiet_flags_late_never_early() -> None:
    with WorkerTestDriver(ON_BUS + timedelta(minutes=20)) as behind:
        publish(behind, [1, 2, 4])  # 20 minutes behind, and nothing after them
        flagged_at(behind, (3, 3), ON_BUS + WINDOW + timedelta(minutes=20))


def test_a_worker_restarted_mid_window_flags_the_gap_when_it_fell_due() -> None:
    with WorkerTestDriver(ON_BUS) as first:
        publish(first, [1, 2, 4])
        first.advance(timedelta(minutes=10))
        assert gaps(first) == []
        recovered = {"sequences": first.table("sequences")}
    with WorkerTestDriver(ON_BUS + timedelta(minutes=10)) as restarted:
        restarted.restore(recovered)  # its table from the changelog
        flagged_at(restarted, (3, 3), ON_BUS + WINDOW)


def test_a_dead_lettered_number_opens_its_gap_when_it_reached_the_bus() -> None:
    with WorkerTestDriver(ON_BUS + timedelta(minutes=20)) as behind:
        publish(behind, [1, 2])
        publish(behind, [5], valid=False)
        publish(behind, [6], on_bus=behind.now)
        flagged_at(behind, (3, 4), ON_BUS + WINDOW)
