"""Bounds on the work a calendar feed can cause, checked before and during parsing.

A feed is input from outside: a shared calendar anyone can invite to, or a URL
that may serve anything. Every bound here counts work, never wall-clock time, so
the same feed is always taken in or refused the same way:

* the byte size, the number of components and their nesting depth, and the
  number of VTIMEZONE blocks (and their rules) are checked on the unfolded lines
  before ``icalendar`` builds anything, and only the components and properties
  an interview is made of are handed to it (its tree and time-zone cache stay
  small, and descriptions, alarms and attachments cost nothing);
* a recurring series is expanded only if the steps ``dateutil`` would take to
  reach the end of the window are few: from DTSTART, one step per FREQ x INTERVAL
  period, and for a rule that might never match (a BYMONTHDAY in a BYMONTH that
  lacks it), every period up to the year 9999, where ``dateutil`` gives up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

__all__ = ["FeedError", "Limits", "prepare", "series_steps"]


class FeedError(ValueError):
    """A feed that cannot be taken in: the poll fails with this message, nothing changes."""


@dataclass(frozen=True)
class Limits:
    """What one feed may hold and cost."""

    max_bytes: int = 5 * 1024 * 1024
    max_components: int = 25_000  # BEGIN: lines (10,000 events with alarms fit)
    max_depth: int = 6  # VCALENDAR > VEVENT > VALARM is 3
    max_timezones: int = 50
    max_title: int = 500  # longer SUMMARY values are not matched (regex cost)
    max_steps: int = 200_000  # recurrence steps summed over the matching series
    max_instances: int = 2_000  # interview rows one poll may produce


def prepare(text: str, limits: Limits) -> str:
    """The feed reduced to what the parser reads; refused if it exceeds a limit.

    Unfolds the lines (as icalendar does), checks the structure (nesting, counts,
    time-zone rules) and keeps only the components and properties an interview is
    made of: descriptions, alarms, attachments, Outlook's X-ALT-DESC and the like
    are dropped before icalendar parses anything, so they cost nothing however
    large (a 4 MiB CATEGORIES line took icalendar 9 s).
    """
    head = text.lstrip("\ufeff \t\r\n")[:15].upper()
    if not head.startswith("BEGIN:VCALENDAR"):
        raise FeedError("not an iCalendar feed (it does not begin with BEGIN:VCALENDAR)")
    slim = _Slim(limits)
    for number, line in enumerate(_UNFOLD.sub("", text).splitlines(), start=1):
        slim.line(number, line)
    return slim.finish()


class _Slim:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.stack: list[str] = []
        self.kept: list[str] = []
        self.components = self.timezones = self.zone_changes = 0

    def line(self, number: int, line: str) -> None:
        upper = line[:6].upper()
        if upper == "BEGIN:":
            self.begin(number, line[6:].strip().upper())
        elif upper.startswith("END:"):
            self.end(number, line[4:].strip().upper())
        else:
            self.prop(number, line)

    def begin(self, number: int, name: str) -> None:
        self.stack.append(name)
        self.components += 1
        self.timezones += name == "VTIMEZONE"
        if len(self.stack) > self.limits.max_depth:
            raise FeedError(f"line {number}: components nested deeper than {self.limits.max_depth}")
        if self.keeping():
            self.kept.append(f"BEGIN:{name}")

    def end(self, number: int, name: str) -> None:
        if not self.stack:
            raise FeedError(f"line {number}: END without BEGIN")
        if self.keeping():
            self.kept.append(f"END:{self.stack[-1]}")
        self.stack.pop()

    def keeping(self) -> bool:
        """Whether the innermost component (and all around it) is one the parser reads."""
        return tuple(self.stack) in _PATHS

    def prop(self, number: int, line: str) -> None:
        if not self.stack or not self.keeping():
            return
        name = line.split(":", 1)[0].split(";", 1)[0].strip().upper()
        if name not in _KEEP.get(self.stack[-1], ()):
            return
        if len(line) > _LINE_MAX:
            raise FeedError(f"line {number}: a {name} line of {len(line)} characters")
        if self.stack[-1] in _ZONE_PARTS:
            self.zone_changes += _zone_rule_cost(line, number)
            if self.zone_changes > _ZONE_DATES_MAX:
                raise FeedError(f"line {number}: the time zones hold too many transitions")
        self.kept.append(line)

    def finish(self) -> str:
        limits = self.limits
        if self.components > limits.max_components:
            raise FeedError(
                f"the feed holds {self.components} components; "
                f"at most {limits.max_components} are read"
            )
        if self.timezones > limits.max_timezones:
            raise FeedError(
                f"the feed defines {self.timezones} time zones; "
                f"at most {limits.max_timezones} are read"
            )
        if self.stack:
            raise FeedError("the feed ends inside a component (BEGIN without END)")
        return "\r\n".join(self.kept) + "\r\n"


# What the parser reads: VCALENDAR > VEVENT, VCALENDAR > VTIMEZONE > STANDARD/DAYLIGHT.
_ZONE_PARTS = ("STANDARD", "DAYLIGHT")
_PATHS = {
    ("VCALENDAR",),
    ("VCALENDAR", "VEVENT"),
    ("VCALENDAR", "VTIMEZONE"),
    *(("VCALENDAR", "VTIMEZONE", part) for part in _ZONE_PARTS),
}
_KEEP: dict[str, tuple[str, ...]] = {
    "VCALENDAR": ("VERSION", "PRODID", "CALSCALE", "METHOD", "X-WR-TIMEZONE"),
    "VEVENT": (
        "UID",
        "SUMMARY",
        "DTSTART",
        "DTEND",
        "DURATION",
        "RRULE",
        "RDATE",
        "EXDATE",
        "RECURRENCE-ID",
        "ATTENDEE",
        "ORGANIZER",
        "STATUS",
        "SEQUENCE",
        "DTSTAMP",
    ),
    "VTIMEZONE": ("TZID",),
    "STANDARD": ("DTSTART", "TZOFFSETFROM", "TZOFFSETTO", "RRULE", "RDATE", "TZNAME"),
    "DAYLIGHT": ("DTSTART", "TZOFFSETFROM", "TZOFFSETTO", "RRULE", "RDATE", "TZNAME"),
}
_LINE_MAX = 64 * 1024  # a kept property this long is no calendar's (RDATE: ~3,800 dates)
_UNFOLD = re.compile(r"\r?\n[ \t]")
_ZONE_DATES_MAX = 2_000  # RDATEs plus yearly changes, summed over the feed's zones
_ZONE_CHANGES_MAX = 8


def _zone_rule_cost(line: str, number: int) -> int:
    """What one line of a VTIMEZONE costs, in transitions a year (RDATE: its dates).

    icalendar expands a zone's rules when the feed is read, from the zone's DTSTART
    (often 1601) on: only yearly rules with a few changes a year are allowed, as
    every real zone has (FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU, or BYMONTHDAY=8,...,14).
    """
    name, _, value = line.partition(":")
    name = name.split(";")[0].strip().upper()
    if name == "RDATE":
        return value.count(",") + 1
    if name != "RRULE":
        return 0
    parts = {
        key: [v for v in found.split(",") if v]
        for key, _, found in (part.partition("=") for part in value.upper().split(";"))
    }
    freq = (parts.get("FREQ") or [""])[0]
    if freq != "YEARLY":
        raise FeedError(f"line {number}: a time zone rule that is not yearly (FREQ={freq})")
    months = len(parts.get("BYMONTH", [])) or (12 if "BYMONTHDAY" in parts else 1)
    days = len(parts.get("BYMONTHDAY", []))
    if not days:
        weekdays = parts.get("BYDAY", [])
        every = [d for d in weekdays if d.isalpha()]
        # A weekday without an ordinal matches every week of the month (or the year).
        days = len(weekdays) - len(every) + len(every) * (5 if "BYMONTH" in parts else 53)
    per_year = months * max(1, days)
    for part in ("BYYEARDAY", "BYWEEKNO", "BYSETPOS", "BYHOUR", "BYMINUTE", "BYSECOND"):
        per_year *= max(1, len(parts.get(part, [])))
    if per_year > _ZONE_CHANGES_MAX:
        raise FeedError(f"line {number}: a time zone rule with too many changes a year")
    return per_year


_PERIOD = {
    "SECONDLY": timedelta(seconds=1),
    "MINUTELY": timedelta(minutes=1),
    "HOURLY": timedelta(hours=1),
    "DAILY": timedelta(days=1),
    "WEEKLY": timedelta(days=7),
    "MONTHLY": timedelta(days=28),  # the shortest month: never underestimates
    "YEARLY": timedelta(days=365),
}
# Parts that can make a rule match never (then dateutil scans to the year 9999).
_MAYBE_NEVER = ("BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS")
_GIVES_UP = datetime(9999, 12, 31, tzinfo=UTC)


def series_steps(master: Mapping[str, Any], *, until: datetime) -> int:
    """Steps expanding ``master``'s RRULEs and RDATEs up to ``until`` costs (an upper bound).

    Raises FeedError for a rule without a usable FREQ.
    """
    start = _aware(master["DTSTART"].dt)
    rules = master.get("RRULE")
    steps = 0
    for rule in _as_list(rules):
        steps += _rule_steps(rule, start, until)
    for rdate in _as_list(master.get("RDATE")):
        steps += len(getattr(rdate, "dts", ()) or ()) or 1
    for exdate in _as_list(master.get("EXDATE")):
        steps += len(getattr(exdate, "dts", ()) or ()) or 1
    return steps


def _rule_steps(rule: Mapping[str, Any], start: datetime, until: datetime) -> int:
    freqs = rule.get("FREQ") or []
    freq = str(freqs[0]).upper() if freqs else ""
    if freq not in _PERIOD:
        raise FeedError(f"recurrence rule without a valid FREQ ({freq or 'none'})")
    interval = _first_int(rule.get("INTERVAL"), default=1)
    if interval < 1:
        raise FeedError(f"recurrence rule with INTERVAL={interval}")
    # BY-parts that expand a period multiply the candidates dateutil sorts per step.
    per_period = 1
    for part in ("BYHOUR", "BYMINUTE", "BYSECOND", "BYDAY", "BYMONTHDAY", "BYYEARDAY"):
        per_period *= max(1, len(rule.get(part) or ()))
    maybe_never = any(rule.get(part) for part in _MAYBE_NEVER) or (
        interval > 1 and bool(rule.get("BYDAY")) and freq in ("DAILY", "HOURLY")
    )
    end = _GIVES_UP if maybe_never else min(until, _rule_until(rule) or until)
    if end <= start:
        return 1
    periods = (end - start) // (_PERIOD[freq] * interval) + 1
    return int(min(periods * per_period, 10**12))


def _rule_until(rule: Mapping[str, Any]) -> datetime | None:
    values = rule.get("UNTIL") or []
    return _aware(values[0]) if values else None


def _first_int(values: Any, *, default: int) -> int:
    if not values:
        return default
    try:
        return int(values[0])
    except (TypeError, ValueError):
        raise FeedError(f"recurrence rule with a non-numeric value {values[0]!r}") from None


def _aware(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise FeedError(f"not a date or time: {value!r}")


def _as_list(value: Any) -> Iterable[Any]:
    if value is None:
        return ()
    return value if isinstance(value, list) else (value,)
