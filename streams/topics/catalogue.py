"""Every topic frontdoor uses, declared once with its key, contract and configuration."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel

from schemas import (
    Acknowledgement,
    AuditRecord,
    ChildRecord,
    ComplianceAlert,
    DeadLetter,
    InboxActivity,
    Notification,
    PoliceIncident,
    PossibleMatch,
    ReviewDecision,
    StrategyMeeting,
    WebhookRegistration,
)
from schemas.enums import Agency
from streams.settings import Settings
from streams.topics.messages import (
    ChildrenNotified,
    DeadlineCommands,
    RematchRequest,
    SequencesObserved,
)

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    message: type[BaseModel]
    description: str
    publishers: tuple[str, ...]
    consumers: tuple[str, ...]
    config: dict[str, str] = field(default_factory=dict)
    partitions: int | None = None  # None: the deployment's FRONTDOOR_PARTITIONS


POLICE_INCIDENTS = TopicSpec(
    "police.incidents.v1",
    key="<force code>:<incident reference>",
    message=PoliceIncident,
    description="Incidents involving children, every force's, as frontdoor took them in: "
    "forwarded unchanged from each force's own topic once the incident is valid and names "
    "that force. Only frontdoor writes here.",
    publishers=("frontdoor",),
    consumers=("frontdoor",),
    config={"retention.ms": str(30 * DAY_MS)},
)


def force_incidents(force: str) -> TopicSpec:
    """A force's own topic: only that force's principal may write it (ACL), so what is on
    it comes from that force; frontdoor dead-letters an incident on it naming another.
    The broker stamps each record when it arrives (LogAppendTime), so when an incident
    reached frontdoor is the broker's word, not the force's clock (late_to_frontdoor)."""
    return TopicSpec(
        f"police.{force}.incidents.v1",
        key="<force code>:<incident reference>",
        message=PoliceIncident,
        description=f"Incidents involving children, from the {force} force's systems.",
        publishers=(f"police force {force}",),
        consumers=("frontdoor",),
        config={"retention.ms": str(30 * DAY_MS), "message.timestamp.type": "LogAppendTime"},
    )


CHILD_RECORDS = TopicSpec(
    "council.child-records.v1",
    key="<council code>:<child id>",
    message=ChildRecord,
    description="Current council child records; a null value is a tombstone (deletion).",
    publishers=("council children's social care systems",),
    consumers=("frontdoor (every worker reads every partition)",),
    # delete.retention.ms: how long a tombstone outlives its record (replica snapshots
    # older than half of it are not trusted; see streams/worker/snapshots.py).
    config={
        "cleanup.policy": "compact",
        "min.compaction.lag.ms": "60000",
        "delete.retention.ms": str(DAY_MS),
    },
)
ACKS = TopicSpec(
    "notify.acks.v1",
    key="<notification id>",
    message=Acknowledgement,
    description="Acknowledgements, every agency's, as frontdoor took them in from each "
    "agency's own topic. Co-partitioned with frontdoor.deadlines.v2. Only frontdoor writes here.",
    publishers=("frontdoor",),
    consumers=("frontdoor",),
)


def agency_acks(agency: Agency) -> TopicSpec:
    """An agency's own acknowledgement topic: only its principal may write it (ACL); an
    acknowledgement on it for another agency, or of a notification not sent to it, is
    dead-lettered (``provenance``)."""
    return TopicSpec(
        f"notify.{agency.value}.acks.v1",
        key="<notification id>",
        message=Acknowledgement,
        description=f"Acknowledgements from {agency.value.replace('_', ' ')} of the "
        "notifications sent to it.",
        publishers=(f"{agency.value.replace('_', ' ')} gateway",),
        consumers=("frontdoor",),
    )


REVIEW_MATCHES = TopicSpec(
    "review.matches.v1",
    key="<force code>:<incident reference>",
    message=PossibleMatch,
    description="Possible matches a person must decide.",
    publishers=("frontdoor",),
    consumers=("frontdoor console (the review console)", "a council's own review tool"),
)
REVIEW_DECISIONS = TopicSpec(
    "review.decisions.v1",
    key="<force code>:<incident reference> (the key of the possible match decided)",
    message=ReviewDecision,
    description="A reviewer's decision on a possible match: confirm or reject (settling it), "
    "propose (a confirmation awaiting a second reviewer) or unsure (with a reason). Keyed "
    "like the possible match, so it reaches the worker that holds the incident.",
    publishers=("frontdoor console (the review console)", "a council's own review tool"),
    consumers=("frontdoor", "frontdoor console"),
)
COMPLIANCE_ALERTS = TopicSpec(
    "compliance.alerts.v1",
    key="<alert id>",
    message=ComplianceAlert,
    description="Missed and late notifications and police-side failures, for people to act on.",
    publishers=("frontdoor",),
    consumers=("safeguarding partnership", "compliance reporting"),
    config={"retention.ms": str(400 * DAY_MS)},
)
AUDIT = TopicSpec(
    "audit.decisions.v1",
    key="<force code>:<incident reference>",
    message=AuditRecord,
    description="Why frontdoor did what it did with each incident; ids and scores only.",
    publishers=("frontdoor",),
    consumers=("audit and compliance reporting",),
    config={"retention.ms": str(400 * DAY_MS)},
)
DEAD_LETTERS = TopicSpec(
    "dlq.events.v1",
    key="<original key>",
    message=DeadLetter,
    description="Events that failed validation, with reasons and the original bytes.",
    publishers=("frontdoor",),
    consumers=("operations (repair and replay)",),
    config={"retention.ms": str(30 * DAY_MS)},
)


REMATCH = TopicSpec(
    "frontdoor.rematch.v1",
    key="<force code>:<incident reference>",
    message=RematchRequest,
    description="Internal: match an incident's waiting children again (a council record "
    "arrived or changed, or the periodic sweep).",
    publishers=("frontdoor",),
    consumers=("frontdoor",),
    config={"retention.ms": str(7 * DAY_MS)},
)
CHILD_HISTORY = TopicSpec(
    "frontdoor.child-history.v2",
    key="none: each message is a batch for the partition its children's keys hash to "
    "(child key: council:<council>:<child id> or police:<force>:<person reference>)",
    message=ChildrenNotified,
    description="Internal: each child notified about, re-keyed by who the child is, for "
    "repeat escalation (R12). Batched per partition.",
    publishers=("frontdoor",),
    consumers=("frontdoor",),
    config={"retention.ms": str(7 * DAY_MS)},
)


DEADLINES = TopicSpec(
    "frontdoor.deadlines.v2",
    key="none: each message is a batch for the partition its items' ids hash to "
    "(notification id, review id or watch id)",
    message=DeadlineCommands,
    description="Internal: start tracking deadlines, close them, or check them now. "
    "Co-partitioned with notify.acks.v1. Batched per partition.",
    publishers=("frontdoor",),
    consumers=("frontdoor",),
    config={"retention.ms": str(7 * DAY_MS)},
)
SEQUENCES = TopicSpec(
    "frontdoor.sequences.v2",
    key="none: each message is a batch for the partition its force codes hash to",
    message=SequencesObserved,
    description="Internal: police sequence numbers re-keyed by force, for gap detection. "
    "Batched per partition.",
    publishers=("frontdoor",),
    consumers=("frontdoor",),
    config={"retention.ms": str(7 * DAY_MS)},
)
MEETINGS = TopicSpec(
    "meetings.strategy.v1",
    key="<meeting id>",
    message=StrategyMeeting,
    description="Strategy meetings: invited and attending agencies.",
    publishers=("council case management systems",),
    consumers=("frontdoor",),
)


def notify_topic(agency: Agency) -> TopicSpec:
    return TopicSpec(
        f"notify.{agency.value}.v1",
        key="<notification id>",
        message=Notification,
        description=f"Notifications for {agency.value.replace('_', ' ')}, minimised for them.",
        publishers=("frontdoor",),
        consumers=(f"{agency.value.replace('_', ' ')} gateway",),
    )


WEBHOOKS = TopicSpec(
    "frontdoor.webhooks.v1",
    key="<agency>/<organisation>; a null value removes the registration",
    message=WebhookRegistration,
    description="Internal to the HTTP gateway: each organisation's webhook, registered "
    "through the gateway. Compacted.",
    publishers=("frontdoor",),
    consumers=("frontdoor",),
    config={"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"},
)
INBOX_ACTIVITY = TopicSpec(
    "console.inbox-activity.v1",
    key="<agency>/<organisation>",
    message=InboxActivity,
    description="Internal to the console: who took, handed over or printed each "
    "notification in an organisation's inbox, the alert emails sent, and rejected "
    "notifications the front door routed by hand. The audit of who handled what.",
    publishers=("frontdoor console",),
    consumers=("frontdoor console", "audit"),
    config={"retention.ms": str(400 * DAY_MS)},
)
# Topics only the gateway uses (the worker neither reads nor writes them).
EDGE_OWN: tuple[TopicSpec, ...] = (WEBHOOKS,)
# ... and only the console.
CONSOLE_OWN: tuple[TopicSpec, ...] = (INBOX_ACTIVITY,)
# Not the worker's to see or make.
SERVICE_OWN: tuple[TopicSpec, ...] = (*EDGE_OWN, *CONSOLE_OWN)

NOTIFY = {agency: notify_topic(agency) for agency in Agency}
AGENCY_ACKS = {agency: agency_acks(agency) for agency in Agency}

ALL: tuple[TopicSpec, ...] = (
    POLICE_INCIDENTS,
    CHILD_RECORDS,
    *NOTIFY.values(),
    *AGENCY_ACKS.values(),
    ACKS,
    REVIEW_MATCHES,
    REVIEW_DECISIONS,
    COMPLIANCE_ALERTS,
    AUDIT,
    DEAD_LETTERS,
    MEETINGS,
    REMATCH,
    CHILD_HISTORY,
    DEADLINES,
    SEQUENCES,
    WEBHOOKS,
    INBOX_ACTIVITY,
)


BY_NAME = {spec.name: spec for spec in ALL}

# What a policy what-if reads (``streams.history``): the period's incidents, what the
# worker matches against, what reviewers decided, what was sent, the audit (when each
# incident was routed) and the acknowledgements. Whoever runs one may read all of them.
WHATIF_READS: tuple[TopicSpec, ...] = (
    POLICE_INCIDENTS,
    CHILD_RECORDS,
    REVIEW_DECISIONS,
    *NOTIFY.values(),
    AUDIT,
    ACKS,
)


def topic_name(spec: TopicSpec, settings: Settings) -> str:
    return f"{settings.topic_prefix}{spec.name}"


def for_forces(forces: Iterable[str]) -> tuple[TopicSpec, ...]:
    """Every topic of a deployment: the fixed ones and one per force (its policy's
    ``signals.police_sources``)."""
    return (*(force_incidents(f) for f in forces), *ALL)


def spec_of(name: str, settings: Settings) -> TopicSpec | None:
    """The declared topic a (prefixed) topic name is, if any (a force's included)."""
    bare = name.removeprefix(settings.topic_prefix)
    head, _, rest = bare.partition(".")
    force, _, tail = rest.partition(".")
    if head == "police" and tail == "incidents.v1" and force:
        return force_incidents(force)
    return BY_NAME.get(bare)
