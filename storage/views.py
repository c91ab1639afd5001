"""Plain, read-only snapshots of stored state for the Slack layer.

Storage queries return these instead of ORM rows, so nothing outside a session
can lazy-load, and Block Kit builders stay pure functions of plain data. None of
them carries another interviewer's ratings, notes or recommendation unless it is
meant for a summary (independence is enforced by what these types can hold).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

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


@dataclass(frozen=True)
class InterviewProgress:
    """An interview as its recruiter or hiring lead sees it in App Home or /interview list."""

    interview: InterviewView
    expected: int  # panel members still expected (declined ones excluded)
    submitted: int
    missing: tuple[str, ...]  # Slack IDs of expected members who have not submitted


@dataclass(frozen=True)
class PanelistFeedback:
    """One interviewer's submitted feedback, for the summary (never shown to other interviewers)."""

    interviewer: str
    focus_skills: tuple[str, ...]
    recommendation: str | None
    notes: str
    ratings: tuple[RatingView, ...]
    submitted_at: datetime
    updated_at: datetime
    late: bool  # first submitted after the summary was posted


@dataclass(frozen=True)
class SummaryData:
    """Everything the hiring-channel summary shows, read in one transaction."""

    interview: InterviewView
    rubric: Rubric  # the pinned snapshot
    expected: tuple[str, ...]  # interviewers expected to submit (not declined), panel order
    feedback: tuple[PanelistFeedback, ...]  # submitted feedback, panel order
    missing: tuple[str, ...]  # expected interviewers without feedback, panel order
    summary_channel: str | None
    summary_ts: str | None  # set once posted

    @property
    def partial(self) -> bool:
        return bool(self.missing)


@dataclass(frozen=True)
class DigestLine:
    """One missing feedback in a recruiter's digest."""

    interviewer: str
    public_id: str  # for the digest's "Nudge now" button
    overdue_by: timedelta  # how long past feedback.due_after (zero or more)
    reminders_sent: int
    last_error: str | None  # a Slack error that stopped reminders (e.g. user_not_found)


@dataclass(frozen=True)
class DigestItem:
    interview: InterviewView
    missing: tuple[DigestLine, ...]  # panel order
