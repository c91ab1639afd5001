"""Retention: `interview-bot purge`, `retention.days` in the sweep, and what a purge leaves behind."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

import storage.retention
from bot.cli import main
from bot.config import FileConfig, RetentionConfig
from rubric import RubricRegistry
from storage.audit import record_audit
from storage.engine import create_engine_for, make_session_factory
from storage.feedback import save_draft, submit_feedback
from storage.import_file import parse_import_file
from storage.interviews import Timings, import_interviews
from storage.models import (
    AuditEvent,
    Feedback,
    FeedbackDraft,
    FeedbackRequest,
    FeedbackVersion,
    Interview,
    InterviewState,
    SkillRating,
)
from storage.retention import purge_expired, scrub_audit_detail
from tests.fakeslack import FakeSlack, running_fake
from tests.harness import ServedBot
from tests.test_storage_feedback_support import POLICY, make_interview, rating, set_state

NOW = datetime(2027, 9, 1, 12, 0, tzinfo=UTC)
RETENTION = timedelta(days=180)  # cutoff 2027-03-05 12:00
OLD = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
RECENT = datetime(2027, 8, 20, 9, 0, tzinfo=UTC)
CANDIDATE = "Grace Hopper-CANDIDATE-MARK"
NOTES = "NOTES-MARK confident on transformers"
EVIDENCE = "EVIDENCE-MARK built the feature store"


def submit(
    factory: sessionmaker[Session],
    public_id: str,
    user: str,
    ratings: dict[str, str | None],
    *,
    now: datetime,
) -> None:
    with factory.begin() as session:
        submit_feedback(
            session,
            public_id,
            user_id=user,
            recommendation="yes",
            notes=NOTES,
            ratings=[
                rating(skill, level, EVIDENCE if level else "") for skill, level in ratings.items()
            ],
            policy=POLICY,
            now=now,
        )


def build(factory: sessionmaker[Session]) -> dict[str, int]:
    """An old summarised interview (2 feedback, 5 ratings, 1 draft), an old one still
    'scheduled', and a recent one with feedback."""
    with factory.begin() as session:
        old = make_interview(
            session, starts_at=OLD, panel=("U0AAA", "U0BBB", "U0CCC"), candidate=CANDIDATE
        )
        stale = make_interview(session, starts_at=OLD + timedelta(days=30), panel=("U0AAA",))
        recent = make_interview(session, starts_at=RECENT, panel=("U0AAA", "U0BBB"))
        ids = {"old": old.id, "stale": stale.id, "recent": recent.id}
        old_requests = [r.public_id for r in old.requests]
        recent_request = recent.requests[0].public_id
    after_old = OLD + timedelta(hours=2)
    submit(
        factory,
        old_requests[0],
        "U0AAA",
        {"system_design": "senior", "fundamentals": "lead", "agile": None},
        now=after_old,
    )
    submit(
        factory,
        old_requests[1],
        "U0BBB",
        {"system_design": "junior", "planning": "senior"},
        now=after_old,
    )
    with factory.begin() as session:
        save_draft(
            session,
            old_requests[2],
            user_id="U0CCC",
            ratings=[rating("delivery", "senior", EVIDENCE)],
            now=after_old,
        )
    submit(
        factory,
        recent_request,
        "U0AAA",
        {"system_design": "senior"},
        now=RECENT + timedelta(hours=2),
    )
    set_state(factory, ids["old"], interview=InterviewState.SUMMARISED)
    return ids


def counts(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as session:
        return {
            model.__tablename__: session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
            for model in (
                Interview,
                FeedbackRequest,
                Feedback,
                SkillRating,
                FeedbackDraft,
                FeedbackVersion,
                AuditEvent,
            )
        }


def purged_events(factory: sessionmaker[Session]) -> list[AuditEvent]:
    with factory() as session:
        return list(
            session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.action == "interview.purged")
                .order_by(AuditEvent.id)
            )
        )


def test_purge_deletes_old_interviews_with_everything_hanging_from_them(
    session_factory: sessionmaker[Session],
) -> None:
    ids = build(session_factory)
    before = counts(session_factory)
    assert before["feedback_drafts"] == 1 and before["skill_ratings"] == 6

    # a dry run (in batches of one) reports it all and changes nothing
    preview = purge_expired(
        session_factory, cutoff=NOW - RETENTION, now=NOW, actor="cli", dry_run=True, batch_size=1
    )
    assert counts(session_factory) == before

    report = purge_expired(session_factory, cutoff=NOW - RETENTION, now=NOW, actor="cli")
    assert report.interviews == preview.interviews

    # the summarised one and the one that ended long ago "scheduled": both are over
    assert [(i.interview_id, i.state) for i in report.interviews] == [
        (ids["old"], "summarised"),
        (ids["stale"], "scheduled"),
    ]
    assert (report.requests, report.feedback, report.ratings, report.drafts) == (4, 2, 5, 1)
    after = counts(session_factory)
    # every row of the purged interviews is gone (ON DELETE CASCADE, on SQLite too);
    # the recent interview keeps its 2 requests, 1 feedback and 1 rating
    assert after == {
        "interviews": 1,
        "feedback_requests": 2,
        "feedback": 1,
        "skill_ratings": 1,
        "feedback_drafts": 0,
        # the history goes with them: versions hold notes and evidence too
        "feedback_versions": 1,
        "audit_events": before["audit_events"] + 2,
    }
    with session_factory() as session:
        assert session.scalars(sa.select(Interview.id)).all() == [ids["recent"]]
        assert set(session.scalars(sa.select(FeedbackRequest.interview_id))) == {ids["recent"]}

    events = purged_events(session_factory)
    assert [(e.entity, e.entity_id, e.actor, e.at) for e in events] == [
        ("interview", str(ids["old"]), "cli", NOW),
        ("interview", str(ids["stale"]), "cli", NOW),
    ]
    assert events[0].detail == {
        "state": "summarised",
        "ended": "2027-01-04",
        "cutoff": (NOW - RETENTION).isoformat(),
        "requests": 3,
        "feedback": 2,
        "ratings": 5,
        "drafts": 1,
    }
    # idempotent: nothing is left to find, and nothing more is written
    again = purge_expired(session_factory, cutoff=NOW - RETENTION, now=NOW, actor="cli")
    assert again.interviews == [] and again.audit_scrubbed == 0
    assert counts(session_factory) == after


def test_each_batch_is_one_transaction(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_factory.begin() as session:
        ids = [
            make_interview(session, starts_at=OLD + timedelta(days=i), panel=("U0AAA",)).id
            for i in range(5)
        ]

    # the third interview's audit event fails: its whole batch (3 and 4) is rolled back
    real_record = storage.retention.record_audit

    def failing(session: Session, **kwargs: Any) -> AuditEvent:
        if kwargs["entity_id"] == ids[2]:
            raise RuntimeError("disk full")
        return real_record(session, **kwargs)

    monkeypatch.setattr(storage.retention, "record_audit", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        purge_expired(session_factory, cutoff=NOW - RETENTION, now=NOW, actor="cli", batch_size=2)
    with session_factory() as session:
        assert session.scalars(sa.select(Interview.id).order_by(Interview.id)).all() == ids[2:]
        assert session.scalar(sa.select(sa.func.count()).select_from(FeedbackRequest)) == 3
    assert [e.entity_id for e in purged_events(session_factory)] == [str(i) for i in ids[:2]]

    monkeypatch.setattr(storage.retention, "record_audit", real_record)
    report = purge_expired(
        session_factory, cutoff=NOW - RETENTION, now=NOW, actor="cli", batch_size=2
    )
    assert [i.interview_id for i in report.interviews] == ids[2:]

    # a stop request between batches leaves the rest for next time
    with session_factory.begin() as session:
        more = [make_interview(session, starts_at=OLD, panel=()).id for _ in range(3)]
    asked: list[bool] = []

    def stop_after_one_batch() -> bool:
        asked.append(True)
        return len(asked) > 1

    stopped = purge_expired(
        session_factory,
        cutoff=NOW - RETENTION,
        now=NOW,
        actor="system",
        batch_size=2,
        should_stop=stop_after_one_batch,
    )
    assert [i.interview_id for i in stopped.interviews] == more[:2]
    with session_factory() as session:
        assert session.scalars(sa.select(Interview.id)).all() == more[2:]


# Every shape of audit detail that storage/ records (see the record_audit calls), and
# what a purge keeps of it: ids, state names, error codes, counts; never free text or
# Slack user IDs.
AUDIT_DETAILS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "interview.imported",
        {"source": "/hr/grace-hopper.yaml:3", "panel": 3, "archived": False},
        {"panel": 3, "archived": False},
    ),
    (
        "interview.updated",
        {
            "source": "/hr/grace-hopper.yaml:3",
            "changed": ["role", "panel"],
            "added": ["U0DDD"],
            "removed": ["U0CCC", "U0EEE"],
        },
        {"changed": ["role", "panel"], "added": 1, "removed": 2},
    ),
    ("interview.cancelled", {"from": "scheduled", "requests": 3}, None),
    ("interview.escalated", {"missing": 2}, None),
    ("summary.posted", {"partial": True, "submitted": 2, "expected": 3}, None),
    ("summary.finished", {"next": "update"}, None),
    ("summary.updated", {"again": False}, None),
    ("summary.failed", {"step": "post", "error": "not_in_channel", "notify_recruiter": True}, None),
    ("feedback.submitted", {"request": "pUbLiC-iD", "skills_rated": 5, "not_assessed": 11}, None),
    ("request.form_sent", {"request": "pUbLiC-iD", "interview": 7}, None),
    ("request.form_failed", {"request": "pUbLiC-iD", "error": "user_not_found"}, None),
    ("request.snoozed", {"request": "pUbLiC-iD", "until": "2027-03-02T09:00:00+00:00"}, None),
    ("request.nudged", {"request": "pUbLiC-iD", "number": 2, "forced": False}, None),
    ("request.declined", {"request": "pUbLiC-iD", "interview": 7, "from": "form_sent"}, None),
    (
        "request.nudge_requested",
        {"request": "pUbLiC-iD", "by": "U0RECRUIT"},
        {"request": "pUbLiC-iD"},
    ),
]


@pytest.mark.parametrize(
    ("action", "detail", "kept"), AUDIT_DETAILS, ids=[a for a, _, _ in AUDIT_DETAILS]
)
def test_scrubbing_keeps_ids_states_and_counts_only(
    action: str, detail: dict[str, Any], kept: dict[str, Any] | None
) -> None:
    # Most details already hold only ids, state names and counts: kept as they are.
    assert scrub_audit_detail(detail) == (detail if kept is None else kept), action


def test_the_audit_trail_of_a_purged_interview_keeps_no_personal_data(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    registry = RubricRegistry.load(None)
    path = tmp_path / "grace-hopper-FILE-MARK.yaml"
    template = """\
interviews:
  - external_id: gh-9
    candidate: {candidate}
    role: Senior ML Engineer
    starts_at: 2027-01-04T09:00:00+00:00
    ends_at: 2027-01-04T10:00:00+00:00
    hiring_channel: C0HIRING
    recruiter: U0RECRUIT
    hiring_lead: U0LEAD
    panel:
      - interviewer: U0AAA
      - interviewer: {second}
"""
    timings = Timings(form_delay=timedelta(minutes=5), summary_deadline=timedelta(days=400))
    for second in ("U0BBB", "U0SECONDMARK"):  # the re-import swaps a panel member
        path.write_text(template.format(candidate=CANDIDATE, second=second))
        with session_factory.begin() as session:
            [result] = import_interviews(
                session,
                parse_import_file(path, registry=registry),
                registry=registry,
                timings=timings,
                now=OLD,
            )
    with session_factory() as session:
        public_id = session.scalars(
            sa.select(FeedbackRequest.public_id).where(FeedbackRequest.interviewer == "U0AAA")
        ).one()
    submit(
        session_factory,
        public_id,
        "U0AAA",
        {"system_design": "senior"},
        now=OLD + timedelta(hours=2),
    )
    with session_factory.begin() as session:  # a detail a future change might add
        record_audit(
            session,
            actor="system",
            action="interview.noted",
            entity="interview",
            entity_id=result.interview_id,
            detail={"text": NOTES, "who": {"id": "U0SECONDMARK"}},
        )

    def trail() -> str:
        with session_factory() as session:
            return json.dumps([e.detail for e in session.scalars(sa.select(AuditEvent))])

    assert "FILE-MARK" in trail() and "U0SECONDMARK" in trail() and "NOTES-MARK" in trail()
    report = purge_expired(session_factory, cutoff=NOW - RETENTION, now=NOW, actor="cli")
    assert report.audit_scrubbed == 3  # imported (source), updated (source, added, removed), noted

    text = trail()
    for mark in (
        "FILE-MARK",
        "CANDIDATE-MARK",
        "U0SECONDMARK",
        "NOTES-MARK",
        "EVIDENCE-MARK",
        "U0BBB",
    ):
        assert mark not in text, mark
    with session_factory() as session:
        actions = [e.action for e in session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))]
        submitted = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "feedback.submitted")
        ).one()
    # the trail itself stays: what happened, when, and by whom
    assert actions == [
        "interview.imported",
        "interview.updated",
        "feedback.submitted",
        "interview.noted",
        "interview.purged",
    ]
    assert submitted.actor == "U0AAA" and submitted.detail is not None
    assert submitted.detail["skills_rated"] == 1


# ---------------------------------------------------------------------------
# The command line


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
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_purge_command(cli_db: sessionmaker[Session], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    now = datetime.now(UTC)
    with cli_db.begin() as session:
        old = make_interview(session, starts_at=now - timedelta(days=200), candidate=CANDIDATE)
        old_id, old_public = old.id, old.requests[0].public_id
        make_interview(session, starts_at=now - timedelta(days=10))
    submit(
        cli_db,
        old_public,
        "U0AAA",
        {"system_design": "senior", "agile": None},
        now=now - timedelta(days=199),
    )

    code, out, err = run(capsys, "purge", "--older-than", "180d", "--dry-run")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"would purge interview {old_id} (scheduled, ended ")
    assert lines[0].endswith(": 2 request(s), 1 feedback, 2 rating(s), 0 draft(s)")
    assert lines[1].startswith("dry run: would purge 1 interview(s) that ended before ")
    assert lines[1].endswith("nothing was changed") and len(lines) == 2
    assert counts(cli_db)["interviews"] == 2

    code, out, err = run(capsys, "purge", "--older-than", "180d")
    assert code == 0, err
    assert out.startswith("purged 1 interview(s) that ended before ")
    assert (
        ": 2 feedback request(s), 1 feedback, 2 skill rating(s), 0 draft(s); scrubbed 0 audit event(s)"
        in out
    )
    assert CANDIDATE not in out + err and NOTES not in out + err
    assert counts(cli_db)["interviews"] == 1
    [event] = purged_events(cli_db)
    assert event.actor == "cli" and event.entity_id == str(old_id)

    code, out, _ = run(capsys, "purge", "--older-than", "180d")
    assert code == 0 and out.startswith("nothing to purge: no interview ended before ")
    assert counts(cli_db)["interviews"] == 1


@pytest.mark.parametrize(
    ("older_than", "message"),
    [
        ("180", "argument --older-than: expected a duration like 30s, 5m, 24h or 2d, got '180'"),
        ("2d", "--older-than 2d must be longer than summary.deadline (2d)"),
        ("999999d", "--older-than 999999d reaches before year 1"),
    ],
)
def test_purge_refuses_a_bad_age(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    older_than: str,
    message: str,
) -> None:
    monkeypatch.delenv("INTERVIEW_BOT_CONFIG", raising=False)
    database = tmp_path / "untouched.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    code, out, err = run(capsys, "purge", "--older-than", older_than)
    assert code == 2 and out == ""
    assert message in err
    assert not database.exists()  # refused before the database was opened


# ---------------------------------------------------------------------------
# retention.days in the sweep


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


INTERVIEW = """\
interviews:
  - external_id: {external_id}
    candidate: {candidate}
    role: Senior ML Engineer
    starts_at: {start}
    ends_at: {end}
    hiring_channel: C0HIRING
    recruiter: U0RECRUIT
    hiring_lead: U0LEAD
    panel:
      - interviewer: U0AAA
        focus: [system_design]
"""


def test_the_sweep_purges_past_retention_days_at_most_hourly(
    engine: Engine,
    session_factory: sessionmaker[Session],
    fake: FakeSlack,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for user in ("U0AAA", "U0RECRUIT", "U0LEAD"):
        fake.add_user(user)
    served = ServedBot(
        engine, session_factory, fake, file_config=FileConfig(retention=RetentionConfig(days=180))
    )
    try:
        path = tmp_path / "interviews.yaml"
        path.write_text(
            INTERVIEW.format(
                external_id="gh-1",
                candidate=CANDIDATE,
                start="2027-03-01T09:00:00+00:00",
                end="2027-03-01T10:00:00+00:00",
            )
        )
        [first] = served.import_file(path)
        served.clock.now = datetime(2027, 3, 1, 10, 10, tzinfo=UTC)
        assert served.sweep().forms_sent == 1
        served.give_feedback(
            "U0AAA", {"system_design": ("senior", EVIDENCE)}, recommendation="yes", notes=NOTES
        )
        served.sweep()  # the summary is posted
        assert served.sweep().purged == 0  # not yet 180 days
        assert counts(session_factory)["interviews"] == 1

        caplog.set_level(logging.INFO)
        start = len(caplog.records)
        served.clock.now = datetime(2027, 8, 28, 10, 1, tzinfo=UTC)  # 180 days and a minute
        assert served.sweep().purged == 1
        assert counts(session_factory)["feedback"] == 0
        [event] = purged_events(session_factory)
        assert (event.entity_id, event.actor) == (str(first), "system")
        records = caplog.records[start:]
        lines = [r.getMessage() for r in records if r.getMessage().startswith("retention")]
        assert lines == ["retention: purged 1 interview(s) that ended before 2027-03-01 10:01 UTC"]
        assert not any(CANDIDATE in r.getMessage() or NOTES in r.getMessage() for r in records)

        # an interview that is already past retention: the next purge is an hour later
        path.write_text(
            INTERVIEW.format(
                external_id="gh-2",
                candidate="Edsger Dijkstra",
                start="2027-01-01T09:00:00+00:00",
                end="2027-01-01T10:00:00+00:00",
            )
        )
        served.import_file(path)
        served.clock.advance(timedelta(minutes=59))
        assert served.sweep().purged == 0
        assert counts(session_factory)["interviews"] == 1
        served.clock.advance(timedelta(minutes=1))
        assert served.sweep().purged == 1
        assert counts(session_factory)["interviews"] == 0
    finally:
        served.close()
    assert fake.rejected == []
