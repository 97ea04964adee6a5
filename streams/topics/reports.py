"""The compliance report from the topics: the one reader ``frontdoor report``, ``make
demo`` and the console's duty board all use, so the same period gives the same figures
from each."""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError

from schemas import Acknowledgement, ComplianceAlert, Notification
from streams.compliance import Report, build_report
from streams.settings import Settings
from streams.topics import catalogue as topics
from streams.topics.io import read_all


def from_topics(settings: Settings, since: datetime, until: datetime, now: datetime) -> Report:
    """Every version of every notification sent, every acknowledgement and alert, as the
    topics stand now; the report's status is as at ``min(until, now)``."""
    sent = [
        Notification.model_validate_json(m.value)
        for m in read_all(settings, list(topics.NOTIFY.values()))
    ]
    acks = []
    for m in read_all(settings, [topics.ACKS]):
        try:
            acks.append(Acknowledgement.model_validate_json(m.value))
        except ValidationError:
            continue  # an invalid acknowledgement is on the dead-letter topic already
    alerts = [
        ComplianceAlert.model_validate_json(m.value)
        for m in read_all(settings, [topics.COMPLIANCE_ALERTS])
    ]
    return build_report(sent, acks, alerts, since, until, now)
