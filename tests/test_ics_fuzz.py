"""Fuzzing the calendar feed parser: hostile and malformed feeds.

Feeds are built from the lines real feeds hold (mostly interview events, so the
parser goes deep: times, time zones, recurrences, attendees), with values drawn
from plausible, broken and nasty text, plus raw bytes and structure errors. For
every feed, :func:`sources.ics.parse_feed` either returns rows within the caps
(ids that fit their column, times in UTC, interviewers as emails) or raises its
own :class:`FeedError`; nothing else ever escapes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import strategies as st

from sources.ics import FeedError, FeedRules, Limits, parse_feed
from tests.fuzz_strategies import fuzz, nasty_text

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
RULES = FeedRules(
    name="fuzz",
    title_pattern=re.compile(r"Interview: (?P<candidate>.+?)(?: \((?P<role>[^)]*)\))?$"),
    ignore=("*@ignored.example",),
    kits={"k": ("system_design",)},
)
LIMITS = Limits(max_instances=40, max_steps=20_000, max_components=400, max_timezones=3)

_TIMES = st.sampled_from(
    [
        "20270302T100000Z",
        "20270302T100000",
        "20270302",
        "20270230T100000Z",
        "99991231T235959Z",
        "00010101T000000Z",
        "2027-03-02T10:00:00Z",
        "",
        "T",
    ]
)
_TZIDS = st.sampled_from(
    ["W. Europe Standard Time", "Europe/Berlin", "Customized Time Zone", "Nowhere/Else", ""]
)
_RULES = st.builds(
    lambda freq, parts: ";".join([f"FREQ={freq}", *parts]),
    st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY", "SECONDLY", "X", ""]),
    st.lists(
        st.sampled_from(
            [
                "COUNT=3",
                "COUNT=-1",
                "COUNT=999999999",
                "INTERVAL=2",
                "INTERVAL=0",
                "UNTIL=20270401T000000Z",
                "UNTIL=x",
                "BYDAY=MO,WE",
                "BYDAY=5FR",
                "BYMONTH=2",
                "BYMONTHDAY=30",
                "BYSETPOS=-1",
                "BYHOUR=1,2,3,4,5,6,7,8,9,10",
                "WKST=ZZ",
            ]
        ),
        max_size=4,
    ),
)
_VALUES = st.one_of(_TIMES, nasty_text(), st.just("mailto:a@example.com"))


def _flat(parts: list[list[str]]) -> list[str]:
    return [line for part in parts for line in part]


def _prop(name: str, value: str, tzid: str | None) -> str:
    param = f";TZID={tzid}" if tzid else ""
    return f"{name}{param}:{value}"


_LINES = st.one_of(
    st.builds(
        _prop,
        st.sampled_from(["DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE"]),
        _TIMES,
        st.one_of(st.none(), _TZIDS),
    ),
    st.builds(lambda rule: f"RRULE:{rule}", _RULES),
    st.builds(lambda v: f"DURATION:{v}", st.sampled_from(["PT1H", "P1D", "-PT1H", "PT0S", "x"])),
    st.builds(
        lambda cutype, who: f"ATTENDEE;CUTYPE={cutype}:mailto:{who}",
        st.sampled_from(["INDIVIDUAL", "ROOM", "RESOURCE", "GROUP", ""]),
        st.sampled_from(["a@example.com", "B@Example.com", "x@ignored.example", "", "@", "no"]),
    ),
    st.builds(lambda v: f"ORGANIZER:{v}", st.sampled_from(["mailto:a@example.com", "", "x"])),
    st.builds(lambda v: f"STATUS:{v}", st.sampled_from(["CANCELLED", "CONFIRMED", "x"])),
    st.builds(lambda v: f"SUMMARY:Interview: {v}", nasty_text()),
    st.builds(lambda v: f"UID:{v}", st.one_of(st.sampled_from(["u1", "u2", "u3"]), nasty_text())),
    st.builds(lambda name, v: f"{name}:{v}", st.sampled_from(["SEQUENCE", "X-Y", ""]), _VALUES),
)
# Rare: lines that break the structure (most feeds must parse, to reach the rows).
_STRUCTURE = st.sampled_from(["BEGIN:VALARM", "END:VALARM", "END:VEVENT", "BEGIN:VEVENT", " x"])
_BASE = [
    "DTSTART;TZID=W. Europe Standard Time:20270302T100000",
    "DTEND;TZID=W. Europe Standard Time:20270302T110000",
    "ATTENDEE:mailto:a@example.com",
]
_EVENT = st.builds(
    lambda uid, lines, broken: [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "SUMMARY:Interview: Pat (r)",
        *_BASE,
        *lines,
        *broken,
        "END:VEVENT",
    ],
    st.sampled_from(["u1", "u2", "u3"]),
    st.lists(_LINES, max_size=6),
    st.one_of(st.just([]), st.just([]), st.just([]), st.lists(_STRUCTURE, max_size=1)),
)
_TIMEZONE = st.builds(
    lambda tzid, offset, rule: [
        "BEGIN:VTIMEZONE",
        f"TZID:{tzid}",
        "BEGIN:STANDARD",
        "DTSTART:16010101T030000",
        f"TZOFFSETFROM:{offset}",
        f"TZOFFSETTO:{offset}",
        *([rule] if rule else []),
        "END:STANDARD",
        "END:VTIMEZONE",
    ],
    _TZIDS,
    st.sampled_from(["+0100", "-1200", "+0530", "+0100", "+9999", "x"]),
    st.sampled_from(
        [
            "",
            "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
            "RRULE:FREQ=HOURLY",
            "RRULE:FREQ=YEARLY;BYDAY=SU",
            "RRULE:FREQ=YEARLY;BYMONTHDAY=1,2,3,4,5,6,7;BYDAY=SU;BYMONTH=4",
            "RDATE:20270101T000000,20280101T000000",
            "RRULE:FREQ=YEAR\r\n LY;COUNT=x",
        ]
    ),
)
_STRUCTURED = st.builds(
    lambda zones, events, newline: newline.join(
        ["BEGIN:VCALENDAR", "VERSION:2.0", *_flat(zones), *_flat(events), "END:VCALENDAR"]
    ).encode("utf-8", errors="surrogatepass"),
    st.lists(_TIMEZONE, max_size=2),
    st.lists(_EVENT, max_size=5),
    st.sampled_from(["\r\n", "\n"]),
)
_GARBAGE = st.one_of(
    st.binary(max_size=300).map(lambda b: b"BEGIN:VCALENDAR\r\n" + b),
    st.binary(max_size=100),
)
# Mostly feeds that parse (to reach the rows), some raw bytes.
_FEEDS = st.integers(0, 4).flatmap(lambda n: _GARBAGE if n == 0 else _STRUCTURED)


def check(data: bytes) -> None:
    try:
        parsed = parse_feed(data, RULES, now=NOW, lookback=timedelta(days=2), limits=LIMITS)
    except FeedError as exc:
        message = str(exc)  # a reason for sources status, never empty
        assert message
        return
    assert len(parsed.rows) <= LIMITS.max_instances
    for row in parsed.rows:
        assert row.source == "calendar:fuzz"
        assert row.external_id.startswith("calendar:fuzz:") and len(row.external_id) <= 128
        for key in ("starts_at", "ends_at"):
            assert datetime.fromisoformat(row.fields[key]).utcoffset() == timedelta(0)
        assert row.fields["starts_at"] < row.fields["ends_at"]
        for member in row.fields["panel"]:
            assert "@" in member["interviewer"]
            assert not member["interviewer"].endswith("@ignored.example")


def test_fuzz_feed_parser() -> None:
    fuzz(_FEEDS, check, examples=400)


def test_deep_nesting_and_endless_series_in_one_feed() -> None:
    deep = b"BEGIN:VCALENDAR\r\n" + b"BEGIN:VEVENT\r\n" * 100_000
    for data in (deep, deep + b"END:VEVENT\r\n" * 100_000 + b"END:VCALENDAR\r\n"):
        with pytest.raises(FeedError, match="nested deeper"):
            parse_feed(data, RULES, now=NOW, lookback=timedelta(days=2))
