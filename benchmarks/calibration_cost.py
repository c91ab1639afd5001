"""The cost of calibration: ``rubric.calibration.calibrate`` over 1,000 and 10,000 interviews.

Pure computation (no database, no Slack): the panels are built in memory the way
``storage.calibration`` hands them over, on the MLE rubric (16 skills, 3 levels),
panels of 4 drawn from a pool of one interviewer per 25 interviews, every skill
rated, a fifth of the pool lenient and a fifth severe (docs/calibration.md's
simulation: one step with probability 0.8, noise of one step with probability 0.3,
clipped). Each run times one ``calibrate`` call: the per-skill alpha, the shares,
the raw comparisons and the shift model's fit (docs/calibration.md, "The model").
App Home computes it once per ten minutes per team (``handlers.calibration_cache``);
the team report and the CLI once per request.
"""

from __future__ import annotations

import random
import time

from benchmarks.common import Context, Figure, Section, Target
from rubric import load_builtin
from rubric.calibration import CalibrationPanel, calibrate
from rubric.consensus_types import PanelistInput, PanelRating
from rubric.model import Rubric

TARGET_S = 10.0  # for 10,000 interviews
PANEL = 4
INTERVIEWS_PER_INTERVIEWER = 25


def make_panels(rubric: Rubric, interviews: int, *, seed: int = 1) -> list[CalibrationPanel]:
    rng = random.Random(seed)
    pool = [f"U{i:05d}" for i in range(max(2 * PANEL, interviews // INTERVIEWS_PER_INTERVIEWER))]
    shift = {user: rng.choice((-1, 0, 0, 0, 1)) for user in pool}
    top = len(rubric.levels) - 1
    panels = []
    for interview in range(1, interviews + 1):
        truths = [rng.randint(0, top) for _ in rubric.skills]
        members = []
        for user in rng.sample(pool, PANEL):
            ratings = []
            for skill, truth in zip(rubric.skills, truths, strict=True):
                level = truth + (shift[user] if rng.random() < 0.8 else 0)
                if rng.random() < 0.3:
                    level += rng.choice((-1, 1))
                level_id = rubric.level_ids[min(max(level, 0), top)]
                ratings.append(PanelRating(skill.id, level_id, has_evidence=True))
            members.append(PanelistInput(user, (), None, tuple(ratings)))
        panels.append(CalibrationPanel(interview, rubric.level_ids[1], tuple(members)))
    return panels


def run(ctx: Context) -> list[Section]:
    rubric = load_builtin("mle")
    section = Section(
        title="Calibration cost: calibrate() by number of interviews",
        command=f"python -m benchmarks --only calibration_cost --size {ctx.size}",
        columns=["interviews", "interviewers", "ratings", "seconds", "ms per interview"],
    )
    sizes = (ctx.pick(20, 1_000), ctx.pick(200, 10_000))
    largest = Figure()
    for interviews in sizes:
        panels = make_panels(rubric, interviews)
        seconds = Figure()
        result = None
        for _ in range(ctx.runs):
            started = time.perf_counter()
            result = calibrate(rubric, panels)
            seconds.add(time.perf_counter() - started)
        assert result is not None
        per_interview = Figure([s * 1000 / interviews for s in seconds.values])
        section.rows.append(
            [
                f"{interviews:,}",
                str(len(result.interviewers)),
                f"{interviews * PANEL * len(rubric.skills):,}",
                seconds.show(2),
                per_interview.show(2),
            ]
        )
        largest = seconds
    section.targets.append(
        Target(
            description=f"calibrate() for {sizes[-1]:,} interviews under {TARGET_S:.0f} s",
            met=largest.median < TARGET_S,
            detail=f"Median: {largest.median:.2f} s.",
        )
    )
    section.notes.append(
        f"One `calibrate` call per run, {ctx.runs} run(s), on panels built in memory "
        f"(`benchmarks/calibration_cost.py`): MLE rubric, panels of {PANEL}, one interviewer "
        f"per {INTERVIEWS_PER_INTERVIEWER} interviews, every skill rated. The time grows "
        "about linearly with the ratings; the shift model's EM fit is vectorised numpy, "
        "the rest (panel_consensus per interview for the discussed share, alpha per skill, "
        "the raw comparisons) plain Python. The database read in `storage.calibration` "
        "is not included."
    )
    return [section]
