"""frontdoor's internal messages: what one worker tells another through its own topics.

Internal events bound for one partition travel as one ``Batch`` per agent batch (see
``streams.worker.outbox``): one send per partition instead of one per event. The items
are the core's own models; only the batching belongs to the worker.
"""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from streams.compliance import DeadlineCommand, SequenceObserved
from streams.incidents import ChildNotified

T = TypeVar("T")


class Batch(BaseModel, Generic[T]):
    """Internal: several events for one partition of an internal topic, in order."""

    model_config = ConfigDict(extra="forbid")

    items: list[T]


class DeadlineCommands(Batch[DeadlineCommand]):
    """Internal: the commands of one batch for one partition of the deadlines topic."""


class ChildrenNotified(Batch[ChildNotified]):
    """Internal: the children of one batch for one partition of the child-history topic."""


class SequencesObserved(Batch[SequenceObserved]):
    """Internal: the sequence numbers of one batch for one partition, in arrival order."""


class RematchRequest(BaseModel):
    """Internal: why an incident's waiting children should be matched again."""

    reason: Literal["record_changed", "sweep"]
