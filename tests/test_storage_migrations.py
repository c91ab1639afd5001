"""Alembic migrations: they build exactly the models' schema, on every backend."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from storage.engine import create_engine_for
from storage.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    lock_for_migration,
    pending_revisions,
    upgrade,
)
from storage.models import NAMING_CONVENTION, Base

TABLES = {
    "audit_events",
    "feedback",
    "feedback_drafts",
    "feedback_requests",
    "interviews",
    "recruiter_digests",
    "rubric_versions",
    "skill_ratings",
    "slack_users",
}


def _diff(engine: Engine, metadata: sa.MetaData) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def _copy_of_models() -> sa.MetaData:
    copy = sa.MetaData(naming_convention=NAMING_CONVENTION)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(copy)
    return copy


def test_migrations_match_the_models(engine: Engine) -> None:
    assert _diff(engine, Base.metadata) == []


def _flatten(diff: list[Any]) -> list[tuple[Any, ...]]:
    # compare_metadata groups column modifications in lists; other changes are tuples.
    flat: list[tuple[Any, ...]] = []
    for entry in diff:
        flat.extend(entry if isinstance(entry, list) else [entry])
    return flat


def test_a_model_change_without_a_migration_is_detected(engine: Engine) -> None:
    changed = _copy_of_models()
    changed.tables["interviews"].append_column(sa.Column("location", sa.String(64)))
    changed.tables["feedback_requests"].c.dm_ts.type = sa.String(64)
    sa.Index(None, changed.tables["feedback"].c.recommendation)

    diff = _flatten(_diff(engine, changed))

    added = [(d[2], d[3].name) for d in diff if d[0] == "add_column"]
    retyped = [(d[2], d[3]) for d in diff if d[0] == "modify_type"]
    indexed = [d[1].name for d in diff if d[0] == "add_index"]
    assert added == [("interviews", "location")]
    assert retyped == [("feedback_requests", "dm_ts")]
    assert indexed == ["ix_feedback_recommendation"]
    assert len(diff) == 3


def test_constraint_and_index_names_follow_the_naming_convention(engine: Engine) -> None:
    # compare_metadata ignores CHECK constraints and names: compare them here.
    inspector = sa.inspect(engine)
    assert set(inspector.get_table_names()) >= TABLES
    for table in Base.metadata.sorted_tables:
        expected_checks = {
            c.name for c in table.constraints if isinstance(c, sa.CheckConstraint) and c.name
        }
        expected_uniques = {
            c.name for c in table.constraints if isinstance(c, sa.UniqueConstraint) and c.name
        }
        expected_fks = {fk.name for fk in table.foreign_key_constraints}
        expected_indexes = {i.name for i in table.indexes}

        assert {c["name"] for c in inspector.get_check_constraints(table.name)} == expected_checks
        assert {c["name"] for c in inspector.get_unique_constraints(table.name)} == expected_uniques
        assert {fk["name"] for fk in inspector.get_foreign_keys(table.name)} == expected_fks
        # PostgreSQL also reports the index behind each unique constraint.
        indexes = inspector.get_indexes(table.name)
        assert {i["name"] for i in indexes if "duplicates_constraint" not in i} == expected_indexes


def test_enum_checks_and_ondelete_are_in_the_database(engine: Engine) -> None:
    inspector = sa.inspect(engine)
    checks = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints("interviews")}
    assert "ends_at > starts_at" in checks["ck_interviews_ends_after_starts"]
    for state in ("scheduled", "cancelled", "summarised", "archived"):
        assert f"'{state}'" in checks["ck_interviews_interview_state"]
    fks = {fk["name"]: fk for fk in inspector.get_foreign_keys("skill_ratings")}
    assert fks["fk_skill_ratings_feedback_id_feedback"]["options"].get("ondelete") == "CASCADE"


def test_revisions_before_and_after_upgrade(db_url: str) -> None:
    engine = create_engine_for(db_url)
    try:
        assert current_revision(engine) is None
        assert pending_revisions(engine) == ["0001", "0002", "0003", "0004", "0005", "0006", "0007"]
        assert head_revision() == "0007"

        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert pending_revisions(engine) == []

        upgrade(engine)  # idempotent
        assert current_revision(engine) == head_revision()
        assert set(sa.inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_downgrade_to_base_and_back(engine: Engine) -> None:
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert current_revision(engine) is None
    assert not TABLES & set(sa.inspect(engine).get_table_names())

    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert _diff(engine, Base.metadata) == []


_UPGRADE_AT = """
import sys, time
from storage.engine import create_engine_for
from storage.migrate import upgrade
url, start_at = sys.argv[1], float(sys.argv[2])
engine = create_engine_for(url)
time.sleep(max(0.0, start_at - time.time()))
upgrade(engine)
engine.dispose()
"""


def test_concurrent_upgrades_from_processes_do_not_collide(db_url: str) -> None:
    start_at = f"{time.time() + 3.0:.3f}"  # after every process has imported
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _UPGRADE_AT, db_url, start_at],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(p.wait(timeout=60), p.communicate()[1]) for p in procs]
    assert [code for code, _ in results] == [0, 0, 0], [err for _, err in results]
    engine = create_engine_for(db_url)
    try:
        assert current_revision(engine) == head_revision()
        assert _diff(engine, Base.metadata) == []
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        engine.dispose()


def test_concurrent_upgrades_from_threads_do_not_collide(db_url: str) -> None:
    engines = [create_engine_for(db_url) for _ in range(3)]
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def run(engine: Engine) -> None:
        try:
            start.wait(timeout=10)
            upgrade(engine)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in threads)
        assert errors == []
        assert current_revision(engines[0]) == head_revision()
    finally:
        for e in engines:
            e.dispose()


def test_upgrade_waits_for_a_migration_in_progress(db_url: str) -> None:
    holder = create_engine_for(db_url)
    other = create_engine_for(db_url)
    done = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            upgrade(other)
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    try:
        with holder.connect() as conn, conn.begin():
            # What a concurrent upgrade holds: the advisory lock on PostgreSQL,
            # the write lock (BEGIN IMMEDIATE) on SQLite.
            lock_for_migration(conn)
            thread = threading.Thread(target=run)
            thread.start()
            assert not done.wait(timeout=1.0), "upgrade did not wait for the lock"
        thread.join(timeout=30)
        assert done.is_set()
        assert errors == []
        assert current_revision(other) == head_revision()
    finally:
        holder.dispose()
        other.dispose()


def test_upgrade_leaves_logging_alone(db_url: str) -> None:
    ours = logging.getLogger("interview_bot_test.unrelated")
    root = logging.getLogger()
    before = (list(root.handlers), root.level, ours.disabled)
    engine = create_engine_for(db_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    assert (list(root.handlers), root.level, ours.disabled) == before


def test_migration_scripts_ship_inside_the_package() -> None:
    location = Path(alembic_config().get_main_option("script_location") or "")
    assert location.is_dir()
    assert (location / "env.py").is_file()
    assert (location / "script.py.mako").is_file()
    assert (location / "versions" / "0001_initial.py").is_file()
    assert location.parent.name == "storage"
