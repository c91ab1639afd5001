"""Plain-text rendering of a rubric, for ``interview-bot rubric show``."""

from __future__ import annotations

import textwrap

from rubric.model import Rubric

WIDTH = 100
_INDENT = "  "


def _wrap(text: str, indent: str, label: str = "") -> list[str]:
    # Continuation lines line up under the text, not under the label.
    return textwrap.wrap(
        " ".join(text.split()),
        width=WIDTH,
        initial_indent=indent + label,
        subsequent_indent=indent + " " * len(label),
        break_on_hyphens=False,
    )


def render_rubric(rubric: Rubric) -> str:
    """The whole rubric as human-readable text wrapped to 100 columns, ending in a newline."""
    lines = [f"{rubric.name} ({rubric.id}), version {rubric.version}"]
    if rubric.description:
        lines += _wrap(rubric.description, "")
    lines += ["", "Levels (lowest first): " + " < ".join(level.name for level in rubric.levels)]
    lines.append(
        "Recommendations: "
        + ", ".join(
            f"{rec.name} ({'hire' if rec.hire else 'no hire'})" for rec in rubric.recommendations
        )
    )
    if rubric.roles:
        lines.append("Roles:")
        lines += [
            f"{_INDENT}{role.name} ({role.id}): target level {rubric.level(role.target_level).name}"
            for role in rubric.roles
        ]
    label_width = max(len(level.name) for level in rubric.levels) + 2
    for discipline in rubric.disciplines:
        lines += ["", f"{discipline.name} ({discipline.id})"]
        if discipline.description:
            lines += _wrap(discipline.description, _INDENT)
        for skill in discipline.skills:
            lines += ["", f"{_INDENT}{skill.name} ({skill.id})"]
            lines += _wrap(skill.question, _INDENT * 2, "Q: ")
            for level in rubric.levels:
                label = f"{level.name}:".ljust(label_width)
                lines += _wrap(skill.levels[level.id].full, _INDENT * 2, label)
    return "\n".join(lines) + "\n"
