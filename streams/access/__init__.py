"""Who may do what, written once: the ACL plan the broker holds, the same rights as
questions the HTTP gateway and the console ask (``Permissions``), and the roles people
hold in the identity provider as parties of that plan (``staff``). Pure: no broker calls
here (those are ``streams.operations.acl``)."""

from streams.access.policy import (
    CONSOLE,
    COUNCIL_CASEWORK,
    COUNCIL_RECORDS,
    DUTY,
    EDGE,
    OPERATIONS,
    POLICY,
    REVIEWERS,
    WORKER,
    Acl,
    Operation,
    Pattern,
    Permissions,
    Resource,
    agency_principal,
    force_principal,
    in_namespace,
    parties,
    plan,
)
from streams.access.staff import INBOX_ROLES, Acting, StaffRole, acting_as, agency_of

__all__ = [
    "CONSOLE",
    "COUNCIL_CASEWORK",
    "COUNCIL_RECORDS",
    "DUTY",
    "EDGE",
    "INBOX_ROLES",
    "OPERATIONS",
    "POLICY",
    "REVIEWERS",
    "WORKER",
    "Acl",
    "Acting",
    "Operation",
    "Pattern",
    "Permissions",
    "Resource",
    "StaffRole",
    "acting_as",
    "agency_of",
    "agency_principal",
    "force_principal",
    "in_namespace",
    "parties",
    "plan",
]
