"""The worker's faust app as ``/health`` sees it while it starts."""

from __future__ import annotations

import pytest
from faust.exceptions import ConsumerNotStarted

from streams.settings import Settings
from streams.worker.app import create_app


class _ThreadNotStarted:
    """faust's consumer made, its thread not started yet (a moment at every start)."""

    def assignment(self) -> set[object]:
        raise ConsumerNotStarted("Consumer thread not yet started")


@pytest.mark.asyncio
async def test_a_consumer_whose_thread_has_not_started_owns_nothing_and_is_not_ready() -> None:
    """A fault test asked /health at that moment and got a 500 (ConsumerNotStarted)."""
    app = create_app(Settings(topic_prefix="t."))
    app._consumer = _ThreadNotStarted()
    assert app.assigned() == set()
    assert not app.is_ready()
