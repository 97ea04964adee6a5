"""Who may do what, written once: the ACL plan the broker holds and the same rights as
questions the HTTP gateway asks (``Permissions``). Pure: no broker calls here (those are
``streams.operations.acl``)."""

from streams.access.policy import (
    COUNCIL_CASEWORK,
    COUNCIL_RECORDS,
    EDGE,
    OPERATIONS,
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

__all__ = [
    "COUNCIL_CASEWORK",
    "COUNCIL_RECORDS",
    "EDGE",
    "OPERATIONS",
    "REVIEWERS",
    "WORKER",
    "Acl",
    "Operation",
    "Pattern",
    "Permissions",
    "Resource",
    "agency_principal",
    "force_principal",
    "in_namespace",
    "parties",
    "plan",
]
