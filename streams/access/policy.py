"""Who may do what: one principal per party, allowed exactly what its role needs. Pure.

The parties come from the policy (one per police force in ``signals.police_sources``) and
the agencies; what each may read and write comes from the topics. ``plan`` is the ACLs
the broker holds (``frontdoor acl apply``); ``Permissions`` answers the same question
for the HTTP gateway, from the same plan, so a party's rights are written down once
whichever way it connects. ``admin`` and the nodes are super users and need no ACLs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from schemas.enums import Agency
from streams import topics
from streams.routing import Policy
from streams.settings import Settings
from streams.topics import TopicSpec, topic_name


class Resource(IntEnum):
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4


class Pattern(IntEnum):
    ANY = 1
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    """Kafka's ACL operation codes (all of them, so one read back is never mistaken)."""

    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12
    CREATE_TOKENS = 13
    DESCRIBE_TOKENS = 14


@dataclass(frozen=True, order=True)
class Acl:
    """One ALLOW entry: ``principal`` may ``operation`` on a resource, from any host."""

    principal: str
    resource: Resource
    name: str
    pattern: Pattern
    operation: Operation

    def __str__(self) -> str:
        how = "prefix " if self.pattern is Pattern.PREFIXED else ""
        return (
            f"User:{self.principal:<24} {self.operation.name:<16} "
            f"{self.resource.name.lower()} {how}{self.name}"
        )


WORKER = "worker"
OPERATIONS = "operations"
REVIEWERS = "reviewers"
COUNCIL_RECORDS = "council-records"
COUNCIL_CASEWORK = "council-casework"
EDGE = "edge"  # the HTTP gateway: publishes for the parties it authenticates, delivers to them
CONSOLE = "console"  # the people's screens: reads what they show, writes what people decide
DUTY = "front-door-duty"  # the front door's duty board: what needs a person now, read only
POLICY = "partnership-policy"  # a policy officer: what-ifs of a draft policy, read only


def force_principal(force: str) -> str:
    return f"police-{force}"


def agency_principal(agency: Agency) -> str:
    return f"agency-{agency.value}"


def parties(policy: Policy) -> list[str]:
    """Every principal the plan gives rights to (the worker included)."""
    return sorted(
        {
            WORKER,
            OPERATIONS,
            REVIEWERS,
            COUNCIL_RECORDS,
            COUNCIL_CASEWORK,
            EDGE,
            CONSOLE,
            DUTY,
            POLICY,
            *(force_principal(f) for f in policy.signals.police_sources),
            *(agency_principal(a) for a in Agency),
        }
    )


def _inputs(policy: Policy) -> list[TopicSpec]:
    """Topics a party publishes and the worker reads: each party's own."""
    return [
        *(topics.force_incidents(f) for f in policy.signals.police_sources),
        topics.CHILD_RECORDS,
        *topics.AGENCY_ACKS.values(),
        topics.REVIEW_DECISIONS,
        topics.MEETINGS,
    ]


def _internal() -> list[TopicSpec]:
    """The worker's own topics: every force's incidents and every agency's
    acknowledgements as it took them in, and re-keyed batches between its agents."""
    return [
        topics.POLICE_INCIDENTS,
        topics.ACKS,
        topics.REMATCH,
        topics.CHILD_HISTORY,
        topics.DEADLINES,
        topics.SEQUENCES,
    ]


def _topic(principal: str, spec: TopicSpec, settings: Settings, *ops: Operation) -> list[Acl]:
    name = topic_name(spec, settings)
    return [Acl(principal, Resource.TOPIC, name, Pattern.LITERAL, op) for op in ops]


def _groups(principal: str, settings: Settings) -> list[Acl]:
    """A party's consumer groups are named ``<topic prefix><principal>...``."""
    name = f"{settings.topic_prefix}{principal}"
    return [Acl(principal, Resource.GROUP, name, Pattern.PREFIXED, Operation.READ)]


def plan(policy: Policy, settings: Settings) -> list[Acl]:
    """The ACLs for ``settings``' deployment: least privilege for every party."""
    read, write = Operation.READ, Operation.WRITE
    acls: list[Acl] = []
    inputs = _inputs(policy)
    internal = _internal()
    forces = policy.signals.police_sources
    for spec in topics.for_forces(forces):  # the worker: read inputs, write outputs, both its own
        if spec in topics.SERVICE_OWN:
            continue
        if spec in inputs:
            acls += _topic(WORKER, spec, settings, read)
        elif spec in internal:
            acls += _topic(WORKER, spec, settings, read, write)
        else:
            acls += _topic(WORKER, spec, settings, write)
    faust_own = f"{settings.app_id}-"  # faust's changelogs and its leader topic
    acls += [
        Acl(WORKER, Resource.TOPIC, faust_own, Pattern.PREFIXED, op)
        for op in (read, write, Operation.CREATE, Operation.DESCRIBE_CONFIGS)
    ]
    acls.append(Acl(WORKER, Resource.GROUP, settings.app_id, Pattern.LITERAL, read))
    for force in forces:  # provenance: a force writes only its own topic
        acls += _topic(force_principal(force), topics.force_incidents(force), settings, write)
    acls += _topic(COUNCIL_RECORDS, topics.CHILD_RECORDS, settings, write)
    acls += _topic(COUNCIL_CASEWORK, topics.MEETINGS, settings, write)
    for agency in Agency:
        principal = agency_principal(agency)
        acls += _topic(principal, topics.NOTIFY[agency], settings, read)
        acls += _topic(principal, topics.AGENCY_ACKS[agency], settings, write)
        acls += _groups(principal, settings)
    acls += _topic(REVIEWERS, topics.REVIEW_MATCHES, settings, read)
    acls += _topic(REVIEWERS, topics.REVIEW_DECISIONS, settings, write)
    acls += _groups(REVIEWERS, settings)
    # The duty board: every agency's notifications and acknowledgements (what is due, what
    # was rejected as sent to the wrong place), the alerts and the reviews waiting.
    for spec in (
        *topics.NOTIFY.values(),
        topics.ACKS,
        topics.COMPLIANCE_ALERTS,
        topics.REVIEW_MATCHES,
    ):
        acls += _topic(DUTY, spec, settings, read)
    acls += _groups(DUTY, settings)
    # A policy officer replays a period under a draft policy (the console's what-if): it
    # reads what a what-if reads, and writes nothing.
    for spec in topics.WHATIF_READS:
        acls += _topic(POLICY, spec, settings, read)
    acls += _groups(POLICY, settings)
    # Operations: dead letters, audit and alerts, and what `frontdoor verify` and
    # `frontdoor report` read (the notifications and acknowledgements they account for);
    # `frontdoor whatif` replays a period as the worker would, so it also reads what the
    # worker matches against and what reviewers decided. Read only, as before.
    for spec in (
        topics.DEAD_LETTERS,
        topics.COMPLIANCE_ALERTS,
        *(topics.force_incidents(f) for f in forces),
        *topics.WHATIF_READS,
    ):
        acls += _topic(OPERATIONS, spec, settings, read)
    acls += _groups(OPERATIONS, settings)
    acls += _edge(forces, settings)
    acls += _console(settings)
    return sorted(set(acls))


def _edge(forces: list[str], settings: Settings) -> list[Acl]:
    """The gateway writes what the parties it authenticates may write (and checks each
    request against their own ACLs first: ``Permissions``), reads what they may read,
    raises an alert when an agency's webhook cannot be reached, and keeps its own
    webhook registrations."""
    read, write = Operation.READ, Operation.WRITE
    acls: list[Acl] = []
    for spec in (
        *(topics.force_incidents(f) for f in forces),
        topics.CHILD_RECORDS,
        *topics.AGENCY_ACKS.values(),
        topics.COMPLIANCE_ALERTS,
    ):
        acls += _topic(EDGE, spec, settings, write)
    for spec in (*topics.NOTIFY.values(), topics.ACKS):
        acls += _topic(EDGE, spec, settings, read)
    for spec in topics.EDGE_OWN:
        acls += _topic(EDGE, spec, settings, read, write)
    return acls + _groups(EDGE, settings)


def _console(settings: Settings) -> list[Acl]:
    """The console shows a reviewer the possible match, the police-side child and the
    candidate records (and the decisions already made), and writes what the reviewer
    decides; shows an organisation its notifications and writes its staff's
    acknowledgements on the agency's own topic (as the gateway does for a system); shows
    the duty board the alerts; runs a policy officer's what-if (which also reads the
    audit: when each incident was routed); and keeps its own inbox activity. Nothing
    else. It reads with no consumer group (every console holds all)."""
    read, write = Operation.READ, Operation.WRITE
    acls: list[Acl] = []
    for spec in (
        topics.REVIEW_MATCHES,
        topics.POLICE_INCIDENTS,
        topics.CHILD_RECORDS,
        *topics.NOTIFY.values(),
        topics.ACKS,
        topics.COMPLIANCE_ALERTS,
        *topics.WHATIF_READS,
    ):
        acls += _topic(CONSOLE, spec, settings, read)
    for spec in topics.AGENCY_ACKS.values():
        acls += _topic(CONSOLE, spec, settings, write)
    for spec in (topics.REVIEW_DECISIONS, *topics.CONSOLE_OWN):
        acls += _topic(CONSOLE, spec, settings, read, write)
    return acls


def in_namespace(acl: Acl, settings: Settings, principals: Iterable[str]) -> bool:
    """Whether ``apply`` manages ``acl``: one of the plan's principals, on a resource of
    this deployment (another deployment's ACLs on a shared broker are left alone)."""
    if acl.principal not in set(principals):
        return False
    if not settings.topic_prefix:
        return True
    return acl.name.startswith((settings.topic_prefix, settings.app_id))


class Permissions:
    """The plan as a question: may ``principal`` do ``operation`` on this topic?"""

    def __init__(self, policy: Policy, settings: Settings) -> None:
        self._settings = settings
        self._held = {
            (a.principal, a.name, a.operation)
            for a in plan(policy, settings)
            if a.resource is Resource.TOPIC and a.pattern is Pattern.LITERAL
        }

    def allows(self, principal: str, operation: Operation, spec: TopicSpec) -> bool:
        return (principal, topic_name(spec, self._settings), operation) in self._held
