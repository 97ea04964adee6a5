"""Deadline clocks: hours, working days and the start of the next school day.

Pure: every function takes the moment to start from; nothing reads the system clock.
All local reasoning is in Europe/London (or the policy's zone), so daylight-saving
changes are handled by zoneinfo. Deadlines come back in UTC: an aware datetime in the
repeated autumn hour never compares equal to one in another zone (PEP 495).

Definitions (documented for integrators, LOCAL where DOMAIN.md says so):

* ``hours(start, n)``: ``n`` elapsed hours (a 24 H deadline across a clock change is
  still 24 real hours later).
* ``working_days(start, n)``: the end of the ``n``-th working day after the day on which
  ``start`` falls (end of day = ``working_day_end``, 17:00 by default). Working days are
  Monday to Friday, not England and Wales bank holidays, not the deployment's closure days.
* ``next_school_day_start(start)``: the first school-day start (08:30 by default) strictly
  after ``start``. School days are working days outside the term holidays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class DateRange:
    first: date
    last: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first <= day <= self.last


@dataclass(frozen=True)
class Calendar:
    """A council's calendar: bank holidays, closure days, school terms, times of day."""

    zone: ZoneInfo = LONDON
    closure_days: frozenset[date] = frozenset()
    school_holidays: tuple[DateRange, ...] = ()
    school_day_start: time = time(8, 30)
    working_day_start: time = time(9, 0)
    working_day_end: time = time(17, 0)
    bank_holiday_region: str = "ENG"
    _cache: dict[int, frozenset[date]] = field(default_factory=dict, compare=False, repr=False)

    def bank_holidays(self, year: int) -> frozenset[date]:
        if year not in self._cache:
            found = holidays.country_holidays("GB", subdiv=self.bank_holiday_region, years=year)
            self._cache[year] = frozenset(found)
        return self._cache[year]

    def is_working_day(self, day: date) -> bool:
        return (
            day.weekday() < 5
            and day not in self.bank_holidays(day.year)
            and day not in self.closure_days
        )

    def is_school_day(self, day: date) -> bool:
        return self.is_working_day(day) and not any(day in r for r in self.school_holidays)

    def local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("calendar arithmetic needs a timezone-aware datetime")
        return moment.astimezone(self.zone)

    def at(self, day: date, clock: time) -> datetime:
        """``day`` at local ``clock``; in a spring-forward gap the next valid instant."""
        # zoneinfo keeps a non-existent local time as written; a round trip normalises it.
        return datetime.combine(day, clock, tzinfo=self.zone).astimezone(self.zone)

    def is_office_hours(self, moment: datetime) -> bool:
        here = self.local(moment)
        return (
            self.is_working_day(here.date())
            and self.working_day_start <= here.time() < self.working_day_end
        )

    # -- clocks ---------------------------------------------------------------------------

    def hours(self, start: datetime, amount: float) -> datetime:
        # Python adds timedeltas to zoned datetimes in wall-clock time; elapsed hours are UTC.
        return self.local(start).astimezone(UTC) + timedelta(hours=amount)

    def working_days(self, start: datetime, amount: int) -> datetime:
        if amount < 1:
            raise ValueError("a working-day deadline needs at least one working day")
        day = self.local(start).date()
        counted = 0
        while counted < amount:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return self.at(day, self.working_day_end).astimezone(UTC)

    def next_school_day_start(self, start: datetime) -> datetime:
        here = self.local(start)
        day = here.date()
        if not (self.is_school_day(day) and here < self.at(day, self.school_day_start)):
            day += timedelta(days=1)
            while not self.is_school_day(day):
                day += timedelta(days=1)
        return self.at(day, self.school_day_start).astimezone(UTC)
