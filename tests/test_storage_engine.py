"""Engine set-up: URLs, SQLite pragmas and transactions, foreign keys on every backend."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from storage.engine import create_engine_for, make_session_factory, normalize_url
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import FeedbackRequest


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:pw@db.example:5432/ib", "postgresql+psycopg://u:pw@db.example:5432/ib"),
        ("postgresql://u@db/ib?sslmode=require", "postgresql+psycopg://u@db/ib?sslmode=require"),
        ("postgresql+psycopg://u@db/ib", "postgresql+psycopg://u@db/ib"),
        ("sqlite:///interview-bot.db", "sqlite:///interview-bot.db"),
        ("sqlite+pysqlite:////var/lib/ib.db", "sqlite+pysqlite:////var/lib/ib.db"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_normalize_url(given: str, expected: str) -> None:
    assert normalize_url(given).render_as_string(hide_password=False) == expected


def test_plain_postgres_urls_use_psycopg3() -> None:
    for url in ("postgres://u@127.0.0.1/ib", "postgresql://u@127.0.0.1/ib"):
        engine = create_engine_for(url)  # no connection is made
        assert engine.dialect.name == "postgresql"
        assert engine.dialect.driver == "psycopg"
        assert engine.pool._pre_ping
        engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "mysql://u@db/ib",
        "mysql+pymysql://u@db/ib",
        "postgresql+psycopg2://u@db/ib",
        "postgresql+asyncpg://u@db/ib",
        "sqlite+aiosqlite:///ib.db",
        "oracle://u@db/ib",
    ],
)
def test_unsupported_urls_are_rejected(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported database URL"):
        create_engine_for(url)


def test_error_messages_hide_passwords() -> None:
    with pytest.raises(ValueError, match="unsupported") as info:
        create_engine_for("mysql://user:s3cret@db/ib")
    assert "s3cret" not in str(info.value)
    with pytest.raises(ValueError, match="not a database URL") as info:
        create_engine_for("s3cret not a url")
    assert "s3cret" not in str(info.value)


def test_sqlite_pragmas_are_in_effect(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    with engine.connect() as conn:
        values = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("foreign_keys", "journal_mode", "busy_timeout", "synchronous")
        }
    assert values == {
        "foreign_keys": 1,
        "journal_mode": "wal",
        "busy_timeout": 5000,
        "synchronous": 1,  # NORMAL
    }


def test_in_memory_sqlite_is_one_shared_database() -> None:
    engine = create_engine_for("sqlite://")
    try:
        assert isinstance(engine.pool, StaticPool)
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # back on
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "memory"
    finally:
        engine.dispose()


def test_foreign_keys_are_enforced(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(sa.exc.IntegrityError), session_factory.begin() as session:
        session.add(FeedbackRequest(interview_id=999_999, interviewer="U0AAA"))


def test_rolling_back_undoes_a_released_savepoint(engine: Engine) -> None:
    # With sqlite3's legacy transaction handling, a SAVEPOINT before the first
    # write escaped the outer transaction. Both backends must roll it back.
    with engine.connect() as conn:
        with conn.begin() as outer:
            with conn.begin_nested():
                conn.execute(
                    sa.text(
                        "INSERT INTO audit_events (at, actor, action, entity, entity_id) "
                        "VALUES (:at, 'system', 'test.savepoint', :entity, :entity_id)"
                    ),
                    {"at": datetime.now(UTC), "entity": "test", "entity_id": "1"},
                )
            outer.rollback()
        count = conn.execute(sa.text("SELECT count(*) FROM audit_events")).scalar()
        conn.rollback()
    assert count == 0


def test_transactional_ddl_rolls_back(engine: Engine) -> None:
    with engine.connect() as conn:
        with conn.begin() as tx:
            conn.exec_driver_sql("CREATE TABLE ddl_probe (id INTEGER)")
            tx.rollback()
        assert "ddl_probe" not in sa.inspect(conn).get_table_names()
        conn.rollback()


def test_session_factory_keeps_objects_loaded_after_commit(
    session_factory: sessionmaker[Session],
) -> None:
    assert session_factory.kw["expire_on_commit"] is False
    assert make_session_factory(session_factory.kw["bind"]).kw["expire_on_commit"] is False
