"""Quiet hours: when reminders must wait, in the recipient's own time zone.

Pure time arithmetic with ``zoneinfo``, so daylight-saving changes are handled
by wall-clock times, not fixed offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

_PATTERN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
MORNING = time(9, 0)  # "tomorrow morning" when quiet hours are off


@dataclass(frozen=True)
class QuietHours:
    """A daily window of local wall-clock time; it may wrap past midnight (20:00-08:00)."""

    start: time
    end: time

    @classmethod
    def parse(cls, value: object) -> QuietHours | None:
        """``"HH:MM-HH:MM"`` or None (quiet hours off).

        Raises:
            ValueError: with a message fit to show after the config key.
        """
        if value is None or isinstance(value, QuietHours):
            return value
        if not isinstance(value, str) or not (match := _PATTERN.match(value.strip())):
            raise ValueError(f"expected HH:MM-HH:MM (e.g. 20:00-08:00) or null, got {value!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if (h1, m1) == (h2, m2):
            raise ValueError("start and end are the same; use null to turn quiet hours off")
        return cls(start=time(h1, m1), end=time(h2, m2))

    def contains(self, moment: time) -> bool:
        """Whether a local wall-clock time falls inside the window."""
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def next_allowed(moment: datetime, tz: tzinfo, quiet: QuietHours | None) -> datetime:
    """``moment`` if outside quiet hours in ``tz``, else the end of those quiet hours (UTC)."""
    if quiet is None:
        return moment
    local = moment.astimezone(tz)
    if not quiet.contains(local.time().replace(tzinfo=None)):
        return moment
    end_day = local.date()
    if quiet.start > quiet.end and local.time().replace(tzinfo=None) >= quiet.start:
        end_day += timedelta(days=1)  # in the evening part of a window that ends tomorrow
    return _local(end_day, quiet.end, tz)


def tomorrow_morning(moment: datetime, tz: tzinfo, quiet: QuietHours | None) -> datetime:
    """The start of the recipient's next working morning: the end of tomorrow's quiet hours."""
    local = moment.astimezone(tz)
    wake = quiet.end if quiet is not None else MORNING
    day = local.date() + timedelta(days=1)
    if (
        quiet is not None
        and local.time().replace(tzinfo=None) < quiet.end
        and quiet.contains(local.time().replace(tzinfo=None))
    ):
        day = local.date()  # it is still night: "tomorrow morning" is this morning
    return _local(day, wake, tz)


def _local(day: date, wall: time, tz: tzinfo) -> datetime:
    # zoneinfo resolves a wall time skipped by a DST change with the offset before it,
    # which lands just after the gap: never earlier than the intended time.
    return datetime.combine(day, wall).replace(tzinfo=tz).astimezone(UTC)
