"""Repeat escalation (R12) on the worker's topology, in-process: the same incidents about a
child, in any order of arrival, give the same escalations with the same ids, and exactly
those a count over the reports says (an oracle written here, not the code's)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import ChildRecord, Notification
from streams.topics import NOTIFY, POLICE_INCIDENTS
from streams.worker import WorkerTestDriver
from tests import factories

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
FORCES = ("MPS", "KENT", "ESSEX", "SURREY", "SUSSEX", "BTP")
WINDOW = timedelta(days=90)  # the default policy's R12: three standard-risk within 90 days

Planned = tuple[int, str]  # (hours before NOW it was reported, risk grade)


def incident(n: int, hours_ago: int, risk: str) -> tuple[str, bytes]:
    """Incident ``n`` about Zebedee (known to the council), from a force of its own."""
    force = FORCES[n % len(FORCES)]
    reported = NOW - timedelta(hours=hours_ago)
    ref = f"CAD-{force}-{n}"
    data = factories.incident(
        source=force,
        incident_reference=ref,
        event_id=f"evt-{ref}",
        sequence=n,
        risk_grade=risk,
        dash_ticks={"standard": 3, "medium": 8, "high": 15}[risk],
        occurred_at=(reported - timedelta(hours=1)).isoformat(),
        reported_at=reported.isoformat(),
    )
    data["children"] = data["children"][:1]
    return f"{force}:{ref}", json.dumps(data).encode()


def escalations(planned: Sequence[Planned], order: Sequence[int]) -> dict[str, str]:
    """Each R12 notification sent, by id: its content bar the send times."""
    events = [incident(n, *p) for n, p in enumerate(planned)]
    known = ChildRecord.model_validate(factories.example("child-record", status="none"))
    with WorkerTestDriver(NOW, records=[known]) as driver:
        for i in order:
            driver.send(POLICE_INCIDENTS, *events[i])
        sent = [s.model(Notification) for spec in NOTIFY.values() for s in driver.sent_to(spec)]
    return {
        n.notification_id: n.model_dump_json(exclude={"produced_at", "incident_published_at"})
        for n in sent
        if n.rules == ["R12"]
    }


def oracle(planned: Sequence[Planned]) -> set[str]:
    """The incidents that escalate: standard risk, with at least three standard-risk
    incidents (itself among them) reported in the 90 days up to its own report; of those
    reported at the same hour, the ones before it by key."""
    reported = [
        (NOW - timedelta(hours=h), incident(n, h, risk)[0], risk)
        for n, (h, risk) in enumerate(planned)
    ]
    return {
        key.split(":")[1]
        for at, key, risk in reported
        if risk == "standard"
        and sum(
            1
            for t, k, r in reported
            if r == "standard" and at - WINDOW <= t and (t, k) <= (at, key)
        )
        >= 3
    }


def references(sent: dict[str, str]) -> set[str]:
    return {json.loads(content)["incident_reference"] for content in sent.values()}


def in_report_order(planned: Sequence[Planned]) -> list[int]:
    return sorted(range(len(planned)), key=lambda n: -planned[n][0])


def test_three_from_three_forces_escalate_the_third_whether_taken_in_3_1_2_or_1_3_2() -> None:
    """The orders an independent check saw lose R12 entirely."""
    planned = [(80 * 24, "standard"), (30 * 24, "standard"), (2 * 24, "standard")]
    expected = escalations(planned, [0, 1, 2])
    assert references(expected) == {"CAD-ESSEX-2"}
    assert escalations(planned, [2, 0, 1]) == expected
    assert escalations(planned, [0, 2, 1]) == expected


# Up to seven incidents over up to 179 days (twice R12's window, all of which a child's
# history keeps), risk grades mixed, days apart, hours apart or at the same hour.
PLANS = st.lists(
    st.tuples(
        st.one_of(st.integers(0, 179 * 24), st.integers(0, 3)),
        st.sampled_from(["standard", "standard", "medium"]),
    ),
    min_size=1,
    max_size=7,
)


def test_three_reported_at_the_same_moment_escalate_once_whichever_arrives_last() -> None:
    planned = [(5, "standard")] * 3
    once = escalations(planned, [0, 1, 2])
    assert len(once) == 1
    assert escalations(planned, [2, 1, 0]) == escalations(planned, [1, 0, 2]) == once


@settings(max_examples=40, deadline=None)
@given(planned=PLANS, data=st.data())
def test_any_order_of_arrival_gives_the_same_escalations_with_the_same_ids(
    planned: list[Planned], data: Any
) -> None:
    order = data.draw(st.permutations(range(len(planned))), label="arrival order")
    expected = escalations(planned, in_report_order(planned))
    assert references(expected) == oracle(planned)
    assert escalations(planned, order) == expected
