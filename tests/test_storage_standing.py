"""Whose feedback counts: after a partial summary, edits after it, shadows, and history.

On SQLite and PostgreSQL, through the storage calls the bot makes (import, submit,
claim, post) and the summary data the Slack layer renders.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from rubric import RubricRegistry
from rubric.located_yaml import SourceErrors
from storage.import_file import PanelMemberSpec, parse_import_file
from storage.models import FeedbackVersion
from storage.views import Standing
from tests.test_storage_feedback_support import ALL_SENIOR, END, MLE, rating
from tests.test_storage_summaries import (
    AAA,
    BBB,
    CCC,
    DEADLINE,
    EDITABLE,
    _import,
    _spec,
    claim,
    data_of,
    give,
    post,
)

ALL_JUNIOR = tuple(rating(s.id, "junior", f"junior evidence for {s.id}") for s in MLE.skills)
ALL_LEAD = tuple(rating(s.id, "lead", f"lead evidence for {s.id}") for s in MLE.skills)


def versions(factory: sessionmaker[Session]) -> list[tuple[str, int, str]]:
    with factory() as session:
        rows = session.scalars(sa.select(FeedbackVersion).order_by(FeedbackVersion.id)).all()
        return [(v.actor, v.seq, v.notes) for v in rows]


def test_feedback_given_after_a_partial_summary_is_marked_and_not_counted(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = _import(session_factory, _spec(END, panel=(AAA, BBB, CCC)), END)
    give(session_factory, interview_id, AAA)
    post(session_factory, interview_id, DEADLINE)  # partial: BBB and CCC missing

    give(session_factory, interview_id, BBB, now=DEADLINE + timedelta(hours=1), ratings=ALL_LEAD)
    give(session_factory, interview_id, CCC, now=DEADLINE + timedelta(hours=2), ratings=ALL_LEAD)

    data = data_of(session_factory, interview_id)
    assert [(f.interviewer, f.standing) for f in data.feedback] == [
        (AAA, Standing.COUNTED),
        (BBB, Standing.AFTER_SUMMARY),
        (CCC, Standing.AFTER_SUMMARY),
    ]
    assert [f.interviewer for f in data.counted] == [AAA]
    assert [f.interviewer for f in data.after_summary] == [BBB, CCC]
    assert data.missing == ()
    assert data.partial  # one of three counted
    assert data.posted


def test_an_edit_after_the_summary_keeps_the_version_from_before_it(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = _import(session_factory, _spec(END), END)
    give(session_factory, interview_id, AAA, notes="Independent.", policy=EDITABLE)
    give(session_factory, interview_id, BBB, policy=EDITABLE)
    assert claim(session_factory, END + timedelta(minutes=20))  # complete: due now
    post(session_factory, interview_id, END + timedelta(minutes=30))

    later = END + timedelta(hours=3)
    give(
        session_factory,
        interview_id,
        AAA,
        notes="After reading the others.",
        ratings=ALL_JUNIOR,
        policy=EDITABLE,
        now=later,
    )

    data = data_of(session_factory, interview_id)
    [aaa] = [f for f in data.feedback if f.interviewer == AAA]
    assert aaa.standing == Standing.COUNTED
    assert aaa.notes == "Independent."
    assert {r.level for r in aaa.ratings} == {"senior"}
    assert aaa.edit_after_summary is not None
    assert aaa.edit_after_summary.notes == "After reading the others."
    assert {r.level for r in aaa.edit_after_summary.ratings} == {"junior"}
    assert aaa.edit_after_summary.edited_at == later
    assert [f.interviewer for f in data.edited_after_summary] == [AAA]

    # Edited back to the counted answers: nothing after the summary to show.
    give(
        session_factory,
        interview_id,
        AAA,
        notes="Independent.",
        policy=EDITABLE,
        now=later + timedelta(minutes=5),
    )
    [aaa] = [f for f in data_of(session_factory, interview_id).feedback if f.interviewer == AAA]
    assert aaa.edit_after_summary is None
    assert aaa.notes == "Independent."


def test_every_change_is_kept_as_a_version_and_a_replay_adds_none(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = _import(session_factory, _spec(END), END)
    give(session_factory, interview_id, AAA, notes="First.", policy=EDITABLE)
    give(session_factory, interview_id, AAA, notes="First.", policy=EDITABLE)  # replay
    give(session_factory, interview_id, AAA, notes="Second.", policy=EDITABLE)
    give(session_factory, interview_id, BBB, notes="Other.", policy=EDITABLE)
    assert versions(session_factory) == [
        (AAA, 1, "First."),
        (AAA, 2, "Second."),
        (BBB, 3, "Other."),
    ]


def test_shadows_are_never_waited_for_and_never_counted(
    session_factory: sessionmaker[Session],
) -> None:
    spec = _spec(END, panel=(AAA, BBB))
    spec = spec.__class__(
        **{
            **spec.__dict__,
            "panel": (*spec.panel, PanelMemberSpec(CCC, (), shadow=True)),
        }
    )
    interview_id = _import(session_factory, spec, END)
    give(session_factory, interview_id, CCC, ratings=ALL_LEAD)  # the shadow first
    give(session_factory, interview_id, AAA)
    give(session_factory, interview_id, BBB)
    # The whole counted panel is in: due now, without waiting for anyone else.
    assert claim(session_factory, END + timedelta(minutes=20))

    data = data_of(session_factory, interview_id)
    assert data.expected == (AAA, BBB)
    assert data.shadows == (CCC,)
    assert [f.interviewer for f in data.counted] == [AAA, BBB]
    assert [(f.interviewer, f.standing) for f in data.shadow_feedback] == [(CCC, Standing.SHADOW)]
    assert not data.partial


def test_a_missing_shadow_never_makes_a_summary_partial(
    session_factory: sessionmaker[Session],
) -> None:
    spec = _spec(END, panel=(AAA,))
    spec = spec.__class__(
        **{**spec.__dict__, "panel": (*spec.panel, PanelMemberSpec(BBB, (), shadow=True))}
    )
    interview_id = _import(session_factory, spec, END)
    give(session_factory, interview_id, AAA, ratings=ALL_SENIOR)
    data = data_of(session_factory, interview_id)
    assert data.missing == ()
    assert not data.partial
    assert claim(session_factory, END + timedelta(minutes=20))


# ---------------------------------------------------------------------------
# The import key


@pytest.fixture
def registry() -> RubricRegistry:
    return RubricRegistry.load(None)


ROW = """\
interviews:
  - external_id: gh-1
    candidate: Ada Lovelace
    role: Senior ML Engineer
    starts_at: 2027-03-01T10:00:00+01:00
    ends_at: 2027-03-01T11:00:00+01:00
    hiring_channel: C0HIRING
    recruiter: U0RECRUIT
    hiring_lead: U0LEAD
    panel:
      - interviewer: U0AAA
        focus: [system_design]
      - interviewer: U0CCC
        shadow: {shadow}
"""


def test_the_import_reads_shadow_from_yaml_and_csv(
    tmp_path: Path, registry: RubricRegistry
) -> None:
    path = tmp_path / "batch.yaml"
    path.write_text(ROW.format(shadow="true"), encoding="utf-8")
    [spec] = parse_import_file(path, registry=registry)
    assert [(m.interviewer, m.shadow) for m in spec.panel] == [("U0AAA", False), ("U0CCC", True)]

    csv = tmp_path / "batch.csv"
    csv.write_text(
        "external_id,candidate,role,starts_at,ends_at,hiring_channel,recruiter,hiring_lead,panel\n"
        "gh-2,Ada Lovelace,Senior ML Engineer,2027-03-01T10:00:00+01:00,"
        "2027-03-01T11:00:00+01:00,C0HIRING,U0RECRUIT,U0LEAD,"
        "U0AAA:system_design;U0CCC::shadow\n",
        encoding="utf-8",
    )
    [spec] = parse_import_file(csv, registry=registry)
    assert [(m.interviewer, m.focus, m.shadow) for m in spec.panel] == [
        ("U0AAA", ("system_design",), False),
        ("U0CCC", (), True),
    ]


def test_the_import_names_a_bad_shadow_value_and_a_panel_of_shadows_only(
    tmp_path: Path, registry: RubricRegistry
) -> None:
    path = tmp_path / "batch.yaml"
    path.write_text(ROW.format(shadow="maybe"), encoding="utf-8")
    with pytest.raises(SourceErrors) as caught:
        parse_import_file(path, registry=registry)
    [error] = [str(e) for e in caught.value.errors]
    assert "batch.yaml:14" in error and "panel[1].shadow" in error

    only = ROW.format(shadow="true").replace(
        "      - interviewer: U0AAA\n        focus: [system_design]\n",
        "      - interviewer: U0AAA\n        shadow: true\n",
    )
    path.write_text(only, encoding="utf-8")
    with pytest.raises(SourceErrors) as caught:
        parse_import_file(path, registry=registry)
    [error] = [str(e) for e in caught.value.errors]
    assert "panel" in error and "at least one must not be" in error


# ---------------------------------------------------------------------------
# Calibration reads the same standing


def test_calibration_leaves_out_feedback_after_the_summary_and_keeps_the_counted_edit(
    session_factory: sessionmaker[Session],
) -> None:
    from storage.calibration import calibration_report

    ddd = "U0DDD"
    spec = _spec(END, panel=(AAA, BBB, CCC))
    spec = spec.__class__(
        **{**spec.__dict__, "panel": (*spec.panel, PanelMemberSpec(ddd, (), shadow=True))}
    )
    interview_id = _import(session_factory, spec, END)
    give(session_factory, interview_id, AAA, policy=EDITABLE)
    give(session_factory, interview_id, BBB, policy=EDITABLE)
    give(session_factory, interview_id, ddd, ratings=ALL_LEAD, policy=EDITABLE)
    post(session_factory, interview_id, DEADLINE)  # partial: CCC missing
    after = DEADLINE + timedelta(hours=1)
    give(session_factory, interview_id, CCC, ratings=ALL_LEAD, policy=EDITABLE, now=after)
    # A second panel, complete and posted early; AAA then edits after reading it.
    second = _import(
        session_factory, _spec(END, panel=(AAA, BBB), external_id="gh-2", candidate="Bo"), END
    )
    give(session_factory, second, AAA, policy=EDITABLE)
    give(session_factory, second, BBB, policy=EDITABLE)
    assert claim(session_factory, END + timedelta(minutes=20))
    post(session_factory, second, END + timedelta(minutes=30))
    give(
        session_factory,
        second,
        AAA,
        ratings=ALL_JUNIOR,
        policy=EDITABLE,
        now=END + timedelta(hours=3),
    )

    with session_factory() as session:
        [report] = calibration_report(
            session, since=END - timedelta(days=1), until=after, min_ratings=1
        )
    calibration = report.calibration
    assert calibration.interviewer(CCC) is None  # only feedback after the summary
    aaa = calibration.interviewer(AAA)
    assert aaa is not None and aaa.overall is not None
    # The version from before the summary (all Senior, as BBB): no deviation at all.
    assert aaa.overall.agreement == 1.0
    assert abs(aaa.overall.mean) < 0.05
    shadow = calibration.interviewer(ddd)
    assert shadow is not None and shadow.overall is None and shadow.shadow is not None
    assert shadow.shadow.mean > 0.5  # rated Lead against a Senior panel
