"""Police-side children corrupted by a *published* error model, not by frontdoor's own.

frontdoor's matcher is estimated and tuned on its own noise (``synthetic.Corruption``):
a benchmark on that noise measures how well the matcher fits what its authors imagined.
This one follows the data generator of Febrl (Christen, "Probabilistic data generation
for deduplication and data linkage", IDEAL 2005; ``dsgen/generate.py`` of Febrl 0.4.2),
with that program's default parameters, which it derives from the studies of
typographical errors it cites (Damerau 1964, Pollock and Zamora 1984, Peterson 1986,
Kukich 1992):

* each corrupted record gets 1 to ``MAX_PER_RECORD`` modifications, each in a field
  chosen by the field's selection probability, at most ``MAX_PER_FIELD`` in one field;
* a modification is one of: insert, delete, substitute or transpose a character;
  replace the value with another of its kind; swap two words; insert or delete a space;
  lose the value; or a misspelling; with each field's own probabilities (below);
* an edit falls around the middle of a word (Gaussian, mean one past half the length,
  s.d. 1: "errors do not likely appear at the beginning of a word");
* a substituted character is a keyboard neighbour in the same row (40 %), the same
  column (30 %), or any other (30 %);
* given and family names are swapped in 5 % of records.

Febrl's misspellings come from its own tables of (Australian) names; here that share
is a phonetic or OCR variant of the kind GeCo (Christen and Vatsalan 2013) generates:
ph/f, ck/k, y/i, ie/y and doubled letters; rn/m, cl/d, li/h, 0/o, 1/l, 5/s. Fields
Febrl has no twin for are mapped onto its nearest: the NHS number as its social
security id, the house number as its street number, the street as its address_1.

Nothing here was tuned to the matcher, and the matcher is never estimated on it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from typing import Any

from streams.tools.synthetic import (
    DEMO_DAY,
    Council,
    MatchingCase,
    address_at,
    cases_through,
    family_name,
    given_name,
    postcode,
)

MAX_PER_RECORD = 3
MAX_PER_FIELD = 2
SWAP_NAMES = 0.05  # Febrl: field_swap_prob[(given_name, surname)]


@dataclass(frozen=True)
class FieldErrors:
    """One field's Febrl parameters: how often it is chosen, and the share of each kind
    of modification (they add up to 1)."""

    select: float
    ins: float = 0.0
    delete: float = 0.0
    sub: float = 0.0
    trans: float = 0.0
    val_swap: float = 0.0
    wrd_swap: float = 0.0
    spc_ins: float = 0.0
    spc_del: float = 0.0
    miss: float = 0.0
    misspell: float = 0.0


# Febrl 0.4.2 generate.py's field dictionaries (select_prob, then the modifications).
FIELDS = {
    "given_name": FieldErrors(
        0.10, 0.05, 0.15, 0.35, 0.05, 0.02, 0.02, 0.01, 0.01, 0.02, misspell=0.30
    ),
    "family_name": FieldErrors(
        0.15, 0.10, 0.10, 0.35, 0.04, 0.02, 0.02, 0.01, 0.02, 0.02, misspell=0.30
    ),
    "house_number": FieldErrors(0.10, 0.10, 0.15, 0.60, 0.05, 0.05, 0.01, miss=0.02),
    "street": FieldErrors(0.10, 0.10, 0.15, 0.55, 0.05, 0.02, 0.03, 0.02, 0.03, 0.04),
    "postcode": FieldErrors(0.05, sub=0.35, trans=0.60, val_swap=0.03, miss=0.01),
    "date_of_birth": FieldErrors(0.10, sub=0.50, trans=0.30, val_swap=0.05, miss=0.10),
    "nhs_number": FieldErrors(0.05, sub=0.50, trans=0.40, val_swap=0.10),
}
_KINDS = (
    *("ins", "delete", "sub", "trans", "val_swap", "wrd_swap", "spc_ins", "spc_del"),
    *("miss", "misspell"),
)

_ROWS = {
    "a": "s", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "w", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "x", "1": "2", "2": "13", "3": "24", "4": "35", "5": "46", "6": "57",
    "7": "68", "8": "79", "9": "80", "0": "9",
}  # fmt: skip
_COLUMNS = {
    "a": "qzw", "b": "gh", "c": "df", "d": "erc", "e": "d", "f": "rvc", "g": "tbv",
    "h": "ybn", "i": "k", "j": "umn", "k": "im", "l": "o", "m": "jk", "n": "hj", "o": "l",
    "p": "p", "q": "a", "r": "f", "s": "wxz", "t": "gf", "u": "j", "v": "fg", "w": "s",
    "x": "sd", "y": "h", "z": "as",
}  # fmt: skip
_VARIANTS = (  # GeCo-style phonetic and OCR variants, either way round
    ("ph", "f"), ("ck", "k"), ("y", "i"), ("ie", "y"), ("ou", "ow"), ("ai", "ay"),
    ("ll", "l"), ("tt", "t"), ("nn", "n"), ("ss", "s"), ("rn", "m"), ("cl", "d"),
    ("li", "h"), ("o", "0"), ("l", "1"), ("s", "5"),
)  # fmt: skip


def _position(rng: random.Random, text: str, offset: int) -> int:
    """Where an edit falls: around the middle of the word, rarely at its start."""
    last = len(text) - 1 + offset
    middle = (len(text) + offset) / 2 + 1
    return max(0, min(round(rng.gauss(middle, 1.0)), last))


def _character(rng: random.Random, old: str, digits: bool) -> str:
    roll = rng.random()
    lower = old.lower()
    if roll <= 0.40 and lower in _ROWS and (digits == lower.isdigit()):
        new = rng.choice(_ROWS[lower])
    elif roll <= 0.70 and lower in _COLUMNS and not digits:
        new = rng.choice(_COLUMNS[lower])
    else:
        pool = "0123456789" if digits else "abcdefghijklmnopqrstuvwxyz"
        new = rng.choice(pool.replace(lower, ""))
    return new.upper() if old.isupper() else new


def _edit(rng: random.Random, kind: str, text: str, digits: bool) -> str:
    """One character-level modification of ``text`` (unchanged where it cannot apply)."""
    if not text:
        return text
    if kind == "ins":
        i = _position(rng, text, 1)
        return text[:i] + _character(rng, text[min(i, len(text) - 1)], digits) + text[i:]
    if kind == "delete" and len(text) > 1:
        i = _position(rng, text, 0)
        return text[:i] + text[i + 1 :]
    if kind == "sub":
        i = _position(rng, text, 0)
        return text[:i] + _character(rng, text[i], digits) + text[i + 1 :]
    if kind == "trans" and len(text) > 1:
        i = _position(rng, text, -1)
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == "wrd_swap" and " " in text.strip():
        words = text.split()
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
        return " ".join(words)
    if kind == "spc_ins" and len(text) > 1:
        i = max(1, _position(rng, text, 0))
        return text[:i] + " " + text[i:]
    if kind == "spc_del" and " " in text:
        i = rng.choice([n for n, c in enumerate(text) if c == " "])
        return text[:i] + text[i + 1 :]
    if kind == "misspell":
        lower = text.lower()
        found = [(a, b) for a, b in _VARIANTS if a in lower] + [
            (b, a) for a, b in _VARIANTS if b in lower
        ]
        if found:
            a, b = rng.choice(found)
            i = lower.index(a)
            return text[:i] + (b.capitalize() if i == 0 else b) + text[i + len(a) :]
        return _edit(rng, "sub", text, digits)
    return text


def _replaced(rng: random.Random, field: str, child: dict[str, Any]) -> Any:
    """Febrl's value swap: another value of the field's kind."""
    female = child.get("gender") == "female"
    if field == "given_name":
        return given_name(rng, female)
    if field == "family_name":
        return family_name(rng)
    if field == "house_number":
        return str(rng.randrange(1, 300))
    if field == "street":
        return address_at(1, postcode(rng)).split(" ", 1)[1]
    if field == "postcode":
        return postcode(rng)
    if field == "date_of_birth":
        return date.fromordinal(DEMO_DAY.date().toordinal() - rng.randrange(0, 18 * 365))
    return None


def _text(field: str, value: Any) -> str:
    if isinstance(value, date):
        return value.strftime("%d%m%Y")  # typed as a police form has it: DDMMYYYY
    return str(value)


def _value(field: str, text: str, old: Any) -> Any:
    if field == "date_of_birth":
        try:
            return date(int(text[4:8]), int(text[2:4]), int(text[0:2]))
        except ValueError:
            return None  # not a date any more: validation drops it, as it would a typo
    if field == "postcode":
        return text if len(text.split()) == 2 else old  # still shaped like one
    return text


def corrupt(rng: random.Random, record: dict[str, Any], with_nhs: bool) -> dict[str, Any]:
    """A council record as a police-side child, with Febrl's errors."""
    number, _, street = (record.get("address") or " ").partition(" ")
    fields: dict[str, Any] = {
        "given_name": record["given_name"],
        "family_name": record["family_name"],
        "house_number": number or None,
        "street": street or None,
        "postcode": record.get("postcode"),
        "date_of_birth": date.fromisoformat(record["date_of_birth"]),
        "nhs_number": record.get("nhs_number") if with_nhs else None,
    }
    present = [f for f, v in fields.items() if v]
    changes: dict[str, int] = {}
    for _ in range(rng.randint(1, MAX_PER_RECORD)):
        candidates = [f for f in present if changes.get(f, 0) < MAX_PER_FIELD and fields[f]]
        if not candidates:
            break
        field = rng.choices(candidates, weights=[FIELDS[f].select for f in candidates])[0]
        changes[field] = changes.get(field, 0) + 1
        errors = FIELDS[field]
        kind = rng.choices(_KINDS, weights=[getattr(errors, k) for k in _KINDS])[0]
        if kind == "miss":
            fields[field] = None
        elif kind == "val_swap":
            fields[field] = _replaced(rng, field, record) or fields[field]
        else:
            digits = field in ("house_number", "date_of_birth", "nhs_number")
            text = _edit(rng, kind, _text(field, fields[field]), digits)
            fields[field] = _value(field, text, fields[field])
    if rng.random() < SWAP_NAMES:
        fields["given_name"], fields["family_name"] = fields["family_name"], fields["given_name"]
    child: dict[str, Any] = {
        "person_reference": f"P-{record['child_id']}",
        "role": "victim",
        "gender": record["gender"],
    }
    for name in ("given_name", "family_name", "postcode", "nhs_number"):
        if fields[name]:
            child[name] = fields[name]
    if fields["date_of_birth"]:
        child["date_of_birth"] = fields["date_of_birth"].isoformat()
    if fields["house_number"] and fields["street"]:
        child["address"] = f"{fields['house_number']} {fields['street']}"
    if record.get("school_urn"):
        child["school_urn"] = record["school_urn"]
    return child


def cases(
    seed: int,
    known: Council,
    count: int,
    with_nhs: bool,
    unknown_share: float = 0.2,
    unknown_siblings: float = 0.25,
) -> list[MatchingCase]:
    """Police-side children through Febrl's model: most of them known children, the rest
    children the council has never heard of (a share of those a brother, sister or twin
    of a known child, sharing their home)."""

    def view(rng: random.Random, record: dict[str, Any]) -> dict[str, Any]:
        return corrupt(rng, record, with_nhs)

    return cases_through(view, seed, known, count, unknown_share, unknown_siblings, seed + 20_000)
