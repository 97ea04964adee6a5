"""An idempotent aiokafka producer whose sequence numbers no longer match the broker's
starts a new session (a new producer id), as Kafka's Java producer does (KIP-360).

Why: aiokafka numbers a batch when it leaves the accumulator. A batch that expires there
(its partition's leader unknown for longer than ``request_timeout_ms``, as when the
broker is down that long) fails with the number already taken, and every later batch
for that partition is refused with ``OutOfOrderSequenceNumber``, for as long as the
process lives. A worker with a 30 s request timeout, its broker away for 30 s, delivered
nothing for good (2026-12-07, the broker-outage fault test) though its ``/health`` said
ready. aiokafka 0.14 has no public way to start again, so this resets the three fields
of its transaction manager that hold the session; the sender asks the broker for a new
producer id before it numbers the next batch. Batches already numbered keep their
session: the broker judges them against it, and a refusal comes back here again.

Safe for the bus's promises: what was refused was not written, and is sent again under
the new id; what may have been written and is sent again carries the same
deterministic event ids, which every consumer already drops as repeats.
"""

from __future__ import annotations

import logging
from typing import Any

from aiokafka.errors import (
    LeaderNotAvailableError,
    NotLeaderForPartitionError,
    OutOfOrderSequenceNumber,
    UnknownProducerId,
)
from aiokafka.producer.transaction_manager import (
    NO_PRODUCER_EPOCH,
    NO_PRODUCER_ID,
    PidAndEpoch,
)
from aiokafka.util import create_future

log = logging.getLogger(__name__)

# With idempotence on, aiokafka retries a retriable error without end; a batch fails with
# one of the leader errors only when it expired unsent, its sequence number spent.
SESSION_BROKEN: tuple[type[BaseException], ...] = (
    OutOfOrderSequenceNumber,
    UnknownProducerId,
    NotLeaderForPartitionError,
    LeaderNotAvailableError,
)


class SessionNotRenewable(RuntimeError):
    """This aiokafka no longer keeps its idempotent session where frontdoor expects."""


def renew_if_broken(producer: Any, error: BaseException) -> bool:
    """Start a new idempotent session on ``producer`` (an ``AIOKafkaProducer``) when
    ``error`` says its sequence numbers are spent; True if it did."""
    if not isinstance(error, SESSION_BROKEN):
        return False
    manager = getattr(producer, "_txn_manager", None)
    if manager is None:
        return False  # not idempotent: nothing numbered, nothing to renew
    try:
        if not manager.has_pid():
            return False  # a new id is already on its way
        if manager.transactional_id is not None:
            raise SessionNotRenewable("a transactional producer is fenced, not renewed")
        manager._pid_and_epoch = PidAndEpoch(NO_PRODUCER_ID, NO_PRODUCER_EPOCH)
        manager._pid_waiter = create_future()
        manager._sequence_numbers.clear()
    except AttributeError as missing:
        raise SessionNotRenewable(f"aiokafka's transaction manager changed: {missing}") from None
    log.warning(
        "producer: delivery refused (%s); starting a new idempotent session",
        type(error).__name__,
    )
    return True
