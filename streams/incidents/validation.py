"""Bytes off a topic to a validated event, or to a dead letter that says why.

Pure: no Kafka, no clock of its own. Total: for any bytes ``validate`` returns the event
or a dead letter, and never raises, so one hostile message cannot take the events
beside it down. Nothing is dropped silently.

One strict parser serves every inbound contract: UTF-8 JSON only (no byte order mark,
no lone surrogates), no duplicate keys, no NaN or Infinity, at most ``MAX_DEPTH`` levels
of nesting, numbers of at most ``MAX_NUMBER_CHARS`` characters, strings of at most
``MAX_STRING_CHARS``, and events of at most ``MAX_EVENT_BYTES`` (the contract's limit).
Every reason names the field and the kind of error, never the value. A dead letter
always fits the broker: an oversized original is kept as a prefix with its length and
SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from schemas.deadletter import DeadLetter, DeadLetterReason, ReasonClass
from schemas.envelope import FRONTDOOR_SOURCE, MAX_EVENT_BYTES, derived_id

E = TypeVar("E", bound=BaseModel)

MAX_DEPTH = 32  # an incident nests four deep
MAX_NUMBER_CHARS = 40
MAX_STRING_CHARS = 10_000  # any one string; fields have their own, lower, limits
MAX_REASONS = 100
# What a dead letter keeps of an original larger than MAX_EVENT_BYTES, and of a key.
KEPT_VALUE_BYTES = 64 * 1024
KEPT_KEY_BYTES = 1024

_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Origin:
    """Where the bytes came from, so a dead letter can be traced and replayed."""

    topic: str
    partition: int | None = None
    offset: int | None = None
    key: bytes | None = None

    @property
    def dead_letter_id(self) -> str:
        return derived_id("dlq", self.topic, self.partition, self.offset)


class Rejected(ValueError):
    """Bytes that are not strict JSON; ``reason`` says where and why, never what."""

    def __init__(self, error_type: str, message: str, location: str = "") -> None:
        super().__init__(message)
        self.reason = DeadLetterReason(location=location, error_type=error_type, message=message)


def parse_json(raw: bytes) -> Any:
    """The JSON value in ``raw``, or ``Rejected``."""
    try:
        text = raw.decode("utf-8")  # strict: invalid bytes, surrogates, overlong forms fail
    except UnicodeDecodeError as exc:
        raise Rejected("json_invalid", f"not valid UTF-8 at byte {exc.start}") from None
    if text.startswith("\ufeff"):
        raise Rejected("json_invalid", "starts with a byte order mark")
    try:
        data = json.loads(
            text,
            object_pairs_hook=_object,
            parse_int=_int,
            parse_float=_float,
            parse_constant=_constant,
        )
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise Rejected("json_invalid", f"not valid JSON at {where}") from None
    except RecursionError:
        raise Rejected("json_too_deep", f"nested more than {MAX_DEPTH} levels") from None
    _check_tree(data)
    return data


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        raise Rejected("json_duplicate_key", "an object has the same key twice")
    return data


def _number(text: str) -> None:
    if len(text) > MAX_NUMBER_CHARS:
        raise Rejected(
            "json_number_too_long", f"a number longer than {MAX_NUMBER_CHARS} characters"
        )


def _int(text: str) -> int:
    _number(text)
    return int(text)


def _float(text: str) -> float:
    _number(text)
    value = float(text)
    if not math.isfinite(value):
        raise Rejected("json_number_out_of_range", "a number too large for a double")
    return value


def _constant(name: str) -> Any:
    raise Rejected("json_invalid", "NaN and Infinity are not JSON numbers")


def _check_tree(data: Any) -> None:
    """Depth, string lengths and lone surrogates (a ``\\ud800`` escape), without recursion."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            _check_string(node)
        elif isinstance(node, dict | list):
            if depth > MAX_DEPTH:
                raise Rejected("json_too_deep", f"nested more than {MAX_DEPTH} levels")
            if isinstance(node, dict):
                for key in node:
                    _check_string(key)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)


def _check_string(text: str) -> None:
    if len(text) > MAX_STRING_CHARS:
        raise Rejected("json_string_too_long", f"a string longer than {MAX_STRING_CHARS}")
    if _SURROGATE.search(text):
        raise Rejected("json_invalid", "a string holds a lone UTF-16 surrogate")


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path[:200]


def dead_letter_for(
    raw: bytes,
    origin: Origin,
    now: datetime,
    reason_class: ReasonClass,
    reasons: list[DeadLetterReason],
) -> DeadLetter:
    kept = raw if len(raw) <= MAX_EVENT_BYTES else raw[:KEPT_VALUE_BYTES]
    key = origin.key
    kept_key = key[:KEPT_KEY_BYTES] if key is not None else None
    if len(reasons) > MAX_REASONS:
        more = DeadLetterReason(
            location="", error_type="more", message=f"{len(reasons) - MAX_REASONS} more reasons"
        )
        reasons = [*reasons[:MAX_REASONS], more]
    return DeadLetter(
        event_id=origin.dead_letter_id,
        source=FRONTDOOR_SOURCE,
        produced_at=now,
        original_topic=origin.topic,
        original_partition=origin.partition,
        original_offset=origin.offset,
        original_key_b64=base64.b64encode(kept_key).decode() if kept_key is not None else None,
        original_value_b64=base64.b64encode(kept).decode(),
        original_size_bytes=len(raw),
        original_sha256=hashlib.sha256(raw).hexdigest(),
        original_truncated=kept is not raw or kept_key is not key,
        reason_class=reason_class,
        reasons=reasons,
        received_at=now,
    )


def bounded_key(key: bytes | None) -> bytes | None:
    """A record key as a dead letter's own key may carry it (a key can be huge too)."""
    return key[:KEPT_KEY_BYTES] if key is not None else None


def validate(model: type[E], raw: bytes | None, origin: Origin, now: datetime) -> E | DeadLetter:
    """The event, or a dead letter with every reason (field path and error kind, no values)."""
    raw = raw if raw is not None else b""
    if len(raw) > MAX_EVENT_BYTES:
        reason = DeadLetterReason(
            location="",
            error_type="too_large",
            message=f"the event is {len(raw)} bytes; the limit is {MAX_EVENT_BYTES} bytes",
        )
        return dead_letter_for(raw, origin, now, "too_large", [reason])
    try:
        data = parse_json(raw)
    except Rejected as exc:
        return dead_letter_for(raw, origin, now, "not_json", [exc.reason])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        reasons = [
            DeadLetterReason(location=_location(e["loc"]), error_type=e["type"], message=e["msg"])
            for e in errors
        ]
        unsupported = any("schema_version major" in e["msg"] for e in errors)
        return dead_letter_for(
            raw, origin, now, "unsupported_version" if unsupported else "schema", reasons
        )
    except Exception as exc:  # a validator failing otherwise: the event, not the batch, is lost
        reason = DeadLetterReason(
            location="", error_type=type(exc).__name__, message="the event could not be validated"
        )
        return dead_letter_for(raw, origin, now, "schema", [reason])
