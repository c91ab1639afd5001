"""Plain, read-only snapshots of stored state for the Slack layer.

Storage queries return these instead of ORM rows, so nothing outside a session
can lazy-load, and Block Kit builders stay pure functions of plain data. None of
them carries another interviewer's ratings, notes or recommendation unless it is
meant for a summary (independence is enforced by what these types can hold).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from rubric import Rubric


@dataclass(frozen=True)
class RatingView:
    skill_id: str
    level: str | None  # None: "Not assessed"
    evidence: str


@dataclass(frozen=True)
class OwnFeedbackView:
    """The viewer's own stored feedback, to prefill the modal when editing."""

    recommendation: str | None
    notes: str
    ratings: tuple[RatingView, ...]
    submitted_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class InterviewView:
    interview_id: int
    candidate: str
    role: str
    target_level: str
    starts_at: datetime
    ends_at: datetime
    state: str  # storage.models.InterviewState value
    hiring_channel: str
    recruiter: str
    hiring_lead: str


@dataclass(frozen=True)
class RequestView:
    """One interviewer's feedback request, as that interviewer may see it."""

    public_id: str  # opaque; the only id that goes into Slack payloads
    interviewer: str
    focus_skills: tuple[str, ...]
    state: str  # storage.models.RequestState value
    due_at: datetime  # interview end + feedback.due_after
    dm_channel: str | None
    dm_ts: str | None
    interview: InterviewView


@dataclass(frozen=True)
class FormContext:
    """Everything needed to render an interviewer's DM or modal, and nothing of others'."""

    request: RequestView
    rubric: Rubric  # the snapshot the interview was scheduled with
    own_feedback: OwnFeedbackView | None
    editable: bool  # may this interviewer (still) submit or edit?
    locked_reason: str | None  # why not, in words for the interviewer
    # The summary is out: what this interviewer submits or edits now is shown as given
    # after the summary and never counted (DESIGN "After a partial summary").
    after_summary: bool = False
    shadow: bool = False  # a shadow (trainee) request: shown apart, never counted


@dataclass(frozen=True)
class InterviewProgress:
    """An interview as its recruiter or hiring lead sees it in App Home or /interview list."""

    interview: InterviewView
    expected: int  # panel members still expected (declined ones excluded)
    submitted: int
    missing: tuple[str, ...]  # Slack IDs of expected members who have not submitted


class Standing(StrEnum):
    """Whether a panel member's feedback counts in the consensus, the flags and the figures.

    One rule for every reader (summary, heatmap, debrief guide, calibration): only
    ``COUNTED`` feedback moves a hiring decision; the rest is shown, marked, apart.
    """

    COUNTED = "counted"  # given independently, before the summary was posted
    AFTER_SUMMARY = "after_summary"  # first given after the summary was posted
    SHADOW = "shadow"  # a shadow interviewer's (a trainee rating to learn)


@dataclass(frozen=True)
class FeedbackEdit:
    """Feedback as edited after the summary was posted: shown, never counted."""

    recommendation: str | None
    notes: str
    ratings: tuple[RatingView, ...]
    edited_at: datetime


@dataclass(frozen=True)
class PanelistFeedback:
    """One interviewer's submitted feedback, for the summary (never shown to other interviewers).

    The answers are the version that counts: for feedback edited after the summary
    was posted, the version from before the summary (``edit_after_summary`` holds
    the later one, to be shown as such).
    """

    interviewer: str
    focus_skills: tuple[str, ...]
    recommendation: str | None
    notes: str
    ratings: tuple[RatingView, ...]
    submitted_at: datetime
    updated_at: datetime
    standing: Standing = Standing.COUNTED
    edit_after_summary: FeedbackEdit | None = None

    @property
    def counts(self) -> bool:
        return self.standing == Standing.COUNTED

    @property
    def late(self) -> bool:
        """First given after the summary was posted."""
        return self.standing == Standing.AFTER_SUMMARY


@dataclass(frozen=True)
class SummaryData:
    """Everything the hiring-channel summary shows, read in one transaction.

    ``expected`` and ``missing`` are about the panel whose feedback counts: shadow
    interviewers are listed apart (``shadows``) and never make a summary partial.
    """

    interview: InterviewView
    rubric: Rubric  # the pinned snapshot
    expected: tuple[str, ...]  # interviewers expected to submit (not declined, not shadows)
    feedback: tuple[PanelistFeedback, ...]  # every submitted feedback, panel order
    missing: tuple[str, ...]  # expected interviewers without feedback, panel order
    summary_channel: str | None
    summary_ts: str | None  # set once posted
    shadows: tuple[str, ...] = ()  # shadow interviewers not declined, panel order

    @property
    def counted(self) -> tuple[PanelistFeedback, ...]:
        """The feedback that counts: the consensus, the flags and every figure use these."""
        return tuple(fb for fb in self.feedback if fb.counts)

    @property
    def after_summary(self) -> tuple[PanelistFeedback, ...]:
        return tuple(fb for fb in self.feedback if fb.standing == Standing.AFTER_SUMMARY)

    @property
    def shadow_feedback(self) -> tuple[PanelistFeedback, ...]:
        return tuple(fb for fb in self.feedback if fb.standing == Standing.SHADOW)

    @property
    def edited_after_summary(self) -> tuple[PanelistFeedback, ...]:
        return tuple(fb for fb in self.feedback if fb.edit_after_summary is not None)

    @property
    def posted(self) -> bool:
        return self.summary_ts is not None

    @property
    def partial(self) -> bool:
        """Some expected interviewer's feedback is not counted (missing, or given after)."""
        return len(self.counted) < len(self.expected)


@dataclass(frozen=True)
class DigestLine:
    """One missing feedback in a recruiter's digest."""

    interviewer: str
    public_id: str  # for the digest's "Nudge now" button
    overdue_by: timedelta  # how long past feedback.due_after (zero or more)
    reminders_sent: int
    last_error: str | None  # a Slack error that stopped reminders (e.g. user_not_found)
    # The summary was posted without them: no longer overdue, reported as late.
    after_summary: bool = False


@dataclass(frozen=True)
class DigestItem:
    interview: InterviewView
    missing: tuple[DigestLine, ...]  # panel order
