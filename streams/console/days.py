"""A period of whole local days chosen on a form (the duty board's compliance report, a
policy officer's what-if): two GOV.UK date inputs, what is wrong with them in words, and
the period as instants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

LONGEST_DAYS = 400


@dataclass(frozen=True)
class Days:
    first: date
    last: date

    def instants(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """From the first day's start to the last day's end, local time, as UTC."""
        start = datetime.combine(self.first, time(0), zone).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(0), zone).astimezone(UTC)
        return start, end


def _day(fields: dict[str, str], prefix: str) -> date | None:
    try:
        return date(
            int(fields.get(f"{prefix}-year", "")),
            int(fields.get(f"{prefix}-month", "")),
            int(fields.get(f"{prefix}-day", "")),
        )
    except ValueError:
        return None


def chosen(fields: dict[str, str]) -> tuple[Days | None, dict[str, str]]:
    """The days the form names, or what is wrong with each field (by field: since, until)."""
    since, until = _day(fields, "since"), _day(fields, "until")
    errors: dict[str, str] = {}
    if since is None:
        errors["since"] = "Enter the first day as a real date, like 23 11 2026"
    if until is None:
        errors["until"] = "Enter the last day as a real date, like 29 11 2026"
    elif since is not None and until < since:
        errors["until"] = "The last day must be the same as or after the first day"
    elif since is not None and (until - since).days >= LONGEST_DAYS:
        errors["until"] = f"Choose a period of {LONGEST_DAYS} days or fewer"
    if errors or since is None or until is None:
        return None, errors
    return Days(since, until), errors


def form(fields: dict[str, str], errors: dict[str, str] | None = None) -> dict[str, Any]:
    """The two date inputs' items, as the form was filled in, and their errors."""
    errors = errors or {}

    def items(prefix: str) -> list[dict[str, Any]]:
        wrong = "govuk-input--error" if prefix in errors else ""
        return [
            {
                "name": part,
                "classes": f"govuk-input--width-{width} {wrong}",
                "value": fields.get(f"{prefix}-{part}", ""),
            }
            for part, width in (("day", 2), ("month", 2), ("year", 4))
        ]

    return {"since": items("since"), "until": items("until"), "errors": errors}


def summary(errors: dict[str, str]) -> list[dict[str, str]]:
    """The error summary's links, each to its date input."""
    return [{"text": text, "href": f"#{key}-day"} for key, text in errors.items()]
