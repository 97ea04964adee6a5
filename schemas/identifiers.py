"""Identifiers that arrive in many shapes: NHS numbers, UK postcodes, school URNs.

Each checker returns the normalised form or raises ``ValueError`` with a message that
never repeats the value (these values are personal data and must not reach a log).
"""

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

_NHS_SEPARATORS = re.compile(r"[\s-]")
_POSTCODE = re.compile(r"^(?:[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}|GIR0AA)$")
_URN = re.compile(r"^[1-9][0-9]{5}$")


def nhs_check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit for nine digits, or None when no valid number exists."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def normalise_nhs_number(value: str) -> str:
    """Ten digits (spaces and hyphens allowed) whose last digit is the modulus-11 check."""
    if not isinstance(value, str):
        raise ValueError("NHS number must be a string of 10 digits")
    digits = _NHS_SEPARATORS.sub("", value)
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        raise ValueError("NHS number must be 10 digits")
    if nhs_check_digit(digits[:9]) != int(digits[9]):
        raise ValueError("NHS number fails the modulus-11 check digit")
    return digits


def normalise_postcode(value: str) -> str:
    """Upper case with one space before the inward code, e.g. ``SW1A 1AA``."""
    if not isinstance(value, str):
        raise ValueError("postcode must be a string")
    compact = "".join(value.split()).upper()
    if not _POSTCODE.match(compact):
        raise ValueError("postcode is not in a UK postcode format")
    return f"{compact[:-3]} {compact[-3:]}"


def normalise_urn(value: str | int) -> str:
    """A school's Unique Reference Number: six digits."""
    text = str(value).strip() if isinstance(value, str | int) else ""
    if not _URN.match(text):
        raise ValueError("school URN must be six digits")
    return text


NhsNumber = Annotated[str, AfterValidator(normalise_nhs_number)]
Postcode = Annotated[str, AfterValidator(normalise_postcode)]
SchoolUrn = Annotated[str, BeforeValidator(normalise_urn)]
