"""handlers.blocks.summary: the plain-text renderer, and that it says what the blocks say."""

from __future__ import annotations

import re

import pytest

from handlers.blocks.summary import (
    build_summary,
    render_blocks,
    render_summary_text,
    render_text,
    summary_model,
)
from handlers.blocks.text import escape_mrkdwn
from rubric.consensus_types import PanelConsensus
from storage.views import Standing, SummaryData
from tests.summary_data import (
    MLE,
    NOW,
    PANEL,
    all_text,
    feedback,
    hand_consensus,
    make_rubric,
    panel_feedback,
    real_consensus,
    summary_data,
    worst_panel,
)


@pytest.fixture
def full() -> tuple[SummaryData, PanelConsensus]:
    return summary_data(MLE, panel_feedback()), hand_consensus()


def test_render_summary_text(full: tuple[SummaryData, PanelConsensus]) -> None:
    data, consensus = full
    out = render_summary_text(data, consensus)
    assert not re.search(r"<[@#!]|:[a-z_]+:|\*\w", out), "no Slack markup or emoji codes"
    lines = out.splitlines()
    assert lines[0] == "Interview summary: Ada Lovelace — Senior ML Engineer"
    assert lines[1] == (
        "Target level: Senior · interview Mon 1 Mar 2027, 09:00 UTC · 4 of 4 submitted"
    )
    assert out.index("Needs discussion (1 skill)") < out.index("Recommendations:")
    assert (
        "  ! System design and implementation — @U0AAA Junior · @U0BBB Junior · @U0CCC Lead"
        " · @U0DDD Lead" in lines
    )
    assert "      ratings span Junior to Lead; split around the target (Senior)" in lines
    assert (
        "  Split decision — hire: @U0AAA Yes, @U0CCC Yes, @U0DDD Strong yes; "
        "no hire: @U0BBB Strong no"
    ) in lines
    assert "  Strong no from @U0BBB" in lines
    assert "Recommendations: Strong no 1 · No 0 · Yes 2 · Strong yes 1" in lines
    assert "Skills (columns: 1. @U0AAA, 2. @U0BBB, 3. @U0CCC, 4. @U0DDD)" in lines
    sd = next(line for line in lines if "System design" in line and line.startswith("  J"))
    assert re.fullmatch(
        r"  J J L L  System design and implementation +split Junior / Lead · 2 Junior, 2 Lead"
        r"  ! needs discussion",
        sd,
    )
    agile = next(line for line in lines if "Agile principles" in line and line.startswith("  ·"))
    assert re.fullmatch(r"  · · · ·  Agile principles +— not assessed", agile)
    assert "Key: J Junior  S Senior (target)  L Lead  · not assessed  ▲ above" in out
    assert "  Nobody assessed (1): Agile principles" in lines
    assert "  Focus skills left Not assessed: Communication (@U0BBB)" in lines
    assert "  Evidence: 2 ratings without evidence (Planning 2)" in lines
    assert lines[-1] == (
        "Agreement: 14 of 15 skills rated by two or more interviewers got the same level "
        "from everyone."
    )
    assert "Krippendorff" not in out and "alpha" not in out.lower()
    assert out.endswith("\n")


def test_render_summary_text_partial_after_and_names() -> None:
    fbs = panel_feedback(d_standing=Standing.AFTER_SUMMARY)[1:]
    data = summary_data(MLE, fbs, expected=PANEL)
    out = render_summary_text(data, real_consensus(data), names={"U0AAA": "Ann", "U0DDD": "Dee"})
    assert " · 2 of 4 before the summary, 1 after" in out.splitlines()[1]
    assert "Partial summary: posted without feedback from Ann, Dee." in out
    assert "1. Ann (no feedback before the summary)" in out
    assert "4. Dee (no feedback before the summary)" in out
    assert "? no feedback before the summary" in out
    fundamentals = next(line for line in out.splitlines() if "Fundamental knowledge" in line)
    assert fundamentals.startswith("  ? S S ?  ")
    assert "Strong yes 0" in out  # Dee's vote came after the summary


def test_render_summary_text_shadows() -> None:
    shadow = feedback("U0SH", {"fundamentals": "lead"}, rec="yes", standing=Standing.SHADOW)
    data = summary_data(MLE, [*panel_feedback(), shadow])
    out = render_summary_text(data, real_consensus(data))
    assert "1 shadow interviewer: feedback in the thread, not counted." in out.splitlines()
    assert "U0SH" not in out


WHO = "\x00"


def facts(data: SummaryData, consensus: PanelConsensus) -> list[str]:
    """Every fact of the model, as raw text both renderers must show."""
    model = summary_model(data, consensus, posting=True)
    found = [model.count_text, model.agreement_text, model.target_name]
    found += [
        f"{row.verdict_words} · {row.spread}"
        for d in model.disciplines
        for row in d.rows
        if row.label
    ]
    found += [reason for flag in model.flags for reason in flag.reasons]
    found += [f"{name} {votes}" for name, votes in model.tally]
    found += list(model.unassessed)
    if model.shadows:
        found.append(model.shadow_note)
    if model.partial:
        found += model.partial_note(WHO).split(WHO)  # who is named by each renderer
    return found


@pytest.mark.parametrize("case", ["full", "partial", "after", "shadows", "generated"])
def test_text_and_blocks_say_the_same_facts(case: str) -> None:
    fbs = panel_feedback(d_standing=Standing.AFTER_SUMMARY if case == "after" else Standing.COUNTED)
    if case == "partial":
        fbs = fbs[:2]
    if case == "shadows":
        fbs.append(feedback("U0SH", {"planning": "lead"}, rec="no", standing=Standing.SHADOW))
    data = summary_data(MLE, fbs, expected=PANEL)
    if case == "generated":
        data = worst_panel(make_rubric(12), 6, missing=1, after=1, shadows=2)
    consensus = real_consensus(data)
    model = summary_model(data, consensus, posting=True)
    text = render_text(model, names={})
    _fallback, blocks = render_blocks(model, now=NOW, names={})
    body = all_text(blocks)
    for fact in facts(data, consensus):
        assert fact in text, (case, fact)
        assert escape_mrkdwn(fact) in body, (case, fact)
    # The same squares: one character or emoji per column, for every skill.
    for d in model.disciplines:
        for row in d.rows:
            assert len(row.cells) == len(model.columns)


def test_build_summary_is_the_model_rendered(full: tuple[SummaryData, PanelConsensus]) -> None:
    data, consensus = full
    model = summary_model(data, consensus)
    assert build_summary(data, consensus, now=NOW) == render_blocks(model, now=NOW, names={})
    assert render_summary_text(data, consensus) == render_text(model, names={})
