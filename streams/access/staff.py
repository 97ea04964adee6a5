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
from streams.access.policy import REVIEWERS, agency_principal
from streams.routing import Policy


class StaffRole(StrEnum):
    """A role as the identity provider names it (a realm role, an Entra ID app role)."""

    REVIEWER = "reviewer"  # front door / MASH: settles possible matches
    DUTY_MANAGER = "duty_manager"  # the front door's duty manager
    SAFEGUARDING_LEAD = "safeguarding_lead"  # a school's designated safeguarding lead or deputy


@dataclass(frozen=True)
class Acting:
    """What one role lets a person act as: a party of the plan, for one organisation."""

    role: StaffRole
    principal: str
    organisation: str


_SCHOOL = re.compile(r"urn:[0-9]{6}")


def acting_as(roles: Iterable[str], organisations: Iterable[str], policy: Policy) -> list[Acting]:
    """The parties a person acts as, from the roles and organisations their token names.
    A role the plan does not know, or a school role without a school (``urn:`` and six
    digits), gives nothing: a token can never widen what a party may do."""
    front_door = f"{policy.council_code}:front-door"
    schools = sorted({o for o in organisations if _SCHOOL.fullmatch(o)})
    held = {StaffRole(r) for r in roles if r in StaffRole.__members__.values()}
    acting: list[Acting] = []
    if StaffRole.REVIEWER in held:
        acting.append(Acting(StaffRole.REVIEWER, REVIEWERS, front_door))
    if StaffRole.DUTY_MANAGER in held:
        principal = agency_principal(Agency.SOCIAL_CARE)
        acting.append(Acting(StaffRole.DUTY_MANAGER, principal, front_door))
    if StaffRole.SAFEGUARDING_LEAD in held:
        principal = agency_principal(Agency.SCHOOL)
        acting += [Acting(StaffRole.SAFEGUARDING_LEAD, principal, urn) for urn in schools]
    return acting
