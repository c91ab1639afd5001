"""Whether answers fit a rubric: the one rule for ratings and recommendations.

Pure. The modal names the problems on its blocks (handlers.blocks.feedback_modal)
and storage refuses the same answers (storage.feedback), from these functions, so
the two can never disagree about what a rubric accepts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from rubric.model import Rubric

__all__ = ["AnswerProblem", "Problem", "rating_problems", "recommendation_problem"]


class Problem(StrEnum):
    UNKNOWN_SKILL = "unknown_skill"  # not a skill of the rubric
    RATED_TWICE = "rated_twice"  # one skill rated more than once
    UNKNOWN_LEVEL = "unknown_level"  # a level the rubric does not have
    NO_RECOMMENDATION = "no_recommendation"
    UNKNOWN_RECOMMENDATION = "unknown_recommendation"


@dataclass(frozen=True)
class AnswerProblem:
    problem: Problem
    skill_id: str = ""  # the skill it is about, for rating problems
    value: str = ""  # the offending level or recommendation id


def rating_problems(
    rubric: Rubric, ratings: Iterable[tuple[str, str | None]]
) -> list[AnswerProblem]:
    """What is wrong with ``(skill id, level id or None for Not assessed)`` pairs, in order."""
    levels = frozenset(rubric.level_ids)
    seen: set[str] = set()
    problems: list[AnswerProblem] = []
    for skill_id, level in ratings:
        if not rubric.has_skill(skill_id):
            problems.append(AnswerProblem(Problem.UNKNOWN_SKILL, skill_id))
        elif skill_id in seen:
            problems.append(AnswerProblem(Problem.RATED_TWICE, skill_id))
        elif level is not None and level not in levels:
            problems.append(AnswerProblem(Problem.UNKNOWN_LEVEL, skill_id, level))
        seen.add(skill_id)
    return problems


def recommendation_problem(rubric: Rubric, recommendation: str | None) -> AnswerProblem | None:
    """Why ``recommendation`` is not one of the rubric's options, or None if it is."""
    if not recommendation:
        return AnswerProblem(Problem.NO_RECOMMENDATION)
    if recommendation not in {rec.id for rec in rubric.recommendations}:
        return AnswerProblem(Problem.UNKNOWN_RECOMMENDATION, value=recommendation)
    return None
