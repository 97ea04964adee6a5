"""frontdoor's event contracts: pydantic v2 models, one module per event family.

The JSON Schema in ``schemas/jsonschema/`` and the AsyncAPI document in
``schemas/asyncapi.yaml`` are generated from these models (``frontdoor contracts write``)
and are what publishers outside Python validate against.
"""

from schemas.acknowledgement import Acknowledgement
from schemas.audit import AuditRecord
from schemas.compliance import ComplianceAlert
from schemas.council import ChildRecord, ChildRecordDeleted
from schemas.deadletter import DeadLetter
from schemas.envelope import DataQualityWarning, Envelope
from schemas.inbox import InboxActivity
from schemas.meeting import StrategyMeeting
from schemas.notification import Notification
from schemas.police import InvolvedChild, PoliceIncident
from schemas.review import Candidate, PossibleMatch, ReviewDecision
from schemas.webhook import WebhookRegistration

__all__ = [
    "Acknowledgement",
    "AuditRecord",
    "Candidate",
    "ChildRecord",
    "ChildRecordDeleted",
    "ComplianceAlert",
    "DataQualityWarning",
    "DeadLetter",
    "Envelope",
    "InboxActivity",
    "InvolvedChild",
    "Notification",
    "PoliceIncident",
    "PossibleMatch",
    "ReviewDecision",
    "StrategyMeeting",
    "WebhookRegistration",
]
