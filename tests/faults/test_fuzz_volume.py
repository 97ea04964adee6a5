"""Fuzzing at volume (``make faults``: 120,000 inputs; ``make test``: 3,000): random bytes,
byte mutations of valid events, odd values in valid events, and the hostile inputs
seen so far, against every inbound contract. No exception escapes validation, and
whatever comes back can be written."""

from __future__ import annotations

import json
import random
import time
from typing import Any

from tests import factories
from tests.faults.harness import FULL, record
from tests.integration.test_hostile_input import hostile
from tests.unit.test_validation_fuzz import CONTRACTS, total

INPUTS = 120_000 if FULL else 3_000
ODD: list[Any] = [
    None,
    True,
    -1,
    2**70,
    1e308,
    "",
    "Zeb\u202eedee",
    "\x00",
    [],
    {},
    [[[]]],
    "9" * 50,
]


def mutated(rng: random.Random, raw: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(data) + 1)
        edit = rng.randrange(4)
        if edit == 0 and at < len(data):
            data[at] = rng.randrange(256)
        elif edit == 1:
            data[at:at] = rng.randbytes(rng.randint(1, 8))
        elif edit == 2:
            del data[at : at + rng.randint(1, 16)]
        else:
            data[at:at] = data[at : at + rng.randint(1, 64)] * rng.randint(1, 4)
    return bytes(data)


def odd_values(rng: random.Random, name: str) -> bytes:
    event = factories.example(name)
    target = event
    if name == "police-incident" and rng.random() < 0.5:
        target = rng.choice(event["children"])
    for _ in range(rng.randint(1, 4)):
        target[rng.choice([*target, "unknown_field"])] = rng.choice(ODD)
    return json.dumps(event).encode()


def test_a_hundred_thousand_inputs_and_not_one_exception() -> None:
    rng = random.Random(16)
    poison = hostile()
    valid = {name: json.dumps(factories.example(name)).encode() for _, name in CONTRACTS}
    began = time.monotonic()
    escaped = 0
    for n in range(INPUTS):
        model, name = CONTRACTS[n % len(CONTRACTS)]
        kind = n % 4
        if kind == 0:
            raw = rng.randbytes(rng.randint(0, 512))
        elif kind == 1:
            raw = mutated(rng, valid[name])
        elif kind == 2:
            raw = odd_values(rng, name)
        else:
            raw = mutated(rng, rng.choice(poison)) if rng.random() < 0.5 else rng.choice(poison)
        try:
            total(model, raw)
        except Exception:
            escaped += 1
    seconds = time.monotonic() - began
    record(
        fault="fuzzing every inbound contract",
        tries=INPUTS,
        load=f"{len(CONTRACTS)} contracts; random bytes, mutations, odd values, hostile inputs",
        exceptions=escaped,
        seconds=round(seconds, 1),
    )
    assert escaped == 0
