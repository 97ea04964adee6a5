"""What must happen by when, and what the partnership is told when it does not. Pure.

Deadlines as data (``Tracked`` items opened and closed by ``DeadlineCommand``s, checked
against an injected ``now``), the police-side signals (late reports, late to frontdoor,
sequence gaps, batching), the one builder every compliance alert comes from, and the
compliance report.
"""

from streams.compliance.accounting import (
    Accounting,
    Arrival,
    Handed,
    Unaccounted,
    account,
    take_in,
)
from streams.compliance.alerts import alert_rules, compliance_alert, join_rules
from streams.compliance.deadlines import (
    FORGET_AFTER,
    DeadlineCommand,
    OpenWork,
    Tracked,
    acknowledge,
    after_outcomes,
    apply,
    check_command,
    close_command,
    open_work,
    track,
    track_notification,
    watch_id,
)
from streams.compliance.police import (
    SequenceObserved,
    SourceSequence,
    arrival_delay,
    arrival_time,
    bus_time,
    gaps_due,
    late_report,
    late_to_frontdoor,
    observe,
    observe_arrival,
    overdue_gaps,
    read_up_to,
    report_delay,
    sequence_of,
)
from streams.compliance.report import Report, bar_chart, duration, html_page
from streams.compliance.report import build as build_report
from streams.compliance.report import render as render_report

__all__ = [
    "FORGET_AFTER",
    "Accounting",
    "Arrival",
    "DeadlineCommand",
    "Handed",
    "OpenWork",
    "Report",
    "SequenceObserved",
    "SourceSequence",
    "Tracked",
    "Unaccounted",
    "account",
    "acknowledge",
    "after_outcomes",
    "alert_rules",
    "apply",
    "arrival_delay",
    "arrival_time",
    "bar_chart",
    "build_report",
    "bus_time",
    "check_command",
    "close_command",
    "compliance_alert",
    "duration",
    "gaps_due",
    "html_page",
    "join_rules",
    "late_report",
    "late_to_frontdoor",
    "observe",
    "observe_arrival",
    "open_work",
    "overdue_gaps",
    "read_up_to",
    "render_report",
    "report_delay",
    "sequence_of",
    "take_in",
    "track",
    "track_notification",
    "watch_id",
]
