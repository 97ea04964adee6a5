"""The worker's agents, one class per concept; each method that takes ``(out, event)`` is
a handler, bound to its topics in ``streams.worker.topology``."""

from streams.worker.agents.deadlines import Deadlines
from streams.worker.agents.history import History
from streams.worker.agents.incidents import Incidents
from streams.worker.agents.intake import Intake
from streams.worker.agents.meetings import Meetings
from streams.worker.agents.police import PoliceSignals
from streams.worker.agents.records import CouncilRecords
from streams.worker.agents.reviews import Reviews

__all__ = [
    "CouncilRecords",
    "Deadlines",
    "History",
    "Incidents",
    "Intake",
    "Meetings",
    "PoliceSignals",
    "Reviews",
]
