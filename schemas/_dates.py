"""Date of birth parsing that reports a bad value without repeating it."""

from datetime import date
from typing import Any


def check_date_of_birth(value: Any) -> date:
    """An ISO date; never rejected for the age it implies (unborn children, care leavers)."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError("date of birth is not a calendar date in ISO form YYYY-MM-DD")
