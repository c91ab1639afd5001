"""Alembic environment for interview-bot.

Normally run through :func:`storage.migrate.upgrade`, which passes its
connection in ``config.attributes["connection"]`` and holds the transaction.
Without one (the ``alembic`` command line with ``sqlalchemy.url`` set), it
opens its own connection. Logging is left alone: no ``fileConfig`` here.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from storage.migrate import lock_for_migration
from storage.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        # Before Alembic reads alembic_version, so a concurrent upgrade waits
        # for ours to commit and then finds nothing left to do.
        lock_for_migration(connection)
        context.run_migrations()


def run_migrations_offline() -> None:
    from storage.engine import normalize_url

    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("offline migrations need sqlalchemy.url in the Alembic config")
    parsed = normalize_url(url)
    context.configure(
        url=parsed,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=parsed.get_backend_name() == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "no connection: call storage.migrate.upgrade(engine), "
            "or set sqlalchemy.url in the Alembic config"
        )
    from storage.engine import create_engine_for

    engine = create_engine_for(url)
    try:
        with engine.connect() as own_connection:
            _configure(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
