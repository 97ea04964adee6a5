"""Closed vocabularies. Metric labels may only take values from these lists."""

from enum import StrEnum


class IncidentType(StrEnum):
    DOMESTIC_ABUSE = "domestic_abuse"
    MISSING_CHILD = "missing_child"
    ARREST_OR_DETENTION = "arrest_or_detention"
    POLICE_PROTECTION = "police_protection"
    VIOLENCE_OR_INJURY = "violence_or_injury"
    SEXUAL_OFFENCE = "sexual_offence"
    EXPLOITATION = "exploitation"
    NEGLECT = "neglect"
    ONLINE_HARM = "online_harm"
    CONCERN_FOR_WELFARE = "concern_for_welfare"
    OTHER = "other"


class ChildRole(StrEnum):
    VICTIM = "victim"
    WITNESS = "witness"
    PRESENT = "present"
    RESIDENT_NOT_PRESENT = "resident_not_present"
    SUSPECT = "suspect"
    MISSING = "missing"


class RiskGrade(StrEnum):
    STANDARD = "standard"
    MEDIUM = "medium"
    HIGH = "high"


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class ChildStatus(StrEnum):
    CHILD_PROTECTION_PLAN = "child_protection_plan"
    CHILD_IN_NEED = "child_in_need"
    LOOKED_AFTER = "looked_after"
    EARLY_HELP = "early_help"
    NONE = "none"


class Agency(StrEnum):
    """Recipient agencies; each has its own topic ``notify.<agency>.v1``."""

    SOCIAL_CARE = "social_care"
    SCHOOL = "school"
    HEALTH = "health"
    EARLY_HELP = "early_help"
    DOMESTIC_ABUSE = "domestic_abuse"
    YOUTH_JUSTICE = "youth_justice"


class AckStatus(StrEnum):
    RECEIVED = "received"
    ACTIONED = "actioned"
    REJECTED = "rejected"


class AlertKind(StrEnum):
    MISSED = "missed"
    LATE = "late"
    LATE_POLICE_REPORT = "late_police_report"
    NO_NOTIFICATION = "no_notification"
    BATCHING = "batching"
    SEQUENCE_GAP = "sequence_gap"
    REVIEW_OVERDUE = "review_overdue"
    LATE_TO_FRONTDOOR = "late_to_frontdoor"
    UNDELIVERABLE = "undeliverable"


class DeadlineClock(StrEnum):
    HOURS = "hours"
    WORKING_DAYS = "working_days"
    SCHOOL_DAY = "school_day"


class MatchDecision(StrEnum):
    AUTO = "auto"
    REVIEW = "review"
    NONE = "none"
