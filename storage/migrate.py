"""Apply the Alembic migrations shipped in ``storage/migrations``.

No ``alembic.ini`` is needed: :func:`alembic_config` builds the configuration
in code and finds the scripts inside the installed package.

:func:`upgrade` runs every pending migration in one transaction and is safe to
call from several processes at once: on PostgreSQL the migration environment
takes a transaction-scoped advisory lock first (see :func:`lock_for_migration`);
on SQLite every transaction begins with ``BEGIN IMMEDIATE`` (see
:mod:`storage.engine`), which takes the database's write lock. The second
caller waits, then finds nothing to do.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import threading
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

__all__ = [
    "MIGRATION_LOCK_KEY",
    "alembic_config",
    "current_revision",
    "head_revision",
    "lock_for_migration",
    "pending_revisions",
    "upgrade",
]

#: PostgreSQL advisory lock key held while migrating: the bytes b"ivbotmig"
#: read as a big-endian integer. Advisory locks are per database, so schema
#: upgrades of all interview-bot schemas in one database take turns.
MIGRATION_LOCK_KEY = int.from_bytes(b"ivbotmig", "big")

# Alembic keeps the running migration environment in module globals
# (alembic.context, alembic.op), so two upgrades must never run at once in one
# process, whatever the database does.
_in_process_lock = threading.Lock()


def alembic_config(connection: Connection | None = None) -> Config:
    """Return an Alembic configuration for the migrations in this package.

    Args:
        connection: if given, ``env.py`` migrates through this connection (and
            within its transaction, if one is open) instead of opening its own.
    """
    config = Config()
    # ConfigParser interpolates "%": escape it in case the install path has one.
    config.set_main_option("script_location", str(_migrations_dir()).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (default: the newest), in one transaction.

    Idempotent: a database already at ``revision`` is left as it is. Safe to run
    concurrently from several processes (see the module docstring) and threads.
    """
    with _in_process_lock, engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            with _sqlite_foreign_keys_off(connection), connection.begin():
                command.upgrade(alembic_config(connection), revision)
                _sqlite_check_foreign_keys(connection)
        else:
            with connection.begin():
                command.upgrade(alembic_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    """Return the database's revision, or None if it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """Return the newest revision shipped with this package."""
    head = _script_directory().get_current_head()
    if head is None:  # pragma: no cover - the package always ships 0001
        raise RuntimeError("storage/migrations/versions holds no migration")
    return head


def pending_revisions(engine: Engine) -> list[str]:
    """Return the revisions :func:`upgrade` would apply, oldest first."""
    current = current_revision(engine)
    script = _script_directory()
    newest_first = script.iterate_revisions("head", current or "base")
    return [rev.revision for rev in reversed(list(newest_first))]


def lock_for_migration(connection: Connection) -> None:
    """Serialise schema upgrades across processes (PostgreSQL).

    Takes ``pg_advisory_xact_lock``; it is released when the surrounding
    transaction ends. Call it before Alembic reads the version table. A no-op on
    SQLite, where the migration transaction holds the write lock instead.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))


def _migrations_dir() -> Path:
    location = importlib.resources.files("storage.migrations")
    if not isinstance(location, Path):  # pragma: no cover - zipped installs only
        raise RuntimeError(f"storage/migrations must be installed as files, found {location!r}")
    return location


def _script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


@contextlib.contextmanager
def _sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    # SQLite's procedure for schema changes: with foreign keys on, Alembic's
    # batch mode (copy table, drop old, rename) would fire ON DELETE CASCADE
    # when it drops a parent table. The pragma is a no-op inside a transaction,
    # so it is set on the raw connection before ours begins.
    dbapi_connection = connection.connection.driver_connection
    assert dbapi_connection is not None
    dbapi_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        try:
            dbapi_connection.execute("PRAGMA foreign_keys=ON")
        except Exception:
            # Never hand a connection without foreign keys back to the pool.
            connection.invalidate()
            raise


def _sqlite_check_foreign_keys(connection: Connection) -> None:
    violations = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if violations:
        tables = sorted({str(row[0]) for row in violations})
        raise RuntimeError(
            f"migration left {len(violations)} foreign key violation(s) in {', '.join(tables)}"
        )
