"""Deterministic synthetic data for the demo, tests and benchmarks: invented people only.

A council (households of children with siblings and twins, valid NHS numbers, schools,
statuses, allocated workers) and a day of police incidents about its children and about
children it does not know, with the noise real systems have: nicknames, typos, missing
NHS numbers, day/month swaps, old addresses. The same seed always gives the same data,
and every police-side child carries its true council record for measuring the matcher.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from schemas.enums import ChildRole, IncidentType, RiskGrade
from schemas.identifiers import nhs_check_digit
from streams.nicknames import _GROUPS

# fmt: off
GIVEN_FEMALE = ("Olivia Amelia Isla Ava Ivy Freya Lily Florence Mia Willow Rosie Sophia Isabella "  # noqa: SIM905
                "Grace Daisy Sienna Poppy Elsie Emily Ella Evelyn Phoebe Sofia Evie Charlotte "
                "Harper Matilda Aisha Zara Maryam Amira Hannah Chloe Jessica Ruby Millie Layla "
                "Eliza Maisie Alice Abigail Rebecca Victoria Eleanor Margaret Katherine").split()
GIVEN_MALE = ("Noah Oliver George Arthur Muhammad Leo Harry Oscar Archie Henry Theodore Freddie "  # noqa: SIM905
              "Jack Charlie Theo Alfie Jacob Thomas Finley Arlo William Lucas Roman Tommy Isaac "
              "Teddy Alexander Luca Edward James Joshua Albie Elijah Max Mohammed Reggie Joseph "
              "Ibrahim Daniel Samuel Alfred Robert Richard Benjamin Matthew Nicholas").split()
FAMILY = ("Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "  # noqa: SIM905
          "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel "
          "Jackson Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison "
          "Morgan Allen James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths "
          "Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox "
          "Richards Khan Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster "
          "Chapman Powell Webb Rogers Gray Mason Ali Hussain Campbell Matthews Owen Palmer Holmes "
          "Mills Barnes Knight Lloyd Butler Russell Barker Okafor Nowak Kowalski Ahmed Rahman "
          "Osei Mensah Silva Costa Murray Fraser O'Brien McCarthy Doyle Byrne").split()
STREETS = "High Church Station Park Victoria Mill School Manor Queens Kings Albert Grange".split()  # noqa: SIM905
# fmt: on
DISTRICTS = ("E1", "E2", "E3", "E5", "E8", "E9", "E10", "E14", "E15", "E17", "N1", "N16")
LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
DEMO_DAY = datetime(2026, 11, 23, tzinfo=UTC)  # a Monday
COUNCIL = "E09000030"
OTHER_COUNCILS = ("E09000012", "E09000025", "E09000031")


def nhs_number(rng: random.Random) -> str:
    """A random NHS number with a valid modulus-11 check digit."""
    while True:
        first = f"{rng.randrange(400_000_000, 1_000_000_000):09d}"
        check = nhs_check_digit(first)
        if check is not None:
            return first + str(check)


def postcode(rng: random.Random) -> str:
    return f"{rng.choice(DISTRICTS)} {rng.randrange(10)}{rng.choice(LETTERS)}{rng.choice(LETTERS)}"


def _nicknames() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in _GROUPS:
        full, *short = line.split()
        out.setdefault(full.capitalize(), []).extend(s.capitalize() for s in short)
    return out


NICKNAMES = _nicknames()


@dataclass
class Council:
    code: str
    records: list[dict[str, Any]]
    schools: list[str]

    def events(self) -> list[tuple[bytes, bytes]]:
        """(key, value) pairs for ``council.child-records.v1``."""
        return [
            (f"{r['council_code']}:{r['child_id']}".encode(), json.dumps(r).encode())
            for r in self.records
        ]


def council(seed: int, size: int = 5000, code: str = COUNCIL, at: datetime = DEMO_DAY) -> Council:
    """About ``size`` child records in households: siblings share a family name, address
    and household id; about 3 % of births are twins."""
    rng = random.Random(seed)
    schools = sorted({str(rng.randrange(100_000, 150_000)) for _ in range(60)})
    records: list[dict[str, Any]] = []
    household = 0
    while len(records) < size:
        household += 1
        family = rng.choice(FAMILY)
        home = {
            "address": f"{rng.randrange(1, 300)} {rng.choice(STREETS)} Road",
            "postcode": postcode(rng),
            "household_id": f"H-{household:06d}",
        }
        status = rng.choices(
            ["none", "child_in_need", "child_protection_plan", "looked_after", "early_help"],
            weights=[70, 12, 6, 5, 7],
        )[0]
        births: list[date] = []
        for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
            born = (at - timedelta(days=rng.randrange(0, 18 * 365))).date()
            births.append(born)
            if rng.random() < 0.03:
                births.append(born)  # a twin
        used: set[str] = set()
        for born in births:
            female = rng.random() < 0.5
            names = [n for n in (GIVEN_FEMALE if female else GIVEN_MALE) if n not in used]
            given = rng.choice(names)
            used.add(given)
            age = (at.date() - born).days // 365
            n = len(records)
            record: dict[str, Any] = {
                "event_id": f"{code}-rec-{seed}-{n}",
                "source": code,
                "produced_at": at.isoformat(),
                "council_code": code,
                "child_id": f"C-{n:07d}",
                "given_name": given,
                "family_name": family,
                "date_of_birth": born.isoformat(),
                "gender": "female" if female else "male",
                **home,
                "status": status,
                "updated_at": at.isoformat(),
            }
            if rng.random() < 0.97:
                record["nhs_number"] = nhs_number(rng)
            if 4 <= age <= 17:
                record["school_urn"] = rng.choice(schools)
            if status in {"child_in_need", "child_protection_plan", "looked_after"}:
                record["allocated_worker"] = f"SW-{rng.randrange(1, 120):03d}"
                record["allocated_team"] = f"TEAM-{rng.randrange(1, 12):02d}"
            records.append(record)
    return Council(code, records[:size], schools)


@dataclass(frozen=True)
class IncidentStream:
    """A day of incidents from one force about one council's area."""

    seed: int
    source: str = "MPS"
    start: datetime = DEMO_DAY
    span: timedelta = timedelta(days=1)
    known_share: float = 0.7  # children who are in the council's records
    invalid_rate: float = 0.03
    noise_rate: float = 0.3
    late_report_rate: float = 0.03  # reported 26 to 40 hours after the incident


@dataclass
class Incidents:
    events: list[tuple[bytes, bytes]]  # in the order the force publishes (by reported_at)
    truth: dict[str, str | None] = field(default_factory=dict)  # person ref -> record key
    reported: list[datetime] = field(default_factory=list)  # reported_at of each event


PERSON_FIELDS = (  # what a police record and a council record both hold about a child
    "given_name",
    "family_name",
    "date_of_birth",
    "gender",
    "address",
    "postcode",
    "nhs_number",
    "school_urn",
)


def _police_child(
    rng: random.Random, rec: dict[str, Any] | None, noise: float, at: datetime
) -> dict[str, Any]:
    if rec is None:  # a child the council does not know
        female = rng.random() < 0.5
        born = (at - timedelta(days=rng.randrange(0, 17 * 365))).date()
        rec = {
            "given_name": rng.choice(GIVEN_FEMALE if female else GIVEN_MALE),
            "family_name": rng.choice(FAMILY),
            "date_of_birth": born.isoformat(),
            "gender": "female" if female else "male",
            "postcode": postcode(rng),
            "address": f"{rng.randrange(1, 300)} {rng.choice(STREETS)} Road",
        }
        if rng.random() < 0.5:
            rec["nhs_number"] = nhs_number(rng)
        if (at.date() - born).days > 4 * 365:
            rec["school_urn"] = str(rng.randrange(100_000, 150_000))
    child: dict[str, Any] = {k: rec[k] for k in PERSON_FIELDS if k in rec}
    if rng.random() < 0.45:
        child.pop("nhs_number", None)  # police rarely have it
    if rng.random() < noise:
        kind = rng.randrange(5)
        given = child["given_name"]
        if kind == 0 and NICKNAMES.get(given):
            child["given_name"] = rng.choice(NICKNAMES[given])
        elif kind == 1 and len(given) > 4:
            i = rng.randrange(1, len(given) - 1)
            child["given_name"] = given[:i] + given[i + 1] + given[i] + given[i + 2 :]
        elif kind == 2:
            born = date.fromisoformat(child["date_of_birth"])
            if born.day <= 12 and born.day != born.month:
                child["date_of_birth"] = born.replace(month=born.day, day=born.month).isoformat()
        elif kind == 3:
            child["postcode"] = postcode(rng)  # moved house
            child["address"] = f"{rng.randrange(1, 300)} {rng.choice(STREETS)} Street"
        else:
            child["family_name"] = f"{child['family_name']}-{rng.choice(FAMILY)}"
    return child


def incidents(spec: IncidentStream, count: int, known: Council | None = None) -> Incidents:
    """``count`` (key, value) pairs for ``police.incidents.v1`` in the order the force
    publishes them (sequence numbers follow that order), and the true council record of
    each child (None for children the council does not know)."""
    rng = random.Random(spec.seed)
    by_household: dict[str, list[dict[str, Any]]] = {}
    for held in known.records if known else []:
        by_household.setdefault(held["household_id"], []).append(held)
    households = list(by_household.values())
    step = spec.span / max(count, 1)
    out = Incidents([])
    drafts: list[tuple[datetime, dict[str, Any], bool]] = []
    for n in range(count):
        occurred = spec.start + step * n
        reported = occurred + timedelta(minutes=rng.randrange(5, 240))
        if rng.random() < spec.late_report_rate:  # the failure inspectors keep finding
            reported = occurred + timedelta(hours=rng.randrange(26, 40))
        kind = rng.choices(list(IncidentType), weights=[30, 12, 8, 3, 10, 4, 4, 6, 4, 15, 4])[0]
        risk = rng.choices(list(RiskGrade), weights=[60, 28, 12])[0]
        reference = f"CAD-{occurred:%Y%m%d}-{n:06d}"
        chosen: list[dict[str, Any] | None]
        if households and rng.random() < spec.known_share:
            family = rng.choice(households)
            chosen = list(rng.sample(family, k=min(len(family), rng.choice((1, 1, 2, 3)))))
        else:
            chosen = [None] * rng.choice((1, 1, 2))
        children: list[dict[str, Any]] = []
        for rec in chosen:
            child = _police_child(rng, rec, spec.noise_rate, occurred)
            child["person_reference"] = f"P-{spec.seed}-{n}-{len(children)}"
            roles = [ChildRole.VICTIM, ChildRole.WITNESS, ChildRole.PRESENT]
            if kind is IncidentType.MISSING_CHILD:
                roles = [ChildRole.MISSING]
            elif kind is IncidentType.ARREST_OR_DETENTION:
                roles = [ChildRole.SUSPECT]
            child["role"] = rng.choice(roles).value
            if rng.random() < 0.05:
                child["home_council"] = rng.choice(OTHER_COUNCILS)
            out.truth[child["person_reference"]] = (
                f"{rec['council_code']}:{rec['child_id']}" if rec else None
            )
            children.append(child)
        incident: dict[str, Any] = {
            "event_id": f"{spec.source}-{spec.seed}-{n}",
            "schema_version": "1.0",
            "source": spec.source,
            "produced_at": reported.isoformat(),
            "incident_reference": reference,
            "incident_type": kind.value,
            "occurred_at": occurred.isoformat(),
            "reported_at": reported.isoformat(),
            "risk_grade": risk.value,
            "sequence": -1,  # numbered below, in the order the force publishes
            "location_postcode": postcode(rng),
            "injury": rng.random() < 0.1,
            "police_protection": kind is IncidentType.POLICE_PROTECTION,
            "circumstances": "Synthetic incident for the demo.",
            "children": children,
        }
        if kind is IncidentType.DOMESTIC_ABUSE:
            incident["dash_ticks"] = {"standard": 4, "medium": 10, "high": 16}[risk.value]
            incident["adult_victim_safe_contact"] = "Synthetic: call the IDVA duty line."
        drafts.append((reported, incident, rng.random() < spec.invalid_rate))
    drafts.sort(key=lambda d: d[0])
    for sequence, (reported, incident, invalid) in enumerate(drafts):
        incident["sequence"] = sequence
        key = f"{spec.source}:{incident['incident_reference']}".encode()
        value = json.dumps(incident).encode()
        if invalid:
            value = _invalid(rng, incident)
            for child in incident["children"]:
                out.truth.pop(child["person_reference"], None)
        out.events.append((key, value))
        out.reported.append(reported)
    return out


def _invalid(rng: random.Random, incident: dict[str, Any]) -> bytes:
    """Events that cannot be processed safely: they must reach the dead-letter topic."""
    kind = rng.randrange(4)
    if kind == 0:
        return json.dumps(incident).encode()[: rng.randrange(10, 60)]  # truncated JSON
    broken = dict(incident)
    if kind == 1:
        broken.pop("children")
    elif kind == 2:
        broken["occurred_at"] = broken["occurred_at"][:19]  # naive datetime
    else:
        broken["sequence"] = "unknown"
    return json.dumps(broken).encode()
