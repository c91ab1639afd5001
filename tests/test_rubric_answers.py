"""rubric.answers: the one rule for ratings and recommendations, over the built-in rubric."""

from __future__ import annotations

from rubric import RubricRegistry
from rubric.answers import AnswerProblem, Problem, rating_problems, recommendation_problem

MLE = RubricRegistry.load(None).get("mle")


def test_ratings_that_fit_have_no_problems() -> None:
    level = MLE.level_ids[0]
    assert rating_problems(MLE, [("system_design", level), ("learning", None)]) == []


def test_each_rating_problem_is_named_with_its_skill() -> None:
    problems = rating_problems(
        MLE,
        [("juggling", None), ("system_design", "wizard"), ("learning", None), ("learning", None)],
    )
    assert problems == [
        AnswerProblem(Problem.UNKNOWN_SKILL, "juggling"),
        AnswerProblem(Problem.UNKNOWN_LEVEL, "system_design", "wizard"),
        AnswerProblem(Problem.RATED_TWICE, "learning"),
    ]


def test_recommendations() -> None:
    assert recommendation_problem(MLE, MLE.recommendations[0].id) is None
    assert recommendation_problem(MLE, None) == AnswerProblem(Problem.NO_RECOMMENDATION)
    assert recommendation_problem(MLE, "") == AnswerProblem(Problem.NO_RECOMMENDATION)
    assert recommendation_problem(MLE, "maybe?") == AnswerProblem(
        Problem.UNKNOWN_RECOMMENDATION, value="maybe?"
    )
