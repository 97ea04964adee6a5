"""The envelope every event carries, and the unknown-field and data-quality policies.

Unknown-field policy (documented in the README):

* Events that other organisations publish to frontdoor (police incidents, council child
  records, acknowledgements, review decisions) are *inbound*. A newer producer may add
  fields within the same major schema version, so unknown top-level fields are not an
  error: they are dropped and their *names* (never their values) are listed in the
  event's ``data_quality`` warnings, so the integrator can see what was ignored.
* Events frontdoor produces are *outbound* and forbid unknown fields: a field that is
  not in the model cannot be sent, which is how minimisation is enforced.
* ``schema_version`` is ``"<major>.<minor>"``; a different major version is invalid and
  goes to the dead-letter topic.

Size and shape limits every event is held to (the parser in ``streams.incidents``
enforces those a schema cannot express): at most ``MAX_EVENT_BYTES`` of UTF-8 JSON, no
duplicate keys, bounded nesting and number sizes; names, addresses and other
identifying text without control or bidi-override characters; codes that form part of
a record key (``<force>:<incident>``, ``<council>:<child>``) without ``:``.
"""

import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from schemas._dates import check_date_of_birth
from schemas.identifiers import normalise_nhs_number, normalise_postcode, normalise_urn

_ID_NAMESPACE = uuid.UUID("6f1c1d0e-8f55-4d8e-9a57-0c6f5d1b7a10")


def derived_id(prefix: str, *parts: str | int | None) -> str:
    """A deterministic id for something frontdoor derives: same inputs, same id, any replay."""
    name = "\x1f".join("" if p is None else str(p) for p in parts)
    return f"{prefix}-{uuid.uuid5(_ID_NAMESPACE, name)}"


# The ``source`` of every event frontdoor itself produces.
FRONTDOOR_SOURCE = "frontdoor"
SOURCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$"
VERSION_PATTERN = r"^[0-9]{1,4}\.[0-9]{1,4}$"
# Codes and ids that are part of a record key: no ':', so the key splits one way only.
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
KEY_PART_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$"

# The largest event frontdoor accepts, in bytes of UTF-8 JSON; larger ones are
# dead-lettered (with a prefix of the original, its length and its SHA-256).
MAX_EVENT_BYTES = 256 * 1024

# An unknown field is listed by its name only when the name is a plain identifier.
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
# Times frontdoor computes deadlines from: timezone-aware, and within years any system
# means (a year 9999 would overflow a deadline; a year 1 is a default, not a time).
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


def plausible_time(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError("time is not between 1970 and 2200")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(plausible_time)]
# The largest integer every JSON reader holds exactly (2**53 - 1).
MAX_JSON_INT = 9_007_199_254_740_991

# Identifying text (a name, an address) must read as people will read it: no C0 or C1
# controls (NUL, newlines, escapes) and none of the bidi embeddings, overrides, isolates
# and marks that make one name display as another. A pattern, so that the published JSON
# Schema holds publishers to it too.
PLAIN_TEXT_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
# Identifying text, bounded where it is used (an address, a school's name).
PlainText = Annotated[str, Field(pattern=PLAIN_TEXT_PATTERN)]
# A person's name, as any system may spell it.
Name = Annotated[str, Field(max_length=100, pattern=PLAIN_TEXT_PATTERN)]


class WarningCode(StrEnum):
    INVALID_NHS_NUMBER = "invalid_nhs_number"
    INVALID_POSTCODE = "invalid_postcode"
    INVALID_SCHOOL_URN = "invalid_school_urn"
    INVALID_DATE_OF_BIRTH = "invalid_date_of_birth"
    UNKNOWN_FIELD = "unknown_field"


class DataQualityWarning(BaseModel):
    """A field that was dropped and why; never the field's value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(description="Path of the dropped field, e.g. children[1].nhs_number")
    code: WarningCode
    message: str


class _Event(BaseModel):
    SCHEMA_MAJOR: ClassVar[int] = 1
    SCHEMA_VERSION: ClassVar[str] = "1.0"

    event_id: str = Field(pattern=ID_PATTERN, description="Unique, assigned by the producer.")
    schema_version: str = Field(
        default="1.0",
        pattern=VERSION_PATTERN,
        description="<major>.<minor>; this contract accepts major 1.",
    )
    source: str = Field(
        pattern=SOURCE_PATTERN,
        description="Publishing system, e.g. a police force code or council code.",
    )
    produced_at: Instant

    @model_validator(mode="after")
    def _major_version(self) -> "_Event":
        major = int(self.schema_version.split(".", 1)[0])
        if major != self.SCHEMA_MAJOR:
            raise ValueError(
                f"schema_version major {major} is not supported (expected {self.SCHEMA_MAJOR})"
            )
        return self


Envelope = _Event


class OutboundEvent(_Event):
    """Produced by frontdoor: unknown fields are forbidden."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class InboundEvent(_Event):
    """Published to frontdoor by other systems: unknown fields are dropped and reported."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)

    data_quality: list[DataQualityWarning] = Field(
        default_factory=list,
        description="Set by frontdoor on validation: fields dropped and why. "
        "A value sent by the producer is replaced.",
    )

    @model_validator(mode="before")
    @classmethod
    def _sanitise(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        warnings = [
            DataQualityWarning(
                field=name
                if isinstance(name, str) and _FIELD_NAME.fullmatch(name)
                else "(unnamed)",
                code=WarningCode.UNKNOWN_FIELD,
                message="field is not in this schema version and was ignored",
            )
            for name in data
            if name not in cls.model_fields
        ]
        warnings.extend(cls._drop_malformed_optionals(data))
        data["data_quality"] = warnings
        return data

    @classmethod
    def _drop_malformed_optionals(cls, data: dict[str, Any]) -> list[DataQualityWarning]:
        """Subclasses remove malformed optional identifiers here (see ``drop_malformed``)."""
        return []


def _listed(name: Any) -> str:
    """An unknown field's name as a warning may carry it: a plain identifier, or not at all."""
    return name if isinstance(name, str) and _FIELD_NAME.fullmatch(name) else "(unnamed)"


Checker = Callable[[Any], Any]


def drop_malformed(
    data: dict[str, Any],
    checks: Mapping[str, tuple[Checker, WarningCode]],
    path: str = "",
) -> list[DataQualityWarning]:
    """Remove optional fields that fail their check; say which and why, not what they held.

    An incident must never be lost because one optional identifier is malformed.
    """
    warnings = []
    for name, (check, code) in checks.items():
        value = data.get(name)
        if value is None:
            continue
        try:
            check(value)
        except (ValueError, TypeError) as exc:
            del data[name]
            warnings.append(DataQualityWarning(field=f"{path}{name}", code=code, message=str(exc)))
    return warnings


# The optional identifiers of a person (police-side child or council record).
PERSON_IDENTIFIER_CHECKS: dict[str, tuple[Checker, WarningCode]] = {
    "nhs_number": (normalise_nhs_number, WarningCode.INVALID_NHS_NUMBER),
    "postcode": (normalise_postcode, WarningCode.INVALID_POSTCODE),
    "school_urn": (normalise_urn, WarningCode.INVALID_SCHOOL_URN),
    "date_of_birth": (check_date_of_birth, WarningCode.INVALID_DATE_OF_BIRTH),
}
