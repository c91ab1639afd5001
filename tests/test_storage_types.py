"""UTCDateTime: aware UTC in, aware UTC out, naive rejected, on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from storage.types import UTCDateTime

metadata = sa.MetaData()
probe = sa.Table(
    "utc_probe",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime, nullable=True),
)

NOON_UTC = datetime(2026, 12, 1, 12, 0, 0, 123456, tzinfo=UTC)
PLUS_ONE = timezone(timedelta(hours=1))


@pytest.fixture
def probe_engine(engine: Engine) -> Iterator[Engine]:
    metadata.create_all(engine)
    yield engine
    metadata.drop_all(engine)


def _roundtrip(engine: Engine, value: datetime | None) -> datetime | None:
    with engine.begin() as conn:
        row_id = conn.scalar(sa.insert(probe).values(at=value).returning(probe.c.id))
    with engine.connect() as conn:
        back: datetime | None = conn.scalar(sa.select(probe.c.at).where(probe.c.id == row_id))
        return back


def test_aware_utc_round_trips(probe_engine: Engine) -> None:
    back = _roundtrip(probe_engine, NOON_UTC)
    assert back == NOON_UTC
    assert back is not None
    assert back.tzinfo is UTC


def test_other_zone_is_stored_as_the_same_instant(probe_engine: Engine) -> None:
    one_pm_paris_winter = datetime(2026, 12, 1, 13, 0, 0, 123456, tzinfo=PLUS_ONE)
    back = _roundtrip(probe_engine, one_pm_paris_winter)
    assert back == NOON_UTC
    assert back is not None
    assert back.tzinfo is UTC
    assert back.hour == 12


def test_none_round_trips(probe_engine: Engine) -> None:
    assert _roundtrip(probe_engine, None) is None


def test_naive_datetime_is_rejected(probe_engine: Engine) -> None:
    with pytest.raises(sa.exc.StatementError) as info, probe_engine.begin() as conn:
        conn.execute(sa.insert(probe).values(at=datetime(2026, 12, 1, 12, 0)))
    assert isinstance(info.value.orig, ValueError)
    assert "naive datetime" in str(info.value.orig)


def test_naive_datetime_is_rejected_in_comparisons(probe_engine: Engine) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), probe_engine.connect() as c:
        c.execute(sa.select(probe.c.id).where(probe.c.at < datetime(2026, 1, 1)))


def test_comparisons_use_the_instant_not_the_wall_clock(probe_engine: Engine) -> None:
    _roundtrip(probe_engine, NOON_UTC)
    just_before = datetime(2026, 12, 1, 12, 30, tzinfo=PLUS_ONE)  # 11:30 UTC
    with probe_engine.connect() as conn:
        later = conn.execute(sa.select(sa.func.count()).where(probe.c.at > just_before)).scalar()
    assert later == 1


def test_result_is_utc_whatever_the_session_time_zone(probe_engine: Engine) -> None:
    if probe_engine.dialect.name != "postgresql":
        pytest.skip("session time zones are a PostgreSQL setting")
    _roundtrip(probe_engine, NOON_UTC)
    with probe_engine.connect() as conn:
        conn.exec_driver_sql("SET TIME ZONE 'America/New_York'")
        back = conn.execute(sa.select(probe.c.at)).scalar_one()
    assert back == NOON_UTC
    assert back.tzinfo is UTC


def test_storage_format_per_backend(probe_engine: Engine) -> None:
    _roundtrip(probe_engine, datetime(2026, 12, 1, 13, 0, tzinfo=PLUS_ONE))
    with probe_engine.connect() as conn:
        if probe_engine.dialect.name == "sqlite":
            raw = conn.exec_driver_sql("SELECT at FROM utc_probe").scalar_one()
            assert raw == "2026-12-01 12:00:00.000000"  # naive UTC text
        else:
            raw = conn.exec_driver_sql(
                "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM utc_probe"
            ).scalar_one()
            assert raw == "2026-12-01 12:00"


def test_non_datetime_is_rejected() -> None:
    with pytest.raises(TypeError, match="expects a datetime"):
        UTCDateTime().process_bind_param(date(2026, 12, 1), sqlite.dialect())


def test_bind_converts_to_utc() -> None:
    value = datetime(2026, 12, 1, 13, 0, tzinfo=PLUS_ONE)
    on_pg = UTCDateTime().process_bind_param(value, postgresql.dialect())
    on_sqlite = UTCDateTime().process_bind_param(value, sqlite.dialect())
    assert on_pg == NOON_UTC.replace(microsecond=0)
    assert on_pg is not None
    assert on_pg.tzinfo is UTC
    assert on_sqlite == datetime(2026, 12, 1, 12, 0)
    assert on_sqlite is not None
    assert on_sqlite.tzinfo is None


def test_column_types_per_backend() -> None:
    assert str(UTCDateTime().compile(dialect=postgresql.dialect())) == "TIMESTAMP WITH TIME ZONE"
    assert str(UTCDateTime().compile(dialect=sqlite.dialect())) == "DATETIME"
