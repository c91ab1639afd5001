"""rubric.quiet_hours: reminders wait for the recipient's morning, across time zones and DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rubric.quiet_hours import QuietHours, next_allowed, tomorrow_morning

NIGHT = QuietHours(start=time(20, 0), end=time(8, 0))
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_daytime_is_allowed_as_is() -> None:
    moment = utc(2027, 3, 1, 12, 0)  # 13:00 in Berlin
    assert next_allowed(moment, BERLIN, NIGHT) == moment


def test_evening_waits_for_the_next_morning_in_the_recipients_zone() -> None:
    # 22:30 in Berlin (21:30 UTC) -> 08:00 Berlin next day = 07:00 UTC
    assert next_allowed(utc(2027, 3, 1, 21, 30), BERLIN, NIGHT) == utc(2027, 3, 2, 7, 0)
    # the same instant is 16:30 in New York: allowed
    assert next_allowed(utc(2027, 3, 1, 21, 30), NEW_YORK, NIGHT) == utc(2027, 3, 1, 21, 30)
    # and 03:00 the next day in Kolkata: wait until 08:00 IST = 02:30 UTC
    assert next_allowed(utc(2027, 3, 1, 21, 30), KOLKATA, NIGHT) == utc(2027, 3, 2, 2, 30)


def test_early_morning_waits_until_the_end_of_the_same_night() -> None:
    # 05:00 Berlin (04:00 UTC) -> 08:00 Berlin the same day
    assert next_allowed(utc(2027, 3, 2, 4, 0), BERLIN, NIGHT) == utc(2027, 3, 2, 7, 0)


def test_boundaries() -> None:
    assert next_allowed(utc(2027, 3, 2, 7, 0), BERLIN, NIGHT) == utc(
        2027, 3, 2, 7, 0
    )  # 08:00 sharp
    assert next_allowed(utc(2027, 3, 2, 19, 0), BERLIN, NIGHT) == utc(
        2027, 3, 3, 7, 0
    )  # 20:00 sharp


def test_across_the_spring_forward_change() -> None:
    # Europe/Berlin moves from CET (+1) to CEST (+2) on Sunday 28 March 2027 at 02:00.
    # A nudge due at 23:00 CET on Saturday waits until 08:00 CEST on Sunday = 06:00 UTC.
    assert next_allowed(utc(2027, 3, 27, 22, 0), BERLIN, NIGHT) == utc(2027, 3, 28, 6, 0)


def test_across_the_fall_back_change() -> None:
    # America/New_York moves from EDT (-4) to EST (-5) on Sunday 7 November 2027 at 02:00.
    # 21:00 EDT on Saturday -> 08:00 EST on Sunday = 13:00 UTC (not 12:00).
    assert next_allowed(utc(2027, 11, 7, 1, 0), NEW_YORK, NIGHT) == utc(2027, 11, 7, 13, 0)


def test_a_daytime_window() -> None:
    lunch = QuietHours(start=time(12, 0), end=time(13, 0))
    assert next_allowed(utc(2027, 3, 1, 11, 30), BERLIN, lunch) == utc(2027, 3, 1, 12, 0)
    assert next_allowed(utc(2027, 3, 1, 10, 30), BERLIN, lunch) == utc(2027, 3, 1, 10, 30)


def test_quiet_hours_off() -> None:
    assert next_allowed(utc(2027, 3, 1, 23, 0), BERLIN, None) == utc(2027, 3, 1, 23, 0)


def test_tomorrow_morning() -> None:
    # afternoon in Berlin -> 08:00 tomorrow
    assert tomorrow_morning(utc(2027, 3, 1, 14, 0), BERLIN, NIGHT) == utc(2027, 3, 2, 7, 0)
    # 02:00 at night -> this morning, 08:00
    assert tomorrow_morning(utc(2027, 3, 2, 1, 0), BERLIN, NIGHT) == utc(2027, 3, 2, 7, 0)
    # without quiet hours: 09:00 tomorrow
    assert tomorrow_morning(utc(2027, 3, 1, 14, 0), BERLIN, None) == utc(2027, 3, 2, 8, 0)


@pytest.mark.parametrize("bad", ["22-07", "25:00-08:00", "08:00-08:00", 5, "20:00 - 08:00x"])
def test_parse_rejects_bad_values(bad: object) -> None:
    with pytest.raises(ValueError, match=r"HH:MM|same"):
        QuietHours.parse(bad)


zones = st.sampled_from(
    ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC"]
)
windows = st.tuples(st.integers(0, 23), st.integers(0, 23)).filter(lambda hs: hs[0] != hs[1])


@given(
    moment=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2029, 1, 1), timezones=st.just(UTC)
    ),
    zone=zones,
    hours=windows,
)
def test_never_inside_and_never_much_later_than_needed(
    moment: datetime, zone: str, hours: tuple[int, int]
) -> None:
    quiet = QuietHours(start=time(hours[0]), end=time(hours[1]))
    tz = ZoneInfo(zone)
    allowed = next_allowed(moment, tz, quiet)
    assert allowed >= moment
    assert not quiet.contains(allowed.astimezone(tz).time())
    assert allowed - moment <= timedelta(hours=25)  # at most one night (plus a DST hour)
