"""sources.ics: what the parser makes of Google Calendar and Outlook/Exchange feeds.

Fixtures (tests/fixtures/ics/):
* google.ics: the shape of a Google Calendar "Secret address in iCal format" export
  (PRODID -//Google Inc//Google Calendar 70.9054//EN, X-WR-TIMEZONE, folded
  ATTENDEE lines with CUTYPE/PARTSTAT/X-NUM-GUESTS, rooms as CUTYPE=RESOURCE on
  resource.calendar.google.com, a weekly series with an EXDATE and a moved
  instance as a second VEVENT with RECURRENCE-ID, an all-day hold);
* outlook.ics: the shape of an Outlook / Exchange "Publish calendar" ICS link
  (PRODID Microsoft Exchange Server 2010, VTIMEZONE blocks with Windows names
  "W. Europe Standard Time" and Outlook's "Customized Time Zone", long
  040000008200E000... UIDs, X-MICROSOFT-CDO-* properties, CUTYPE=ROOM/RESOURCE,
  a cancelled meeting with STATUS:CANCELLED and a "Canceled: " title).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sources.ics import (
    DEFAULT_LIMITS,
    FeedError,
    FeedRules,
    Limits,
    ParsedFeed,
    external_id,
    parse_feed,
)
from storage.intake import SourceRow

FIXTURES = Path(__file__).parent / "fixtures" / "ics"
NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
LOOKBACK = timedelta(hours=48)

GOOGLE = FeedRules(
    name="google",
    title_pattern=re.compile(
        r"^Interview: (?P<candidate>[^(]+?) \((?P<role>[^)]+)\)(?: \[(?P<kit>[^\]]+)\])?$"
    ),
    ignore=("*@gmail.com",),
    kits={"System-Design": ("system_design",)},
    defaults={"hiring_channel": "C0HIRING", "recruiter": "U0REC"},
    jobs={"ml engineer": frozenset({"rubric", "target_level"})},
)
OUTLOOK = FeedRules(
    name="outlook",
    title_pattern=re.compile(r"Interview - (?P<candidate>.+?) - (?P<role>.+)$"),
)


def parse(name: str, rules: FeedRules, now: datetime = NOW) -> ParsedFeed:
    return parse_feed((FIXTURES / name).read_bytes(), rules, now=now, lookback=LOOKBACK)


def by_candidate(parsed: ParsedFeed) -> dict[str, list[SourceRow]]:
    found: dict[str, list[SourceRow]] = {}
    for row in parsed.rows:
        found.setdefault(row.fields["candidate"], []).append(row)
    return found


def test_google_single_event_panel_is_people_minus_organizer_ignored_and_declined() -> None:
    rows = by_candidate(parse("google.ics", GOOGLE))
    [dana] = rows["Dana Candidate"]
    assert dana.external_id == "calendar:google:5k2t9q1ffo3v0b2c8l6a4sj1bc@google.com"
    assert dana.source == "calendar:google" and not dana.cancelled
    # Rita organizes (and attends), the room is a RESOURCE, Dana's gmail is ignored,
    # Carl declined: Alice (email lower-cased) and Bob remain.
    assert [m["interviewer"] for m in dana.fields["panel"]] == [
        "alice@example.com",
        "bob@example.com",
    ]
    # The kit from the title (case-insensitive) gives the focus skills.
    assert all(m["focus"] == ["system_design"] for m in dana.fields["panel"])
    assert "kit" not in dana.fields
    # 10:00 Europe/Berlin in March is 09:00 UTC.
    assert dana.fields["starts_at"] == "2027-03-02T09:00:00+00:00"
    assert dana.fields["ends_at"] == "2027-03-02T10:00:00+00:00"
    # The role goes to the shared mapping as the job; the feed's defaults fill the rest.
    assert dana.fields["job"] == "ML Engineer"
    assert dana.fields["hiring_channel"] == "C0HIRING"


def test_google_series_expanded_with_moved_and_excluded_instances() -> None:
    evan = by_candidate(parse("google.ics", GOOGLE))["Evan Weekly"]
    uid = "7ob3c1r2m9u2p4q6v8n0e1k3ls@google.com"
    assert [(r.external_id, r.fields["starts_at"]) for r in evan] == [
        (f"calendar:google:{uid}:2027-03-03T13:00:00Z", "2027-03-03T13:00:00+00:00"),
        # Moved from 14:00 to 16:00 Berlin: same id (its RECURRENCE-ID), new time.
        (f"calendar:google:{uid}:2027-03-10T13:00:00Z", "2027-03-10T15:00:00+00:00"),
        # 17 March is an EXDATE; COUNT=4 ends the series on 24 March.
        (f"calendar:google:{uid}:2027-03-24T13:00:00Z", "2027-03-24T13:00:00+00:00"),
    ]


def test_non_matching_titles_and_all_day_holds_are_ignored() -> None:
    parsed = parse("google.ics", GOOGLE)
    assert set(by_candidate(parsed)) == {"Dana Candidate", "Evan Weekly"}
    assert parsed.events_seen == 5
    assert parsed.ignored == 2  # the standup and the all-day hold


def test_outlook_windows_and_custom_time_zones_rooms_and_cancelled() -> None:
    rows = by_candidate(parse("outlook.ics", OUTLOOK))
    [frank] = rows["Frank Outlook"]
    assert frank.fields["starts_at"] == "2027-03-02T09:00:00+00:00"  # W. Europe, CET
    assert [m["interviewer"] for m in frank.fields["panel"]] == [
        "alice@example.com",
        "bob@example.com",
    ]  # the ROOM and the RESOURCE are not interviewers
    assert frank.fields["role"] == "Backend Engineer" and "job" not in frank.fields  # no jobs
    [gina] = rows["Gina Summer"]
    assert gina.fields["starts_at"] == "2027-04-06T08:00:00+00:00"  # W. Europe, CEST
    [hugo] = rows["Hugo Cancelled"]
    assert hugo.cancelled
    # "Customized Time Zone" is known only from the feed's own VTIMEZONE (+01:00 in March).
    assert hugo.fields["starts_at"] == "2027-03-03T14:00:00+00:00"
    # Exchange UIDs are too long for the id column: hashed, stable.
    assert len(frank.external_id) <= 128
    assert frank.external_id == parse("outlook.ics", OUTLOOK).rows[0].external_id
    assert frank.external_id.startswith("calendar:outlook:sha256-")


def test_past_events_outside_the_lookback_are_not_interviews() -> None:
    later = datetime(2027, 3, 20, tzinfo=UTC)
    rows = by_candidate(parse("google.ics", GOOGLE, now=later))
    assert "Dana Candidate" not in rows
    assert [r.fields["starts_at"] for r in rows["Evan Weekly"]] == ["2027-03-24T13:00:00+00:00"]


def test_external_id_of_an_instance_is_in_utc() -> None:
    berlin = datetime(2027, 3, 3, 15, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert external_id("f", "u1", berlin) == "calendar:f:u1:2027-03-03T14:00:00Z"
    assert external_id("f", "u1") == "calendar:f:u1"


def feed(*events: str, extra: str = "") -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\nEND:VEVENT\r\n" for e in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\n{extra}{body}END:VCALENDAR\r\n".encode()


def event(uid: str, title: str = "Interview: Pat (ML Engineer)", extra: str = "") -> str:
    return (
        f"UID:{uid}\r\nSUMMARY:{title}\r\nDTSTART:20270302T100000Z\r\n"
        f"DTEND:20270302T110000Z\r\nATTENDEE:mailto:a@example.com\r\n{extra}"
    )


def parse_bytes(data: bytes, limits: Limits = DEFAULT_LIMITS) -> ParsedFeed:
    return parse_feed(data, GOOGLE, now=NOW, lookback=LOOKBACK, limits=limits)


def test_an_rrule_without_end_is_bounded_by_the_window() -> None:
    parsed = parse_bytes(feed(event("daily", extra="RRULE:FREQ=DAILY")))
    # 2 March to 29 April 10:00; 30 April 10:00 is past now + 60 days (08:00).
    assert len(parsed.rows) == 59


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("RRULE:FREQ=SECONDLY", "too costly to expand"),
        ("RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "too costly to expand"),
        ("RRULE:FREQ=FORTNIGHTLY", "event r: .*FORTNIGHTLY"),
    ],
)
def test_hostile_recurrences_fail_the_poll_clearly(rule: str, message: str) -> None:
    with pytest.raises(FeedError, match=message):
        parse_bytes(feed(event("r", extra=rule)))


def test_a_hostile_series_in_a_non_interview_event_costs_nothing() -> None:
    parsed = parse_bytes(feed(event("r", title="Lunch", extra="RRULE:FREQ=SECONDLY")))
    assert parsed.rows == () and parsed.ignored == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html>Sign in</html>", "not an iCalendar feed"),
        (b"BEGIN:VCALENDAR\r\n" + b"BEGIN:X\r\n" * 50, "nested deeper"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n", "END without BEGIN|ends inside"),
        (b"x" * (5 * 1024 * 1024 + 1), "larger than"),
    ],
)
def test_malformed_feeds_are_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(FeedError, match=message):
        parse_bytes(data)


def test_too_many_events_or_instances_are_refused() -> None:
    many = feed(*(event(f"u{i}") for i in range(30)))
    with pytest.raises(FeedError, match="components"):
        parse_bytes(many, Limits(max_components=20))
    with pytest.raises(FeedError, match="more than 10 interviews"):
        parse_bytes(many, Limits(max_instances=10))


def test_interview_event_without_a_time_fails_naming_it() -> None:
    broken = feed("UID:nodt\r\nSUMMARY:Interview: Pat (ML Engineer)")
    with pytest.raises(FeedError, match="nodt"):
        parse_bytes(broken)


def test_ten_thousand_events_parse_within_the_limits() -> None:
    data = feed(*(event(f"u{i}", title=f"Busy {i}") for i in range(10_000)))
    assert len(data) < Limits().max_bytes
    parsed = parse_bytes(data)
    assert parsed.events_seen == 10_000 and parsed.rows == ()


def custom_zone_feed(offset: str) -> bytes:
    """Outlook names every custom zone "Customized Time Zone", whatever its offset."""
    zone = (
        "BEGIN:VTIMEZONE\r\nTZID:Customized Time Zone\r\nBEGIN:STANDARD\r\n"
        f"DTSTART:16010101T000000\r\nTZOFFSETFROM:{offset}\r\nTZOFFSETTO:{offset}\r\n"
        "END:STANDARD\r\nEND:VTIMEZONE\r\n"
    )
    return feed(
        "UID:z\r\nSUMMARY:Interview: Pat (ML Engineer)\r\n"
        "DTSTART;TZID=Customized Time Zone:20270302T100000\r\n"
        "DTEND;TZID=Customized Time Zone:20270302T110000\r\nATTENDEE:mailto:a@example.com",
        extra=zone,
    )


def test_each_feed_gets_its_own_customized_time_zone() -> None:
    [india] = parse_bytes(custom_zone_feed("+0530")).rows
    [tokyo] = parse_bytes(custom_zone_feed("+0900")).rows
    assert india.fields["starts_at"] == "2027-03-02T04:30:00+00:00"
    assert tokyo.fields["starts_at"] == "2027-03-02T01:00:00+00:00"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=MINUTELY", "not yearly"),
        # Folded, as a feed may fold any line: unfolded before it is checked.
        ("FREQ=HOUR\r\n LY", "not yearly"),
        ("FREQ=YEARLY;BYDAY=SU", "too many changes a year"),
    ],
)
def test_time_zone_rules_that_would_expand_for_minutes_are_refused(rule: str, message: str) -> None:
    # icalendar expands a zone's transitions from its DTSTART when it reads the feed:
    # an hourly rule from 1601 took 25 s, a minutely one over a minute.
    zone = (
        "BEGIN:VTIMEZONE\r\nTZID:Bomb\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\n"
        f"TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nRRULE:{rule}\r\nEND:STANDARD\r\n"
        "END:VTIMEZONE\r\n"
    )
    with pytest.raises(FeedError, match=message):
        parse_bytes(feed(event("u1"), extra=zone))


def test_real_time_zone_rules_are_read() -> None:
    # The US rule of 1987-2006 lists seven month days; Exchange's one weekday.
    for rule in (
        "FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=1,2,3,4,5,6,7;BYDAY=SU",
        "FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10",
    ):
        zone = (
            "BEGIN:VTIMEZONE\r\nTZID:Old US\r\nBEGIN:STANDARD\r\nDTSTART:19870101T020000\r\n"
            f"TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0500\r\nRRULE:{rule}\r\nEND:STANDARD\r\n"
            "END:VTIMEZONE\r\n"
        )
        data = feed(
            "UID:z\r\nSUMMARY:Interview: Pat (ML Engineer)\r\n"
            "DTSTART;TZID=Old US:20270302T100000\r\nDTEND;TZID=Old US:20270302T110000",
            extra=zone,
        )
        [row] = parse_bytes(data).rows
        assert row.fields["starts_at"] == "2027-03-02T15:00:00+00:00"


def test_descriptions_alarms_and_attachments_cost_nothing() -> None:
    # Outlook's HTML description, a base64 attachment, an alarm: never parsed.
    big = "x" * (3 * 1024 * 1024)
    data = feed(
        event(
            "u1",
            extra=f"X-ALT-DESC;FMTTYPE=text/html:{big}\r\nCATEGORIES:{'a,' * 100_000}a\r\n"
            "BEGIN:VALARM\r\nTRIGGER:-PT15M\r\nACTION:DISPLAY\r\nEND:VALARM",
        )
    )
    [row] = parse_bytes(data).rows
    assert row.fields["panel"] == [{"interviewer": "a@example.com"}]
    # A property the parser does read is refused when no calendar could be that long.
    with pytest.raises(FeedError, match="a SUMMARY line of"):
        parse_bytes(feed(event("u2", title="Interview: " + big)))
