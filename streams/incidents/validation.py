"""Bytes off a topic to a validated event, or to a dead letter that says why.

Pure: no Kafka, no clock of its own. Nothing is dropped silently.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from schemas.deadletter import DeadLetter, DeadLetterReason, ReasonClass
from schemas.envelope import FRONTDOOR_SOURCE, derived_id

E = TypeVar("E", bound=BaseModel)


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


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def dead_letter_for(
    raw: bytes,
    origin: Origin,
    now: datetime,
    reason_class: ReasonClass,
    reasons: list[DeadLetterReason],
) -> DeadLetter:
    return DeadLetter(
        event_id=origin.dead_letter_id,
        source=FRONTDOOR_SOURCE,
        produced_at=now,
        original_topic=origin.topic,
        original_partition=origin.partition,
        original_offset=origin.offset,
        original_key_b64=base64.b64encode(origin.key).decode() if origin.key is not None else None,
        original_value_b64=base64.b64encode(raw).decode(),
        reason_class=reason_class,
        reasons=reasons,
        received_at=now,
    )


def validate(model: type[E], raw: bytes | None, origin: Origin, now: datetime) -> E | DeadLetter:
    """The event, or a dead letter with every reason (field path and error kind, no values)."""
    raw = raw if raw is not None else b""
    try:
        return model.model_validate_json(raw)  # the common case, parsed in one pass
    except ValidationError:
        pass  # work out every reason below, with json's own positions for broken bytes
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = (
            f"at byte {exc.start}"
            if isinstance(exc, UnicodeDecodeError)
            else (f"at line {exc.lineno} column {exc.colno}")
        )
        reason = DeadLetterReason(
            location="", error_type="json_invalid", message=f"not valid UTF-8 JSON {where}"
        )
        return dead_letter_for(raw, origin, now, "not_json", [reason])
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
