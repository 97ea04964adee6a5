"""A notification as its recipient reads it: the minimised payload's fields in words, in
the order the contract declares them, and no more (whatever the agency's payload holds is
what the agency may see: ``schemas.notification``). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from schemas.notification import DomesticAbusePayload, Payload, SocialCarePayload
from schemas.police import InvolvedChild
from streams.console import words

LABELS = {
    "incident_reference": "Police reference",
    "incident_type": "What happened",
    "occurred_at": "When it happened",
    "reported_at": "Reported to the police",
    "risk_grade": "Risk",
    "dash_ticks": "DASH risk checklist: ticks",
    "location_postcode": "Where (postcode)",
    "police_protection": "Police protection (Children Act s.46)",
    "carer_arrested_no_safe_carer": "Carer arrested, no safe carer",
    "injury": "Injury",
    "victim_pregnant": "Victim pregnant",
    "circumstances": "Circumstances",
    "officer_reference": "Officer",
    "council_child_id": "Council record",
    "child_status": "Known to children's social care as",
    "given_name": "Given name",
    "family_name": "Family name",
    "date_of_birth": "Date of birth",
    "child_present": "The child was present",
    "brief_circumstances": "What the school needs to know",
    "nhs_number": "NHS number",
    "family_address": "Family address",
    "family_postcode": "Family postcode",
    "needs_summary": "Needs",
    "consent_status": "Consent to early help",
    "victim_safe_contact": "Victim's safe contact",
    "children_in_household": "Children in the household",
    "looked_after": "Looked after",
    # a child, as the force recorded them (social care only)
    "role": "Role in the incident",
    "other_names": "Other names",
    "gender": "Gender",
    "address": "Address",
    "postcode": "Postcode",
    "school_name": "School",
    "school_urn": "School URN",
    "home_educated": "Home educated",
    "home_council": "Lives in council",
    "person_reference": "Police person reference",
}
HIDDEN = {"kind", "incident_reference", "date_of_birth_approximate"}


@dataclass(frozen=True)
class Row:
    label: str
    text: str


def _text(value: object, zone: ZoneInfo) -> str:
    if value is None or value == []:
        return "not given"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return words.local(value, zone)
    if isinstance(value, date):
        return f"{value.day} {value:%B %Y}"
    if isinstance(value, Enum):
        return str(value.value).replace("_", " ")
    if isinstance(value, list):
        return ", ".join(_text(v, zone) for v in value)
    return str(value)


def _rows(model: BaseModel, zone: ZoneInfo) -> list[Row]:
    rows = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if (
            name in HIDDEN
            or isinstance(value, BaseModel)
            or (isinstance(value, list) and value and isinstance(value[0], BaseModel))
        ):
            continue
        text = _text(value, zone)
        if name == "date_of_birth" and getattr(model, "date_of_birth_approximate", False):
            text += " (approximate)"
        rows.append(Row(LABELS.get(name, name.replace("_", " ").capitalize()), text))
    return rows


def rows(payload: Payload, zone: ZoneInfo) -> list[Row]:
    """The payload's own fields (the children of a social-care payload apart)."""
    return _rows(payload, zone)


def children(payload: Payload, zone: ZoneInfo) -> list[tuple[str, list[Row]]]:
    """A social-care payload's children, each with its heading."""
    if not isinstance(payload, SocialCarePayload):
        return []
    named = [("The child", payload.child)] + [
        (f"Also named ({c.role.value.replace('_', ' ')})", c) for c in payload.other_children
    ]
    return [(heading, _rows(child, zone)) for heading, child in named]


def subject(payload: Payload) -> str:
    """Whom the notification is about, as its recipient may see it (the list's first column)."""
    if isinstance(payload, SocialCarePayload):
        return _name(payload.child)
    if isinstance(payload, DomesticAbusePayload):
        return f"a household with {payload.children_in_household} children"
    given, family = getattr(payload, "given_name", None), getattr(payload, "family_name", None)
    return " ".join(p for p in (given, family) if p) or "(no name given)"


def born(payload: Payload) -> str:
    child = payload.child if isinstance(payload, SocialCarePayload) else payload
    value = getattr(child, "date_of_birth", None)
    return f"born {value.day} {value:%B %Y}" if isinstance(value, date) else ""


def _name(child: InvolvedChild) -> str:
    return " ".join(p for p in (child.given_name, child.family_name) if p) or "(no name given)"


def what(payload: Payload) -> str:
    return payload.incident_type.value.replace("_", " ").capitalize()
