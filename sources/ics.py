"""Calendar feeds (iCalendar): from a feed's bytes to the rows the shared intake takes in.

DESIGN "Where interviews come from", the calendar row. An event is an interview
when its title (SUMMARY) matches the feed's ``title_pattern``, whose named group
``candidate`` (required), ``role`` and ``kit`` fill the row; everything else is
ignored. The panel is the event's attendees that are people: rooms and resources
(``CUTYPE``), emails matching the feed's ``ignore`` globs, the organizer and
attendees who declined are left out; emails are resolved to Slack users by the
intake. Recurring series are expanded with ``recurring-ical-events`` over a
window (from ``now - lookback`` to ``now + horizon``); an instance's id carries
its RECURRENCE-ID, so a moved instance reschedules its own interview. Time zones
come from the feed's VTIMEZONE blocks (``icalendar`` maps Exchange's Windows
names such as ``W. Europe Standard Time`` to IANA zones).

Everything a feed can cost is bounded (sources.ics_guard); anything malformed in
an interview event raises :class:`FeedError` naming it, so the poll fails and
nothing changes. Events that are not interviews are never looked at beyond their
title.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import icalendar
import recurring_ical_events  # type: ignore[import-untyped]
from icalendar.timezone import tzp

from sources.ics_guard import FeedError, Limits, prepare, series_steps
from storage.intake import SourceRow

__all__ = ["FeedError", "FeedRules", "Limits", "ParsedFeed", "external_id", "parse_feed"]

HORIZON = timedelta(days=60)
_EXTERNAL_ID_MAX = 128  # interviews.external_id
_NOT_PEOPLE = {"ROOM", "RESOURCE"}
DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class FeedRules:
    """One configured feed, as the parser needs it (bot.config_sources builds it)."""

    name: str
    title_pattern: re.Pattern[str]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    kits: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    # The shared mapping's job names (casefolded) and the keys each job sets: a
    # job's own values win over the feed's defaults.
    jobs: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return f"calendar:{self.name}"


@dataclass(frozen=True)
class ParsedFeed:
    rows: tuple[SourceRow, ...]
    events_seen: int  # VEVENT components in the feed
    ignored: int  # events or instances that are not interviews (title, all-day, past)


def parse_feed(
    data: bytes,
    rules: FeedRules,
    *,
    now: datetime,
    lookback: timedelta,
    horizon: timedelta = HORIZON,
    default_tz: tzinfo | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ParsedFeed:
    """The interview rows of one feed.

    Raises:
        FeedError: the feed is not iCalendar, exceeds a limit, or an interview event
            in it is malformed. Never anything else.
    """
    if len(data) > limits.max_bytes:
        raise FeedError(f"the feed is larger than {limits.max_bytes // (1024 * 1024)} MiB")
    text = prepare(data.decode("utf-8", errors="replace"), limits)
    _clear_tz_cache()  # this feed's own VTIMEZONE blocks, not another feed's of the same TZID
    try:
        return _parse(text, rules, now, lookback, horizon, default_tz or UTC, limits)
    except FeedError:
        raise
    except Exception as exc:  # icalendar and dateutil raise many kinds on broken input
        raise FeedError(f"unreadable iCalendar data: {_describe(exc)}") from None
    finally:
        _clear_tz_cache()


def _parse(
    text: str,
    rules: FeedRules,
    now: datetime,
    lookback: timedelta,
    horizon: timedelta,
    default_tz: tzinfo,
    limits: Limits,
) -> ParsedFeed:
    calendars = icalendar.Calendar.from_ical(text, multiple=True)
    calendar = next((c for c in calendars if c.name == "VCALENDAR"), None)
    if calendar is None:
        raise FeedError("no VCALENDAR in the feed")
    events = [c for c in calendar.subcomponents if c.name == "VEVENT"]
    by_uid: dict[str, list[icalendar.Component]] = {}
    for event in events:
        if _title_match(event, rules, limits) is not None:
            by_uid.setdefault(_uid(event), [])
    for event in events:
        uid = str(event.get("UID", "")).strip()
        if uid in by_uid:
            by_uid[uid].append(event)
    window = (now - lookback, now + horizon)
    rows: list[SourceRow] = []
    tally = _Tally(ignored=len(events) - sum(len(group) for group in by_uid.values()))
    for uid, group in by_uid.items():
        try:
            _take_group(uid, group, calendar, rules, window, tally, rows, default_tz, limits)
        except FeedError:
            raise
        except Exception as exc:  # a broken property of this event: name the event
            raise FeedError(f"event {_short(uid)}: {_describe(exc)}") from None
    return ParsedFeed(rows=tuple(rows), events_seen=len(events), ignored=tally.ignored)


@dataclass
class _Tally:
    ignored: int = 0
    steps: int = 0  # recurrence steps spent on the feed's interview series


def _take_group(
    uid: str,
    group: Sequence[icalendar.Component],
    calendar: icalendar.Calendar,
    rules: FeedRules,
    window: tuple[datetime, datetime],
    tally: _Tally,
    rows: list[SourceRow],
    default_tz: tzinfo,
    limits: Limits,
) -> None:
    """Append the rows of one UID's events (the master, its instances, moved ones)."""
    series = any(_recurs(c) for c in group)
    if series:
        tally.steps += sum(series_steps(c, until=window[1]) for c in group if _recurs(c))
        if tally.steps > limits.max_steps:
            raise FeedError(
                f"event {_short(uid)}: its recurrence is too costly to expand "
                f"(over {limits.max_steps} steps)"
            )
        occurrences = _expand(calendar, group, window)
    else:
        occurrences = [_latest(group)]
    for occurrence in occurrences:
        row = _row(occurrence, uid, rules, series, window[0], default_tz, limits)
        if row is None:
            tally.ignored += 1
            continue
        rows.append(row)
        if len(rows) > limits.max_instances:
            raise FeedError(f"more than {limits.max_instances} interviews in the feed's window")


def _latest(group: Sequence[icalendar.Component]) -> icalendar.Component:
    """Of copies of one event (the same UID twice), the latest revision (RFC 5545 SEQUENCE)."""
    if len(group) == 1:
        return group[0]

    def revision(component: icalendar.Component) -> tuple[int, str]:
        try:
            sequence = int(str(component.get("SEQUENCE", 0)))
        except ValueError:
            sequence = 0
        return (sequence, str(component.get("DTSTAMP", "")))

    return max(group, key=revision)


def _recurs(component: icalendar.Component) -> bool:
    return any(key in component for key in ("RRULE", "RDATE", "RECURRENCE-ID"))


def _expand(
    calendar: icalendar.Calendar,
    group: Sequence[icalendar.Component],
    window: tuple[datetime, datetime],
) -> list[icalendar.Component]:
    """The series' instances in the window (moved ones at their new time)."""
    only = icalendar.Calendar()
    for component in calendar.subcomponents:
        if component.name == "VTIMEZONE":
            only.add_component(component)
    for component in group:
        only.add_component(component)
    return list(recurring_ical_events.of(only, components=["VEVENT"]).between(*window))


def _title_match(
    event: icalendar.Component, rules: FeedRules, limits: Limits
) -> re.Match[str] | None:
    title = str(event.get("SUMMARY", "")).strip()
    if not title or len(title) > limits.max_title:
        return None
    return rules.title_pattern.search(title)


def _row(
    event: icalendar.Component,
    uid: str,
    rules: FeedRules,
    series: bool,
    earliest: datetime,
    default_tz: tzinfo,
    limits: Limits,
) -> SourceRow | None:
    match = _title_match(event, rules, limits)
    if match is None:
        return None  # e.g. a moved instance renamed to something else
    candidate = (match.groupdict().get("candidate") or "").strip()
    start = _when(event.get("DTSTART"), default_tz, uid, "DTSTART")
    if not candidate or start is None:
        return None  # an all-day event is a placeholder, not an interview slot
    end = _end(event, start, default_tz, uid)
    if end < earliest:
        return None  # long over: nothing to ask anyone
    instance = _instance(event, default_tz, uid) if series else None
    status = str(event.get("STATUS", "")).strip().upper()
    return SourceRow(
        source=rules.source,
        external_id=external_id(rules.name, uid, instance),
        fields=_fields(match, candidate, start, end, _panel(event, rules), rules),
        cancelled=status == "CANCELLED",
        where=f"calendar {rules.name} event {_short(uid)}",
    )


def _fields(
    match: re.Match[str],
    candidate: str,
    start: datetime,
    end: datetime,
    panel: list[dict[str, Any]],
    rules: FeedRules,
) -> dict[str, Any]:
    groups = match.groupdict()
    role = (groups.get("role") or "").strip()
    kit = (groups.get("kit") or "").strip()
    job_keys = rules.jobs.get(role.casefold(), frozenset()) if role else frozenset()
    fields: dict[str, Any] = {
        key: value for key, value in rules.defaults.items() if key not in job_keys
    }
    if role and rules.jobs:
        # The shared mapping: the job's values (its name as the role unless one is
        # set); a job it does not know makes the interview incomplete, never guessed.
        fields["job"] = role
    elif role:
        fields["role"] = role  # no jobs mapped: the title's role is the interview's
    fields.pop("duration", None)  # the event's own end wins
    fields |= {
        "candidate": candidate,
        "starts_at": start.astimezone(UTC).isoformat(),
        "ends_at": end.astimezone(UTC).isoformat(),
        "panel": panel,
    }
    skills = _kit(rules.kits, kit) if kit else None
    if skills is not None:
        for member in panel:
            member["focus"] = list(skills)
    elif kit:
        fields["kit"] = kit  # the shared mapping's kits
    return fields


def _kit(kits: Mapping[str, tuple[str, ...]], name: str) -> tuple[str, ...] | None:
    wanted = name.casefold()
    return next((skills for kit, skills in kits.items() if kit.casefold() == wanted), None)


def _panel(event: icalendar.Component, rules: FeedRules) -> list[dict[str, Any]]:
    organizer = _email(event.get("ORGANIZER"))
    panel: list[dict[str, Any]] = []
    seen: set[str] = set()
    for attendee in _as_list(event.get("ATTENDEE")):
        params = getattr(attendee, "params", {}) or {}
        if str(params.get("CUTYPE", "INDIVIDUAL")).upper() in _NOT_PEOPLE:
            continue
        if str(params.get("PARTSTAT", "")).upper() == "DECLINED":
            continue  # will not be there; asked for feedback, they could only say so
        email = _email(attendee)
        if email is None or email == organizer or email in seen:
            continue
        if any(fnmatch.fnmatchcase(email, pattern.lower()) for pattern in rules.ignore):
            continue
        seen.add(email)
        panel.append({"interviewer": email})
    return panel


def _email(address: Any) -> str | None:
    if address is None:
        return None
    value = str(address).strip()
    if value[:7].lower() == "mailto:":
        value = value[7:]
    value = value.strip().lower()
    return value if "@" in value and len(value) <= 254 else None


def _when(prop: Any, default_tz: tzinfo, uid: str, name: str) -> datetime | None:
    """An aware datetime; None for a DATE (all-day)."""
    if prop is None:
        raise FeedError(f"event {_short(uid)} has no {name}")
    value = getattr(prop, "dt", None)
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=default_tz)
    if isinstance(value, date):
        return None
    raise FeedError(f"event {_short(uid)}: {name} is not a date or time")


def _end(event: icalendar.Component, start: datetime, default_tz: tzinfo, uid: str) -> datetime:
    if event.get("DTEND") is not None:
        end = _when(event.get("DTEND"), default_tz, uid, "DTEND")
        if end is None:
            raise FeedError(f"event {_short(uid)}: DTEND is a date, DTSTART a time")
    elif event.get("DURATION") is not None:
        duration = getattr(event.get("DURATION"), "dt", None)
        if not isinstance(duration, timedelta):
            raise FeedError(f"event {_short(uid)}: DURATION is not a duration")
        end = start + duration
    else:
        raise FeedError(f"event {_short(uid)} has neither DTEND nor DURATION")
    if end <= start:
        raise FeedError(f"event {_short(uid)} ends before it starts")
    return end


def _instance(event: icalendar.Component, default_tz: tzinfo, uid: str) -> datetime:
    rid = event.get("RECURRENCE-ID")
    value = getattr(rid, "dt", None) if rid is not None else None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=default_tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    start = _when(event.get("DTSTART"), default_tz, uid, "DTSTART")
    if start is None:
        raise FeedError(f"event {_short(uid)}: an instance without a time")
    return start


def external_id(feed: str, uid: str, instance: datetime | None = None) -> str:
    """``calendar:<feed>:<UID>`` plus ``:<RECURRENCE-ID in UTC>`` for a series' instance.

    A UID too long for the column (Exchange's are over 100 characters) is replaced
    by its SHA-256, so the id stays unique and stable.
    """
    suffix = ""
    if instance is not None:
        suffix = ":" + instance.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    full = f"calendar:{feed}:{uid}{suffix}"
    if len(full) <= _EXTERNAL_ID_MAX:
        return full
    digest = hashlib.sha256(uid.encode("utf-8", errors="replace")).hexdigest()[:40]
    return f"calendar:{feed}:sha256-{digest}{suffix}"


def _uid(event: icalendar.Component) -> str:
    uid = str(event.get("UID", "")).strip()
    if not uid:
        title = str(event.get("SUMMARY", ""))[:40]
        raise FeedError(f"an interview event has no UID (title {title!r})")
    if len(uid) > 1000:
        raise FeedError("an interview event's UID is longer than 1000 characters")
    return uid


def _short(uid: str) -> str:
    return uid if len(uid) <= 48 else uid[:45] + "..."


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:160]


def _as_list(value: Any) -> Iterable[Any]:
    if value is None:
        return ()
    return value if isinstance(value, list) else (value,)


def _clear_tz_cache() -> None:
    """Forget the time zones icalendar cached by TZID, process-wide, from the last feed.

    Outlook names every custom zone "Customized Time Zone": two feeds may define it
    differently, and icalendar would keep the first definition for every later feed.
    """
    cache = getattr(tzp, "_TZP__tz_cache", None)
    if isinstance(cache, dict):
        cache.clear()
