"""Column types shared by the models.

Every timestamp in the database is UTC. :class:`UTCDateTime` enforces that at
the boundary: it refuses naive datetimes on the way in (a naive datetime is a
bug: nobody knows which clock it came from) and always hands back aware UTC
datetimes on the way out, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp.

    PostgreSQL stores it as ``TIMESTAMP WITH TIME ZONE``; SQLite, which has no
    time zones, as naive UTC text in SQLAlchemy's fixed-width format (so it
    sorts and compares correctly as text). Binding a naive datetime raises
    :class:`ValueError`; an aware datetime in another zone is stored as the
    same instant. Values read back are always aware, with ``tzinfo=UTC``.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime expects a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} given to a UTCDateTime column; "
                "pass an aware datetime (e.g. datetime.now(UTC))"
            )
        utc = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return utc.replace(tzinfo=None)
        return utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - driver contract
            raise TypeError(f"UTCDateTime read a {type(value).__name__}, not a datetime")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
