"""End to end: independence after the summary, through the served bot and the fake Slack.

Two stories from issue 14: a partial summary followed by late feedback that would
flip a skill's consensus (it must not), and an edit after a complete summary with
``feedback.editable_until: deadline`` (the version from before the summary counts).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import FeedbackConfig, FileConfig
from tests.fakeslack import FakeSlack, Message, running_fake
from tests.harness import ServedBot

AAA, BBB, CCC, DDD, EEE = "U0AAA", "U0BBB", "U0CCC", "U0DDD", "U0EEE"
LEAD = "U0LEAD"
INTERVIEW = """\
interviews:
  - external_id: gh-77
    candidate: Ada Lovelace
    role: Senior ML Engineer
    starts_at: 2027-03-01T09:00:00+00:00
    ends_at: 2027-03-01T10:00:00+00:00
    hiring_channel: C0HIRING
    recruiter: U0RECRUIT
    hiring_lead: U0LEAD
    panel:
"""


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


def serve(
    engine: Engine,
    session_factory: sessionmaker[Session],
    fake: FakeSlack,
    tmp_path: Path,
    panel: tuple[str, ...],
    file_config: FileConfig | None = None,
) -> ServedBot:
    for user in [*panel, "U0RECRUIT", LEAD]:
        fake.add_user(user, real_name=f"Person {user[-3:]}")
    bot = ServedBot(engine, session_factory, fake, file_config=file_config)
    path = tmp_path / "interviews.yaml"
    path.write_text(
        INTERVIEW
        + "".join(f"      - interviewer: {u}\n        focus: [system_design]\n" for u in panel)
    )
    bot.import_file(path)
    bot.clock.now = bot.clock.now.replace(hour=10, minute=10)
    bot.sweep()  # the form DMs
    return bot


def give(bot: ServedBot, user: str, level: str, *, notes: str) -> None:
    bot.give_feedback(
        user,
        {
            "system_design": (level, f"{user} saw {level} system design"),
            "fundamentals": ("senior", f"{user} saw solid fundamentals"),
        },
        recommendation="yes" if level != "junior" else "no",
        notes=notes,
    )


def summary_of(fake: FakeSlack) -> Message:
    [summary] = [m for m in fake.messages if m.channel == "C0HIRING" and m.thread_ts is None]
    return summary


def thread_text(fake: FakeSlack) -> str:
    return "\n".join(
        json.dumps(m.blocks) + m.text
        for m in fake.messages
        if m.channel == "C0HIRING" and m.thread_ts is not None
    )


def skill_line(message: Message, skill_name: str) -> str:
    """The summary's line for one skill (the per-discipline list, not the discussion)."""
    lines = [
        line
        for block in message.blocks
        for line in str((block.get("text") or {}).get("text", "")).split("\n")
        if skill_name in line and ":large_" in line
    ]
    assert lines, f"no skill line for {skill_name}"
    return lines[-1]


def dms_to(fake: FakeSlack, user: str) -> int:
    return sum(1 for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == user)


def settle(bot: ServedBot, times: int = 3) -> None:
    for _ in range(times):
        bot.sweep()


def test_late_feedback_after_a_partial_summary_never_flips_the_consensus(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack, tmp_path: Path
) -> None:
    bot = serve(engine, session_factory, fake, tmp_path, (AAA, BBB, CCC, DDD, EEE))
    try:
        give(bot, AAA, "junior", notes="independent view A")
        give(bot, BBB, "junior", notes="independent view B")
        bot.clock.now = bot.clock.now.replace(day=3, hour=10, minute=1)  # past summary.deadline
        settle(bot)
        summary = summary_of(fake)
        posted = skill_line(summary, "System design")
        assert "Junior" in posted and "split" not in posted.lower()
        nudges_before = {u: dms_to(fake, u) for u in (CCC, DDD, EEE)}
        lead_before = dms_to(fake, LEAD)

        # Two late submissions that, counted, would make System design J, J, L, L: a split.
        give(bot, CCC, "lead", notes="late view C")
        give(bot, DDD, "lead", notes="late view D")
        settle(bot)
        now = skill_line(summary_of(fake), "System design")
        assert "Junior" in now and "split" not in now.lower() and "Lead" not in now
        thread = thread_text(fake)
        for user in (CCC, DDD):
            assert f"{user} saw lead system design" in thread
        assert thread.lower().count("after the summary") >= 2
        assert "independent view A" in thread and "late view C" in thread
        head = json.dumps(summary_of(fake).blocks)
        assert "2 of 5 before the summary, 2 after" in head

        # Days pass: no nudge to the one still missing, nothing more to the lead.
        for _ in range(12):
            bot.clock.advance(timedelta(hours=4))
            bot.sweep()
        assert dms_to(fake, EEE) == nudges_before[EEE]
        assert dms_to(fake, LEAD) == lead_before
    finally:
        bot.close()
    assert fake.rejected == [], f"the bot sent payloads Slack would reject: {fake.rejected}"


def test_an_edit_after_a_complete_summary_is_shown_and_not_counted(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack, tmp_path: Path
) -> None:
    config = FileConfig(feedback=FeedbackConfig(editable_until="deadline"))
    bot = serve(engine, session_factory, fake, tmp_path, (AAA, BBB), config)
    try:
        give(bot, AAA, "senior", notes="independent view A")
        give(bot, BBB, "senior", notes="independent view B")
        settle(bot)
        posted = skill_line(summary_of(fake), "System design")
        assert "Senior" in posted

        # AAA reads the summary, then edits (allowed until the deadline).
        bot.clock.advance(timedelta(hours=2))
        give(bot, AAA, "junior", notes="changed my mind after reading the summary")
        settle(bot)
        now = skill_line(summary_of(fake), "System design")
        assert "Senior" in now and "split" not in now.lower() and "Junior" not in now
        thread = thread_text(fake)
        assert "changed my mind after reading the summary" in thread
        assert "after the summary" in thread.lower()
        # The independent version is still the one shown as counted.
        assert "independent view A" in thread
    finally:
        bot.close()
    assert fake.rejected == [], f"the bot sent payloads Slack would reject: {fake.rejected}"
