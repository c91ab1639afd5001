"""Rubric snapshots: one row per content digest, safe under concurrency."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

import storage.rubric_versions as rubric_versions
from storage.models import AuditEvent, RubricVersion
from storage.rubric_versions import ensure_rubric_version, load_rubric_version

DEFINITION: dict[str, Any] = {
    "id": "mle",
    "name": "Machine Learning Engineer",
    "levels": ["junior", "senior", "lead"],
    "skills": [{"id": "fundamentals", "descriptors": {"senior": "Knows the maths."}}],
}


def _digest(definition: dict[str, Any]) -> str:
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _ensure(session: Session, definition: dict[str, Any] = DEFINITION, **kw: Any) -> RubricVersion:
    args: dict[str, Any] = {
        "rubric_id": "mle",
        "version": "1",
        "digest": _digest(definition),
        "definition": definition,
    }
    args.update(kw)
    return ensure_rubric_version(session, **args)


def _rows(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(RubricVersion)) or 0


def test_same_digest_is_the_same_row(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        first = _ensure(session)
        assert first.id is not None  # flushed
        assert _ensure(session) is first
    with session_factory.begin() as session:
        again = _ensure(session, version="1.0.1")  # same content, new label: same snapshot
        assert again.id == first.id
        assert again.version == "1"
        assert _rows(session) == 1


def test_new_digest_is_a_new_row(session_factory: sessionmaker[Session]) -> None:
    edited = {**DEFINITION, "levels": ["junior", "senior", "lead", "principal"]}
    with session_factory.begin() as session:
        first = _ensure(session)
        second = _ensure(session, edited, version="2")
        other_rubric = _ensure(session, rubric_id="sre")
        assert len({first.id, second.id, other_rubric.id}) == 3
    with session_factory() as session:
        loaded = load_rubric_version(session, second.id)
        assert loaded is not None
        assert loaded.definition == edited
        assert loaded.created_at.tzinfo is not None
        assert load_rubric_version(session, 10_000) is None


def test_digest_must_be_sha256_hex(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        for bad in ("", "abc", _digest(DEFINITION).upper(), "g" * 64):
            with pytest.raises(ValueError, match="sha256"):
                _ensure(session, digest=bad)


def test_lost_insert_race_returns_the_winner_and_keeps_the_transaction(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_factory.begin() as session:
        winner = _ensure(session)
    real_find = rubric_versions._find
    misses = iter([None])

    def find_missing_once(session: Session, **kw: str) -> RubricVersion | None:
        # As if the other transaction committed between our SELECT and INSERT.
        return next(misses, None) or real_find(session, **kw)

    monkeypatch.setattr(rubric_versions, "_find", find_missing_once)
    with session_factory.begin() as session:
        session.add(AuditEvent(actor="system", action="test", entity="t", entity_id="1"))
        session.flush()
        got = _ensure(session)
        assert got.id == winner.id
        # Only the SAVEPOINT was rolled back: earlier work in the transaction survives.
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 1
    with session_factory() as session:
        assert _rows(session) == 1
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 1


def test_concurrent_ensure_from_two_transactions(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[str] = []
    real_find = rubric_versions._find

    def counting_find(session: Session, **kw: str) -> RubricVersion | None:
        found = real_find(session, **kw)
        lookups.append(threading.current_thread().name + (":hit" if found else ":miss"))
        return found

    monkeypatch.setattr(rubric_versions, "_find", counting_find)
    result: list[int] = []
    errors: list[BaseException] = []

    def second_transaction() -> None:
        try:
            with session_factory.begin() as session:
                result.append(_ensure(session).id)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    with session_factory.begin() as session:
        first_id = _ensure(session).id
        # The second transaction now blocks: on the unique index (PostgreSQL)
        # or on the write lock (SQLite) until this one commits.
        thread = threading.Thread(target=second_transaction, name="second")
        thread.start()
        time.sleep(0.5)
    thread.join(timeout=30)
    assert errors == []
    assert result == [first_id]
    second_lookups = [x for x in lookups if x.startswith("second:")]
    if session_factory.kw["bind"].dialect.name == "postgresql":
        # It missed, lost the insert race, and found the winner after the SAVEPOINT.
        assert second_lookups == ["second:miss", "second:hit"]
    else:
        # BEGIN IMMEDIATE waited for the first transaction; the lookup then hit.
        assert second_lookups == ["second:hit"]
    with session_factory() as session:
        assert _rows(session) == 1
