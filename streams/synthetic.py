"""Deterministic synthetic data for the demo, tests and benchmarks: invented people only.

The same seed always gives the same events, so a demo run or a benchmark can be repeated.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from schemas.enums import ChildRole, Gender, IncidentType, RiskGrade
from schemas.identifiers import nhs_check_digit

GIVEN_FEMALE = [
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Ivy",
    "Freya",
    "Lily",
    "Florence",
    "Mia",
    "Willow",
    "Rosie",
    "Sophia",
    "Isabella",
    "Grace",
    "Daisy",
    "Sienna",
    "Poppy",
    "Elsie",
    "Emily",
    "Ella",
    "Evelyn",
    "Phoebe",
    "Sofia",
    "Evie",
    "Charlotte",
    "Harper",
    "Matilda",
    "Aisha",
    "Zara",
    "Maryam",
    "Amira",
    "Hannah",
    "Chloe",
    "Jessica",
    "Ruby",
    "Millie",
    "Layla",
    "Eliza",
    "Maisie",
    "Alice",
]
GIVEN_MALE = [
    "Noah",
    "Oliver",
    "George",
    "Arthur",
    "Muhammad",
    "Leo",
    "Harry",
    "Oscar",
    "Archie",
    "Henry",
    "Theodore",
    "Freddie",
    "Jack",
    "Charlie",
    "Theo",
    "Alfie",
    "Jacob",
    "Thomas",
    "Finley",
    "Arlo",
    "William",
    "Lucas",
    "Roman",
    "Tommy",
    "Isaac",
    "Teddy",
    "Alexander",
    "Luca",
    "Edward",
    "James",
    "Joshua",
    "Albie",
    "Elijah",
    "Max",
    "Mohammed",
    "Reggie",
    "Joseph",
    "Ibrahim",
    "Daniel",
    "Samuel",
]
FAMILY = [
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "Lewis",
    "Harris",
    "Clarke",
    "Patel",
    "Jackson",
    "Wood",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Morris",
    "Moore",
    "Clark",
    "Lee",
    "King",
    "Baker",
    "Harrison",
    "Morgan",
    "Allen",
    "James",
    "Scott",
    "Phillips",
    "Watson",
    "Davis",
    "Parker",
    "Price",
    "Bennett",
    "Young",
    "Griffiths",
    "Mitchell",
    "Kelly",
    "Cook",
    "Carter",
    "Richardson",
    "Bailey",
    "Collins",
    "Bell",
    "Shaw",
    "Murphy",
    "Miller",
    "Cox",
    "Richards",
    "Khan",
    "Marshall",
    "Anderson",
    "Simpson",
    "Ellis",
    "Adams",
    "Singh",
    "Begum",
    "Wilkinson",
    "Foster",
    "Chapman",
    "Powell",
    "Webb",
    "Rogers",
    "Gray",
    "Mason",
    "Ali",
    "Hussain",
    "Campbell",
    "Matthews",
    "Owen",
    "Palmer",
    "Holmes",
    "Mills",
    "Barnes",
    "Knight",
    "Lloyd",
    "Butler",
    "Russell",
    "Barker",
]
STREETS = [
    "High",
    "Church",
    "Station",
    "Park",
    "Victoria",
    "Mill",
    "School",
    "Manor",
    "Queens",
    "Kings",
    "Albert",
    "Grange",
]
DISTRICTS = ("E1", "E2", "E3", "E5", "E8", "E9", "E10", "E14", "E15", "E17", "N1", "N16")


def nhs_number(rng: random.Random) -> str:
    """A random NHS number with a valid modulus-11 check digit."""
    while True:
        first = f"{rng.randrange(400_000_000, 1_000_000_000):09d}"
        check = nhs_check_digit(first)
        if check is not None:
            return first + str(check)


def postcode(rng: random.Random) -> str:
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    inward = f"{rng.randrange(10)}{rng.choice(letters)}{rng.choice(letters)}"
    return f"{rng.choice(DISTRICTS)} {inward}"


def school_urn(rng: random.Random) -> str:
    return str(rng.randrange(100_000, 150_000))


DEMO_DAY = datetime(2026, 11, 23, tzinfo=UTC)


@dataclass(frozen=True)
class IncidentStream:
    """Settings for a stream of incidents from one force."""

    seed: int
    source: str = "MPS"
    start: datetime = DEMO_DAY
    span: timedelta = timedelta(days=1)
    invalid_rate: float = 0.05
    noise_rate: float = 0.08


def _child(rng: random.Random, index: int, family: str, occurred: datetime) -> dict[str, Any]:
    female = rng.random() < 0.5
    age_days = rng.randrange(0, 17 * 365)
    child: dict[str, Any] = {
        "person_reference": f"P-{rng.randrange(10**8):08d}",
        "role": rng.choice(list(ChildRole)).value,
        "given_name": rng.choice(GIVEN_FEMALE if female else GIVEN_MALE),
        "family_name": family,
        "date_of_birth": (occurred.date() - timedelta(days=age_days)).isoformat(),
        "gender": (Gender.FEMALE if female else Gender.MALE).value,
        "address": f"{rng.randrange(1, 200)} {rng.choice(STREETS)} Road",
        "postcode": postcode(rng),
    }
    if rng.random() < 0.6:
        child["nhs_number"] = nhs_number(rng)
    if age_days > 4 * 365 and rng.random() < 0.9:
        child["school_urn"] = school_urn(rng)
    return child


def _noise(rng: random.Random, incident: dict[str, Any]) -> None:
    """The mistakes real systems make in optional fields: kept as data-quality warnings."""
    child = rng.choice(incident["children"])
    kind = rng.randrange(3)
    if kind == 0 and "nhs_number" in child:
        digits = child["nhs_number"]
        child["nhs_number"] = digits[:9] + str((int(digits[9]) + 1) % 10)
    elif kind == 1:
        child["postcode"] = child["postcode"].replace(" ", "")[:-1]
    else:
        dob = date.fromisoformat(child["date_of_birth"])
        child["date_of_birth"] = f"{dob.year}-{dob.month:02d}-3{dob.day % 2 + 1}"


def _invalid(rng: random.Random, incident: dict[str, Any]) -> bytes:
    """Events that cannot be processed safely: they must reach the dead-letter topic."""
    kind = rng.randrange(4)
    if kind == 0:
        return json.dumps(incident).encode()[: rng.randrange(10, 60)]  # truncated JSON
    if kind == 1:
        incident.pop("children")
    elif kind == 2:
        incident["occurred_at"] = incident["occurred_at"][:19]  # naive datetime
    else:
        incident["sequence"] = "unknown"
    return json.dumps(incident).encode()


def incidents(spec: IncidentStream, count: int) -> Iterator[tuple[bytes, bytes]]:
    """``count`` (key, value) pairs for ``police.incidents.v1``, in occurrence order."""
    rng = random.Random(spec.seed)
    step = spec.span / max(count, 1)
    for n in range(count):
        occurred = spec.start + step * n
        reported = occurred + timedelta(minutes=rng.randrange(5, 240))
        family = rng.choice(FAMILY)
        kind = rng.choices(list(IncidentType), weights=[30, 12, 8, 3, 10, 4, 4, 6, 4, 15, 4], k=1)[
            0
        ]
        risk = rng.choices(list(RiskGrade), weights=[60, 28, 12], k=1)[0]
        reference = f"CAD-{occurred:%Y%m%d}-{n:06d}"
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
            "sequence": n,
            "location_postcode": postcode(rng),
            "circumstances": "Synthetic incident for the demo.",
            "children": [_child(rng, i, family, occurred) for i in range(rng.choice((1, 1, 2, 3)))],
        }
        if kind is IncidentType.DOMESTIC_ABUSE:
            incident["dash_ticks"] = {"standard": 4, "medium": 10, "high": 16}[risk.value]
        if rng.random() < spec.noise_rate:
            _noise(rng, incident)
        key = f"{spec.source}:{reference}".encode()
        if rng.random() < spec.invalid_rate:
            yield key, _invalid(rng, incident)
        else:
            yield key, json.dumps(incident).encode()
