"""The plain-text rendering behind ``interview-bot rubric show``."""

from __future__ import annotations

import textwrap

import pytest

from rubric import Rubric, load_builtin, load_rubric_text, render_rubric


@pytest.fixture(scope="module")
def mle() -> Rubric:
    return load_builtin()


def test_header_levels_recommendations_and_roles(mle: Rubric) -> None:
    lines = render_rubric(mle).splitlines()

    assert lines[0] == "Machine Learning Engineer (mle), version 2026.1"
    assert "Levels (lowest first): Junior < Senior < Lead" in lines
    assert (
        "Recommendations: Strong no (no hire), No (no hire), Yes (hire), Strong yes (hire)" in lines
    )
    assert "  Senior ML Engineer (mle-senior): target level Senior" in lines


def test_every_skill_and_descriptor_is_shown_in_order(mle: Rubric) -> None:
    text = render_rubric(mle)
    flat = " ".join(text.split())

    positions = [text.index(f"{skill.name} ({skill.id})") for skill in mle.skills]
    assert positions == sorted(positions)
    for discipline in mle.disciplines:
        assert f"\n{discipline.name} ({discipline.id})\n" in text
    for skill in mle.skills:
        assert f"Q: {skill.question}" in flat
        for level in mle.levels:
            assert f"{level.name}: {' '.join(skill.levels[level.id].full.split())}" in flat


def test_wrapped_to_100_columns_with_aligned_continuations(mle: Rubric) -> None:
    text = render_rubric(mle)

    assert text.endswith("\n")
    assert max(len(line) for line in text.splitlines()) <= 100
    lines = text.splitlines()
    lead = lines.index(next(line for line in lines if line.startswith("    Lead:   Can design")))
    # A continuation of a descriptor lines up with its first word.
    assert lines[lead + 1].startswith(" " * 12)
    assert lines[lead + 1][12] != " "


def test_minimal_rubric_without_roles_or_descriptions() -> None:
    rubric = load_rubric_text(
        textwrap.dedent(
            """\
            id: tiny
            name: Tiny
            version: "0.1"
            levels: [{id: low, name: Low}, {id: high, name: High}]
            recommendations:
              - {id: "no", name: "No", hire: false}
              - {id: "yes", name: "Yes", hire: true}
            disciplines:
              - id: d
                name: Doing
                skills:
                  - id: s
                    name: Stuff
                    question: Do they do stuff?
                    levels:
                      low: {short: Some stuff, full: Does some stuff.}
                      high: {short: All the stuff, full: Does all the stuff.}
            """
        ),
        "tiny.yaml",
    )

    assert render_rubric(rubric) == textwrap.dedent(
        """\
        Tiny (tiny), version 0.1

        Levels (lowest first): Low < High
        Recommendations: No (no hire), Yes (hire)

        Doing (d)

          Stuff (s)
            Q: Do they do stuff?
            Low:  Does some stuff.
            High: Does all the stuff.
        """
    )
