"""End to end: the summary's "Debrief guide" button, for the hiring lead and no one it should not reach."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from handlers.blocks.debrief import REMINDER
from handlers.blocks.limits import check_message, check_view
from storage.models import Interview
from tests import slackreq
from tests.fakeslack import FakeSlack, Message, running_fake
from tests.harness import ServedBot, wait_for

PANEL = ["U0AAA", "U0BBB", "U0CCC", "U0DDD"]
# system_design: Junior, Junior, Lead, Lead against a Senior target: a split, first on
# the agenda; fundamentals unanimous (one line); inclusiveness nobody assesses.
LEVELS = {
    "U0AAA": {"system_design": "junior", "fundamentals": "senior"},
    "U0BBB": {"system_design": "junior", "fundamentals": "senior"},
    "U0CCC": {"system_design": "lead", "fundamentals": "senior"},
    "U0DDD": {"system_design": "lead", "fundamentals": "senior"},
}
RECOMMENDATION = {"U0AAA": "no", "U0BBB": "strong_no", "U0CCC": "yes", "U0DDD": "yes"}
INTERVIEW = """\
interviews:
  - external_id: gh-42
    candidate: Ada Lovelace
    role: Senior ML Engineer
    starts_at: 2027-03-01T09:00:00+00:00
    ends_at: 2027-03-01T10:00:00+00:00
    hiring_channel: C0HIRING
    recruiter: U0RECRUIT
    hiring_lead: U0LEAD
    panel:
"""
CHANNEL = {"type": "message", "channel_id": "C0HIRING", "message_ts": "1.0"}


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


@pytest.fixture
def served(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack, tmp_path: Path
) -> Iterator[ServedBot]:
    for user in [*PANEL, "U0RECRUIT", "U0LEAD", "U0STRANGER"]:
        fake.add_user(user)
    bot = ServedBot(engine, session_factory, fake)
    path = tmp_path / "interviews.yaml"
    path.write_text(
        INTERVIEW
        + "".join(f"      - interviewer: {u}\n        focus: [system_design]\n" for u in PANEL)
    )
    bot.import_file(path)
    bot.clock.now = bot.clock.now.replace(hour=10, minute=10)
    bot.sweep()  # the four form DMs
    yield bot
    bot.close()
    assert fake.rejected == [], f"the bot sent payloads Slack would reject: {fake.rejected}"


def submit(served: ServedBot, user: str) -> None:
    ratings: dict[str, tuple[str | None, str]] = {
        skill: (level, f"{user} saw {skill}") for skill, level in LEVELS[user].items()
    }
    served.give_feedback(user, ratings, recommendation=RECOMMENDATION[user])


def interview_id(served: ServedBot) -> int:
    with served.session_factory() as session:
        return session.scalars(select(Interview.id)).one()


def posted_summary(served: ServedBot) -> Message:
    for user in PANEL:
        submit(served, user)
    served.sweep()
    [summary] = [m for m in served.fake.messages if m.channel == "C0HIRING" and not m.thread_ts]
    return summary


def debrief_button_value(summary: Message) -> str:
    """The value of the summary's "Debrief guide" button, as a hiring lead would click it."""
    for block in summary.blocks:
        for element in [block.get("accessory"), *block.get("elements", [])]:
            if isinstance(element, dict) and element.get("action_id") == "summary_debrief":
                return str(element["value"])
    raise AssertionError("the summary has no Debrief guide button")


def click(served: ServedBot, user: str, value: str, *, trigger: str | None = None) -> Any:
    reply = served.send(
        slackreq.block_action(
            user,
            "summary_debrief",
            value,
            trigger_id=trigger or served.fake.issue_trigger(),
            container=CHANNEL,
        )
    )
    assert reply.status == 200
    return reply


def guide_text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def test_the_hiring_lead_gets_the_guide_in_a_modal(served: ServedBot) -> None:
    summary = posted_summary(served)
    value = debrief_button_value(summary)
    assert value == str(interview_id(served))
    before = len(served.fake.calls_to("views.open"))
    click(served, "U0LEAD", value)
    wait_for(lambda: len(served.fake.calls_to("views.open")) > before, what="views.open")
    view = served.last_opened_view()
    check_view(view)
    assert view["title"]["text"] == "Debrief guide"
    text = guide_text(view)
    assert "Ada Lovelace — Senior ML Engineer" in text
    agenda = text[text.index("Agenda") : text.index("Other skills")]
    assert "System design and implementation* — split Junior / Lead (2 Junior, 2 Lead)" in agenda
    for user in PANEL:  # every level and every piece of evidence, side by side
        assert f"<@{user}>" in agenda
        assert f"{user} saw system_design" in agenda
    assert "Fundamental knowledge" not in agenda  # unanimous: one line, later
    assert "Fundamental knowledge*: Senior, meets target" in text
    # The recommendation round: the lone Strong no and the lone No first, then the Yes votes.
    votes = text[text.index("Recommendations round") :]
    assert votes.index("<@U0BBB>") < votes.index("<@U0AAA>") < votes.index("<@U0CCC>")
    assert "Split decision" in votes and "*Strong no* from <@U0BBB>" in votes
    assert "Nobody assessed:" in text and "Inclusiveness" in text
    assert REMINDER in text
    assert served.fake.ephemerals == []


def test_the_recruiter_gets_it_too(served: ServedBot) -> None:
    value = debrief_button_value(posted_summary(served))
    before = len(served.fake.calls_to("views.open"))
    click(served, "U0RECRUIT", value)
    wait_for(lambda: len(served.fake.calls_to("views.open")) > before, what="views.open")
    assert served.last_opened_view()["title"]["text"] == "Debrief guide"


@pytest.mark.parametrize("outsider", ["U0AAA", "U0STRANGER"])
def test_a_panel_interviewer_or_a_stranger_is_refused(served: ServedBot, outsider: str) -> None:
    value = debrief_button_value(posted_summary(served))
    opened = len(served.fake.calls_to("views.open"))
    click(served, outsider, value)
    wait_for(lambda: served.fake.ephemerals != [], what="the refusal")
    [refusal] = served.fake.ephemerals
    assert refusal["user"] == outsider and refusal["channel"] == "C0HIRING"
    said = json.dumps(refusal)
    assert "that you recruit for or lead" in said
    assert "saw system_design" not in said and "Ada Lovelace" not in said
    assert len(served.fake.calls_to("views.open")) == opened


def test_before_the_summary_is_posted_even_the_lead_is_refused(served: ServedBot) -> None:
    submit(served, "U0AAA")  # one of four: no summary yet
    served.sweep()
    opened = len(served.fake.calls_to("views.open"))
    click(served, "U0LEAD", str(interview_id(served)))
    wait_for(lambda: served.fake.ephemerals != [], what="the refusal")
    [refusal] = served.fake.ephemerals
    said = json.dumps(refusal)
    assert "opens once its summary is posted" in said
    assert "saw system_design" not in said
    assert len(served.fake.calls_to("views.open")) == opened


def test_a_forged_value_is_refused(served: ServedBot) -> None:
    posted_summary(served)
    click(served, "U0LEAD", "7; drop table")
    wait_for(lambda: served.fake.ephemerals != [], what="the refusal")
    assert "not an interview number" in json.dumps(served.fake.ephemerals[-1])


def test_when_the_modal_cannot_open_the_guide_comes_as_a_dm(served: ServedBot) -> None:
    value = debrief_button_value(posted_summary(served))
    before = len(served.fake.messages_in("U0LEAD"))
    click(served, "U0LEAD", value, trigger="never-issued")  # Slack: invalid_trigger_id
    wait_for(lambda: len(served.fake.messages_in("U0LEAD")) > before, what="the DM")
    dm = served.fake.messages_in("U0LEAD")[-1]
    check_message(dm.text, dm.blocks)
    text = json.dumps(dm.blocks, ensure_ascii=False)
    assert "split Junior / Lead" in text and REMINDER in text
    assert "Debrief guide for Ada Lovelace" in dm.text
