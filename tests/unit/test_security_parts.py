"""The pure parts of security: the ACL plan, the local secrets, and connection settings."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509

from schemas.enums import Agency
from streams import access, topics
from streams.access import Acl, Operation, Pattern, Resource
from streams.routing import load_policy
from streams.settings import ConnectionSettingsError, Settings
from streams.tools.platform import pki


def test_the_plan_gives_every_party_something_and_no_one_more_than_its_role() -> None:
    policy = load_policy(None)
    settings = Settings(topic_prefix="x.", app_id="frontdoor-x")
    planned = access.plan(policy, settings)
    assert len(planned) == len(set(planned))
    assert {a.principal for a in planned} == set(access.parties(policy))
    for force in policy.signals.police_sources:  # each force writes only its own topic
        own = topics.topic_name(topics.force_incidents(force), settings)
        writers = {a.principal for a in planned if a.name == own and a.operation == Operation.WRITE}
        # and the gateway, for a force it authenticated as that force (streams.edge)
        assert writers == {access.force_principal(force), access.EDGE}
    merged = topics.topic_name(topics.POLICE_INCIDENTS, settings)
    writers = {a.principal for a in planned if a.name == merged and a.operation == Operation.WRITE}
    assert writers == {access.WORKER}
    dead_letters = topics.topic_name(topics.DEAD_LETTERS, settings)
    readers = {
        a.principal for a in planned if a.name == dead_letters and a.operation == Operation.READ
    }
    assert readers == {access.OPERATIONS}
    assert all(a.name.startswith(("x.", "frontdoor-x")) for a in planned)
    assert not any(a.operation == Operation.ANY for a in planned)


def test_apply_manages_only_its_principals_in_its_namespace() -> None:
    settings = Settings(topic_prefix="x.", app_id="frontdoor-x")
    ours = Acl(
        access.WORKER, Resource.TOPIC, "x.audit.decisions.v1", Pattern.LITERAL, Operation.READ
    )
    another_run = Acl(access.WORKER, Resource.TOPIC, "y.audit", Pattern.LITERAL, Operation.READ)
    someone_else = Acl("auditor", Resource.TOPIC, "x.audit", Pattern.LITERAL, Operation.READ)
    parties = [access.WORKER]
    assert access.in_namespace(ours, settings, parties)
    assert not access.in_namespace(another_run, settings, parties)
    assert not access.in_namespace(someone_else, settings, parties)


def test_local_secrets_are_owner_only_and_the_certificate_fits_the_local_hosts(
    tmp_path: Path,
) -> None:
    store = pki.ensure(tmp_path / "secrets", ["admin", "police-MPS"])
    for path in [store.root, *store.root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
    assert len(store.password("police-MPS")) >= 32
    again = pki.ensure(tmp_path / "secrets", ["admin", "police-MPS"])
    assert again.password("police-MPS") == store.password("police-MPS")  # made once
    node = x509.load_pem_x509_certificates(store.node_file.read_bytes())
    ca = x509.load_pem_x509_certificate(store.ca_file.read_bytes())
    node[0].verify_directly_issued_by(ca)
    names = node[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert node[0].subject.rfc4514_string().startswith(f"CN={pki.NODE_PRINCIPAL},")


def test_the_password_comes_from_its_file_and_problems_are_named(tmp_path: Path) -> None:
    secret = tmp_path / "worker"
    secret.write_text("s3cret-from-file\n")
    settings = Settings(sasl_username="worker", sasl_password_file=secret)
    assert settings.password() == "s3cret-from-file"
    assert settings.connection_problems() == []
    assert Settings().security_protocol == "SASL_SSL"  # secured unless told otherwise
    assert Settings().connection_problems() == [
        "FRONTDOOR_SASL_USERNAME is not set",
        "neither FRONTDOOR_SASL_PASSWORD_FILE nor FRONTDOOR_SASL_PASSWORD is set",
    ]
    missing = Settings(sasl_username="worker", sasl_password_file=tmp_path / "nope")
    with pytest.raises(ConnectionSettingsError, match="cannot read FRONTDOOR_SASL_PASSWORD_FILE"):
        missing.password()
    no_ca = Settings(ssl_cafile=tmp_path / "no-ca.pem")
    with pytest.raises(ConnectionSettingsError, match="is not a file"):
        no_ca.ssl_context()


def test_staff_roles_act_as_parties_of_the_plan_and_a_token_cannot_widen_them() -> None:
    policy = load_policy(None)
    settings = Settings(topic_prefix="x.")
    permissions = access.Permissions(policy, settings)
    front_door = f"{policy.council_code}:front-door"

    reviewer, manager = access.acting_as(["reviewer", "duty_manager"], [], policy)
    assert (reviewer.principal, reviewer.organisation) == (access.REVIEWERS, front_door)
    assert permissions.allows(reviewer.principal, Operation.WRITE, topics.REVIEW_DECISIONS)
    assert not permissions.allows(manager.principal, Operation.WRITE, topics.REVIEW_DECISIONS)
    assert manager.organisation == front_door

    leads = access.acting_as(["safeguarding_lead"], ["urn:100001", "urn:100002"], policy)
    assert [a.organisation for a in leads] == ["urn:100001", "urn:100002"]
    assert all(
        not permissions.allows(a.principal, Operation.READ, topics.REVIEW_MATCHES) for a in leads
    )
    # Roles the plan does not know, and a school role without a school, give nothing.
    assert (
        access.acting_as(["admin", "Reviewer", "safeguarding_lead"], ["urn:12", "x"], policy) == []
    )
    assert manager.principal == access.DUTY
    assert permissions.allows(manager.principal, Operation.READ, topics.COMPLIANCE_ALERTS)
    assert not permissions.allows(
        manager.principal, Operation.WRITE, topics.AGENCY_ACKS[Agency.SCHOOL]
    )
    # A policy officer may read everything a what-if reads, and write nothing at all.
    (officer,) = access.acting_as(["policy_officer"], ["urn:100001"], policy)
    assert officer.principal == access.POLICY and officer.agency is None
    assert all(
        permissions.allows(officer.principal, Operation.READ, s) for s in topics.WHATIF_READS
    )
    assert not any(permissions.allows(officer.principal, Operation.WRITE, s) for s in topics.ALL)
    assert not permissions.allows(manager.principal, Operation.READ, topics.AUDIT)


def test_an_organisation_in_a_token_is_the_agency_the_routing_sends_it_to() -> None:
    policy = load_policy(None)
    council = policy.council_code
    team = [
        "urn:100000",
        f"{council}:health-visiting",
        f"{council}:early-help-hub",
        f"{council}:idva",
        f"{council}:youth-justice",
        f"{council}:team:CP2",
        f"{council}:front-door",
        f"{council}:no-such-service",  # not routed to: nothing
        "E09000099:health-visiting",  # another council's: nothing
    ]
    acting = access.acting_as(["team_member"], team, policy)
    assert {a.organisation: a.agency for a in acting} == {
        "urn:100000": Agency.SCHOOL,
        f"{council}:health-visiting": Agency.HEALTH,
        f"{council}:early-help-hub": Agency.EARLY_HELP,
        f"{council}:idva": Agency.DOMESTIC_ABUSE,
        f"{council}:youth-justice": Agency.YOUTH_JUSTICE,
        f"{council}:team:CP2": Agency.SOCIAL_CARE,
        f"{council}:front-door": Agency.SOCIAL_CARE,
    }
    assert all(a.principal == access.agency_principal(a.agency) for a in acting if a.agency)


def test_the_console_reads_what_its_screens_show_and_writes_only_what_people_decide() -> None:
    policy = load_policy(None)
    settings = Settings(topic_prefix="x.")
    console = [a for a in access.plan(policy, settings) if a.principal == access.CONSOLE]
    writes = {a.name for a in console if a.operation == Operation.WRITE}
    decided = (topics.REVIEW_DECISIONS, *topics.AGENCY_ACKS.values(), topics.INBOX_ACTIVITY)
    assert writes == {topics.topic_name(spec, settings) for spec in decided}
    assert not any(a.resource == Resource.GROUP for a in console)
