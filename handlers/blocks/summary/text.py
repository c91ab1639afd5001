"""The summary as plain text (README, CLI, demo): the model's facts, no Slack markup.

Levels appear as their abbreviations (J/S/L), ``·`` is "not assessed" and ``?``
"no feedback" (none yet, or none before the summary).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC

from handlers.blocks.summary.model import (
    VERDICT_KEY,
    SkillRow,
    SummaryModel,
    gap_lines,
    summary_model,
)
from handlers.blocks.summary.names import (
    LEVEL_MAX,
    NO_FEEDBACK_CHAR,
    NOT_ASSESSED_CHAR,
    SPREAD_MAX,
    CandidateDisplay,
    people,
    plain_name,
    plural,
)
from handlers.blocks.text import format_when
from rubric.consensus_types import PanelConsensus
from storage.views import SummaryData

SKILL_NAME_WIDTH = 40

_Person = Callable[[str], str]


def render_summary_text(
    data: SummaryData,
    consensus: PanelConsensus,
    *,
    candidate_display: CandidateDisplay = "full",
    names: Mapping[str, str] | None = None,
    posting: bool = False,
) -> str:
    """The summary as plain text; ``names`` maps Slack IDs to display names (default
    ``@U…``). Ends with a newline."""
    model = summary_model(data, consensus, candidate_display=candidate_display, posting=posting)
    return render_text(model, names=names or {})


def render_text(model: SummaryModel, *, names: Mapping[str, str]) -> str:
    def person(interviewer: str) -> str:
        return names.get(interviewer) or f"@{interviewer}"

    lines = [
        f"Interview summary: {plain_name(model.candidate)} — {plain_name(model.role)}",
        f"Target level: {plain_name(model.target_name, LEVEL_MAX)}"
        f" · interview {format_when(model.starts_at, UTC)} · {model.count_text}",
    ]
    if model.partial:
        lines.append(
            "Partial summary: " + model.partial_note(people(model.not_counted, names, escape=False))
        )
    if model.shadows:
        lines.append(model.shadow_note)
    lines += ["", *_discussion(model, person)]
    tally = [f"{plain_name(name, LEVEL_MAX)} {votes}" for name, votes in model.tally]
    if model.abstained:
        tally.append(f"none given {model.abstained}")
    lines += ["", f"Recommendations: {' · '.join(tally)}", "", *_skills(model, person)]
    lines += ["", "Gaps", *_gaps(model, person), "", model.agreement_text]
    return "\n".join(lines) + "\n"


def _discussion(model: SummaryModel, person: _Person) -> list[str]:
    lines = [f"Needs discussion ({plural(len(model.flags), 'skill')})"]
    for flag in model.flags:
        ratings = " · ".join(
            f"{person(who)} {plain_name(level, LEVEL_MAX) if level else 'not assessed'}"
            for who, level in flag.ratings
        )
        lines.append(f"  ! {plain_name(flag.name)} — {ratings}")
        if flag.reasons:
            lines.append("      " + "; ".join(flag.reasons))
    if model.split_decision:
        hire, no_hire = (
            ", ".join(
                f"{person(v.interviewer)} {plain_name(v.recommendation, LEVEL_MAX)}" for v in side
            )
            or "nobody"
            for side in (model.hire, model.no_hire)
        )
        lines.append(f"  Split decision — hire: {hire}; no hire: {no_hire}")
    if model.strong_no:
        lines.append(
            f"  {plain_name(model.strongest_no, LEVEL_MAX)} from "
            + ", ".join(person(i) for i in model.strong_no)
        )
    if not model.flags and not model.split_decision and not model.strong_no:
        lines.append("  nothing flagged")
    return lines


def _skills(model: SummaryModel, person: _Person) -> list[str]:
    width = max((len(s.char) for s in model.swatches.values()), default=1)
    columns = ", ".join(
        f"{n}. {person(c.interviewer)}" + ("" if c.counted else f" ({model.no_feedback_label})")
        for n, c in enumerate(model.columns, 1)
    )
    lines = [f"Skills (columns: {columns})"]
    rows = [row for d in model.disciplines for row in d.rows]
    name_width = min(
        max((len(plain_name(r.name, SKILL_NAME_WIDTH)) for r in rows), default=0),
        SKILL_NAME_WIDTH,
    )
    for discipline in model.disciplines:
        lines.append(plain_name(discipline.name))
        for row in discipline.rows:
            cells = " ".join(_char(model, row, i).ljust(width) for i in range(len(row.cells)))
            name = plain_name(row.name, SKILL_NAME_WIDTH).ljust(name_width)
            flag = "  ! needs discussion" if row.flagged else ""
            lines.append(f"  {cells}  {name}  {_verdict(row)}{flag}".rstrip())
    keys = [
        f"{swatch.char} {'/'.join(plain_name(n, LEVEL_MAX + 9) for n in levels)}"
        for swatch, levels in model.legend
    ]
    keys.append(f"{NOT_ASSESSED_CHAR} not assessed")
    if model.not_counted:
        keys.append(f"{NO_FEEDBACK_CHAR} {model.no_feedback_label}")
    lines.append("Key: " + "  ".join(keys) + f"  {VERDICT_KEY}")
    return lines


def _char(model: SummaryModel, row: SkillRow, index: int) -> str:
    cell = row.cells[index]
    if cell.kind == "no_feedback":
        return NO_FEEDBACK_CHAR
    swatch = model.swatch(cell)
    return swatch.char if swatch is not None else NOT_ASSESSED_CHAR


def _verdict(row: SkillRow) -> str:
    if not row.label:
        return "— not assessed"
    verdict = plain_name(row.verdict_words, 2 * LEVEL_MAX + 16)
    return f"{verdict} · {plain_name(row.spread, SPREAD_MAX)}"


def _gaps(model: SummaryModel, person: _Person) -> list[str]:
    return gap_lines(model, name=plain_name, who=person, label=lambda text: f"  {text}")
