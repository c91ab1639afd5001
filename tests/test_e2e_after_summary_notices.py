"""End to end: after a partial summary, the interviewer still missing is told, not chased.

A panel of three; two submit; the summary deadline passes and the partial summary
is posted. Then the missing interviewer's form DM says the summary is out, no
nudge or escalation follows however long the clock runs, the form opens with the
same notice at its top, and the recruiter's digest calls them late, not overdue.
Time is the harness clock, advanced hour by hour; nothing sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import FileConfig, RemindersConfig
from storage.models import Interview
from tests.fakeslack import FakeSlack, Fault, Message, running_fake
from tests.harness import ServedBot

LATE = "U0LATE"
ON_TIME = ["U0AAA", "U0BBB"]
END = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
DEADLINE = END + timedelta(hours=48)  # summary.deadline's default
NOTICE = ":hourglass: The summary is already posted in the hiring channel."
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
      - interviewer: U0AAA
      - interviewer: U0LATE
        focus: [system_design]
      - interviewer: U0BBB
"""


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


@pytest.fixture
def served(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack, tmp_path: Path
) -> Iterator[ServedBot]:
    for user in [LATE, *ON_TIME, "U0RECRUIT", "U0LEAD"]:
        fake.add_user(user, tz="UTC")
    # Every 6 h and up to 10: without the rule, nudges would go on well past the deadline.
    config = FileConfig(reminders=RemindersConfig(interval=timedelta(hours=6), max=10))
    bot = ServedBot(engine, session_factory, fake, file_config=config)
    path = tmp_path / "interviews.yaml"
    path.write_text(INTERVIEW)
    bot.import_file(path)
    bot.clock.now = END + timedelta(minutes=10)
    bot.sweep()  # three form DMs
    for user in ON_TIME:
        bot.give_feedback(
            user, {"fundamentals": ("senior", f"{user} saw it")}, recommendation="yes"
        )
    bot.clock.now = END
    yield bot
    bot.close()
    assert fake.rejected == [], f"the bot sent payloads Slack would reject: {fake.rejected}"


def run_hours(served: ServedBot, hours: int) -> list[tuple[datetime, Message]]:
    """Sweep once an hour; every new message with when it was sent."""
    sent: list[tuple[datetime, Message]] = []
    for _ in range(hours):
        served.clock.advance(timedelta(hours=1))
        before = len(served.fake.messages)
        served.sweep()
        sent += [(served.clock.now, m) for m in served.fake.messages[before:]]
    return sent


def text_of(message: Message | dict[str, object]) -> str:
    if isinstance(message, Message):
        return message.text + json.dumps(message.blocks)
    return json.dumps(message)


def form_dm(served: ServedBot, user: str) -> Message:
    return served.fake.messages_in(user)[0]  # the first DM is the form; nudges are new ones


def summary_of(served: ServedBot) -> Message:
    [summary] = [m for m in served.fake.messages_in("C0HIRING") if m.thread_ts is None]
    return summary


def open_button_value(message: Message) -> str:
    for block in message.blocks:
        for element in block.get("elements", []):
            if isinstance(element, dict) and element.get("action_id") == "feedback_open":
                return str(element["value"])
    raise AssertionError(f"no Give feedback button in {text_of(message)[:300]}")


def test_after_the_partial_summary_the_missing_interviewer_is_told_not_chased(
    served: ServedBot,
) -> None:
    before = run_hours(served, 47)
    nudges_before = [when for when, m in before if m.channel == LATE]
    assert len(nudges_before) >= 3  # chased as usual while their feedback could count
    assert NOTICE not in text_of(form_dm(served, LATE))

    at_deadline = run_hours(served, 1)
    assert served.clock.now == DEADLINE
    assert "2 of 3" in text_of(summary_of(served))  # the partial summary

    # The form DM was updated in place to say so; nothing new was sent to them.
    dm = form_dm(served, LATE)
    assert len(dm.history) == 1
    assert dm.blocks[0]["text"]["text"].startswith(NOTICE)
    assert "shown in its thread as given after the summary" in text_of(dm)
    assert not any(m.channel == LATE for _, m in at_deadline)
    # Those who submitted keep their DM as it was.
    assert all(NOTICE not in text_of(form_dm(served, user)) for user in ON_TIME)

    # No nudge, no escalation, however far the clock runs past the reminder interval.
    after = at_deadline + run_hours(served, 72)
    assert [m for _, m in after if m.channel == LATE] == []
    assert [m for _, m in after if m.channel == "U0LEAD"] == []

    # The recruiter hears once that they were late, never that they are overdue.
    digests = [(when, m) for when, m in before + after if m.channel == "U0RECRUIT"]
    assert f"<@{LATE}>" in text_of(digests[0][1]) and "overdue" in text_of(digests[0][1])
    late = [(when, m) for when, m in digests if when >= DEADLINE]
    assert len(late) == 1
    assert "late: the summary was posted without their feedback" in text_of(late[0][1])
    assert "overdue" not in text_of(late[0][1])
    assert "digest_nudge_now" not in text_of(late[0][1])

    # The form opens with the same notice at its top; they can still submit.
    served.click(LATE, "feedback_open", open_button_value(dm))
    view = served.last_opened_view()
    top = view["blocks"][0]
    assert top["type"] == "section" and top["text"]["text"].startswith(NOTICE)
    assert "does not change the panel's consensus" in top["text"]["text"]
    served.give_feedback(
        LATE, {"system_design": ("lead", "Saw a design.")}, recommendation="strong_yes"
    )
    assert "Feedback submitted" in text_of(form_dm(served, LATE))
    assert [m for _, m in run_hours(served, 24) if m.channel == LATE] == []


def test_a_failed_dm_update_is_retried_with_the_thread_not_repeated(served: ServedBot) -> None:
    run_hours(served, 47)
    # Slack fails the DM's update once (a transient error): the finish unit is retried.
    served.fake.fail("chat.update", Fault(body={"ok": False, "error": "internal_error"}))
    run_hours(served, 1)
    assert form_dm(served, LATE).history == []
    thread = [m for m in served.fake.messages_in("C0HIRING") if m.thread_ts is not None]
    run_hours(served, 2)
    dm = form_dm(served, LATE)
    assert len(dm.history) == 1 and NOTICE in text_of(dm)
    # The retry posted no thread reply twice, and the unit is done.
    assert [m for m in served.fake.messages_in("C0HIRING") if m.thread_ts is not None] == thread
    assert summary_pending(served) is None


def test_a_dm_that_is_gone_is_skipped_and_the_summary_finishes(served: ServedBot) -> None:
    run_hours(served, 47)
    served.fake.fail("chat.update", Fault(body={"ok": False, "error": "message_not_found"}))
    run_hours(served, 1)
    updates = len(served.fake.calls_to("chat.update"))
    run_hours(served, 3)
    # Not retried: a message that is gone does not come back. The summary is finished.
    assert len(served.fake.calls_to("chat.update")) == updates
    assert form_dm(served, LATE).history == []
    assert summary_pending(served) is None


def summary_pending(served: ServedBot) -> str | None:
    with served.session_factory() as session:
        [pending] = session.scalars(select(Interview.summary_pending)).all()
        return None if pending is None else pending.value


# -- a shadow, scheduled from the modal ---------------------------------------------------


def test_the_schedule_modal_makes_a_shadow_and_refuses_a_panel_of_shadows(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack
) -> None:
    from bot.config import AccessConfig
    from tests.test_e2e_schedule_and_paging import schedule_values

    for user in ("U0AAA", "U0TRAINEE", "U0RECRUIT", "U0LEAD"):
        fake.add_user(user)
    config = FileConfig(access=AccessConfig(recruiters=("U0RECRUIT",)))
    bot = ServedBot(engine, session_factory, fake, file_config=config)
    try:
        bot.command("U0RECRUIT", "schedule", opens_view=True)
        view = bot.last_opened_view()
        fields = {
            "candidate": "Grace Hopper",
            "role": "Senior ML Engineer",
            "starts_at": int(END.timestamp()),
            "channel": "C0HIRING",
            "lead": "U0LEAD",
            "panel": [("U0AAA", []), ("U0TRAINEE", [])],
        }
        box = {"type": "checkboxes", "selected_options": [{"value": "shadow"}]}
        shadows_only = schedule_values(**fields) | {
            "shadow_0": {"value": box},
            "shadow_1": {"value": box},
        }
        reply = bot.submit("U0RECRUIT", view, shadows_only)
        assert reply.json()["response_action"] == "errors"
        assert list(reply.json()["errors"]) == ["shadow_0"]
        assert "at least one must not be" in reply.json()["errors"]["shadow_0"]

        reply = bot.submit(
            "U0RECRUIT", view, schedule_values(**fields) | {"shadow_1": {"value": box}}
        )
        assert reply.status == 200 and (reply.body in (b"", b"{}") or not reply.json())
        with session_factory() as session:
            interview = session.scalars(select(Interview)).one()
            panel = sorted(interview.requests, key=lambda r: r.position)
            assert [(r.interviewer, r.shadow) for r in panel] == [
                ("U0AAA", False),
                ("U0TRAINEE", True),
            ]
    finally:
        bot.close()
    assert fake.rejected == []
