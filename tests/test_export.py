"""`interview-bot export`: one interview's complete record as JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
import re
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.export import CSV_COLUMNS
from storage.audit import record_audit
from storage.engine import create_engine_for, make_session_factory
from storage.feedback import submit_feedback
from storage.models import Interview, RequestState
from tests.test_storage_feedback_support import POLICY, make_interview, rating, set_state

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
SUBMITTED = datetime(2027, 3, 1, 11, 30, 5, 123456, tzinfo=UTC)
POSTED = datetime(2027, 3, 3, 10, 0, tzinfo=UTC)
# Commas, quotes, a line break, and a leading "=" a spreadsheet would run as a formula.
NOTES = '=HYPERLINK("x") Strong, "clear" thinker.\nWould hire.'
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, db_url: str) -> Iterator[sessionmaker[Session]]:
    for name in ("INTERVIEW_BOT_CONFIG", "SLACK_BOT_TOKEN", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["db", "upgrade"]) == 0
    engine = create_engine_for(db_url)
    yield make_session_factory(engine)
    engine.dispose()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def build(factory: sessionmaker[Session]) -> int:
    """A summarised interview: U0AAA gave feedback, U0BBB did not, U0CCC declined."""
    with factory.begin() as session:
        interview = make_interview(
            session, starts_at=START, panel=("U0AAA", "U0BBB", "U0CCC"), focus=("system_design",)
        )
        interview.external_id = "gh-4711"
        interview_id = interview.id
        request = interview.requests[0]
        public_id = request.public_id
        request.reminder_count = 2
        record_audit(
            session,
            actor="cli",
            action="interview.imported",
            entity="interview",
            entity_id=interview_id,
            detail={"source": "batch.yaml:2", "panel": 3, "archived": False},
            at=START - timedelta(days=1),
        )
    with factory.begin() as session:
        submit_feedback(
            session,
            public_id,
            user_id="U0AAA",
            recommendation="strong_yes",
            notes=NOTES,
            # submitted out of rubric order; exported in it
            ratings=[
                rating("agile", None),
                rating("system_design", "lead", "Designed the ranking service."),
                rating("fundamentals", "senior", "-1 on nothing: solid maths"),
            ],
            policy=POLICY,
            now=SUBMITTED,
        )
    set_state(factory, interview_id, request=("U0CCC", RequestState.DECLINED))
    with factory.begin() as session:
        session.execute(
            sa.update(Interview)
            .where(Interview.id == interview_id)
            .values(
                state="summarised",
                summary_pending=None,
                summary_due_at=None,
                summary_channel="C0HIRING",
                summary_ts="1772359200.000100",
                summary_posted_at=POSTED,
                summary_updated_at=POSTED,
                summary_seq=1,
                summary_posted_seq=1,
            )
        )
    return interview_id


def test_json_export_holds_the_whole_record(
    cli_db: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    interview_id = build(cli_db)
    code, out, err = run(capsys, "export", "--interview", str(interview_id), "--format", "json")
    assert code == 0, err
    doc = json.loads(out)

    assert list(doc) == ["exported_at", "interview", "panel", "audit"]
    assert ISO_UTC.fullmatch(doc["exported_at"])
    interview = doc["interview"]
    assert list(interview) == [
        "id", "external_id", "candidate", "role", "rubric", "target_level", "starts_at",
        "ends_at", "state", "hiring_channel", "recruiter", "hiring_lead", "created_at",
        "updated_at", "summary",
    ]  # fmt: skip
    assert {k: v for k, v in interview.items() if k not in ("created_at", "updated_at")} == {
        "id": interview_id,
        "external_id": "gh-4711",
        "candidate": "Ada Lovelace",
        "role": "Senior ML Engineer",
        "rubric": {"id": "mle", "version": "2026.1"},
        "target_level": "senior",
        "starts_at": "2027-03-01T09:00:00Z",
        "ends_at": "2027-03-01T10:00:00Z",
        "state": "summarised",
        "hiring_channel": "C0HIRING",
        "recruiter": "U0RECRUIT",
        "hiring_lead": "U0LEAD",
        "summary": {
            "channel": "C0HIRING",
            "ts": "1772359200.000100",
            "posted_at": "2027-03-03T10:00:00Z",
            "updated_at": "2027-03-03T10:00:00Z",
        },
    }
    assert ISO_UTC.fullmatch(interview["created_at"])

    aaa, bbb, ccc = doc["panel"]
    # the feedback's history: one version so far, as submitted, by whom and when
    [version] = aaa.pop("history")
    assert (version["seq"], version["actor"], version["at"]) == (1, "U0AAA", "2027-03-01T11:30:05Z")
    assert version["notes"] == NOTES
    assert [(r["skill_id"], r["level"]) for r in version["ratings"]] == [
        ("fundamentals", "senior"),
        ("system_design", "lead"),
        ("agile", None),
    ]
    assert (bbb.pop("history"), ccc.pop("history")) == ([], [])
    assert aaa == {
        "interviewer": "U0AAA",
        "position": 0,
        "focus_skills": ["system_design"],
        "state": "submitted",
        "reminders": 2,
        "form_sent": False,
        "last_error": None,
        "shadow": False,
        "feedback": {
            "recommendation": "strong_yes",
            "notes": NOTES,
            "submitted_at": "2027-03-01T11:30:05Z",
            "updated_at": "2027-03-01T11:30:05Z",
            "ratings": [
                {
                    "skill_id": "fundamentals",
                    "skill_name": "Fundamental knowledge",
                    "level": "senior",
                    "evidence": "-1 on nothing: solid maths",
                },
                {
                    "skill_id": "system_design",
                    "skill_name": "System design and implementation",
                    "level": "lead",
                    "evidence": "Designed the ranking service.",
                },
                {
                    "skill_id": "agile",
                    "skill_name": "Agile principles",
                    "level": None,
                    "evidence": "",
                },
            ],
        },
    }
    assert (bbb["interviewer"], bbb["state"], bbb["feedback"]) == ("U0BBB", "pending", None)
    assert (ccc["interviewer"], ccc["state"], ccc["feedback"]) == ("U0CCC", "declined", None)

    # the audit trail: the interview's events and its feedback's, oldest first
    assert [(e["action"], e["entity"], e["actor"]) for e in doc["audit"]] == [
        ("interview.imported", "interview", "cli"),
        ("feedback.submitted", "feedback", "U0AAA"),
    ]
    assert doc["audit"][0]["at"] == "2027-02-28T09:00:00Z"
    assert doc["audit"][1]["detail"]["skills_rated"] == 2

    # stable: a second export differs in its export time only
    _, again, _ = run(capsys, "export", "--interview", str(interview_id))  # json by default
    assert json.loads(again) | {"exported_at": None} == json.loads(out) | {"exported_at": None}


def test_csv_export_has_a_row_per_rating_and_per_interviewer_without_feedback(
    cli_db: sessionmaker[Session], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    interview_id = build(cli_db)
    code, out, err = run(capsys, "export", "--interview", str(interview_id), "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [(r["interviewer"], r["skill_id"], r["level"]) for r in rows] == [
        ("U0AAA", "fundamentals", "senior"),
        ("U0AAA", "system_design", "lead"),
        ("U0AAA", "agile", ""),  # Not assessed
        ("U0BBB", "", ""),
        ("U0CCC", "", ""),
    ]
    for row in rows:  # the interview's columns on every row
        assert row["interview_id"] == str(interview_id) and row["candidate"] == "Ada Lovelace"
        assert row["starts_at"] == "2027-03-01T09:00:00Z"
        assert row["summary_posted_at"] == "2027-03-03T10:00:00Z"
    first = rows[0]
    assert first["skill_name"] == "Fundamental knowledge"
    assert first["recommendation"] == "strong_yes" and first["reminders"] == "2"
    assert first["focus_skills"] == "system_design"
    assert first["submitted_at"] == "2027-03-01T11:30:05Z"
    # a cell a spreadsheet would run as a formula is kept as text (leading apostrophe)
    assert first["notes"] == "'" + NOTES
    assert first["evidence"] == "'-1 on nothing: solid maths"
    assert rows[3]["request_state"] == "pending" and rows[3]["notes"] == ""
    assert rows[4]["request_state"] == "declined"

    # --output: the same bytes in a file only its owner may read
    target = tmp_path / "export.csv"
    code, out, err = run(
        capsys,
        "export",
        "--interview",
        str(interview_id),
        "--format",
        "csv",
        "--output",
        str(target),
    )
    assert code == 0, err
    assert out == f"exported interview {interview_id} (csv) to {target}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert list(csv.DictReader(io.StringIO(target.read_text(), newline=""))) == rows

    code, out, err = run(
        capsys, "export", "--interview", str(interview_id), "--output", str(tmp_path / "no" / "x")
    )
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"interview-bot: cannot write {tmp_path}/no/x")


def test_an_unknown_or_purged_interview_is_a_one_line_error(
    cli_db: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "export", "--interview", "4242")
    assert code == 1 and out == ""
    assert err == "interview-bot: no interview with id 4242 (never scheduled, or purged)\n"

    with cli_db.begin() as session:
        old_id = make_interview(session, starts_at=datetime.now(UTC) - timedelta(days=400)).id
    assert run(capsys, "export", "--interview", str(old_id))[0] == 0
    assert run(capsys, "purge", "--older-than", "365d")[0] == 0
    code, out, err = run(capsys, "export", "--interview", str(old_id), "--format", "csv")
    assert code == 1 and out == ""
    assert err == f"interview-bot: no interview with id {old_id} (never scheduled, or purged)\n"
