"""Realistic panels of any size on the MLE rubric, for the summary and Slack-call benchmarks.

Every interviewer rates their two focus skills, Fundamentals (everyone asks about it)
and three more skills of their choosing, says "Not assessed" about one further skill
now and then, and disagrees with the rest of the panel the way real panels do: each
skill has a "true" level near the target, each rating is that level plus noise (one
step either way, sometimes two on the 3-level MLE scale). Recommendations follow the
interviewer's own ratings, so both sides of hire / no hire usually appear.

Deterministic (a seeded ``random.Random``): the same size gives the same panel.
Copied in spirit from ``tests/test_blocks_summary.py`` and ``bot/examples.py``; the
benchmarks do not import from ``tests/``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rubric import Rubric
from storage.views import InterviewView, PanelistFeedback, RatingView, SummaryData

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
TARGET = "senior"
RECOMMENDATIONS = ("strong_no", "no", "yes", "strong_yes")
EVIDENCE = (
    "Walked through a concrete example from their last role, with the trade-offs they "
    "weighed and what they would do differently now."
)
NOTES = (
    "Clear communicator; strongest when the problem was concrete. Asked good clarifying "
    "questions before designing anything."
)


@dataclass(frozen=True)
class Panelist:
    interviewer: str  # a Slack user id
    focus: tuple[str, ...]
    recommendation: str
    notes: str
    ratings: dict[str, str | None]  # skill id -> level id, None: "Not assessed"
    evidence: dict[str, str]  # skill id -> evidence ("" for some, when allowed)


def interviewer_id(i: int) -> str:
    return f"U0PANEL{i:02d}"


def make_panel(
    rubric: Rubric, size: int, *, all_evidence: bool = False, seed: int = 7
) -> list[Panelist]:
    """``size`` interviewers; ``all_evidence``: every rating has evidence (the modal's rule)."""
    rng = random.Random(seed * 1000 + size)
    skills = [skill.id for skill in rubric.skills]
    levels = rubric.level_ids
    target = rubric.level_index(TARGET)
    truth = {s: min(len(levels) - 1, max(0, target + rng.choice((-1, 0, 0, 0, 1)))) for s in skills}
    panel: list[Panelist] = []
    for i in range(size):
        focus = (skills[(2 * i + 3) % len(skills)], skills[(2 * i + 4) % len(skills)])
        others = [s for s in skills if s not in focus and s != "fundamentals"]
        rng.shuffle(others)
        rated = [*focus, "fundamentals", *others[:3]]
        ratings: dict[str, str | None] = {}
        for skill in rated:
            step = rng.choice((-2, -1, -1, 0, 0, 0, 0, 1, 1, 2))
            ratings[skill] = levels[min(len(levels) - 1, max(0, truth[skill] + step))]
        if rng.random() < 0.4:
            ratings[others[3]] = None  # "Not assessed", said explicitly
        evidence = {
            s: "" if (not all_evidence and rng.random() < 0.1) else f"{EVIDENCE} ({s})"
            for s, level in ratings.items()
            if level is not None
        }
        mean = sum(levels.index(lv) for lv in ratings.values() if lv is not None) / len(rated)
        leaning = mean - target + rng.uniform(-0.6, 0.6)
        recommendation = RECOMMENDATIONS[
            0 if leaning < -0.6 else 1 if leaning < 0 else 2 if leaning < 0.6 else 3
        ]
        panel.append(
            Panelist(
                interviewer=interviewer_id(i),
                focus=focus,
                recommendation=recommendation,
                notes=f"{NOTES} ({i})",
                ratings=ratings,
                evidence=evidence,
            )
        )
    return panel


def summary_data(rubric: Rubric, panel: list[Panelist]) -> SummaryData:
    """The panel as the summary sees it: everyone submitted on time."""
    interview = InterviewView(
        interview_id=42,
        candidate="Ada Lovelace",
        role="Senior ML Engineer",
        target_level=TARGET,
        starts_at=START,
        ends_at=END,
        state="summarised",
        hiring_channel="C0HIRING",
        recruiter="U0RECRUIT",
        hiring_lead="U0LEAD",
    )
    feedback = tuple(
        PanelistFeedback(
            interviewer=p.interviewer,
            focus_skills=p.focus,
            recommendation=p.recommendation,
            notes=p.notes,
            ratings=tuple(
                RatingView(skill, level, p.evidence.get(skill, ""))
                for skill, level in p.ratings.items()
            ),
            submitted_at=END + timedelta(hours=2, minutes=i),
            updated_at=END + timedelta(hours=2, minutes=i),
        )
        for i, p in enumerate(panel)
    )
    return SummaryData(
        interview=interview,
        rubric=rubric,
        expected=tuple(p.interviewer for p in panel),
        feedback=feedback,
        missing=(),
        summary_channel="C0HIRING",
        summary_ts=None,
    )
