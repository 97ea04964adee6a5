"""Security on the real secured broker: every principal x every topic x {read, write}, and
consumer groups, against the intended matrix written out here from the roles (not read
from ``access.plan``); then the ways in that must be refused.

The matrix is written to .local/security/acl-matrix.txt and printed at the end of the run.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaClient, AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupAuthorizationFailedError, TopicAuthorizationFailedError
from aiokafka.protocol.fetch import FetchRequest
from pydantic import SecretStr

from schemas.enums import Agency
from streams import access, topics
from streams.connection import diagnose
from streams.operations import acl
from streams.routing import load_policy
from streams.settings import Settings
from streams.tools.platform.localkafka import LocalKafkaSettings, acting_as
from streams.topics import TopicSpec

MATRIX = Path(".local/security/acl-matrix.txt")
TOPIC_AUTHORIZATION_FAILED = 29

FORCES = load_policy(None).signals.police_sources
EVERY = topics.for_forces(FORCES)
INPUTS = {
    *(topics.force_incidents(f).name for f in FORCES),
    topics.CHILD_RECORDS.name,
    *(s.name for s in topics.AGENCY_ACKS.values()),
    topics.REVIEW_DECISIONS.name,
    topics.MEETINGS.name,
}
INTERNAL = {
    s.name
    for s in (
        topics.POLICE_INCIDENTS,
        topics.ACKS,
        topics.REMATCH,
        topics.CHILD_HISTORY,
        topics.DEADLINES,
        topics.SEQUENCES,
    )
}


def intended(principal: str, spec: TopicSpec) -> tuple[bool, bool]:
    """(may read, may write), from the roles in issue 12 and docs/security.md."""
    if principal == access.WORKER:  # its inputs, its own topics, and what it sends out
        if spec in topics.EDGE_OWN or spec in topics.CONSOLE_OWN:
            return False, False
        return spec.name in INPUTS | INTERNAL, spec.name not in INPUTS
    if principal == access.EDGE:  # publishes for the parties it authenticated, delivers to them
        reads = {*(s.name for s in topics.NOTIFY.values()), topics.ACKS.name}
        writes = {
            *(topics.force_incidents(f).name for f in FORCES),
            topics.CHILD_RECORDS.name,
            *(s.name for s in topics.AGENCY_ACKS.values()),
            topics.COMPLIANCE_ALERTS.name,
        }
        own = spec in topics.EDGE_OWN
        return spec.name in reads or own, spec.name in writes or own
    if principal == access.CONSOLE:  # people's screens: the pair, the inbox, the duty board
        shown = {
            topics.REVIEW_MATCHES.name,
            topics.REVIEW_DECISIONS.name,
            topics.POLICE_INCIDENTS.name,
            topics.CHILD_RECORDS.name,
            *(s.name for s in topics.NOTIFY.values()),
            topics.ACKS.name,
            topics.COMPLIANCE_ALERTS.name,
            topics.INBOX_ACTIVITY.name,
            topics.AUDIT.name,  # a policy officer's what-if: when each incident was routed
        }
        written = {
            topics.REVIEW_DECISIONS.name,
            *(s.name for s in topics.AGENCY_ACKS.values()),  # as the agency's staff
            topics.INBOX_ACTIVITY.name,
        }
        return spec.name in shown, spec.name in written
    if principal == access.DUTY:  # the duty board reads what needs a person; writes nothing
        shown = {
            *(s.name for s in topics.NOTIFY.values()),
            topics.ACKS.name,
            topics.COMPLIANCE_ALERTS.name,
            topics.REVIEW_MATCHES.name,
        }
        return spec.name in shown, False
    if principal == access.POLICY:  # a policy officer's what-if: read only
        shown = {
            topics.POLICE_INCIDENTS.name,
            topics.CHILD_RECORDS.name,
            topics.REVIEW_DECISIONS.name,
            *(s.name for s in topics.NOTIFY.values()),
            topics.AUDIT.name,
            topics.ACKS.name,
        }
        return spec.name in shown, False
    if principal.startswith("police-"):  # its own topic only: provenance by the broker
        return False, spec.name == topics.force_incidents(principal.removeprefix("police-")).name
    if principal == access.COUNCIL_RECORDS:
        return False, spec is topics.CHILD_RECORDS
    if principal == access.COUNCIL_CASEWORK:
        return False, spec is topics.MEETINGS
    if principal.startswith("agency-"):
        agency = Agency(principal.removeprefix("agency-"))
        return spec is topics.NOTIFY[agency], spec is topics.AGENCY_ACKS[agency]
    if principal == access.REVIEWERS:
        return spec is topics.REVIEW_MATCHES, spec is topics.REVIEW_DECISIONS
    if principal == access.OPERATIONS:
        readable = {
            *(s.name for s in (topics.DEAD_LETTERS, topics.AUDIT, topics.COMPLIANCE_ALERTS)),
            *(s.name for s in (topics.POLICE_INCIDENTS, topics.ACKS, *topics.NOTIFY.values())),
            *(topics.force_incidents(f).name for f in FORCES),
            # frontdoor whatif replays a period as the worker would: read only
            *(s.name for s in (topics.CHILD_RECORDS, topics.REVIEW_DECISIONS)),
        }
        return spec.name in readable, False
    raise AssertionError(f"no role for {principal}")


@dataclass
class Cell:
    principal: str
    resource: str
    action: str
    allowed: bool
    expected: bool


async def _can_write(settings: Settings, names: list[str]) -> dict[str, bool]:
    """A produce to every topic. Not idempotent: an idempotent producer first needs WRITE
    on some topic (KIP-679), which would hide the per-topic answer for read-only parties."""
    producer = AIOKafkaProducer(
        **settings.aiokafka_options(),
        acks="all",
        enable_idempotence=False,
        request_timeout_ms=10_000,
    )
    await producer.start()
    found: dict[str, bool] = {}
    try:
        for name in names:
            try:
                await producer.send_and_wait(name, b"matrix probe", key=b"probe")
                found[name] = True
            except TopicAuthorizationFailedError:
                found[name] = False
    finally:
        await producer.stop()
    return found


async def _can_read(settings: Settings, names: list[str]) -> dict[str, bool]:
    """One Fetch of partition 0 of every topic: the broker answers per topic whether this
    principal may read it (a consumer would only log the refusal and return nothing)."""
    client = AIOKafkaClient(**settings.aiokafka_options(), request_timeout_ms=10_000)
    await client.bootstrap()
    try:
        node = next(iter(client.cluster.brokers())).nodeId
        request = FetchRequest(0, 1, 1_000_000, 0, [(n, [(0, 0, 10_000)]) for n in names])
        response = await client.send(node, request)
        found: dict[str, bool] = {}
        for topic, partitions in response.topics:
            codes = {p[1] for p in partitions}
            found[topic] = TOPIC_AUTHORIZATION_FAILED not in codes
        return found
    finally:
        await client.close()


async def _can_join(settings: Settings, topic: str | None, group: str) -> bool:
    consumer = AIOKafkaConsumer(
        *([topic] if topic else []),
        **settings.aiokafka_options(),
        group_id=group,
        auto_offset_reset="earliest",
        request_timeout_ms=10_000,
    )
    try:
        await consumer.start()
        await consumer.getmany(timeout_ms=500)
        await consumer.commit()
        return True
    except GroupAuthorizationFailedError:
        return False
    finally:
        await consumer.stop()


def _write_matrix(cells: list[Cell]) -> None:
    allowed = sum(c.allowed for c in cells)
    principals = sorted({c.principal for c in cells})
    resources = sorted({c.resource for c in cells if c.action in {"read", "write"}})
    lines = [
        f"ACL matrix on the secured broker: {len(principals)} principals x {len(resources)} "
        f"topics x {{read, write}} + consumer groups = {len(cells)} cells; "
        f"{allowed} allowed, {len(cells) - allowed} denied, "
        f"{sum(c.allowed != c.expected for c in cells)} not as intended",
        "",
    ]
    for principal in principals:
        mine = [c for c in cells if c.principal == principal and c.allowed]
        what = ", ".join(f"{c.action} {c.resource}" for c in mine) or "nothing"
        lines.append(f"  {principal:<22} {what}")
    MATRIX.parent.mkdir(parents=True, exist_ok=True)
    MATRIX.write_text("\n".join(lines) + "\n")


def test_every_principal_may_do_exactly_what_its_role_needs(settings: Settings) -> None:
    policy = load_policy(None)
    principals = access.parties(policy)
    specs = {topics.topic_name(s, settings): s for s in EVERY}
    names = list(specs)
    cells: list[Cell] = []
    for principal in principals:
        own = acting_as(settings, principal)
        reads = asyncio.run(_can_read(own, list(specs)))
        writes = asyncio.run(_can_write(own, list(specs)))
        for name, spec in specs.items():
            may_read, may_write = intended(principal, spec)
            cells.append(Cell(principal, spec.name, "read", reads[name], may_read))
            cells.append(Cell(principal, spec.name, "write", writes[name], may_write))
        if principal != access.WORKER:  # a party's own consumer groups, and not another's
            topic = next((n for n in names if intended(principal, specs[n])[0]), None)
            if topic is not None:
                mine = f"{settings.topic_prefix}{principal}-matrix"
                other = access.OPERATIONS if principal != access.OPERATIONS else access.REVIEWERS
                theirs = f"{settings.topic_prefix}{other}"
                cells.append(
                    Cell(
                        principal,
                        "own group",
                        "join",
                        asyncio.run(_can_join(own, topic, mine)),
                        principal != access.CONSOLE,  # it reads every partition, no group
                    )
                )
                cells.append(
                    Cell(
                        principal,
                        "another's group",
                        "join",
                        asyncio.run(_can_join(own, topic, theirs)),
                        False,
                    )
                )
    _write_matrix(cells)
    wrong = [c for c in cells if c.allowed != c.expected]
    assert not wrong, f"{len(wrong)} cells not as intended: {wrong[:10]}"
    assert len({c.principal for c in cells}) == len(principals) >= 20


# --- refused ways in -----------------------------------------------------------------


def test_wrong_or_missing_credentials_and_plaintext_are_refused_with_the_reason(
    settings: Settings,
) -> None:
    worker = acting_as(settings, access.WORKER)
    assert diagnose(worker) is None
    refused = {
        "wrong password": worker.model_copy(
            update={"sasl_password_file": None, "sasl_password": SecretStr("not-the-password")}
        ),
        "unknown user": worker.model_copy(update={"sasl_username": "mallory"}),
        "no TLS (SASL_PLAINTEXT)": worker.model_copy(
            update={"security_protocol": "SASL_PLAINTEXT"}
        ),
        "plaintext client": worker.model_copy(update={"security_protocol": "PLAINTEXT"}),
        "anonymous (TLS, no SASL)": worker.model_copy(update={"security_protocol": "SSL"}),
        "CA not trusted": worker.model_copy(update={"ssl_cafile": None}),
    }
    said = {case: diagnose(s) for case, s in refused.items()}
    assert "refused user 'worker'" in (said["wrong password"] or "")
    assert "refused user 'mallory'" in (said["unknown user"] or "")
    assert "expects TLS" in (said["no TLS (SASL_PLAINTEXT)"] or "")
    assert "expects TLS" in (said["plaintext client"] or "")
    assert "did not log in" in (said["anonymous (TLS, no SASL)"] or "")
    assert "not trusted" in (said["CA not trusted"] or "")
    password = worker.password() or ""
    assert all(password not in (text or "") for text in said.values())


async def _bootstraps(**options: object) -> bool:
    client = AIOKafkaClient(**options, request_timeout_ms=3000)  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(client.bootstrap(), 10)
        return True
    except Exception:
        return False
    finally:
        await client.close()


def test_no_one_reaches_the_controller_without_the_node_certificate(
    settings: Settings, local_kafka: LocalKafkaSettings
) -> None:
    """The trap in issue 12: an anonymous controller listener lets any local process
    create ACLs. Here a client without the node's certificate fails at the handshake,
    whether it speaks plaintext or TLS (trusting the CA); and no ACL appears."""
    controller = f"127.0.0.1:{local_kafka.controller_port}"
    trusting = ssl.create_default_context(cafile=str(local_kafka.secrets.ca_file))
    assert not asyncio.run(_bootstraps(bootstrap_servers=controller))
    assert not asyncio.run(
        _bootstraps(bootstrap_servers=controller, security_protocol="SSL", ssl_context=trusting)
    )
    assert all(a.principal != "mallory" for a in acl.current(settings))


def test_a_party_cannot_change_acls_or_create_topics(settings: Settings) -> None:
    async def attempt(own: Settings) -> bool:
        admin = AIOKafkaAdminClient(**own.aiokafka_options())
        await admin.start()
        try:
            from aiokafka.admin import NewTopic

            made = await admin.create_topics([NewTopic(f"{own.topic_prefix}rogue", 1, 1)])
            return bool(made.topic_errors[0][1] == 0)
        finally:
            await admin.close()

    for principal in ("police-MPS", access.OPERATIONS, access.WORKER):
        own = acting_as(settings, principal)
        created = asyncio.run(attempt(own))
        try:
            acl.apply(load_policy(None), own)
            changed = True
        except acl.AclError:
            changed = False
        assert not created, f"{principal} created a topic"
        assert not changed, f"{principal} changed ACLs"


@pytest.mark.parametrize("principal", ["agency-school", "agency-health"])
def test_an_agency_cannot_read_another_agencys_notifications(
    settings: Settings, principal: str
) -> None:
    own = acting_as(settings, principal)
    social_care = topics.topic_name(topics.NOTIFY[Agency.SOCIAL_CARE], settings)
    dead_letters = topics.topic_name(topics.DEAD_LETTERS, settings)
    readable = asyncio.run(_can_read(own, [social_care, dead_letters]))
    assert readable == {social_care: False, dead_letters: False}


def test_a_force_publishes_only_as_itself_end_to_end(settings: Settings, worker: object) -> None:
    """police-MPS publishes on its own topic and the incident is routed; police-KENT may
    not write MPS's topic at all, and an MPS incident it puts on its own topic is
    dead-lettered (provenance), never routed."""
    import json

    from schemas import AuditRecord, DeadLetter
    from streams.topics.io import consume, produce
    from tests import factories

    mps, kent = acting_as(settings, "police-MPS"), acting_as(settings, "police-KENT")
    incident = factories.incident()
    key = f"MPS:{incident['incident_reference']}".encode()
    mps_topic = topics.topic_name(topics.force_incidents("MPS"), settings)
    assert asyncio.run(_can_write(kent, [mps_topic])) == {mps_topic: False}

    forged = dict(incident, incident_reference="FORGED-1", event_id="forged-1")
    produce(kent, topics.force_incidents("KENT"), [(b"MPS:FORGED-1", json.dumps(forged).encode())])
    produce(mps, topics.force_incidents("MPS"), [(key, json.dumps(incident).encode())])

    # The MPS incident's two children are audited; nothing follows for the forged one.
    found = consume(settings, topics.AUDIT, 2, timeout_s=90, linger_s=3)
    audited = [AuditRecord.model_validate_json(m.value) for m in found]
    assert [a.incident_reference for a in audited] == [incident["incident_reference"]] * 2
    (letter,) = [
        DeadLetter.model_validate_json(m.value)
        for m in consume(settings, topics.DEAD_LETTERS, 1, linger_s=1)
    ]
    assert letter.reason_class == "provenance"
    assert letter.original_topic == topics.topic_name(topics.force_incidents("KENT"), settings)


def test_no_password_is_on_any_command_line(
    settings: Settings, local_kafka: LocalKafkaSettings, worker: object
) -> None:
    """`ps` shows every process's arguments to every user: with the broker and a worker
    running, no principal's password is in any of them."""
    passwords = [p.read_text().strip() for p in (local_kafka.secrets.root / "passwords").iterdir()]
    assert len(passwords) >= 20
    seen = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            arguments = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        seen += 1
        assert not any(p in arguments for p in passwords), (
            f"a password in pid {proc.name}'s arguments"
        )
    assert seen > 3
