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
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from schemas.enums import ChildRole, IncidentType, RiskGrade
from schemas.identifiers import nhs_check_digit
from schemas.police import incident_key
from streams.matching import NICKNAME_GROUPS

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
# fmt: off
_FAMILY_HEADS = "Ash Brad Clay Dal Ever Fair Green Hart Kings Lang Mar Nor Oak Pen Red Rock Shel Stan Thorn Wes Whit Win Ald Bel Cor Dun Elm Fen Gar Hol Ing Kel Lind Mead Nether Pres Ros Sand Tal Wal".split()  # noqa: E501, SIM905
_FAMILY_TAILS = "ford ley ton worth field well wood man son by ham stead dale bury more wick cott ridge hurst shaw".split()  # noqa: E501, SIM905
_GIVEN_HEADS = "Al Ar Bel Cal Dar El Fin Ga Ha Is Ja Ka La Ma Na Ni Ra Ro Sa Ta Va Za Ke Lu".split()  # noqa: SIM905
# fmt: on
_GIVEN_TAILS = {
    "female": ("a", "ia", "ena", "ina", "elle", "ette", "ara"),
    "male": ("an", "en", "on", "o", "us", "iel", "ias"),
}


def _zipf(names: list[str], exponent: float) -> tuple[list[str], list[float]]:
    """Names with cumulative Zipf weights: a few very common, a long tail of rare ones."""
    total = 0.0
    cumulative = []
    for rank in range(1, len(names) + 1):
        total += rank**-exponent
        cumulative.append(total)
    return names, cumulative


# Common names first (the hand-written lists), then a long tail, as in the population.
FAMILY_DIST = _zipf(
    FAMILY + sorted({h + t.lower() for h in _FAMILY_HEADS for t in _FAMILY_TAILS} - set(FAMILY)),
    0.5,
)
GIVEN_DIST = {
    "female": _zipf(
        GIVEN_FEMALE
        + sorted({h + t for h in _GIVEN_HEADS for t in _GIVEN_TAILS["female"]} - set(GIVEN_FEMALE)),
        0.6,
    ),
    "male": _zipf(
        GIVEN_MALE
        + sorted({h + t for h in _GIVEN_HEADS for t in _GIVEN_TAILS["male"]} - set(GIVEN_MALE)),
        0.6,
    ),
}


def family_name(rng: random.Random) -> str:
    names, cumulative = FAMILY_DIST
    return rng.choices(names, cum_weights=cumulative)[0]


def given_name(rng: random.Random, female: bool) -> str:
    names, cumulative = GIVEN_DIST["female" if female else "male"]
    return rng.choices(names, cum_weights=cumulative)[0]


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


# Street types, most common first (as in Royal Mail's address file).
_STREET_TYPES = (
    "Road Street Avenue Close Lane Gardens Way Drive Crescent Grove Place Terrace".split()  # noqa: SIM905
)


def street_of(unit: str) -> str:
    """The street a postcode unit is on (here every unit is one street, as most are): the
    same postcode always the same street. One in ten is a name common across districts
    (High Street, Church Road), as in real towns, so "12 High Street" may be two homes."""
    h = zlib.crc32(unit.encode())
    if h % 10 == 0:
        return f"{STREETS[(h // 10) % len(STREETS)]} {_STREET_TYPES[(h // 120) % 2]}"
    head = _FAMILY_HEADS[(h // 10) % len(_FAMILY_HEADS)]
    tail = _FAMILY_TAILS[(h // 400) % len(_FAMILY_TAILS)]
    return f"{head}{tail} {_STREET_TYPES[(h // 8000) % len(_STREET_TYPES)]}"


def address_at(number: int, unit: str) -> str:
    return f"{number} {street_of(unit)}"


def _nicknames() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in NICKNAME_GROUPS:
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


def council(
    seed: int,
    size: int = 5000,
    code: str = COUNCIL,
    at: datetime = DEMO_DAY,
    twins: float = 0.03,
    siblings_for_all: bool = False,
) -> Council:
    """About ``size`` child records in households: siblings share a family name, address
    and household id; a share ``twins`` of births are twins. ``siblings_for_all`` gives
    every child at least one sibling in the records (the hardest case for the household
    rule)."""
    rng = random.Random(seed)
    schools = sorted({str(rng.randrange(100_000, 150_000)) for _ in range(60)})
    records: list[dict[str, Any]] = []
    household = 0
    while len(records) < size:
        household += 1
        family = family_name(rng)
        number = rng.randrange(1, 300)
        rng.choice(STREETS)  # (the street was drawn here once: the same data follows)
        unit = postcode(rng)
        home = {
            "address": address_at(number, unit),
            "postcode": unit,
            "household_id": f"H-{household:06d}",
        }
        status = rng.choices(
            ["none", "child_in_need", "child_protection_plan", "looked_after", "early_help"],
            weights=[70, 12, 6, 5, 7],
        )[0]
        births: list[date] = []
        sizes = (2, 2, 2, 3, 3, 4) if siblings_for_all else (1, 1, 2, 2, 3, 4)
        for _ in range(rng.choice(sizes)):
            born = (at - timedelta(days=rng.randrange(0, 18 * 365))).date()
            births.append(born)
            if rng.random() < twins:
                births.append(born)  # a twin
        used: set[str] = set()
        for born in births:
            female = rng.random() < 0.5
            given = given_name(rng, female)
            while given in used:  # siblings do not share a first name
                given = given_name(rng, female)
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
    # Known children recorded with two errors and no NHS number (a given name misspelt, a
    # date of birth a digit off): what the matcher must put to a person.
    hard_rate: float = 0.0


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


def _stranger(rng: random.Random, at: datetime, taken: set[str]) -> dict[str, Any]:
    """A child the council does not know, from a stream of its own (a stream shared with
    the council's would repeat its children), never with a known child's NHS number."""
    female = rng.random() < 0.5
    born = (at - timedelta(days=rng.randrange(0, 17 * 365))).date()
    rec = {
        "given_name": given_name(rng, female),
        "family_name": family_name(rng),
        "date_of_birth": born.isoformat(),
        "gender": "female" if female else "male",
        "postcode": postcode(rng),
        "address": "",
    }
    rec["address"] = address_at(rng.randrange(1, 300), rec["postcode"])
    rng.choice(STREETS)  # (as drawn before streets came from the postcode)
    if rng.random() < 0.5:
        number = nhs_number(rng)
        while number in taken:
            number = nhs_number(rng)
        rec["nhs_number"] = number
    if (at.date() - born).days > 4 * 365:
        rec["school_urn"] = str(rng.randrange(100_000, 150_000))
    return rec


def _police_child(
    rng: random.Random, rec: dict[str, Any], noise: float, at: datetime
) -> dict[str, Any]:
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
            child["address"] = address_at(rng.randrange(1, 300), child["postcode"])
            rng.choice(STREETS)
        else:
            child["family_name"] = f"{child['family_name']}-{family_name(rng)}"
    return child


def _two_errors(rng: random.Random, child: dict[str, Any]) -> None:
    child.pop("nhs_number", None)
    child["given_name"] = _typo(rng, child["given_name"])
    born = date.fromisoformat(child["date_of_birth"])
    child["date_of_birth"] = _digits_changed(rng, born, 1).isoformat()


def incidents(spec: IncidentStream, count: int, known: Council | None = None) -> Incidents:
    """``count`` (key, value) pairs for ``police.incidents.v1`` in the order the force
    publishes them (sequence numbers follow that order), and the true council record of
    each child (None for children the council does not know)."""
    rng = random.Random(spec.seed)
    strangers = random.Random(f"strangers-{spec.seed}")
    taken = {r["nhs_number"] for r in known.records if r.get("nhs_number")} if known else set()
    by_household: dict[str, list[dict[str, Any]]] = {}
    for record in known.records if known else []:
        by_household.setdefault(record["household_id"], []).append(record)
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
        for held in chosen:
            # None: a child the council does not know
            rec = held if held is not None else _stranger(strangers, occurred, taken)
            child = _police_child(rng, rec, spec.noise_rate, occurred)
            if held is not None and spec.hard_rate and rng.random() < spec.hard_rate:
                _two_errors(rng, child)
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
                f"{held['council_code']}:{held['child_id']}" if held else None
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
        key = incident_key(spec.source, incident["incident_reference"]).encode()
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


@dataclass(frozen=True)
class Corruption:
    """How often a police record of a child differs from the council's (per field)."""

    nickname: float = 0.10
    given_typo: float = 0.03
    family_variant: float = 0.04  # hyphenated / double-barrelled / one part dropped
    family_typo: float = 0.02
    names_swapped: float = 0.01
    dob_swapped: float = 0.03
    dob_one_digit: float = 0.02
    dob_missing: float = 0.04
    dob_approximate: float = 0.02
    moved: float = 0.15
    postcode_missing: float = 0.05
    school_changed: float = 0.08
    school_missing: float = 0.30
    gender_unknown: float = 0.03
    nhs_typo: float = 0.02  # a digit wrong: usually fails the check digit
    # Harsher corruption, off by default (the default benchmark and the demo keep their
    # data); ``HARSH`` turns them on.
    given_typo2: float = 0.0  # two letters wrong
    given_replaced: float = 0.0  # another name entirely (a "known as" name, a mistake)
    given_missing: float = 0.0
    family_typo2: float = 0.0
    dob_two_digits: float = 0.0
    dob_wrong_year: float = 0.0
    nhs_missing: float = 0.0  # not carried although the police could have it
    # The street address (house and street): not taken down, or written another way
    # (abbreviated, a flat prefix, the town added: the same address), or misspelt; the
    # postcode mistyped while the address is right.
    address_missing: float = 0.15
    address_restyled: float = 0.30
    street_typo: float = 0.03
    house_number_typo: float = 0.01
    postcode_typo: float = 0.02


STANDARD = Corruption()
HARSH = Corruption(
    nickname=0.10,
    given_typo=0.05,
    given_typo2=0.05,
    given_replaced=0.05,
    given_missing=0.05,
    family_variant=0.04,
    family_typo=0.04,
    family_typo2=0.03,
    names_swapped=0.05,
    dob_swapped=0.03,
    dob_one_digit=0.04,
    dob_missing=0.06,
    dob_approximate=0.02,
    dob_two_digits=0.03,
    dob_wrong_year=0.03,
    moved=0.20,
    postcode_missing=0.10,
    school_changed=0.10,
    school_missing=0.40,
    gender_unknown=0.05,
    nhs_typo=0.03,
    nhs_missing=0.10,
    address_missing=0.25,
    street_typo=0.06,
    house_number_typo=0.03,
    postcode_typo=0.06,
)


def _typo(rng: random.Random, name: str) -> str:
    if len(name) < 4:
        return name
    i = rng.randrange(1, len(name) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]  # transposition
    if kind == 1:
        return name[:i] + name[i + 1 :]  # deletion
    return name[:i] + rng.choice("aeiounrst") + name[i + 1 :]  # substitution


def _digits_changed(rng: random.Random, born: date, digits: int) -> date:
    """``born`` with ``digits`` of its day, month and year's last digit mistyped."""
    positions = (3, 4, 5, 6, 7)  # of YYYYMMDD: the year's last digit, month, day
    for _ in range(50):
        text = list(born.strftime("%Y%m%d"))
        for i in rng.sample(positions, digits):
            text[i] = rng.choice([d for d in "0123456789" if d != text[i]])
        try:
            changed = datetime.strptime("".join(text), "%Y%m%d").date()
        except ValueError:
            continue
        if changed != born:
            return changed
    return born


def police_view(
    rng: random.Random, record: dict[str, Any], with_nhs: bool, noise: Corruption = Corruption()
) -> dict[str, Any]:
    """The child as a police officer would record them, from the council's record."""
    child: dict[str, Any] = {
        "person_reference": f"P-{record['child_id']}",
        "role": "victim",
        "given_name": record["given_name"],
        "family_name": record["family_name"],
        "gender": record["gender"],
    }
    given = child["given_name"]
    if rng.random() < noise.nickname and NICKNAMES.get(given):
        child["given_name"] = rng.choice(NICKNAMES[given])
    elif rng.random() < noise.given_typo:
        child["given_name"] = _typo(rng, given)
    elif noise.given_typo2 and rng.random() < noise.given_typo2:
        child["given_name"] = _typo(rng, _typo(rng, given))
    elif noise.given_replaced and rng.random() < noise.given_replaced:
        while child["given_name"] == given:
            child["given_name"] = given_name(rng, record["gender"] == "female")
    if rng.random() < noise.family_variant:
        parts = child["family_name"].split("-")
        child["family_name"] = parts[0] if len(parts) > 1 else f"{parts[0]}-{family_name(rng)}"
    elif rng.random() < noise.family_typo:
        child["family_name"] = _typo(rng, child["family_name"])
    elif noise.family_typo2 and rng.random() < noise.family_typo2:
        child["family_name"] = _typo(rng, _typo(rng, child["family_name"]))
    if rng.random() < noise.names_swapped:
        child["given_name"], child["family_name"] = child["family_name"], child["given_name"]
    if noise.given_missing and rng.random() < noise.given_missing:
        del child["given_name"]
    born = date.fromisoformat(record["date_of_birth"]) if record.get("date_of_birth") else None
    roll = rng.random()
    if born is None or roll < noise.dob_missing:
        pass
    elif roll < noise.dob_missing + noise.dob_approximate:
        child["date_of_birth"] = date(born.year, 7, 1).isoformat()
        child["date_of_birth_approximate"] = True
    elif (
        roll < noise.dob_missing + noise.dob_approximate + noise.dob_swapped
        and born.day <= 12
        and born.day != born.month
    ):
        child["date_of_birth"] = born.replace(month=born.day, day=born.month).isoformat()
    elif roll < (
        noise.dob_missing + noise.dob_approximate + noise.dob_swapped + noise.dob_one_digit
    ):
        day = born.day % 10
        changed = born.replace(day=max(1, min(28, born.day - day + (day + 1) % 10)))
        child["date_of_birth"] = changed.isoformat()
    else:
        child["date_of_birth"] = born.isoformat()
    if born is not None and "date_of_birth" in child and "date_of_birth_approximate" not in child:
        if noise.dob_two_digits and rng.random() < noise.dob_two_digits:
            child["date_of_birth"] = _digits_changed(rng, born, 2).isoformat()
        elif noise.dob_wrong_year and rng.random() < noise.dob_wrong_year:
            year = born.year + rng.choice((-2, -1, 1, 1, 2))
            try:
                child["date_of_birth"] = born.replace(year=year).isoformat()
            except ValueError:  # 29 February
                child["date_of_birth"] = born.replace(year=year, day=28).isoformat()
    if rng.random() < noise.moved:
        child["postcode"] = postcode(rng)
    elif rng.random() >= noise.postcode_missing and record.get("postcode"):
        child["postcode"] = record["postcode"]
    if record.get("school_urn") and rng.random() >= noise.school_missing:
        changed_school = rng.random() < noise.school_changed
        child["school_urn"] = (
            str(rng.randrange(100_000, 150_000)) if changed_school else record["school_urn"]
        )
    if rng.random() < noise.gender_unknown:
        child["gender"] = "unknown"
    if noise.nhs_missing and with_nhs and rng.random() < noise.nhs_missing:
        with_nhs = False
    if with_nhs and record.get("nhs_number"):
        nhs = record["nhs_number"]
        if rng.random() < noise.nhs_typo:
            i = rng.randrange(10)
            nhs = nhs[:i] + str((int(nhs[i]) + 1) % 10) + nhs[i + 1 :]
        child["nhs_number"] = nhs
    _police_address(random.Random(rng.random()), record, child, noise)
    return child


_RESTYLED = {"Road": "Rd", "Street": "St", "Avenue": "Ave", "Close": "Cl", "Lane": "Ln",
             "Gardens": "Gdns", "Drive": "Dr", "Crescent": "Cres", "Grove": "Gr",
             "Place": "Pl", "Terrace": "Terr", "Way": "Way"}  # fmt: skip


def _police_address(
    rng: random.Random, record: dict[str, Any], child: dict[str, Any], noise: Corruption
) -> None:
    """The street address as an officer takes it down (from its own generator, so the
    rest of the police view is drawn as it was before addresses were compared)."""
    if not record.get("address") or rng.random() < noise.address_missing:
        return
    moved = child.get("postcode") not in (None, record.get("postcode"))
    if moved:  # a new home: its own street and number
        child["address"] = address_at(rng.randrange(1, 300), child["postcode"])
        return
    number, street = record["address"].split(" ", 1)
    if rng.random() < noise.house_number_typo:
        number = _typo_digits(rng, number)
    if rng.random() < noise.street_typo:
        name, _, kind = street.rpartition(" ")
        street = f"{_typo(rng, name)} {kind}"
    if rng.random() < noise.address_restyled:
        name, _, kind = street.rpartition(" ")
        street = f"{name} {_RESTYLED.get(kind, kind)}"
        styles = (f"{number} {street}", f"{number}, {street}, London", f"{number} {street.upper()}")
        child["address"] = rng.choice(styles)
    else:
        child["address"] = f"{number} {street}"
    if child.get("postcode") and rng.random() < noise.postcode_typo:
        child["postcode"] = _postcode_typo(rng, child["postcode"])


def _typo_digits(rng: random.Random, number: str) -> str:
    i = rng.randrange(len(number))
    return number[:i] + rng.choice([d for d in "0123456789" if d != number[i]]) + number[i + 1 :]


def _postcode_typo(rng: random.Random, unit: str) -> str:
    """One character of the inward code mistyped (the part after the space)."""
    outward, inward = unit.split()
    i = rng.randrange(3)
    pool = "0123456789" if i == 0 else LETTERS
    changed = rng.choice([c for c in pool if c != inward[i]])
    return f"{outward} {inward[:i]}{changed}{inward[i + 1 :]}"


def _unknown_sibling(rng: random.Random, known: dict[str, Any]) -> dict[str, Any]:
    """A brother, sister or (one time in twenty) twin of a known child, not on record."""
    female = rng.random() < 0.5
    given = known["given_name"]
    while given == known["given_name"]:
        given = given_name(rng, female)
    theirs = date.fromisoformat(known["date_of_birth"])
    born = theirs
    if rng.random() >= 0.05:  # not a twin: born at least ten months apart
        while abs((born - theirs).days) < 300:
            born = (DEMO_DAY - timedelta(days=rng.randrange(0, 18 * 365))).date()
    sibling = {k: known[k] for k in ("family_name", "address", "postcode", "household_id")}
    sibling |= {
        "child_id": "unknown",
        "given_name": given,
        "date_of_birth": born.isoformat(),
        "gender": "female" if female else "male",
        "nhs_number": nhs_number(rng),
    }
    if known.get("school_urn") and rng.random() < 0.5:
        sibling["school_urn"] = known["school_urn"]
    return sibling


@dataclass
class MatchingCase:
    child: dict[str, Any]
    truth: str | None  # the council record key, None for a child the council does not know
    household: str | None = None  # an unrecorded sibling's household on the council's side


def matching_cases(
    seed: int,
    known: Council,
    count: int,
    with_nhs: bool,
    unknown_share: float = 0.2,
    noise: Corruption = Corruption(),
    unknown_siblings: float = 0.0,
) -> list[MatchingCase]:
    """Police-side children: most derived from council records with ``noise``, the rest
    children the council has never heard of (drawn from the same population; a share
    ``unknown_siblings`` of them a brother, sister or twin of a known child)."""

    def view(rng: random.Random, record: dict[str, Any]) -> dict[str, Any]:
        return police_view(rng, record, with_nhs, noise)

    return cases_through(view, seed, known, count, unknown_share, unknown_siblings, seed + 10_000)


def cases_through(
    view: Callable[[random.Random, dict[str, Any]], dict[str, Any]],
    seed: int,
    known: Council,
    count: int,
    unknown_share: float,
    unknown_siblings: float,
    strangers_seed: int,
) -> list[MatchingCase]:
    """Police-side children as ``view`` (an error model) takes them down from council
    records: known children, and a share ``unknown_share`` the council has never heard
    of (strangers drawn with ``strangers_seed``, a share ``unknown_siblings`` of them a
    brother, sister or twin of a known child)."""
    rng = random.Random(seed)
    strangers = council(strangers_seed, max(1, int(count * unknown_share)), code="OTHER")
    cases = []
    for n in range(count):
        if rng.random() < unknown_share:
            record = strangers.records[n % len(strangers.records)]
            household = None
            if unknown_siblings and rng.random() < unknown_siblings:
                record = _unknown_sibling(rng, rng.choice(known.records))
                household = record["household_id"]
            child = view(rng, record)
            child["person_reference"] = f"U-{n}"
            cases.append(MatchingCase(child, None, household))
        else:
            record = rng.choice(known.records)
            truth = f"{record['council_code']}:{record['child_id']}"
            cases.append(MatchingCase(view(rng, record), truth))
    return cases
