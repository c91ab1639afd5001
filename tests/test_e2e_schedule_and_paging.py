"""End to end: the schedule modal, and a rubric too long for one modal (paged with views.push)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import AccessConfig, FileConfig
from storage.models import Feedback, Interview, SkillRating
from tests.fakeslack import FakeSlack, running_fake
from tests.harness import ServedBot, feedback_values

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


def served_bot(
    engine: Engine, factory: sessionmaker[Session], fake: FakeSlack, config: FileConfig
) -> ServedBot:
    for user in ("U0AAA", "U0BBB", "U0RECRUIT", "U0LEAD"):
        fake.add_user(user)
    return ServedBot(engine, factory, fake, file_config=config)


def schedule_values(**fields: Any) -> dict[str, dict[str, dict[str, Any]]]:
    def option(value: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": value}, "value": value}

    values: dict[str, dict[str, dict[str, Any]]] = {
        "candidate": {"value": {"type": "plain_text_input", "value": fields.get("candidate")}},
        "role": {"value": {"type": "plain_text_input", "value": fields.get("role")}},
        "target_level": {"value": {"type": "static_select", "selected_option": None}},
        "starts_at": {
            "value": {"type": "datetimepicker", "selected_date_time": fields.get("starts_at")}
        },
        "duration": {
            "value": {
                "type": "static_select",
                "selected_option": option(fields.get("duration", "60m")),
            }
        },
        "hiring_channel": {
            "value": {
                "type": "conversations_select",
                "selected_conversation": fields.get("channel"),
            }
        },
        "recruiter": {"value": {"type": "users_select", "selected_user": None}},
        "hiring_lead": {"value": {"type": "users_select", "selected_user": fields.get("lead")}},
    }
    for slot, (user, focus) in enumerate(fields.get("panel", [])):
        values[f"panel_{slot}"] = {"value": {"type": "users_select", "selected_user": user}}
        values[f"focus_{slot}"] = {
            "value": {"type": "multi_static_select", "selected_options": [option(s) for s in focus]}
        }
    return values


def test_schedule_modal_validates_inline_and_creates_the_interview(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack
) -> None:
    bot = served_bot(
        engine, session_factory, fake, FileConfig(access=AccessConfig(recruiters=("U0RECRUIT",)))
    )
    try:
        bot.command("U0RECRUIT", "schedule", opens_view=True)
        view = bot.last_opened_view()
        assert view["callback_id"] == "schedule_submit"

        bad = schedule_values(
            candidate="Grace Hopper",
            role="Astronaut",
            starts_at=int(START.timestamp()),
            channel="C0HIRING",
            lead="U0LEAD",
            panel=[("U0AAA", ["system_design"]), ("U0AAA", ["cooking"])],
        )
        reply = bot.submit("U0RECRUIT", view, bad)
        assert reply.json()["response_action"] == "errors"
        errors = reply.json()["errors"]
        assert "role" in errors and "unknown role" in errors["role"]
        assert "focus_1" in errors or "panel_1" in errors
        with session_factory() as session:
            assert session.scalar(select(func.count()).select_from(Interview)) == 0

        good = schedule_values(
            candidate="Grace Hopper",
            role="Senior ML Engineer",
            starts_at=int(START.timestamp()),
            channel="C0HIRING",
            lead="U0LEAD",
            panel=[("U0AAA", ["system_design"]), ("U0BBB", [])],
        )
        reply = bot.submit("U0RECRUIT", view, good)
        assert reply.status == 200
        assert reply.body in (b"", b"{}") or not reply.json()
        with session_factory() as session:
            interview = session.scalars(select(Interview)).one()
            assert interview.candidate == "Grace Hopper"
            assert interview.recruiter == "U0RECRUIT"  # the submitter, by default
            assert interview.ends_at - interview.starts_at == timedelta(minutes=60)
            assert [r.interviewer for r in interview.requests] == ["U0AAA", "U0BBB"]
        # a non-recruiter's crafted submission is refused and stores nothing more
        reply = bot.submit(
            "U0AAA",
            view,
            good | {"candidate": {"value": {"type": "plain_text_input", "value": "X"}}},
        )
        assert reply.json()["response_action"] == "update"
        with session_factory() as session:
            assert session.scalar(select(func.count()).select_from(Interview)) == 1
    finally:
        bot.close()
    assert fake.rejected == []


def long_rubric(tmp_path: Path) -> Path:
    """A 30-skill rubric with long descriptors, written as a team would."""
    levels = [
        {"id": "junior", "name": "Junior"},
        {"id": "senior", "name": "Senior"},
        {"id": "lead", "name": "Lead"},
    ]
    disciplines = []
    for d in range(3):
        skills = []
        for k in range(10):
            sid = f"skill_{d}_{k}"
            skills.append(
                {
                    "id": sid,
                    "name": f"Skill {d}.{k} with a fairly long display name",
                    "question": "What did you see them do, concretely, in the exercise? " * 3,
                    "levels": {
                        lvl["id"]: {
                            "short": f"{lvl['name']} level of {sid}"[:75],
                            "full": "A long descriptor. " * 40,
                        }
                        for lvl in levels
                    },
                }
            )
        disciplines.append({"id": f"discipline_{d}", "name": f"Discipline {d}", "skills": skills})
    rubric = {
        "id": "big",
        "name": "Big rubric",
        "version": "1",
        "levels": levels,
        "recommendations": [
            {"id": "no_hire", "name": "No hire", "hire": False},
            {"id": "hire", "name": "Hire", "hire": True},
        ],
        "roles": [{"id": "big-senior", "name": "Senior Generalist", "target_level": "senior"}],
        "disciplines": disciplines,
    }
    folder = tmp_path / "rubrics"
    folder.mkdir()
    (folder / "big.yaml").write_text(yaml.safe_dump(rubric, sort_keys=False))
    return folder


def test_a_30_skill_rubric_is_rated_over_pushed_pages(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack, tmp_path: Path
) -> None:
    bot = served_bot(engine, session_factory, fake, FileConfig(rubrics_dir=long_rubric(tmp_path)))
    try:
        batch = tmp_path / "batch.yaml"
        batch.write_text(
            "interviews:\n  - candidate: Alan Turing\n    role: Senior Generalist\n    rubric: big\n"
            "    starts_at: 2027-03-01T09:00:00+00:00\n    duration: 60m\n    hiring_channel: C0HIRING\n"
            "    recruiter: U0RECRUIT\n    hiring_lead: U0LEAD\n    panel:\n"
            "      - interviewer: U0AAA\n        focus: [skill_2_9]\n"
        )
        bot.import_file(batch)
        bot.clock.now = START + timedelta(hours=2)
        bot.sweep()
        dm = fake.messages_in("U0AAA")[0]
        value = next(
            e["value"]
            for b in dm.blocks
            for e in [b.get("accessory"), *b.get("elements", [])]
            if isinstance(e, dict) and e.get("action_id") == "feedback_open"
        )
        bot.click("U0AAA", "feedback_open", value)
        page0 = bot.last_opened_view()
        assert page0["callback_id"] == "feedback_page"
        skills0 = [
            b["block_id"].split(":", 1)[1]
            for b in page0["blocks"]
            if b.get("block_id", "").startswith("level:")
        ]
        assert skills0[0] == "skill_2_9"  # focus first

        # page 1 without its focus skill: an inline error, nothing pushed
        reply = bot.submit("U0AAA", page0, feedback_values({}, recommendation=None))
        assert reply.json() == {"response_action": "errors", "errors": reply.json()["errors"]}
        assert "level:skill_2_9" in reply.json()["errors"]

        answers0 = {s: ("senior", f"evidence for {s}") for s in skills0[:3]}
        reply = bot.submit("U0AAA", page0, feedback_values(answers0, recommendation=None))
        assert reply.json()["response_action"] == "push"
        page1 = reply.json()["view"]
        assert page1["callback_id"] in ("feedback_submit", "feedback_page")
        skills1 = [
            b["block_id"].split(":", 1)[1]
            for b in page1["blocks"]
            if b.get("block_id", "").startswith("level:")
        ]
        assert set(skills0).isdisjoint(skills1)
        pages = [page0, page1]
        while page1["callback_id"] == "feedback_page":
            page1 = bot.submit("U0AAA", page1, feedback_values({}, recommendation=None)).json()[
                "view"
            ]
            pages.append(page1)
        all_skills = [
            b["block_id"].split(":", 1)[1]
            for p in pages
            for b in p["blocks"]
            if b.get("block_id", "").startswith("level:")
        ]
        assert sorted(all_skills) == sorted(f"skill_{d}_{k}" for d in range(3) for k in range(10))
        last_skill = [b for b in page1["blocks"] if b.get("block_id", "").startswith("level:")][-1][
            "block_id"
        ].split(":", 1)[1]
        reply = bot.submit(
            "U0AAA",
            page1,
            feedback_values({last_skill: ("lead", "strong evidence")}, recommendation="hire"),
        )
        assert reply.json() == {"response_action": "clear"}
        with session_factory() as session:
            feedback = session.scalars(select(Feedback)).one()
            assert feedback.recommendation == "hire"
            rated = {
                row[0]: row[1]
                for row in session.execute(select(SkillRating.skill_id, SkillRating.level))
            }
        assert rated == {**{s: "senior" for s in skills0[:3]}, last_skill: "lead"}
        assert all(len(json.dumps(p)) < 250_000 for p in pages)
    finally:
        bot.close()
    assert fake.rejected == []
