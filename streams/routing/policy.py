"""The routing policy: rules, deadlines, calendar and directory, as validated data.

Defaults ship in ``streams/policies/default.yaml``; a deployment points
``FRONTDOOR_POLICY_FILE`` at its own. A bad file stops the worker at start with a
message that names the rule and the field.
"""

from __future__ import annotations

from datetime import date, time
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from schemas.enums import (
    Agency,
    ChildRole,
    ChildStatus,
    DeadlineClock,
    IncidentType,
    MatchDecision,
    RiskGrade,
)
from schemas.identifiers import SchoolUrn
from streams.routing.calendars import Calendar, DateRange

Flag = Literal["police_protection", "carer_arrested_no_safe_carer", "injury", "victim_pregnant"]
Target = Literal[
    "front_door", "front_door_or_edt", "allocated", "school", "home_council", "service"
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """Every field given must hold (AND); ``any_of`` holds when one of its conditions does."""

    incident_types: list[IncidentType] | None = None
    risk_grades: list[RiskGrade] | None = None
    roles: list[ChildRole] | None = None
    min_age: int | None = Field(default=None, ge=0, le=25)
    max_age: int | None = Field(default=None, ge=0, le=25)
    age_known: bool | None = None
    match: list[MatchDecision] | None = None
    statuses: list[ChildStatus] | None = None
    school_known: bool | None = None
    school_in_council: bool | None = None
    home_educated: bool | None = None
    lives_in_other_council: bool | None = None
    flags: list[Flag] | None = Field(default=None, description="any of these flags is set")
    any_of: list[Condition] | None = None


class DeadlineSpec(_Strict):
    clock: DeadlineClock
    amount: float | None = Field(default=None, gt=0)
    high_risk_amount: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _amount_fits_clock(self) -> DeadlineSpec:
        if self.clock is DeadlineClock.SCHOOL_DAY and self.amount is not None:
            raise ValueError("a school_day deadline takes no amount")
        if self.clock is not DeadlineClock.SCHOOL_DAY and self.amount is None:
            raise ValueError(f"a {self.clock.value} deadline needs an amount")
        if self.clock is DeadlineClock.WORKING_DAYS and any(
            a is not None and a != int(a) for a in (self.amount, self.high_risk_amount)
        ):
            raise ValueError("working_days amounts are whole days")
        return self


class RecipientSpec(_Strict):
    agency: Agency
    to: Target
    service: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,40}$")
    when: Condition | None = None

    @model_validator(mode="after")
    def _service_named(self) -> RecipientSpec:
        if (self.to == "service") != (self.service is not None):
            raise ValueError("'service' is required with to: service, and only then")
        if self.to == "school" and self.agency is not Agency.SCHOOL:
            raise ValueError("to: school needs agency: school")
        return self


class Rule(_Strict):
    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,20}$")
    description: str
    basis: str = "LOCAL"
    when: Condition
    notify: list[RecipientSpec] = Field(min_length=1)
    deadline: DeadlineSpec


class HomeCouncilRule(_Strict):
    id: str = "R11"
    enabled: bool = True


class RepeatRule(_Strict):
    id: str = "R12"
    enabled: bool = True
    count: int = Field(default=3, ge=2)
    within_days: int = Field(default=90, ge=1)
    risk_grades: list[RiskGrade] = [RiskGrade.STANDARD]
    notify: RecipientSpec
    deadline: DeadlineSpec


Hours = Annotated[float, Field(gt=0)]


class Signals(_Strict):
    """Thresholds for the compliance signals (DOMAIN.md §7); all LOCAL."""

    late_report_hours: float = Field(default=24, gt=0)
    late_report_hours_by_type: dict[IncidentType, Hours] = {}
    late_to_frontdoor_hours: float = Field(default=1, gt=0)
    late_to_frontdoor_hours_by_force: dict[str, Hours] = {}
    no_notification_hours: float = Field(default=24, gt=0)
    sequence_gap_minutes: float = Field(default=30, gt=0)
    batching_window_minutes: float = Field(default=10, gt=0)
    batching_min_events: int = Field(default=20, ge=2)
    batching_stale_hours: float = Field(default=24, gt=0)
    police_sources: list[str] = Field(
        default_factory=list,
        description="Force codes that may appear as a metric label; any other is 'other'.",
    )

    def late_report_limit(self, incident_type: IncidentType) -> float:
        return self.late_report_hours_by_type.get(incident_type, self.late_report_hours)

    def late_to_frontdoor_limit(self, source: str) -> float:
        return self.late_to_frontdoor_hours_by_force.get(source, self.late_to_frontdoor_hours)

    def force_label(self, source: str) -> str:
        return source if source in self.police_sources else "other"


class Holiday(_Strict):
    first: date
    last: date


class InboxPolicy(_Strict):
    """The console's agency inbox: when the whole organisation is reminded by email of a
    notification nobody has acknowledged (LOCAL)."""

    reminder_before_minutes: int = Field(default=60, ge=1, le=24 * 60)


class Policy(_Strict):
    council_code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
    timezone: str = "Europe/London"
    school_day_start: time = time(8, 30)
    working_day_start: time = time(9, 0)
    working_day_end: time = time(17, 0)
    bank_holiday_region: Literal["ENG", "WLS"] = "ENG"
    closure_days: list[date] = []
    school_holidays: list[Holiday] = []
    schools: list[SchoolUrn] | None = None
    review_deadline_hours: float = Field(default=24, gt=0)
    # Four eyes: a reviewer's confirmation that would tell a school or an allocated worker
    # takes effect only once a second reviewer approves it (never the same person).
    review_four_eyes: bool = False
    rematch_window_hours: float = Field(default=72, gt=0)
    rules: list[Rule] = Field(min_length=1)
    home_council_rule: HomeCouncilRule = HomeCouncilRule()
    repeat_rule: RepeatRule | None = None
    signals: Signals = Signals()
    inbox: InboxPolicy = InboxPolicy()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> Policy:
        seen: set[str] = set()
        extra = [self.home_council_rule.id] + ([self.repeat_rule.id] if self.repeat_rule else [])
        for rule_id in [r.id for r in self.rules] + extra:
            if rule_id in seen:
                raise ValueError(f"rule id {rule_id} is used twice")
            seen.add(rule_id)
        return self

    def services(self) -> dict[str, Agency]:
        """Each service the rules name (``to: service``), and the agency it belongs to:
        the organisation ``<council code>:<service>``."""
        specs = [spec for rule in self.rules for spec in rule.notify]
        if self.repeat_rule is not None:
            specs.append(self.repeat_rule.notify)
        return {spec.service: spec.agency for spec in specs if spec.service is not None}

    def calendar(self) -> Calendar:
        return Calendar(
            zone=ZoneInfo(self.timezone),
            closure_days=frozenset(self.closure_days),
            school_holidays=tuple(DateRange(h.first, h.last) for h in self.school_holidays),
            school_day_start=self.school_day_start,
            working_day_start=self.working_day_start,
            working_day_end=self.working_day_end,
            bank_holiday_region=self.bank_holiday_region,
        )


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the rule and field."""


def _describe(loc: tuple[int | str, ...], raw: Any) -> str:
    """'rule R4 (rules[3]), field deadline.clock' for a pydantic error location."""
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = raw.get("rules") if isinstance(raw, dict) else None
        entry = rules[loc[1]] if isinstance(rules, list) and loc[1] < len(rules) else None
        rule_id = entry.get("id") if isinstance(entry, dict) else None
        where = f"rule {rule_id or '?'} (rules[{loc[1]}])"
        rest = loc[2:]
    else:
        where, rest = "", loc
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest).lstrip(".")
    if where and field:
        return f"{where}, field {field}"
    return where or (f"field {field}" if field else "(top level)")


def parse_policy(text: str, origin: str = "policy") -> Policy:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{origin}: not valid YAML: {exc}") from None
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        lines = [f"  {_describe(e['loc'], raw)}: {e['msg']}" for e in exc.errors(include_url=False)]
        raise PolicyError(f"{origin} is not a valid routing policy:\n" + "\n".join(lines)) from None


def default_policy_text() -> str:
    return resources.files("streams.policies").joinpath("default.yaml").read_text()


def load_policy(path: Path | None = None) -> Policy:
    """The deployment's policy file, or the packaged defaults."""
    if path is None:
        return parse_policy(default_policy_text(), "the default policy")
    try:
        text = path.read_text()
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {path}: {exc.strerror}") from None
    return parse_policy(text, str(path))
