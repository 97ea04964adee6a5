"""Times, deadlines and recipients in the words a person reads them in. Pure.

Local time (Europe/London by the policy), "Thu 26 Nov 05:15"; a deadline by its clock
("before school starts, Fri 27 Nov 08:30"); time left ("3 hours 12 minutes", "overdue by
2 hours"); a recipient by what it is ("the school (URN 100000)").
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from schemas.enums import Agency, DeadlineClock
from schemas.notification import Recipient

AGENCIES = {
    Agency.SOCIAL_CARE: "Children's social care",
    Agency.SCHOOL: "School",
    Agency.HEALTH: "Health",
    Agency.EARLY_HELP: "Early help",
    Agency.DOMESTIC_ABUSE: "Domestic abuse service",
    Agency.YOUTH_JUSTICE: "Youth justice",
}


def local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %-d %b %H:%M")


def local_clock(timestamp: float, zone: ZoneInfo) -> str:
    """A real-clock time (a Unix timestamp) as local hours and minutes."""
    return datetime.fromtimestamp(timestamp, zone).strftime("%H:%M")


def deadline(moment: datetime, clock: DeadlineClock, zone: ZoneInfo) -> str:
    when = local(moment, zone)
    if clock is DeadlineClock.SCHOOL_DAY:
        return f"before school starts, {when}"
    if clock is DeadlineClock.WORKING_DAYS:
        return f"by the end of the working day, {when}"
    return f"by {when}"


def duration(span: timedelta) -> str:
    """A span in days, hours and minutes, the two largest parts."""
    minutes = int(abs(span).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{n} {unit}{'s' if n != 1 else ''}"
        for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if n
    ]
    return " ".join(parts[:2]) or "less than a minute"


def time_left(due: datetime, now: datetime) -> str:
    return f"overdue by {duration(now - due)}" if now > due else duration(due - now)


def recipient(to: Recipient) -> str:
    organisation = to.organisation
    if organisation.startswith("urn:"):
        return f"the school (URN {organisation.removeprefix('urn:')})"
    _, _, rest = organisation.partition(":")
    kind, _, ident = rest.partition(":")
    if kind == "worker":
        return f"the allocated social worker ({ident})"
    if kind == "team":
        return f"the allocated team ({ident})"
    if kind == "front-door":
        return f"the front door ({organisation.partition(':')[0]})"
    if kind == "emergency-duty-team":
        return "the emergency duty team"
    return f"{AGENCIES[to.agency].lower()} ({rest})"


def organisation(agency: Agency, organisation: str) -> str:
    """An organisation as its own staff read it at the top of their inbox."""
    said = recipient(Recipient(agency=agency, organisation=organisation))
    said = said.removeprefix("the ")
    return said[:1].upper() + said[1:]
