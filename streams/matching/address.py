"""A UK address as the matcher compares it: the home (house number or name, and a flat
within it) and the street, normalised. Pure.

The postcode is the part of an address most often wrong (mistyped, or last year's), and
two children at one house number on one street are one household whatever the postcode
says; a child who has moved has a different street or number as well. So the street
address is compared beside the postcode, never instead of it. Locality and town, in a
part of their own (after a comma), are left out: the postcode district says as much, and
they are written in too many ways.

Normalised: letters folded to ASCII lower case, punctuation dropped, street-type
abbreviations expanded (Rd, St, Ave, Cres ...), "Saint" for a leading St, and flat, unit
and apartment prefixes taken out into ``flat``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

import jellyfish
from rapidfuzz.distance import JaroWinkler, Levenshtein

# The usual abbreviations of street types and address words (Royal Mail's PAF writes
# them out in full).
_EXPANSIONS = {
    "rd": "road",
    "st": "street",
    "str": "street",
    "ave": "avenue",
    "av": "avenue",
    "avn": "avenue",
    "ln": "lane",
    "la": "lane",
    "cl": "close",
    "cres": "crescent",
    "cresc": "crescent",
    "cr": "crescent",
    "dr": "drive",
    "drv": "drive",
    "gdns": "gardens",
    "gdn": "garden",
    "gr": "grove",
    "gro": "grove",
    "grv": "grove",
    "pl": "place",
    "sq": "square",
    "ter": "terrace",
    "terr": "terrace",
    "tce": "terrace",
    "ct": "court",
    "crt": "court",
    "pk": "park",
    "pde": "parade",
    "wy": "way",
    "wlk": "walk",
    "hse": "house",
    "ho": "house",
    "mt": "mount",
    "mews": "mews",
    "bldgs": "buildings",
    "est": "estate",
    "hts": "heights",
    "hl": "hill",
    "grn": "green",
    "cotts": "cottages",
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
    "upr": "upper",
    "lwr": "lower",
}
_FLAT_WORDS = frozenset({"flat", "flt", "apartment", "apt", "unit", "room", "maisonette"})
_NUMBER = re.compile(r"^\d+[a-z]?$")
_RANGE = re.compile(r"^(\d+[a-z]?)-\d+[a-z]?$")  # 12-14: the first number names it
_SPLIT = re.compile(r"[,\n;]+")


class Address(NamedTuple):
    """The home and street of an address, normalised (``home`` is a house number such
    as ``12a``, or a house name where there is no number); ``key`` (home and street
    together: what two records at one address share) and ``code`` (the phonetic code of
    the street's first word, half a blocking key) are worked out once, here."""

    home: str | None
    street: str | None
    flat: str | None = None
    key: str | None = None
    code: str = ""


def _address(home: str | None, street: str | None, flat: str | None) -> Address:
    key = f"{home} {street}" if home and street else None
    return Address(home, street, flat, key, street_code(street) if street else "")


def _words(text: str) -> list[str]:
    if text.isascii():
        folded = text.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", text)
        folded = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    # Apostrophes join (St Mary's -> marys); other punctuation separates, but a hyphen
    # or slash between digits stays (12-14, 3/12).
    folded = folded.replace("'", "").replace("\u2019", "")
    folded = re.sub(r"(?<=\d)\s*([-/])\s*(?=\d)", r"\1", folded)
    folded = re.sub(r"(?<!\d)-|-(?!\d)", " ", folded)  # Smith-Jones Road: two words
    return re.sub(r"[^a-z0-9/\-]+", " ", folded).split()


def _expand(words: list[str]) -> list[str]:
    """Abbreviations written out; a leading St followed by a name is a saint (St Mary's
    Road), anywhere else a street (Church St)."""
    return [
        "saint" if w == "st" and i == 0 and len(words) > 1 else _EXPANSIONS.get(w, w)
        for i, w in enumerate(words)
    ]


_PLAIN = re.compile(r"(\d+[a-z]?) ([a-z ]+)")  # "12 acacia road": most addresses


@lru_cache(maxsize=262_144)
def parse_address(text: str | None) -> Address | None:
    """The home, street and flat of an address line such as "Flat 3, 12a Acacia Rd,
    Tottenham"; None when there is nothing to compare."""
    if not text:
        return None
    plain = _PLAIN.fullmatch(text.lower()) if text.isascii() else None
    if plain is not None and not _FLAT_WORDS.intersection(plain.group(2).split()):
        return _address(plain.group(1), " ".join(_expand(plain.group(2).split())), None)
    parts = [p for p in (_words(part) for part in _SPLIT.split(text)) if p]
    if not parts:
        return None
    flat: str | None = None
    tokens: list[list[str]] = []
    for part in parts:
        kept: list[str] = []
        i = 0
        while i < len(part):
            if part[i] in _FLAT_WORDS and i + 1 < len(part):
                flat = part[i + 1]
                i += 2
                continue
            if "/" in part[i] and flat is None:  # 3/12: flat 3 at number 12
                first, _, rest = part[i].partition("/")
                if first.isdigit() and _NUMBER.match(rest):
                    flat, part[i] = first, rest
            kept.append(part[i])
            i += 1
        if kept:
            tokens.append(kept)
    for n, part in enumerate(tokens):
        for i, word in enumerate(part):
            ranged = _RANGE.match(word)
            if _NUMBER.match(word) or ranged:
                home = ranged.group(1) if ranged else word
                # The street follows the number, or the next part; rarely, precedes it.
                street = part[i + 1 :] or (tokens[n + 1] if n + 1 < len(tokens) else part[:i])
                return _address(home, " ".join(_expand(street)) or None, flat)
    # No number: a house name, then the street (if a second part names one).
    if not tokens:
        return _address(None, None, flat)
    name = " ".join(_expand(tokens[0]))
    return _address(name, " ".join(_expand(tokens[1])) if len(tokens) > 1 else None, flat)


@lru_cache(maxsize=65_536)
def street_code(street: str) -> str:
    first = next((w for w in street.split() if w not in ("saint", "the")), street)
    return str(jellyfish.metaphone(first)) if first else ""


@lru_cache(maxsize=262_144)
def same_street(a: str, b: str) -> bool:
    """The same street, allowing a misspelling: one letter in a name of four or more,
    two in one of eight or more, or Jaro-Winkler of at least 0.92 (the same start)."""
    if a == b:
        return True
    if a.replace(" ", "") == b.replace(" ", ""):
        return True  # Thred Gold Road / Thredgold Road
    shortest = min(len(a), len(b))
    edits = Levenshtein.distance(a, b, score_cutoff=2)
    if a[0] != b[0]:
        return False
    return (
        (shortest >= 4 and edits == 1)
        or (shortest >= 8 and edits <= 2)
        or JaroWinkler.similarity(a, b) >= 0.92
    )


def same_home(a: str, b: str) -> bool:
    """The same house number or name: equal, or a house name misspelt by one letter. A
    number one digit off is a neighbour as often as a slip, so numbers must be equal."""
    if a == b:
        return True
    if a[0].isdigit() or b[0].isdigit():
        return False
    return min(len(a), len(b)) >= 5 and Levenshtein.distance(a, b, score_cutoff=1) <= 1
