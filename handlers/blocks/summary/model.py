"""What the summary says, computed once from the stored feedback and its consensus.

Both renderers (Block Kit in :mod:`.post`, plain text in :mod:`.text`) and the
heatmap read this model and only format it, so they cannot disagree on a fact.

Only *counted* feedback (``SummaryData.counted``: given before the summary was
posted, by a panel member who is not a shadow) makes a figure: the consensus
passed in must be computed from it (``handlers.summary.consensus_of``), and the
model takes votes, squares and the discussion's levels from counted members
only. A member without counted feedback keeps their column with the no-feedback
mark; shadows get no column (they are counted in a line of their own).

People are kept as Slack user IDs; each renderer decides how to name them (a
mention, or a display name where a mention would ping someone into reading the
panel's views). All text is raw (not escaped, not shortened).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from handlers.blocks.form_dm import level_name
from handlers.blocks.summary.names import (
    NAME_MAX,
    CandidateDisplay,
    Swatch,
    candidate_name,
    legend_groups,
    level_swatches,
    listing,
    plural,
    recommendation_name,
    skill_name,
    spread_words,
)
from rubric import Rubric
from rubric.consensus import panel_consensus
from rubric.consensus_types import (
    PanelConsensus,
    PanelistInput,
    PanelRating,
    SkillConsensus,
    Verdict,
)
from storage.views import PanelistFeedback, SummaryData

CellKind = Literal["level", "not_assessed", "unanswered", "no_feedback"]

VERDICT_MARKS = {
    Verdict.EXCEEDS: ("▲", "above target"),
    Verdict.MEETS: ("●", "meets target"),
    Verdict.BELOW: ("▼", "below target"),
}
VERDICT_KEY = "▲ above / ● meets / ▼ below target · split: no single level given"


@dataclass(frozen=True)
class Cell:
    kind: CellKind
    level: str | None = None  # a level id of the rubric, for kind "level"


@dataclass(frozen=True)
class Column:
    """One expected panel member's column of squares, in panel order."""

    interviewer: str
    counted: bool  # False: no feedback that counts (none yet, or given after the summary)


@dataclass(frozen=True)
class SkillRow:
    skill_id: str
    name: str
    cells: tuple[Cell, ...]  # one per column
    label: str  # "Senior", "split Junior / Lead"; "" when nobody assessed it
    verdict: Verdict | None  # None when nobody assessed it
    spread: str  # "2 Junior, 2 Lead", "all 3 Senior", "1 rating"; "" when nobody assessed it
    flagged: bool

    @property
    def verdict_words(self) -> str:
        """ "Senior ● meets target", "split Junior / Lead", "" (nobody assessed it)."""
        if not self.label:
            return ""
        if self.verdict is None or self.verdict not in VERDICT_MARKS:
            return self.label
        mark, words = VERDICT_MARKS[self.verdict]
        return f"{self.label} {mark} {words}"


@dataclass(frozen=True)
class Discipline:
    name: str
    rows: tuple[SkillRow, ...]


@dataclass(frozen=True)
class Flag:
    """A skill that needs discussion, with each counted interviewer's level."""

    skill_id: str
    name: str
    ratings: tuple[tuple[str, str | None], ...]  # (interviewer, level name; None: not assessed)
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Vote:
    interviewer: str
    recommendation: str  # its display name


@dataclass(frozen=True)
class SummaryModel:
    interview_id: int
    candidate: str  # as candidate_display allows
    role: str
    target_level: str
    target_name: str
    starts_at: datetime
    posted: bool  # the summary is (being) posted: later feedback is "after the summary"
    expected: int  # panel members expected (not declined, not shadows)
    counted: int  # of them, feedback that counts
    after: int  # of them, feedback first given after the summary
    not_counted: tuple[str, ...]  # expected members without counted feedback, panel order
    shadows: int  # shadow interviewers on the panel (not declined)
    columns: tuple[Column, ...]
    flags: tuple[Flag, ...]
    split_decision: bool
    hire: tuple[Vote, ...]  # counted votes for a hiring option
    no_hire: tuple[Vote, ...]
    strongest_no: str  # the most negative option's name
    strong_no: tuple[str, ...]  # who voted it
    tally: tuple[tuple[str, int], ...]  # (option name, votes), the rubric's scale order
    abstained: int  # counted feedback without a recommendation
    disciplines: tuple[Discipline, ...]
    legend: tuple[tuple[Swatch, tuple[str, ...]], ...]  # colours and the levels they stand for
    unassessed: tuple[str, ...]  # skill names nobody assessed
    focus_gaps: tuple[tuple[str, str], ...]  # (skill name, interviewer) left Not assessed
    without_evidence: int
    evidence_gaps: tuple[tuple[str, int], ...]  # (skill name, ratings without evidence)
    comparable: int  # skills rated at a level by two or more counted interviewers
    unanimous: int  # of them, rated the same by everyone
    swatches: Mapping[str, Swatch] = field(default_factory=dict)

    def swatch(self, cell: Cell) -> Swatch | None:
        """The colour of a rated cell; None for every other cell."""
        if cell.kind != "level" or cell.level is None:
            return None
        return self.swatches.get(cell.level)

    @property
    def count_text(self) -> str:
        """ "3 of 4 submitted", or once some came after: "3 of 4 before the summary, 1 after"."""
        if self.after:
            return f"{self.counted} of {self.expected} before the summary, {self.after} after"
        return f"{self.counted} of {self.expected} submitted"

    @property
    def partial(self) -> bool:
        return bool(self.not_counted)

    @property
    def no_feedback_label(self) -> str:
        return "no feedback before the summary" if self.posted else "no feedback yet"

    def partial_note(self, who: str) -> str:
        """Why some columns are empty; ``who`` names them (never as mentions)."""
        if self.posted:
            return (
                f"posted without feedback from {who}. Feedback given now is shown in the "
                "thread as given after the summary, and not counted."
            )
        return f"no feedback yet from {who}."

    @property
    def shadow_note(self) -> str:
        if not self.shadows:
            return ""
        return f"{plural(self.shadows, 'shadow interviewer')}: feedback in the thread, not counted."

    @property
    def agreement_text(self) -> str:
        if not self.comparable:
            return "Agreement: no skill was rated by two or more interviewers."
        return (
            f"Agreement: {self.unanimous} of {plural(self.comparable, 'skill')} rated by two or "
            "more interviewers got the same level from everyone."
        )

    @property
    def discussion_count(self) -> str:
        flagged = len(self.flags)
        if not flagged:
            return "no skills flagged for discussion"
        return f"{plural(flagged, 'skill')} need{'s' if flagged == 1 else ''} discussion"


def summary_model(
    data: SummaryData,
    consensus: PanelConsensus,
    *,
    candidate_display: CandidateDisplay = "full",
    posting: bool = False,
) -> SummaryModel:
    """The summary's facts. ``posting``: this rendering is the one posted to the channel."""
    rubric = data.rubric
    target = consensus.target_level or data.interview.target_level
    swatches = level_swatches(rubric, target)
    counted = data.counted
    columns = _columns(data)
    by_skill = {skill.skill_id: skill for skill in consensus.skills}
    votes = _votes(rubric, counted)
    return SummaryModel(
        interview_id=data.interview.interview_id,
        candidate=candidate_name(data, candidate_display),
        role=data.interview.role,
        target_level=target,
        target_name=level_name(rubric, target),
        starts_at=data.interview.starts_at,
        posted=posting or data.posted,
        expected=max(len(data.expected), len(counted)),
        counted=len(counted),
        after=len([fb for fb in data.after_summary if fb.interviewer in data.expected]),
        not_counted=tuple(c.interviewer for c in columns if not c.counted),
        shadows=len(data.shadows),
        columns=columns,
        flags=_flags(rubric, consensus, columns),
        split_decision=consensus.split_decision,
        hire=tuple(v for v, hire in votes if hire),
        no_hire=tuple(v for v, hire in votes if not hire),
        strongest_no=rubric.recommendations[0].name,
        strong_no=consensus.strong_no,
        tally=tuple((recommendation_name(rubric, r), n) for r, n in consensus.tally),
        abstained=sum(1 for fb in counted if fb.recommendation is None),
        disciplines=tuple(
            Discipline(
                d.name, tuple(_row(rubric, s.id, by_skill.get(s.id), columns) for s in d.skills)
            )
            for d in rubric.disciplines
        ),
        legend=tuple((s, tuple(n)) for s, n in legend_groups(rubric, swatches, target)),
        unassessed=tuple(skill_name(rubric, s) for s in consensus.unassessed),
        focus_gaps=tuple(
            (skill_name(rubric, gap.skill_id), gap.interviewer) for gap in consensus.focus_gaps
        ),
        without_evidence=consensus.without_evidence,
        evidence_gaps=tuple(
            (skill_name(rubric, s.skill_id), s.without_evidence)
            for s in consensus.skills
            if s.without_evidence
        ),
        comparable=consensus.comparable,
        unanimous=consensus.unanimous,
        swatches=swatches,
    )


def _columns(data: SummaryData) -> tuple[Column, ...]:
    """The expected members in panel order, then anyone else whose feedback counts."""
    counted = {fb.interviewer for fb in data.counted}
    order = list(dict.fromkeys(data.expected))
    order += [i for i in counted if i not in order]
    return tuple(Column(i, i in counted) for i in order)


def _row(
    rubric: Rubric, skill_id: str, skill: SkillConsensus | None, columns: Sequence[Column]
) -> SkillRow:
    name = skill_name(rubric, skill_id)
    if skill is None:
        cells = tuple(Cell("no_feedback" if not c.counted else "unanswered") for c in columns)
        return SkillRow(skill_id, name, cells, "", None, "", False)
    levels = dict(skill.ratings)
    not_assessed = set(skill.not_assessed_by)
    known = set(rubric.level_ids)

    def cell(column: Column) -> Cell:
        if not column.counted:
            return Cell("no_feedback")
        level = levels.get(column.interviewer)
        if level is not None and level in known:
            return Cell("level", level)
        if column.interviewer in not_assessed:
            return Cell("not_assessed")
        return Cell("unanswered")

    return SkillRow(
        skill_id=skill_id,
        name=name,
        cells=tuple(cell(c) for c in columns),
        label=skill.consensus_label,
        verdict=skill.verdict if skill.consensus_label else None,
        spread=spread_words(rubric, skill.counts) if skill.counts else "",
        flagged=skill.needs_discussion,
    )


def _flags(
    rubric: Rubric, consensus: PanelConsensus, columns: Sequence[Column]
) -> tuple[Flag, ...]:
    counted = [c.interviewer for c in columns if c.counted]
    flags: list[Flag] = []
    for skill in consensus.needs_discussion:
        levels = dict(skill.ratings)
        ratings: list[tuple[str, str | None]] = []
        for interviewer in counted:
            if interviewer in levels:
                ratings.append((interviewer, level_name(rubric, levels[interviewer])))
            elif interviewer in skill.not_assessed_by:
                ratings.append((interviewer, None))
        flags.append(
            Flag(skill.skill_id, skill_name(rubric, skill.skill_id), tuple(ratings), skill.reasons)
        )
    return tuple(flags)


def _votes(rubric: Rubric, counted: Sequence[PanelistFeedback]) -> list[tuple[Vote, bool]]:
    votes: list[tuple[Vote, bool]] = []
    for fb in counted:
        if fb.recommendation is None:
            continue
        try:
            option = rubric.recommendation(fb.recommendation)
        except KeyError:
            continue
        votes.append((Vote(fb.interviewer, option.name), option.hire))
    return votes


def gap_lines(
    model: SummaryModel,
    *,
    name: Callable[[str, int], str],
    who: Callable[[str], str],
    label: Callable[[str], str],
) -> list[str]:
    """The coverage and evidence gaps, one line each; the renderer formats names and labels.

    ``label`` gets the plain heading ("Nobody assessed", "Focus skills left Not
    assessed", "Coverage", "Evidence") and returns it as the renderer shows it.
    """
    lines: list[str] = []
    if model.unassessed:
        skills = [name(s, NAME_MAX) for s in model.unassessed]
        lines.append(f"{label('Nobody assessed')} ({len(skills)}): {listing(skills, 30)}")
    if model.focus_gaps:
        lines.append(
            f"{label('Focus skills left Not assessed')}: "
            + "; ".join(f"{name(skill, NAME_MAX)} ({who(w)})" for skill, w in model.focus_gaps)
        )
    if not lines:
        lines.append(f"{label('Coverage')}: every skill was assessed by someone.")
    lines.append(evidence_text(model, name, label("Evidence")))
    return lines


def evidence_text(model: SummaryModel, name: Callable[[str, int], str], label: str) -> str:
    """ "Evidence: 2 ratings without evidence (Planning 2)", names formatted by ``name``."""
    if not model.without_evidence:
        return f"{label}: every rating came with evidence."
    where = [f"{name(skill, NAME_MAX)} {n}" for skill, n in model.evidence_gaps]
    text = f"{label}: {plural(model.without_evidence, 'rating')} without evidence"
    return text + (f" ({listing(where, 10)})" if where else "")


def panel_inputs(feedback: Sequence[PanelistFeedback]) -> list[PanelistInput]:
    """Stored feedback reduced to what the consensus math reads."""
    return [
        PanelistInput(
            interviewer=f.interviewer,
            focus=f.focus_skills,
            recommendation=f.recommendation,
            ratings=tuple(
                PanelRating(r.skill_id, r.level, has_evidence=bool(r.evidence.strip()))
                for r in f.ratings
            ),
        )
        for f in feedback
    ]


def consensus_of(
    data: SummaryData, feedback: Sequence[PanelistFeedback] | None = None
) -> PanelConsensus:
    """The consensus of the counted feedback (or of ``feedback``, for tests and tools).

    The one place that decides what the summary, the heatmap and the debrief
    guide count: feedback given after the summary, edits after it and shadows'
    feedback never enter it.
    """
    chosen = data.counted if feedback is None else feedback
    return panel_consensus(data.rubric, data.interview.target_level, panel_inputs(chosen))
