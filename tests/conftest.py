"""Shared fixtures: one database per test, on SQLite and (when configured) PostgreSQL.

Every test that takes ``db_url`` (or ``engine`` / ``session_factory``) runs once
per backend. PostgreSQL runs when ``TEST_DATABASE_URL`` is set; each test gets a
schema of its own there, dropped afterwards, so tests never see each other's rows.
In CI (``CI`` set) an unreachable PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.engine import normalize_url

pytest_plugins = ["tests.fuzzcount"]  # counts fuzz cases per target (the fuzzing summary)

_BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _postgres_base_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: set TEST_DATABASE_URL")
        pytest.skip(
            "PostgreSQL tests need TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    try:
        probe = sa.create_engine(normalize_url(url))
        with probe.connect():
            pass
        probe.dispose()
    except sa.exc.OperationalError as exc:
        reason = f"PostgreSQL at TEST_DATABASE_URL is unreachable: {exc.orig}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return url


@pytest.fixture(params=_BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, as a SQLAlchemy URL string."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    base = _postgres_base_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(normalize_url(base))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = normalize_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fully migrated database."""
    from storage.engine import create_engine_for
    from storage.migrate import upgrade

    eng = create_engine_for(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    from storage.engine import make_session_factory

    return make_session_factory(engine)


def _utf8_safe(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Escape lone surrogates (fuzzed payloads echoed in captured output) in reports.

    pytest-xdist sends each report to the controller as UTF-8, which a lone
    surrogate cannot be; the worker would crash instead of reporting.
    """
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    report.sections = [
        (name, content if _encodable(content) else _utf8_safe(content))
        for name, content in report.sections
    ]
    if report.longrepr is not None and not _encodable(str(report.longrepr)):
        report.longrepr = _utf8_safe(str(report.longrepr))
