"""The compliance alerts the duty board shows, as the console read them from
``compliance.alerts.v1``: one per alert id (a repeat changes nothing), the recent ones
only (``keep``: older ones are the compliance report's). Pure."""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas import ComplianceAlert
from schemas.enums import AlertKind


class AlertLog:
    def __init__(self, keep: timedelta = timedelta(days=8)) -> None:
        self.keep = keep
        self._by_id: dict[str, ComplianceAlert] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def add(self, alert: ComplianceAlert) -> None:
        self._by_id.setdefault(alert.alert_id, alert)

    def forget_before(self, now: datetime) -> None:
        cutoff = now - self.keep
        for ident in [i for i, a in self._by_id.items() if a.observed_at < cutoff]:
            del self._by_id[ident]

    def of(self, kinds: set[AlertKind], since: datetime) -> list[ComplianceAlert]:
        """Alerts of these kinds observed since ``since``, newest first."""
        chosen = [a for a in self._by_id.values() if a.kind in kinds and a.observed_at >= since]
        return sorted(chosen, key=lambda a: a.observed_at, reverse=True)
