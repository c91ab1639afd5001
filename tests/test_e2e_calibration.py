"""Calibration end to end: seeded history, App Home's private view, the command, the CLI.

A seeded history of summarised interviews on the MLE rubric with known biases:
U0LENIENT always rates one level above the candidate's true level, U0SEVERE one
below, six others are right 80% of the time and one level off otherwise. Truths
are Senior (the middle level), so no bias is clipped at the scale's ends.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.config import CalibrationConfig, FileConfig
from rubric import RubricRegistry, rubric_digest
from rubric.model import Rubric
from storage.models import (
    AuditEvent,
    Feedback,
    FeedbackRequest,
    Interview,
    InterviewState,
    RequestState,
    SkillRating,
)
from storage.rubric_versions import ensure_rubric_version
from tests.fakeslack import FakeSlack, running_fake
from tests.harness import ServedBot, wait_for

MLE = RubricRegistry.load(None).get("mle")
NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)  # the harness clock's start
LEVELS = ("junior", "senior", "lead")
BIASES = {"U0LENIENT": 1, "U0SEVERE": -1, **{f"U0FAIR{i}": 0 for i in range(6)}}
RECRUITER, LEAD, NEWCOMER = "U0RECRUIT", "U0LEAD", "U0NEWBIE"
OVERALL = re.compile(r"Overall you rate (?:(\d+\.\d) levels? (above|below)|in line with)")


def seed(
    factory: sessionmaker[Session],
    *,
    rubric: Rubric = MLE,
    interviews: int,
    first_end: datetime,
    seed_value: int = 1,
    newcomer_interviews: int = 0,
) -> None:
    """Summarised interviews, one a day back from ``first_end``, with the biased panel."""
    rng = random.Random(seed_value)
    pool = sorted(BIASES)
    with factory.begin() as session:
        snapshot = ensure_rubric_version(
            session,
            rubric_id=rubric.id,
            version=rubric.version,
            digest=rubric_digest(rubric),
            definition=rubric.model_dump(mode="json"),
        )
        for n in range(interviews):
            ends = first_end - timedelta(days=n)
            panel = rng.sample(pool, 4)
            if n < newcomer_interviews:
                panel[-1] = NEWCOMER
            interview = Interview(
                candidate=f"Candidate {n}",
                role="Senior ML Engineer",
                rubric_id=rubric.id,
                rubric_version=rubric.version,
                rubric_version_id=snapshot.id,
                target_level="senior",
                starts_at=ends - timedelta(hours=1),
                ends_at=ends,
                hiring_channel="C0HIRING",
                recruiter=RECRUITER,
                hiring_lead=LEAD,
                state=InterviewState.SUMMARISED,
                summary_channel="C0HIRING",
                summary_ts=f"{ends.timestamp():.6f}",
                summary_posted_at=ends + timedelta(hours=2),
                summary_updated_at=ends + timedelta(hours=2),
                summary_seq=1,
                summary_posted_seq=1,
            )
            for position, who in enumerate(panel):
                request = FeedbackRequest(
                    interviewer=who,
                    focus_skills=["system_design"],
                    position=position,
                    state=RequestState.SUBMITTED,
                )
                ratings = []
                # The newcomer rates three skills: below calibration.min_ratings in all.
                skills = rubric.skills[:3] if who == NEWCOMER else rubric.skills
                for skill in skills:
                    if rng.random() < 0.15:
                        continue
                    bias = BIASES.get(who, 0)
                    noise = 0 if bias else rng.choices((-1, 0, 1), weights=(1, 8, 1))[0]
                    level = LEVELS[1 + bias + noise]
                    ratings.append(SkillRating(skill_id=skill.id, level=level, evidence="seen"))
                request.feedback = Feedback(
                    recommendation="yes",
                    notes="",
                    submitted_at=ends + timedelta(hours=1),
                    ratings=ratings,
                )
                interview.requests.append(request)
            session.add(interview)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


@pytest.fixture
def served(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack
) -> Iterator[ServedBot]:
    for user in [*BIASES, RECRUITER, LEAD, NEWCOMER]:
        fake.add_user(user, tz="UTC")
    seed(session_factory, interviews=90, first_end=NOW - timedelta(days=1), newcomer_interviews=3)
    bot = ServedBot(
        engine,
        session_factory,
        fake,
        file_config=FileConfig(calibration=CalibrationConfig(period=timedelta(days=120))),
    )
    yield bot
    bot.close()
    assert fake.rejected == [], f"the bot sent payloads Slack would reject: {fake.rejected}"


def home_text(bot: ServedBot, user: str) -> str:
    return json.dumps(bot.open_home(user), ensure_ascii=False)


def overall_deviation(text: str) -> float:
    match = OVERALL.search(text)
    assert match is not None, text[-1500:]
    if match.group(1) is None:
        return 0.0
    size = float(match.group(1))
    return size if match.group(2) == "above" else -size


def test_app_home_shows_each_interviewer_their_own_bias(served: ServedBot) -> None:
    for user, bias in BIASES.items():
        text = home_text(served, user)
        assert "Your calibration" in text and "Only you see this" in text
        assert overall_deviation(text) == pytest.approx(bias, abs=0.2), user
        # privacy: nobody else's id appears in their Home tab
        others = [u for u in [*BIASES, NEWCOMER] if u != user]
        assert not any(other in text for other in others), user
    lenient = home_text(served, "U0LENIENT")
    # the skills where they deviate most, with the rubric's descriptors to re-read
    skills = re.findall(r"On \*[^*]+\* you rate (\d\.\d) levels? above your panels", lenient)
    assert skills, lenient[-1500:]
    assert all(float(size) == pytest.approx(1.0, abs=0.45) for size in skills)
    skill = MLE.skills[0]
    assert any(
        MLE.skill(s.id).levels["lead"].short.replace("&", "&amp;") in lenient for s in MLE.skills
    ), "no level descriptor shown"
    assert skill.name  # the rubric has names to show


def test_below_the_minimum_there_is_no_figure(served: ServedBot) -> None:
    text = home_text(served, NEWCOMER)
    assert "Your figures appear after 10 ratings compared with other panelists" in text
    assert "Overall you rate" not in text


def test_someone_who_never_interviewed_sees_no_calibration_figures(served: ServedBot) -> None:
    text = home_text(served, LEAD)
    assert "Your calibration appears here once interviews you rated have been summarised" in text
    assert not any(user in text for user in BIASES)


def test_the_command_sends_the_lead_aggregates_and_no_names(
    served: ServedBot, fake: FakeSlack, session_factory: sessionmaker[Session]
) -> None:
    reply = served.command(LEAD, "calibration mle --since 120d")
    assert "arrives as a direct message" in reply.body.decode()
    wait_for(lambda: any(m.channel == LEAD for m in fake.messages), what="the calibration DM")
    [dm] = [m for m in fake.messages if m.channel == LEAD]
    text = json.dumps(dm.blocks, ensure_ascii=False) + dm.text
    assert "Rating calibration" in text
    assert "90 interviews" in text
    for skill in MLE.skills:
        assert skill.name.replace("&", "&amp;") in text
    # the spread: the two biased interviewers are its ends, but nobody is named
    spread = re.search(r"runs from (-\d\.\d) to \+(\d\.\d) levels", text)
    assert spread is not None, text[-800:]
    assert float(spread.group(1)) == pytest.approx(-1.0, abs=0.2)
    assert float(spread.group(2)) == pytest.approx(1.0, abs=0.2)
    assert "1 rate more than 0.5 level above their panels, 1 more than 0.5 below" in text
    for user in [*BIASES, NEWCOMER]:
        assert user not in text
    with session_factory() as session:
        viewed = session.query(AuditEvent).filter_by(action="calibration.viewed").one()
        assert viewed.actor == LEAD and viewed.entity_id == "mle"


def test_a_changed_rubric_starts_fresh_and_the_report_says_so(
    served: ServedBot, fake: FakeSlack, session_factory: sessionmaker[Session]
) -> None:
    changed = MLE.model_copy(update={"version": "2027.1"})
    # 30 newer interviews on the new version, after the 90 on the old one
    seed(
        session_factory,
        rubric=changed,
        interviews=30,
        first_end=NOW - timedelta(hours=1),
        seed_value=2,
    )
    # the 90 old ones end 1 to 90 days back; move the new ones after them all
    with session_factory.begin() as session:
        for interview in session.query(Interview).filter_by(rubric_version="2027.1"):
            interview.ends_at = NOW - timedelta(minutes=30 + interview.id % 30)
    served.command(RECRUITER, "calibration")
    wait_for(lambda: any(m.channel == RECRUITER for m in fake.messages), what="the DM")
    [dm] = [m for m in fake.messages if m.channel == RECRUITER]
    text = json.dumps(dm.blocks, ensure_ascii=False)
    assert "version 2027.1" in text and "30 interviews" in text
    assert "The rubric changed: these figures start with version 2027.1" in text
    assert f"90 earlier interviews on version {MLE.version} are not pooled" in text
    # the lenient interviewer's own view uses the new version only
    home = home_text(served, "U0LENIENT")
    assert "version 2027.1" in home and f"version {MLE.version}" not in home


def test_an_unknown_rubric_or_a_bad_window_is_answered_plainly(
    served: ServedBot, fake: FakeSlack
) -> None:
    reply = served.command(LEAD, "calibration --since soon")
    assert "Usage: `/interview calibration [rubric] [--since 90d]`" in reply.body.decode()
    served.command(LEAD, "calibration cooking")
    wait_for(lambda: any(m.channel == LEAD for m in fake.messages), what="the DM")
    [dm] = [m for m in fake.messages if m.channel == LEAD]
    assert "I know no rubric `cooking`" in dm.text


# -- the command line -------------------------------------------------------------------------


@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> str:
    for name in ("INTERVIEW_BOT_CONFIG", "SLACK_BOT_TOKEN", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["db", "upgrade"]) == 0
    return db_url


def test_cli_report_json_and_csv(
    cli_db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from storage.engine import create_engine_for, make_session_factory

    engine = create_engine_for(cli_db)
    now = datetime.now(UTC)
    seed(make_session_factory(engine), interviews=60, first_end=now - timedelta(days=1))
    engine.dispose()
    capsys.readouterr()
    assert main(["report", "calibration", "--since", "90d", "--format", "json"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert out.startswith("{"), (out[:300], captured.err[-500:])
    document = json.loads(out)
    [version] = document["rubric_versions"]
    assert version["rubric_id"] == "mle" and version["interviews"] == 60
    assert version["latest_version"] is True
    assert len(version["skills"]) == len(MLE.skills)
    for skill in version["skills"]:  # every skill has ratings enough for alpha here
        assert skill["alpha"] <= 1 and skill["alpha_reading"] in ("reliable", "tentative", "weak")
        assert skill["needs_clarification"] == (skill["alpha"] < 0.667)
    spread = version["interviewers"]
    assert spread["interviewers_with_figures"] == 8
    assert spread["deviation_highest"] == pytest.approx(1.0, abs=0.2)
    assert spread["deviation_lowest"] == pytest.approx(-1.0, abs=0.2)
    assert (spread["lenient"], spread["severe"]) == (1, 1)
    assert not any(user in out for user in BIASES)

    target = tmp_path / "calibration.csv"
    assert main(["report", "calibration", "--format", "csv", "--output", str(target)]) == 0
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [r["row"] for r in rows] == ["skill"] * len(MLE.skills) + ["interviewers"]
    assert rows[-1]["deviation_lowest"].startswith("-")  # a number, not a neutralised formula
    assert not any(user in target.read_text() for user in BIASES)
    assert "wrote the calibration report (csv)" in capsys.readouterr().out

    assert main(["report", "calibration", "--rubric", "nothing"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["rubric_versions"] == []
    assert "no summarised interviews on rubric nothing" in captured.err


def test_home_figures_are_computed_once_per_ten_minutes(
    served: ServedBot, session_factory: sessionmaker[Session]
) -> None:
    assert "Your figures appear after 10 ratings" in home_text(served, NEWCOMER)
    with session_factory.begin() as session:  # the newcomer now rates everything
        for rating_owner in session.query(FeedbackRequest).filter_by(interviewer=NEWCOMER).all():
            assert rating_owner.feedback is not None
            rated = {r.skill_id for r in rating_owner.feedback.ratings}
            rating_owner.feedback.ratings += [
                SkillRating(skill_id=s.id, level="senior", evidence="seen")
                for s in MLE.skills
                if s.id not in rated
            ]
    # one computation serves every Home tab for ten minutes ...
    assert "Your figures appear after 10 ratings" in home_text(served, NEWCOMER)
    served.clock.advance(timedelta(minutes=10))
    # ... and the next one sees the new ratings
    assert "Overall you rate" in home_text(served, NEWCOMER)
