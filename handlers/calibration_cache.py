"""The team's calibration, computed at most every few minutes per process.

Every Home tab shows its viewer's own figures, and those compare them with whole
panels: one computation over the period serves everyone. Figures move slowly (only
summarised interviews count), so a Home tab may be a few minutes behind.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from handlers.context import BotContext
from rubric.calibration import VersionCalibration
from storage.calibration import calibration_report

TTL = timedelta(minutes=10)


class TeamCalibration:
    def __init__(self, ctx: BotContext, ttl: timedelta = TTL) -> None:
        self.ctx = ctx
        self.ttl = ttl
        self._lock = threading.Lock()  # one computation at a time; the others wait for it
        self._at: datetime | None = None
        self._reports: list[VersionCalibration] = []

    def reports(self) -> list[VersionCalibration]:
        """Every rubric version's figures over ``calibration.period`` back from now."""
        with self._lock:
            now = self.ctx.now()
            if self._at is not None and self._at <= now < self._at + self.ttl:
                return self._reports
            settings = self.ctx.calibration
            with self.ctx.session_factory.begin() as session:
                self._reports = calibration_report(
                    session,
                    since=now - settings.period,
                    until=now,
                    min_ratings=settings.min_ratings,
                )
            self._at = now
            return self._reports

    def for_viewer(self, user: str) -> list[VersionCalibration]:
        """The newest version of each rubric ``user`` has rated on in the period.

        A rubric they rated only on an earlier version still shows, with no figures
        yet: a changed rubric starts fresh.
        """
        reports = self.reports()
        rated = {r.rubric.id for r in reports if r.calibration.interviewer(user) is not None}
        return [r for r in reports if r.latest and r.rubric.id in rated]
