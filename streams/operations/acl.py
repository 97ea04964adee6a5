"""ACLs on the broker: make it hold exactly the plan (``streams.access.plan``).

``apply`` makes the broker hold exactly the plan for the plan's principals within the
deployment's namespace (its topic prefix and app id), removing what is stale.

aiokafka has no ACL calls, so the three ACL requests (protocol v1, which every Kafka 4
broker accepts) are sent through its admin client's connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from streams.access import Acl, Operation, Pattern, Resource, in_namespace, parties, plan
from streams.routing import Policy, load_policy
from streams.settings import Settings
from streams.topics import admin

__all__ = ["AclError", "Applied", "apply", "current", "provision", "revoke"]

ALLOW = 3

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
