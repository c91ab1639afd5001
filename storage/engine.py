"""Engine and session factory for SQLite and PostgreSQL.

Create one engine per process with :func:`create_engine_for` and one
``sessionmaker`` with :func:`make_session_factory`; callers own the transaction
(``with factory.begin() as session: ...``) and the functions of ``storage``
take that session and never commit.

On SQLite, SQLAlchemy (not the ``sqlite3`` module) begins transactions, so
that transactions, SAVEPOINTs and DDL behave as on PostgreSQL (see SQLAlchemy's
"Transactions with SQLite and the sqlite3 driver"). Every transaction begins
with ``BEGIN IMMEDIATE``: it takes the database's write lock up front, waiting
up to ``busy_timeout`` for it. With a deferred ``BEGIN``, a transaction that
reads and then writes fails at once with "database is locked" whenever another
connection wrote in between, which is exactly the read-then-update pattern of
the sweep and of every idempotent upsert. Transactions are therefore
serialised on SQLite; keep them short (never hold one across a Slack call).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

__all__ = ["create_engine_for", "make_session_factory", "normalize_url"]

_SQLITE_BUSY_TIMEOUT_MS = 5000
_PG_CONNECT_TIMEOUT_S = 3  # libpq's minimum that works reliably is 2
_HOLDS_WRITER = "interview_bot_holds_writer_lock"  # a key of Connection.info


def normalize_url(url: str | URL) -> URL:
    """Parse a database URL and pin the driver this project supports.

    ``postgres://`` and ``postgresql://`` become ``postgresql+psycopg://``
    (psycopg 3), so the plain URLs hosting providers hand out work as they are.

    Raises:
        ValueError: the URL cannot be parsed, or names a backend or driver
            other than SQLite (``sqlite``/``sqlite+pysqlite``) or PostgreSQL
            through psycopg 3.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"not a database URL: {_redacted(url)}") from exc
    backend = parsed.get_backend_name()
    driver = parsed.get_driver_name() if "+" in parsed.drivername else None
    if backend in ("postgresql", "postgres") and driver in (None, "psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and driver in (None, "pysqlite"):
        return parsed
    raise ValueError(
        f"unsupported database URL {_redacted(parsed)}: use sqlite:///PATH or "
        "postgresql+psycopg://USER@HOST/DB (postgresql:// and postgres:// are accepted too)"
    )


def create_engine_for(url: str | URL, **kwargs: Any) -> Engine:
    """Create the engine for a SQLite or PostgreSQL URL.

    SQLite connections get ``foreign_keys=ON``, ``busy_timeout=5000``,
    ``synchronous=NORMAL`` and, for file databases, ``journal_mode=WAL``; their
    transactions begin with ``BEGIN IMMEDIATE`` (see the module docstring). An
    in-memory SQLite database uses one shared connection (``StaticPool``), or
    each checkout would see a different, empty database.

    Every connection is pinged when it leaves the pool (``pool_pre_ping``), so
    after a database restart the pool replaces its dead connections by itself
    and no request fails on a stale one. PostgreSQL connection attempts give up
    after 3 s (``connect_timeout``, unless the URL sets its own). Errors never
    show the statement's parameters (``hide_parameters``).

    Args:
        url: a SQLAlchemy URL; see :func:`normalize_url` for what is accepted.
        **kwargs: passed on to :func:`sqlalchemy.create_engine` (e.g. ``echo``).

    Raises:
        ValueError: for an unsupported or unparsable URL.
    """
    parsed = normalize_url(url)
    # hide_parameters: a failed statement's error text would otherwise carry its
    # bound values (feedback notes and evidence) into logs and tracebacks.
    options: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
    # `serve` uses the database from up to 8 request threads, 4 after-ack workers and
    # the sweep. With SQLAlchemy's default pool of 5 the rest opened and closed a
    # connection per transaction: a new PostgreSQL backend each time, and on SQLite a
    # page cache allocated and freed each time, which fragmented the heap.
    pooled = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
    if parsed.get_backend_name() == "sqlite":
        in_memory = _sqlite_in_memory(parsed)
        if in_memory:
            options["poolclass"] = StaticPool
            options["connect_args"] = {"check_same_thread": False}
        else:
            options.update(pooled)
        options.update(kwargs)
        engine = sa.create_engine(parsed, **options)
        _install_sqlite_listeners(engine, wal=not in_memory)
        return engine
    if "connect_timeout" not in parsed.query:
        # A server that does not answer (a partition, a host being replaced) must
        # not hang a request past Slack's 3 s ack: fail fast, the caller reports it.
        options["connect_args"] = {"connect_timeout": _PG_CONNECT_TIMEOUT_S}
    options.update(pooled)
    options.update(kwargs)
    return sa.create_engine(parsed, **options)


POOL_SIZE = 16  # connections kept open per process (opened on first need)
POOL_OVERFLOW = 8  # more, closed again when returned, for a burst beyond that


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory for ``engine``.

    Objects stay usable after commit (``expire_on_commit=False``), so a caller
    can return what it just wrote without another round trip.
    """
    return sessionmaker(bind=engine, expire_on_commit=False)


def _sqlite_in_memory(url: URL) -> bool:
    database = url.database or ""
    return (
        database in ("", ":memory:")
        or url.query.get("mode") == "memory"
        or database.startswith("file::memory:")
    )


def _install_sqlite_listeners(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not sqlite3's legacy mode, decide when a transaction
        # begins (see _on_begin). Pragmas run here, outside any transaction.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            if wal:
                _enable_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    # This process's transactions queue on a lock for the write lock: threads that
    # wait inside SQLite instead poll it from its busy handler, sleeping up to 100 ms
    # a time, which made the tail latency under concurrent requests. Other
    # processes still wait through busy_timeout; so does a thread after that long.
    writer = threading.Lock()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        held = writer.acquire(timeout=_SQLITE_BUSY_TIMEOUT_MS / 1000)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if held:
                writer.release()
            raise
        if held:
            connection.info[_HOLDS_WRITER] = True

    def _on_end(connection: Connection) -> None:
        if connection.info.pop(_HOLDS_WRITER, False):
            writer.release()

    event.listen(engine, "commit", _on_end)
    event.listen(engine, "rollback", _on_end)


def _enable_wal(cursor: Any) -> None:
    """Switch to WAL once per database file; retry while another process holds the lock.

    Changing the journal mode needs an exclusive lock and ignores busy_timeout, so
    two processes opening a brand-new file at once can see "database is locked".
    """
    if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    deadline = time.monotonic() + _SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _redacted(url: str | URL) -> str:
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"
