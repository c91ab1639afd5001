"""End to end: one interviewer never submits. Nudges (capped, outside quiet hours), the
recruiter's digests, one escalation to the hiring lead; snooze, "I did not attend", Nudge now.

Time is the harness clock, advanced hour by hour; nothing sleeps.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import FileConfig, RemindersConfig
from tests import slackreq
from tests.fakeslack import FakeSlack, Fault, Message, running_fake
from tests.harness import ServedBot, wait_for

LATE = "U0LATE"  # Europe/Berlin, never submits
OTHERS = ["U0AAA", "U0BBB", "U0CCC"]
END = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
INTERVIEW = """\
interviews:
  - candidate: Ada Lovelace
    role: Senior ML Engineer
    starts_at: 2027-03-01T09:00:00+00:00
    ends_at: 2027-03-01T10:00:00+00:00
    hiring_channel: C0HIRING
    recruiter: U0RECRUIT
    hiring_lead: U0LEAD
    panel:
      - interviewer: U0LATE
        focus: [system_design]
      - interviewer: U0AAA
      - interviewer: U0BBB
      - interviewer: U0CCC
"""


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


@pytest.fixture
def served(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack, tmp_path: Path
) -> Iterator[ServedBot]:
    fake.add_user(LATE, tz="Europe/Berlin")
    for user in [*OTHERS, "U0RECRUIT", "U0LEAD"]:
        fake.add_user(user, tz="UTC")
    # nudges every 6 h from 11:00 Berlin: 11:00, 17:00, then 23:00 falls in quiet hours
    config = FileConfig(reminders=RemindersConfig(interval=timedelta(hours=6), max=3))
    bot = ServedBot(engine, session_factory, fake, file_config=config)
    path = tmp_path / "interviews.yaml"
    path.write_text(INTERVIEW)
    bot.import_file(path)
    bot.clock.now = END + timedelta(minutes=10)
    bot.sweep()  # four form DMs
    for user in OTHERS:
        bot.give_feedback(user, {}, recommendation="yes")
    bot.clock.now = END  # from here on, sweep on the hour
    yield bot
    bot.close()
    assert fake.rejected == [], f"the bot sent payloads Slack would reject: {fake.rejected}"


def run_hours(served: ServedBot, hours: int) -> list[tuple[datetime, Message]]:
    """Sweep once an hour; return every new DM or channel message with when it was sent."""
    sent: list[tuple[datetime, Message]] = []
    for _ in range(hours):
        served.clock.advance(timedelta(hours=1))
        before = len(served.fake.messages)
        served.sweep()
        sent += [(served.clock.now, m) for m in served.fake.messages[before:]]
    return sent


def text_of(message: Message) -> str:
    return message.text + json.dumps(message.blocks)


def test_one_late_interviewer(served: ServedBot) -> None:
    sent = run_hours(served, 96)
    nudges = [(when, m) for when, m in sent if m.channel == LATE]
    assert len(nudges) == 3  # exactly reminders.max, the form DM not counted
    for when, message in nudges:
        local = when.astimezone(BERLIN).time()
        assert time(8, 0) <= local < time(20, 0), f"a nudge at {local} Berlin time"
        assert "Snooze" in text_of(message) and "did not attend" in text_of(message)
    # the first is due 24 h after the end: 11:00 Berlin; the third waited for the morning
    assert nudges[0][0] == END + timedelta(hours=24)
    assert nudges[2][0].astimezone(BERLIN).time() == time(8, 0)
    # nobody else was nudged
    assert not any(m.channel in OTHERS for _, m in sent)

    digests = [(when, m) for when, m in sent if m.channel == "U0RECRUIT"]
    assert 1 <= len(digests) <= 4
    assert all(f"<@{LATE}>" in text_of(m) for _, m in digests)
    deadline = END + timedelta(hours=48)
    # at most one per digest_interval (24 h), except the one the summary deadline triggers
    for (earlier, _), (later, _) in itertools.pairwise(digests):
        assert later - earlier >= timedelta(hours=24) or later == deadline

    # The partial summary goes out at the deadline, before the escalation is looked at:
    # from then on LATE is late, not missing, and nobody is sent to chase them.
    assert [m for _, m in sent if m.channel == "U0LEAD"] == []
    after = [(when, m) for when, m in digests if when >= deadline]
    assert len(after) == 1  # told once, at the deadline; not again every day
    assert "late: the summary was posted without their feedback" in text_of(after[0][1])
    assert "overdue" not in text_of(after[0][1])
    # a partial summary went to the hiring channel, naming the missing interviewer
    [summary] = [m for _, m in sent if m.channel == "C0HIRING" and m.thread_ts is None]
    assert "3 of 4" in text_of(summary)


def nudge_button(message: Message, action_id: str) -> dict[str, Any]:
    for block in message.blocks:
        for element in [block.get("accessory"), *block.get("elements", [])]:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element
    raise AssertionError(f"no {action_id} in {text_of(message)[:300]}")


def press(served: ServedBot, user: str, message: Message, action_id: str) -> None:
    value = nudge_button(message, action_id)["value"]
    container = {"type": "message", "channel_id": message.channel, "message_ts": message.ts}
    before = len(served.fake.calls)
    reply = served.send(
        slackreq.block_action(
            user, action_id, value, trigger_id=served.fake.issue_trigger(), container=container
        )
    )
    assert reply.status == 200
    wait_for(lambda: len(served.fake.calls) > before, what=f"the bot's answer to {action_id}")


def first_nudge(served: ServedBot) -> Message:
    sent = run_hours(served, 24)
    [nudge] = [m for _, m in sent if m.channel == LATE]
    return nudge


def test_snooze_one_hour_moves_the_next_reminder(served: ServedBot) -> None:
    nudge = first_nudge(served)
    press(served, LATE, nudge, "nudge_snooze_hour")
    wait_for(lambda: bool(nudge.history), what="the nudge to show it was snoozed")
    assert "Snoozed" in text_of(nudge)
    sent = run_hours(served, 1)
    assert [m.channel for _, m in sent].count(LATE) == 1  # due again one hour later


def test_snooze_until_morning(served: ServedBot) -> None:
    nudge = first_nudge(served)  # 11:00 Berlin
    press(served, LATE, nudge, "nudge_snooze_morning")
    sent = run_hours(served, 30)
    later = [when for when, m in sent if m.channel == LATE]
    assert later and later[0].astimezone(BERLIN).time() == time(8, 0)
    assert later[0].astimezone(BERLIN).date() == (END + timedelta(days=2)).astimezone(BERLIN).date()


def test_i_did_not_attend(served: ServedBot) -> None:
    nudge = first_nudge(served)
    press(served, LATE, nudge, "nudge_not_attended")
    wait_for(
        lambda: any("did not attend" in text_of(m) for m in served.fake.messages_in("U0RECRUIT")),
        what="the recruiter to be told",
    )
    sent = run_hours(served, 48)
    assert not any(m.channel == LATE for _, m in sent)  # no more reminders
    assert not any(m.channel == "U0LEAD" for _, m in sent)  # nobody is missing: no escalation
    # the rest of the panel had submitted: the summary is complete, 3 of 3
    summaries = [m for m in served.fake.messages if m.channel == "C0HIRING" and m.thread_ts is None]
    assert len(summaries) == 1 and "3 of 3" in text_of(summaries[0])


def test_nudge_now_from_the_digest_goes_past_the_cap(served: ServedBot) -> None:
    sent = run_hours(served, 46)  # the third nudge went out at 08:00 Berlin, END + 45 h
    assert [m.channel for _, m in sent].count(LATE) == 3
    digest = [m for _, m in sent if m.channel == "U0RECRUIT"][-1]
    press(served, "U0RECRUIT", digest, "digest_nudge_now")
    # an interviewer cannot press it for themselves
    press(served, LATE, digest, "digest_nudge_now")
    sent = run_hours(served, 1)
    assert [m.channel for _, m in sent].count(LATE) == 1  # one extra, before the summary
    sent = run_hours(served, 48)  # the partial summary is posted at END + 48 h
    assert [m.channel for _, m in sent].count(LATE) == 0
    # Once it is, Nudge now is refused, with the reason.
    before = len(served.fake.ephemerals)
    press(served, "U0RECRUIT", digest, "digest_nudge_now")
    wait_for(lambda: len(served.fake.ephemerals) > before, what="the refusal")
    assert "summary was posted without their feedback" in json.dumps(served.fake.ephemerals[-1])
    assert [m.channel for _, m in run_hours(served, 24)].count(LATE) == 0


def test_a_permanent_error_stops_reminders_and_reaches_the_digest(served: ServedBot) -> None:
    served.fake.fail("chat.postMessage", Fault(body={"ok": False, "error": "user_not_found"}))
    sent = run_hours(served, 96)
    assert not any(m.channel == LATE for _, m in sent)
    digests = [m for _, m in sent if m.channel == "U0RECRUIT"]
    assert digests and "user_not_found" in text_of(digests[-1])
