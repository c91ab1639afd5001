"""Calibration's parts: the command text, the Block Kit builders, and the storage query."""

from __future__ import annotations

import json
import re
from datetime import UTC, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from handlers.blocks.app_home import build_app_home
from handlers.blocks.calibration import (
    build_calibration_report,
    build_home_calibration,
    describe_deviation,
)
from handlers.blocks.limits import check_message, check_view
from handlers.command_text import parse_command
from rubric.calibration import VersionCalibration, calibrate
from storage.calibration import calibration_report
from storage.models import Interview, InterviewState
from tests.test_calibration_math import BIASES, SHADOW, mle_simulation, simulate, with_observers
from tests.test_consensus import make_rubric
from tests.test_e2e_calibration import MLE, NOW, seed

# -- /interview calibration text --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rubric_id", "days"),
    [
        ("calibration", None, None),
        ("calibration mle", "mle", None),
        ("calibration --since 180d", None, 180),
        ("CALIBRATION --since=30d MLE", "mle", 30),
        ("calibration --since 2d mle", "mle", 2),
    ],
)
def test_calibration_command_text(text: str, rubric_id: str | None, days: int | None) -> None:
    parsed = parse_command(text)
    assert parsed.sub == "calibration" and not parsed.usage
    assert parsed.rubric_id == rubric_id
    assert parsed.since == (None if days is None else timedelta(days=days))


@pytest.mark.parametrize(
    "text",
    [
        "calibration --since",
        "calibration --since soon",
        "calibration --since 1h",  # under a day
        "calibration --since 99999d",  # past ten years
        "calibration --since 30d --since 60d",
        "calibration mle other",
        "calibration <@U0AAA>",
        "calibration " + "x" * 65,
    ],
)
def test_calibration_command_usage(text: str) -> None:
    parsed = parse_command(text)
    assert parsed.sub == "calibration" and parsed.usage


# -- the builders -------------------------------------------------------------------------------


def version(
    rubric_version: str = "1", *, latest: bool = True, interviews: int = 120
) -> VersionCalibration:
    rubric = make_rubric(7, 6).model_copy(update={"version": rubric_version})
    panels = simulate(rubric, seed=3, interviews=interviews, biases=BIASES)
    return VersionCalibration(
        rubric=rubric,
        first_interview=NOW - timedelta(days=80),
        last_interview=NOW - timedelta(days=1),
        calibration=calibrate(rubric, panels),
        latest=latest,
    )


def test_the_team_report_fits_a_message_and_names_nobody() -> None:
    reports = [version("1", latest=False, interviews=40), version("2")]
    text, blocks = build_calibration_report(
        reports, since=NOW - timedelta(days=90), until=NOW, rubric_id="gen"
    )
    check_message(text, blocks)
    body = json.dumps(blocks, ensure_ascii=False)
    assert not any(user in body for user in BIASES)
    assert "version 2" in body and "The rubric changed" in body
    assert "40 earlier interviews on version 1 are not pooled" in body
    assert "2 rate more than" not in body  # one lenient, one severe
    assert "1 rate more than 0.5 level above their panels, 1 more than 0.5 below" in body


def test_the_team_report_without_data_says_so() -> None:
    text, blocks = build_calibration_report(
        [], since=NOW - timedelta(days=90), until=NOW, rubric_id="mle"
    )
    check_message(text, blocks)
    assert "no summarised interviews on rubric `mle`" in text


def test_many_rubrics_stay_within_fifty_blocks() -> None:
    reports = []
    for i in range(10):
        r = version()
        rubric = r.rubric.model_copy(update={"id": f"r{i}", "name": f"Rubric {i}"})
        reports.append(
            VersionCalibration(rubric, r.first_interview, r.last_interview, r.calibration, True)
        )
    text, blocks = build_calibration_report(reports, since=NOW - timedelta(days=90), until=NOW)
    check_message(text, blocks)
    assert "…and 4 more rubrics" in json.dumps(blocks, ensure_ascii=False)


@pytest.mark.parametrize("user", sorted(BIASES))
def test_the_home_view_shows_one_person_only_their_own(user: str) -> None:
    blocks = build_home_calibration(
        [version()], user=user, period=timedelta(days=90), min_ratings=10
    )
    view = build_app_home(open_forms=[], recent=[], owned=[], tz=UTC, now=NOW, calibration=blocks)
    check_view(view)
    body = json.dumps(view, ensure_ascii=False)
    assert not any(other in body for other in BIASES if other != user)
    assert "Overall you rate" in body
    if BIASES[user]:
        side = "above" if BIASES[user] > 0 else "below"
        found = re.search(rf"Overall you rate (\d\.\d) levels? {side} your panels", body)
        assert found is not None and 0.8 <= float(found.group(1)) <= 1.3, body[-1500:]
        assert "*L0*" in body  # the descriptors of the skills they deviate on


def test_the_home_view_of_a_shadow_shows_their_shadow_figure() -> None:
    cal = calibrate(MLE, with_observers(mle_simulation(7), 7))
    report = VersionCalibration(MLE, NOW - timedelta(days=80), NOW, cal, True)

    def home(user: str) -> str:
        blocks = build_home_calibration(
            [report], user=user, period=timedelta(days=90), min_ratings=10
        )
        return json.dumps(blocks, ensure_ascii=False)

    trainee = home(SHADOW)
    found = re.search(
        r"As a shadow you rate (\d\.\d) levels? above the panels you observed", trainee
    )
    assert found is not None and float(found.group(1)) >= 0.8, trainee
    assert "over 30 interviews (480 ratings)" in trainee
    assert "Your figures appear after" not in trainee and "Overall you rate" not in trainee
    both = home("U0FAIR0")  # a panelist who also shadowed: both lines
    assert "Overall you rate" in both and "As a shadow you rate" in both
    assert "As a shadow" not in home("U0FAIR1")


def test_deviation_wording() -> None:
    assert describe_deviation(0.04) == "in line with"
    assert describe_deviation(1.0) == "1.0 level above"
    assert describe_deviation(-0.6) == "0.6 levels below"


# -- the storage query ---------------------------------------------------------------------------


def test_only_summarised_interviews_in_the_period_count(
    session_factory: sessionmaker[Session],
) -> None:
    seed(session_factory, interviews=20, first_end=NOW - timedelta(days=1))
    with session_factory.begin() as session:
        interviews = session.query(Interview).order_by(Interview.ends_at.desc()).all()
        interviews[0].state = InterviewState.CANCELLED  # not summarised: out
        interviews[-1].starts_at = NOW - timedelta(days=400, hours=1)  # before the period: out
        interviews[-1].ends_at = NOW - timedelta(days=400)
    with session_factory() as session:
        [report] = calibration_report(
            session, since=NOW - timedelta(days=90), until=NOW, min_ratings=10
        )
    assert report.calibration.panels == 18
    assert report.latest and report.rubric.id == "mle"
    assert report.first_interview >= NOW - timedelta(days=90)


def test_versions_are_reported_apart_and_the_newest_is_marked(
    session_factory: sessionmaker[Session],
) -> None:
    seed(session_factory, interviews=10, first_end=NOW - timedelta(days=20))
    newer = MLE.model_copy(update={"version": "2027.1"})
    seed(
        session_factory, rubric=newer, interviews=5, first_end=NOW - timedelta(days=1), seed_value=4
    )
    with session_factory() as session:
        reports = calibration_report(
            session, since=NOW - timedelta(days=90), until=NOW, min_ratings=10
        )
        filtered = calibration_report(
            session, since=NOW - timedelta(days=90), until=NOW, min_ratings=10, rubric_id="other"
        )
    assert [(r.rubric.version, r.latest, r.calibration.panels) for r in reports] == [
        (MLE.version, False, 10),
        ("2027.1", True, 5),
    ]
    assert filtered == []
