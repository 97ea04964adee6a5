"""People: the roles staff hold in the council's identity provider, as parties of the plan.
Pure.

A member of staff signs in to the console with OpenID Connect; the provider's token says
which roles they hold and for which organisation. Each role acts as one party of the
access plan, so the console asks of a person the question the broker asks of a system
(may this party read the possible matches? write a decision?) and a person's rights are
written down once, with every system's, in ``plan``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from schemas.enums import Agency
from streams.access.policy import DUTY, POLICY, REVIEWERS, agency_principal
from streams.routing import Policy


class StaffRole(StrEnum):
    """A role as the identity provider names it (a realm role, an Entra ID app role)."""

    REVIEWER = "reviewer"  # front door / MASH: settles possible matches
    DUTY_MANAGER = "duty_manager"  # the front door's duty manager
    SAFEGUARDING_LEAD = "safeguarding_lead"  # a school's designated safeguarding lead or deputy
    TEAM_MEMBER = "team_member"  # of an agency's team: health visiting, a hub, a service
    POLICY_OFFICER = "policy_officer"  # the partnership's: tries a draft policy on history


INBOX_ROLES = frozenset({StaffRole.SAFEGUARDING_LEAD, StaffRole.TEAM_MEMBER})


@dataclass(frozen=True)
class Acting:
    """What one role lets a person act as: a party of the plan, for one organisation."""

    role: StaffRole
    principal: str
    organisation: str
    agency: Agency | None = None  # the recipient agency, when acting for an organisation


_SCHOOL = re.compile(r"urn:[0-9]{6}")
_SOCIAL_CARE = re.compile(r"(front-door|emergency-duty-team|(worker|team):[A-Za-z0-9_.-]+)")


def agency_of(organisation: str, policy: Policy) -> Agency | None:
    """The agency whose notifications an organisation receives, as the routing names it:
    a school by URN (``urn:`` and six digits); the council's front door, duty team, teams
    and workers (``<council>:front-door``, ``<council>:team:<id>``); each service the
    policy routes to (``<council>:<service>``). None for anything else."""
    if _SCHOOL.fullmatch(organisation):
        return Agency.SCHOOL
    council, _, rest = organisation.partition(":")
    if council != policy.council_code or not rest:
        return None
    if _SOCIAL_CARE.fullmatch(rest):
        return Agency.SOCIAL_CARE
    return policy.services().get(rest)


def acting_as(roles: Iterable[str], organisations: Iterable[str], policy: Policy) -> list[Acting]:
    """The parties a person acts as, from the roles and organisations their token names.
    A role the plan does not know, or an inbox role without an organisation the routing
    sends to, gives nothing: a token can never widen what a party may do."""
    front_door = f"{policy.council_code}:front-door"
    held = {StaffRole(r) for r in roles if r in StaffRole.__members__.values()}
    acting: list[Acting] = []
    if StaffRole.REVIEWER in held:
        acting.append(Acting(StaffRole.REVIEWER, REVIEWERS, front_door))
    if StaffRole.DUTY_MANAGER in held:
        acting.append(Acting(StaffRole.DUTY_MANAGER, DUTY, front_door))
    if StaffRole.POLICY_OFFICER in held:
        partnership = f"{policy.council_code}:partnership"
        acting.append(Acting(StaffRole.POLICY_OFFICER, POLICY, partnership))
    inbox_role = next(
        (r for r in (StaffRole.SAFEGUARDING_LEAD, StaffRole.TEAM_MEMBER) if r in held), None
    )
    if inbox_role is not None:
        for organisation in sorted(set(organisations)):
            agency = agency_of(organisation, policy)
            if agency is not None:
                principal = agency_principal(agency)
                acting.append(Acting(inbox_role, principal, organisation, agency))
    return acting
