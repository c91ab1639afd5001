"""storage.interviews.import_interviews: the import transition, on SQLite and PostgreSQL."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rubric import RubricRegistry
from rubric.located_yaml import SourceErrors
from storage.import_file import parse_import_file
from storage.interviews import Timings, import_interviews
from storage.models import (
    AuditEvent,
    Feedback,
    FeedbackRequest,
    Interview,
    InterviewState,
    RequestState,
    RubricVersion,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TIMINGS = Timings(form_delay=timedelta(minutes=5), summary_deadline=timedelta(hours=48))
NOW = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def registry() -> RubricRegistry:
    return RubricRegistry.load(None)


def run_import(
    factory: sessionmaker[Session], path: Path, registry: RubricRegistry, now: datetime = NOW
) -> list[tuple[str, tuple[str, ...]]]:
    specs = parse_import_file(path, registry=registry)
    with factory.begin() as session:
        results = import_interviews(session, specs, registry=registry, timings=TIMINGS, now=now)
    return [(r.outcome.value, r.changed) for r in results]


def count(factory: sessionmaker[Session], model: type[object]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_import_twice_creates_then_changes_nothing(
    session_factory: sessionmaker[Session], registry: RubricRegistry
) -> None:
    path = EXAMPLES / "interviews.yaml"
    assert run_import(session_factory, path, registry) == [("created", ()), ("created", ())]
    assert run_import(session_factory, path, registry) == [("unchanged", ()), ("unchanged", ())]
    assert count(session_factory, Interview) == 2
    assert count(session_factory, FeedbackRequest) == 5
    assert count(session_factory, RubricVersion) == 1

    with session_factory() as session:
        ada = session.scalars(
            select(Interview).where(Interview.external_id == "greenhouse-4711")
        ).one()
        assert ada.state == InterviewState.SCHEDULED
        assert ada.rubric_id == "mle" and ada.rubric_version == registry.get("mle").version
        assert ada.starts_at == datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
        assert ada.ends_at == datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
        assert [(r.interviewer, r.focus_skills, r.state) for r in ada.requests] == [
            ("U0AAA", ["system_design", "ml_workflows"], RequestState.PENDING),
            ("U0BBB", ["communication", "planning"], RequestState.PENDING),
        ]
        # The form falls due form_delay after the interview ends.
        assert {r.next_action_at for r in ada.requests} == {ada.ends_at + timedelta(minutes=5)}
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions == ["interview.imported", "interview.imported"]


def test_csv_and_rows_without_external_id_are_idempotent(
    session_factory: sessionmaker[Session], registry: RubricRegistry, tmp_path: Path
) -> None:
    text = (
        (EXAMPLES / "interviews.csv")
        .read_text()
        .replace("greenhouse-5001", "")
        .replace("greenhouse-5002", "")
    )
    path = tmp_path / "no-ids.csv"
    path.write_text(text)
    assert [o for o, _ in run_import(session_factory, path, registry)] == ["created", "created"]
    assert [o for o, _ in run_import(session_factory, path, registry)] == ["unchanged", "unchanged"]
    assert count(session_factory, Interview) == 2


def test_a_changed_row_is_updated_and_reported(
    session_factory: sessionmaker[Session], registry: RubricRegistry, tmp_path: Path
) -> None:
    original = (EXAMPLES / "interviews.yaml").read_text()
    path = tmp_path / "batch.yaml"
    path.write_text(original)
    run_import(session_factory, path, registry)

    changed = original.replace("2027-03-01T11:00:00+01:00", "2027-03-01T11:30:00+01:00").replace(
        "      - interviewer: U0BBB\n        focus: [communication, planning]",
        "      - interviewer: U0EEE\n        focus: [communication]",
    )
    path.write_text(changed)
    assert run_import(session_factory, path, registry) == [
        ("updated", ("ends_at", "panel")),
        ("unchanged", ()),
    ]
    with session_factory() as session:
        ada = session.scalars(
            select(Interview).where(Interview.external_id == "greenhouse-4711")
        ).one()
        assert ada.ends_at == datetime(2027, 3, 1, 10, 30, tzinfo=UTC)
        assert [r.interviewer for r in ada.requests] == ["U0AAA", "U0EEE"]
        assert {r.next_action_at for r in ada.requests} == {ada.ends_at + timedelta(minutes=5)}
        update = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "interview.updated")
        ).one()
        assert update.detail is not None
        assert update.detail["changed"] == ["ends_at", "panel"]
        assert update.detail["added"] == ["U0EEE"] and update.detail["removed"] == ["U0BBB"]
    # and importing the changed file again changes nothing
    assert [o for o, _ in run_import(session_factory, path, registry)] == ["unchanged", "unchanged"]


def test_a_file_with_one_bad_row_changes_nothing(
    session_factory: sessionmaker[Session], registry: RubricRegistry, tmp_path: Path
) -> None:
    path = tmp_path / "batch.yaml"
    path.write_text(
        (EXAMPLES / "interviews.yaml").read_text().replace("[fundamentals]", "[fundamentalz]")
    )
    with pytest.raises(SourceErrors):
        run_import(session_factory, path, registry)
    assert count(session_factory, Interview) == 0
    assert count(session_factory, AuditEvent) == 0


def test_a_conflict_found_while_writing_rolls_back_the_whole_file(
    session_factory: sessionmaker[Session], registry: RubricRegistry, tmp_path: Path
) -> None:
    path = tmp_path / "batch.yaml"
    original = (EXAMPLES / "interviews.yaml").read_text()
    path.write_text(original)
    run_import(session_factory, path, registry)
    with session_factory.begin() as session:
        grace = session.scalars(
            select(Interview).where(Interview.external_id == "greenhouse-4712")
        ).one()
        grace.state = InterviewState.SUMMARISED

    # Row 1 is a valid change, row 2 changes a summarised interview: neither lands.
    path.write_text(
        original.replace("candidate: Ada Lovelace", "candidate: Ada King").replace(
            "duration: 90m", "duration: 2h"
        )
    )
    with pytest.raises(SourceErrors) as caught:
        run_import(session_factory, path, registry)
    [error] = caught.value.errors
    assert str(error).startswith(f"{path}:19: interview ")
    assert "is summarised; its ends_at can no longer change" in str(error)
    with session_factory() as session:
        names = set(session.scalars(select(Interview.candidate)))
        assert names == {"Ada Lovelace", "Grace Hopper"}
        assert (
            session.scalar(select(func.count()).where(AuditEvent.action == "interview.updated"))
            == 0
        )


def test_a_member_who_submitted_cannot_be_dropped(
    session_factory: sessionmaker[Session], registry: RubricRegistry, tmp_path: Path
) -> None:
    path = tmp_path / "batch.yaml"
    original = (EXAMPLES / "interviews.yaml").read_text()
    path.write_text(original)
    run_import(session_factory, path, registry)
    with session_factory.begin() as session:
        request = session.scalars(
            select(FeedbackRequest).where(FeedbackRequest.interviewer == "U0BBB")
        ).one()
        request.state = RequestState.SUBMITTED
        session.add(Feedback(request_id=request.id, recommendation="yes", notes=""))
    path.write_text(original.replace("interviewer: U0BBB", "interviewer: U0EEE"))
    with pytest.raises(
        SourceErrors, match="U0BBB already submitted feedback and cannot leave the panel"
    ):
        run_import(session_factory, path, registry)
    assert count(session_factory, FeedbackRequest) == 5


def test_an_interview_past_its_summary_deadline_is_history(
    session_factory: sessionmaker[Session], registry: RubricRegistry, tmp_path: Path
) -> None:
    path = tmp_path / "batch.yaml"
    path.write_text((EXAMPLES / "interviews.yaml").read_text())
    # Ada's interview ended at 10:00 UTC on 1 March; the deadline is 48 h later.
    late = datetime(2027, 3, 3, 10, 1, tzinfo=UTC)
    specs = parse_import_file(path, registry=registry)
    with session_factory.begin() as session:
        results = import_interviews(session, specs, registry=registry, timings=TIMINGS, now=late)
    assert [r.archived for r in results] == [True, False]
    with session_factory() as session:
        ada, grace = session.scalars(select(Interview).order_by(Interview.id)).all()
        assert ada.state == InterviewState.ARCHIVED
        assert all(r.next_action_at is None for r in ada.requests)
        assert grace.state == InterviewState.SCHEDULED
        assert all(r.next_action_at is not None for r in grace.requests)


def test_rubric_version_is_pinned_at_scheduling(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """Editing a rubric file later never changes what past interviews were rated against."""
    builtin = Path(__file__).resolve().parent.parent / "rubric" / "data" / "mle.yaml"
    rubrics = tmp_path / "rubrics"
    rubrics.mkdir()
    team = builtin.read_text().replace("id: mle\n", "id: team\n", 1)
    (rubrics / "team.yaml").write_text(team)
    batch = tmp_path / "batch.yaml"
    batch.write_text(
        (EXAMPLES / "interviews.yaml").read_text().replace("rubric: mle", "rubric: team")
    )
    run_import(session_factory, batch, RubricRegistry.load(rubrics))

    (rubrics / "team.yaml").write_text(team.replace('version: "', 'version: "edited-', 1))
    edited = RubricRegistry.load(rubrics)
    assert run_import(session_factory, batch, edited)[0] == ("unchanged", ())
    with session_factory() as session:
        ada = session.scalars(
            select(Interview).where(Interview.external_id == "greenhouse-4711")
        ).one()
        assert ada.rubric_id == "team"
        assert not ada.rubric_version.startswith("edited-")
        pinned = session.get(RubricVersion, ada.rubric_version_id)
        assert pinned is not None and pinned.definition["version"] == ada.rubric_version


def test_parse_error_text_uses_dedent_safe_lines(tmp_path: Path, registry: RubricRegistry) -> None:
    path = tmp_path / "b.yaml"
    path.write_text(
        textwrap.dedent("""\
        interviews:
          - candidate: X
    """)
    )
    with pytest.raises(SourceErrors) as caught:
        parse_import_file(path, registry=registry)
    paths = [e.path for e in caught.value.errors]
    assert "interviews[0].role" in paths and "interviews[0].panel" in paths
    assert {e.line for e in caught.value.errors} == {2}
