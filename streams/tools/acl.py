"""ACLs as code: one Kafka principal per party, allowed exactly what its role needs.

The parties come from the policy (one per police force in ``signals.police_sources``) and
the agencies; what each may read and write comes from the topics. ``plan`` is pure;
``apply`` makes the broker hold exactly the plan for these principals within the
deployment's namespace (its topic prefix and app id), removing what is stale.
``admin`` and the nodes are super users and need no ACLs.

aiokafka has no ACL calls, so the three ACL requests (protocol v1, which every Kafka 4
broker accepts) are sent through its admin client's connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from schemas.enums import Agency
from streams.routing import Policy, load_policy
from streams.settings import Settings
from streams.worker import admin, topics
from streams.worker.topics import TopicSpec, topic_name


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


ALLOW = 3
ANY_PERMISSION = 1


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
    # Operations: dead letters, audit and alerts, and what `frontdoor verify` and
    # `frontdoor report` read (the notifications and acknowledgements they account for).
    for spec in (
        topics.DEAD_LETTERS,
        topics.AUDIT,
        topics.COMPLIANCE_ALERTS,
        topics.POLICE_INCIDENTS,
        *(topics.force_incidents(f) for f in forces),
        topics.ACKS,
        *topics.NOTIFY.values(),
    ):
        acls += _topic(OPERATIONS, spec, settings, read)
    acls += _groups(OPERATIONS, settings)
    return sorted(set(acls))


def in_namespace(acl: Acl, settings: Settings, principals: Iterable[str]) -> bool:
    """Whether ``apply`` manages ``acl``: one of the plan's principals, on a resource of
    this deployment (another deployment's ACLs on a shared broker are left alone)."""
    if acl.principal not in set(principals):
        return False
    if not settings.topic_prefix:
        return True
    return acl.name.startswith((settings.topic_prefix, settings.app_id))


# --- the broker side -------------------------------------------------------------------


def _requests() -> tuple[Any, Any, Any]:
    from aiokafka.protocol.admin import (
        CreateAclsRequest_v1,
        DeleteAclsRequest_v1,
        DescribeAclsRequest_v1,
    )
    from aiokafka.protocol.api import Request

    class Describe(Request[DescribeAclsRequest_v1]):  # type: ignore[misc]  # aiokafka is untyped
        API_KEY = 29

        def build(self, request_struct_class: type[DescribeAclsRequest_v1]) -> Any:
            return request_struct_class(1, None, Pattern.ANY, None, None, Operation.ANY, 1)

    class Create(Request[CreateAclsRequest_v1]):  # type: ignore[misc]  # aiokafka is untyped
        API_KEY = 30

        def __init__(self, acls: list[Acl]) -> None:
            self.acls = acls

        def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> Any:
            return request_struct_class(_entries(self.acls))

    class Delete(Request[DeleteAclsRequest_v1]):  # type: ignore[misc]  # aiokafka is untyped
        API_KEY = 31

        def __init__(self, acls: list[Acl]) -> None:
            self.acls = acls

        def build(self, request_struct_class: type[DeleteAclsRequest_v1]) -> Any:
            return request_struct_class(_entries(self.acls))

    return Describe, Create, Delete


def _entries(acls: list[Acl]) -> list[tuple[Any, ...]]:
    """ACLs as CreateAcls creations and DeleteAcls filters (v1: the same fields)."""
    return [
        (a.resource, a.name, a.pattern, f"User:{a.principal}", "*", a.operation, ALLOW)
        for a in acls
    ]


class AclError(RuntimeError):
    pass


def _check(errors: Iterable[tuple[int, str | None]], what: str) -> None:
    failed = [f"error {code}: {message}" for code, message in errors if code]
    if failed:
        raise AclError(f"{what} failed: {'; '.join(sorted(set(failed)))}")


async def _current(client: Any) -> list[Acl]:
    describe, _, _ = _requests()
    response = await client._send_request(describe())  # aiokafka has no public ACL call
    _check([(response.error_code, response.error_message)], "describing ACLs")
    found: list[Acl] = []
    for resource_type, name, pattern, entries in response.resources:
        for principal, host, operation, permission in entries:
            if permission != ALLOW or host != "*" or not principal.startswith("User:"):
                continue  # not one this tool writes (e.g. an operator's DENY): left alone
            try:  # a code or kind this tool does not know: not one it wrote, left alone
                acl = Acl(
                    principal.removeprefix("User:"),
                    Resource(resource_type),
                    name,
                    Pattern(pattern),
                    Operation(operation),
                )
            except ValueError:
                continue
            found.append(acl)
    return found


async def _until_in_force(
    client: Any, wanted: set[Acl], stale: set[Acl], timeout_s: float = 30
) -> None:
    """The controller accepts ACL changes before a broker's authorizer has them; wait
    until the broker describes exactly the change, so the next request is judged by it."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        held = set(await _current(client))
        if wanted <= held and not (stale & held):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AclError(f"ACL changes not in force after {timeout_s:.0f} s")
        await asyncio.sleep(0.05)


@dataclass(frozen=True)
class Applied:
    created: list[Acl]
    removed: list[Acl]
    kept: int


async def _apply(policy: Policy, settings: Settings) -> Applied:
    from aiokafka.admin import AIOKafkaAdminClient

    _, create, delete = _requests()
    wanted = set(plan(policy, settings))
    client = AIOKafkaAdminClient(**settings.aiokafka_options())
    await client.start()
    try:
        managed = [a for a in await _current(client) if in_namespace(a, settings, parties(policy))]
        stale = sorted(set(managed) - wanted)
        missing = sorted(wanted - set(managed))
        if missing:
            response = await client._send_request(create(missing))
            _check(response.creation_responses, "creating ACLs")
        if stale:
            response = await client._send_request(delete(stale))
            _check([(r[0], r[1]) for r in response.filter_responses], "removing stale ACLs")
        await _until_in_force(client, wanted, set(stale))
        return Applied(missing, stale, len(wanted) - len(missing))
    finally:
        await client.close()


async def _revoke(settings: Settings, prefixes: tuple[str, ...]) -> list[Acl]:
    from aiokafka.admin import AIOKafkaAdminClient

    _, _, delete = _requests()
    client = AIOKafkaAdminClient(**settings.aiokafka_options())
    await client.start()
    try:
        doomed = [a for a in await _current(client) if a.name.startswith(prefixes)]
        if doomed:
            response = await client._send_request(delete(doomed))
            _check([(r[0], r[1]) for r in response.filter_responses], "removing ACLs")
        return doomed
    finally:
        await client.close()


def revoke(settings: Settings, prefixes: tuple[str, ...]) -> list[Acl]:
    """Remove every ACL on resources named with one of ``prefixes`` (a finished run's)."""
    if not all(prefixes):
        raise ValueError("refusing to revoke ACLs without a prefix")
    return asyncio.run(_revoke(settings, prefixes))


def provision(settings: Settings) -> tuple[dict[str, bool], Applied | None]:
    """A deployment's topics and, on a secured broker, its ACLs; ``settings`` an client.
    (Topic name -> created?, and what ``apply`` did, or None on a plaintext broker.)"""
    created = admin.create_all(settings)
    if settings.security_protocol == "PLAINTEXT":
        return created, None
    return created, apply(load_policy(settings.policy_file), settings)


def apply(policy: Policy, settings: Settings) -> Applied:
    """Make the broker hold exactly the plan (idempotent); ``settings`` must be an client."""
    return asyncio.run(_apply(policy, settings))


def current(settings: Settings) -> list[Acl]:
    async def run() -> list[Acl]:
        from aiokafka.admin import AIOKafkaAdminClient

        client = AIOKafkaAdminClient(**settings.aiokafka_options())
        await client.start()
        try:
            return await _current(client)
        finally:
            await client.close()

    return asyncio.run(run())
