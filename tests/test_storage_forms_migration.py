"""Migration 0002 on a database with data: public ids backfilled, attempts 0, drafts table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine

from storage.engine import create_engine_for, make_session_factory
from storage.migrate import _sqlite_foreign_keys_off, alembic_config, current_revision, upgrade
from storage.models import FeedbackRequest
from storage.types import UTCDateTime
from tests.test_storage_feedback_support import END, START

_meta = sa.MetaData()
rubric_versions = sa.Table(
    "rubric_versions",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("rubric_id", sa.String),
    sa.Column("version", sa.String),
    sa.Column("digest", sa.String),
    sa.Column("definition", sa.JSON),
    sa.Column("created_at", UTCDateTime),
)
interviews = sa.Table(
    "interviews",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    *(
        sa.Column(name, sa.String)
        for name in (
            "candidate",
            "role",
            "rubric_id",
            "rubric_version",
            "target_level",
            "hiring_channel",
            "recruiter",
            "hiring_lead",
            "state",
        )
    ),
    sa.Column("rubric_version_id", sa.Integer),
    sa.Column("starts_at", UTCDateTime),
    sa.Column("ends_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime),
)
requests = sa.Table(
    "feedback_requests",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("interview_id", sa.Integer),
    sa.Column("interviewer", sa.String),
    sa.Column("focus_skills", sa.JSON),
    sa.Column("position", sa.Integer),
    sa.Column("state", sa.String),
    sa.Column("next_action_at", UTCDateTime),
    sa.Column("reminder_count", sa.Integer),
    sa.Column("created_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime),
)
feedback = sa.Table(
    "feedback",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("request_id", sa.Integer),
    sa.Column("recommendation", sa.String),
    sa.Column("notes", sa.Text),
    sa.Column("submitted_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime),
)


def _fill_0001(conn: sa.Connection) -> None:
    conn.execute(
        rubric_versions.insert().values(
            id=1, rubric_id="mle", version="1", digest="0" * 64, definition={}, created_at=START
        )
    )
    conn.execute(
        interviews.insert().values(
            id=1,
            candidate="Ada",
            role="MLE",
            rubric_id="mle",
            rubric_version="1",
            rubric_version_id=1,
            target_level="senior",
            hiring_channel="C0",
            recruiter="U0R",
            hiring_lead="U0L",
            state="scheduled",
            starts_at=START,
            ends_at=END,
            created_at=START,
            updated_at=START,
        )
    )
    for i, who in enumerate(("U0AAA", "U0BBB", "U0CCC")):
        conn.execute(
            requests.insert().values(
                interview_id=1,
                interviewer=who,
                focus_skills=[],
                position=i,
                state="submitted" if i == 0 else "pending",
                next_action_at=None if i == 0 else END,
                reminder_count=0,
                created_at=START,
                updated_at=START,
            )
        )
    conn.execute(
        feedback.insert().values(
            id=1, request_id=1, recommendation="yes", notes="n", submitted_at=END, updated_at=END
        )
    )


def test_0002_backfills_existing_rows_and_downgrades(db_url: str) -> None:
    engine = create_engine_for(db_url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as conn:
            _fill_0001(conn)

        upgrade(engine, "0002")
        assert current_revision(engine) == "0002"
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT id, public_id, attempts FROM feedback_requests ORDER BY id")
            ).all()
            assert conn.execute(sa.text("SELECT count(*) FROM feedback")).scalar() == 1
        assert [(r.id, r.attempts) for r in rows] == [(1, 0), (2, 0), (3, 0)]
        public_ids = [r.public_id for r in rows]
        assert len(set(public_ids)) == 3
        assert all(re.fullmatch(r"[A-Za-z0-9_-]{16,32}", p) for p in public_ids)

        inspector = sa.inspect(engine)
        columns = {c["name"]: c for c in inspector.get_columns("feedback_requests")}
        assert not columns["public_id"]["nullable"] and not columns["attempts"]["nullable"]
        # The temporary server default is gone: defaults live in Python.
        assert columns["attempts"]["default"] is None
        uniques = {u["name"] for u in inspector.get_unique_constraints("feedback_requests")}
        assert "uq_feedback_requests_public_id" in uniques
        # The table copy on SQLite kept what 0001 made.
        checks = {c["name"] for c in inspector.get_check_constraints("feedback_requests")}
        assert checks == {"ck_feedback_requests_request_state"}
        indexes = {i["name"] for i in inspector.get_indexes("feedback_requests")}
        assert "ix_feedback_requests_state_next_action_at" in indexes

        # New rows get a fresh id from Python (through today's models, so at the head).
        upgrade(engine)
        factory = make_session_factory(engine)
        with factory.begin() as session:
            added = FeedbackRequest(interview_id=1, interviewer="U0DDD", position=3)
            session.add(added)
            session.flush()
            assert added.public_id and added.public_id not in public_ids

        _downgrade_to_0001(engine)
        assert current_revision(engine) == "0001"
        inspector = sa.inspect(engine)
        assert "feedback_drafts" not in inspector.get_table_names()
        names = {c["name"] for c in inspector.get_columns("feedback_requests")}
        assert "public_id" not in names and "attempts" not in names
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM feedback_requests")).scalar() == 4
            assert conn.execute(sa.text("SELECT count(*) FROM feedback")).scalar() == 1
    finally:
        engine.dispose()


def _downgrade_to_0001(engine: Engine) -> None:
    # As storage.migrate.upgrade does it: SQLite copies tables with foreign keys off.
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            with _sqlite_foreign_keys_off(conn), conn.begin():
                command.downgrade(alembic_config(conn), "0001")
        else:
            with conn.begin():
                command.downgrade(alembic_config(conn), "0001")


def test_0002_refuses_to_copy_tables_with_sqlite_foreign_keys_on(tmp_path: Path) -> None:
    """A bare alembic run on SQLite would cascade-delete all feedback: it stops instead."""
    engine = create_engine_for(f"sqlite:///{tmp_path / 'fk.db'}")
    try:
        upgrade(engine, "0001")
        with engine.begin() as conn:
            _fill_0001(conn)
        with (
            pytest.raises(RuntimeError, match="foreign keys off"),
            engine.begin() as conn,  # foreign keys on, as create_engine_for sets them
        ):
            command.upgrade(alembic_config(conn), "0002")
        assert current_revision(engine) == "0001"
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM feedback")).scalar() == 1

        upgrade(engine, "0002")  # the supported way
        assert current_revision(engine) == "0002"
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM feedback")).scalar() == 1
    finally:
        engine.dispose()


def test_0002_renders_as_a_postgresql_script(capsys: pytest.CaptureFixture[str]) -> None:
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", "postgresql+psycopg://u@localhost/unused")
    command.upgrade(config, "0001:0002", sql=True)
    script = capsys.readouterr().out
    assert "UPDATE feedback_requests SET public_id=md5(" in script
    assert "ALTER COLUMN public_id SET NOT NULL" in script
    assert "uq_feedback_requests_public_id" in script and "CREATE TABLE feedback_drafts" in script
