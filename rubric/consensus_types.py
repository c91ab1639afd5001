"""The inputs and results of the panel consensus math (``rubric.consensus``).

Plain frozen data: built by storage from stored feedback, read by the summary
builders. Every collection is in a deterministic order that does not depend on
the order interviewers were given in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class PanelRating:
    skill_id: str
    level: str | None  # a level id of the rubric; None: "Not assessed"
    has_evidence: bool


@dataclass(frozen=True)
class PanelistInput:
    """One interviewer's submitted feedback, reduced to what the math needs."""

    interviewer: str  # Slack user ID
    focus: tuple[str, ...]
    recommendation: str | None  # a recommendation id of the rubric
    ratings: tuple[PanelRating, ...]  # skills the interviewer did not answer are absent


class Verdict(StrEnum):
    BELOW = "below"
    MEETS = "meets"
    EXCEEDS = "exceeds"
    # The ratings straddle the target, or split evenly with no middle rating: the panel
    # gave no single level, so none is shown and nothing is compared with the target.
    SPLIT = "split"


@dataclass(frozen=True)
class SkillConsensus:
    skill_id: str
    ratings: tuple[tuple[str, str], ...]  # (interviewer, level id), sorted by interviewer
    not_assessed_by: tuple[str, ...]  # interviewers who answered "Not assessed", sorted
    # The level the panel gave (the median, always a level someone gave); None when
    # nobody assessed the skill or the verdict is SPLIT.
    consensus: str | None
    # For a SPLIT verdict: the two sides shown ("split Junior / Lead"), level ids.
    split_low: str | None
    split_high: str | None
    consensus_label: str  # "Senior", "split Junior / Lead", or "" when nobody assessed it
    counts: tuple[tuple[str, int], ...]  # (level id, ratings) in scale order, levels given only
    range_steps: int  # highest minus lowest level index (0 when fewer than 2 ratings)
    verdict: Verdict | None  # against the target level; None when nobody assessed it
    needs_discussion: bool
    reasons: tuple[str, ...]  # why it needs discussion, in words for the hiring lead
    without_evidence: int  # ratings (not "Not assessed") that came without evidence


@dataclass(frozen=True)
class FocusGap:
    interviewer: str
    skill_id: str


@dataclass(frozen=True)
class Agreement:
    """Krippendorff's alpha, for calibration (one skill across many panels), never per panel."""

    alpha: float | None  # Krippendorff's alpha, ordinal; None when undefined
    reading: str  # "reliable" (>= .800), "tentative" (>= .667), "weak", or "not enough data"


@dataclass(frozen=True)
class PanelConsensus:
    target_level: str
    skills: tuple[SkillConsensus, ...]  # every rubric skill, in rubric order
    tally: tuple[tuple[str, int], ...]  # (recommendation id, votes) in the rubric's scale order
    split_decision: bool  # votes on both sides of hire / no hire
    strong_no: tuple[str, ...]  # interviewers who voted the most negative option, sorted
    unassessed: tuple[str, ...]  # skill ids nobody assessed, rubric order
    focus_gaps: tuple[FocusGap, ...]  # focus skills their interviewer left unassessed
    without_evidence: int  # total ratings without evidence
    # The panel's agreement in words a lead can check: of the skills rated by two or
    # more interviewers (``comparable``), how many got the same level from everyone.
    comparable: int
    unanimous: int

    @property
    def needs_discussion(self) -> tuple[SkillConsensus, ...]:
        return tuple(s for s in self.skills if s.needs_discussion)
