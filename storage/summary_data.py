"""Reading an interview's summary: what it shows, who may see it, what changed since.

Reads only; the summary's units of work and their transitions are in
:mod:`storage.summaries`. Every reader applies one rule for whose feedback counts
(:func:`storage.feedback_history.standing_of`).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.feedback_history import Version, counted_versions, standing_of
from storage.models import Feedback, FeedbackRequest, Interview, RequestState
from storage.queries import interview_view, interview_with_feedback, rubrics_for_versions
from storage.views import FeedbackEdit, PanelistFeedback, RatingView, SummaryData

__all__ = ["changed_since_summary", "load_summary_data", "summary_for_viewer"]


def load_summary_data(session: Session, interview_id: int) -> SummaryData:
    """Everything the summary shows, read now, in a few queries.

    The rubric is the interview's pinned snapshot. Expected interviewers are the
    panel's requests not declined and not shadows, in panel order; ``feedback``
    is every submitted one (ratings in rubric order) with its standing
    (:func:`storage.feedback_history.standing_of`); ``missing`` the expected
    without feedback. For feedback edited after the summary was posted, the
    answers are the version from before it, and the edit rides along as
    ``edit_after_summary``.

    Raises:
        KeyError: no interview has this id.
    """
    interview = interview_with_feedback(session, interview_id)
    if interview is None:
        raise KeyError(f"no interview with id {interview_id}")
    rubric = rubrics_for_versions(session, [interview.rubric_version_id])[
        interview.rubric_version_id
    ]
    skill_order = [skill.id for skill in rubric.skills]
    posted_seq = interview.summary_posted_seq
    panel = sorted(interview.requests, key=lambda r: (r.position, r.id))
    present = [r for r in panel if r.state != RequestState.DECLINED]
    edited_after = {
        r.id: posted_seq
        for r in present
        if posted_seq is not None
        and r.feedback is not None
        and not r.shadow
        and r.feedback.first_seq <= posted_seq < r.feedback.seq
    }
    before = counted_versions(session, edited_after, order=skill_order)
    feedback = [
        _panelist_feedback(r, r.feedback, skill_order, posted_seq, before.get(r.id))
        for r in present
        if r.feedback is not None
    ]
    expected = [r for r in present if not r.shadow]
    return SummaryData(
        interview=interview_view(interview),
        rubric=rubric,
        expected=tuple(r.interviewer for r in expected),
        feedback=tuple(feedback),
        missing=tuple(r.interviewer for r in expected if r.feedback is None),
        summary_channel=interview.summary_channel,
        summary_ts=interview.summary_ts,
        shadows=tuple(r.interviewer for r in present if r.shadow),
    )


def _panelist_feedback(
    request: FeedbackRequest,
    given: Feedback,
    skill_order: Sequence[str],
    posted_seq: int | None,
    counted: Version | None,
) -> PanelistFeedback:
    """One feedback as the summary shows it: the counted answers, and any later edit."""
    rank = {skill_id: i for i, skill_id in enumerate(skill_order)}
    rows = sorted(given.ratings, key=lambda r: (rank.get(r.skill_id, len(rank)), r.id))
    current = tuple(
        RatingView(skill_id=r.skill_id, level=r.level, evidence=r.evidence) for r in rows
    )
    standing = standing_of(shadow=request.shadow, first_seq=given.first_seq, posted_seq=posted_seq)
    edit: FeedbackEdit | None = None
    recommendation, notes, ratings = given.recommendation, given.notes, current
    if counted is not None:
        edit = FeedbackEdit(given.recommendation, given.notes, current, given.updated_at)
        recommendation, notes, ratings = counted.recommendation, counted.notes, counted.ratings
        if (recommendation, notes, ratings) == (edit.recommendation, edit.notes, edit.ratings):
            edit = None  # edited back to what counts: nothing to show
    return PanelistFeedback(
        interviewer=request.interviewer,
        focus_skills=tuple(request.focus_skills),
        recommendation=recommendation,
        notes=notes,
        ratings=ratings,
        submitted_at=given.submitted_at,
        updated_at=given.updated_at if counted is None else counted.at,
        standing=standing,
        edit_after_summary=edit,
    )


def summary_for_viewer(session: Session, interview_id: int, *, user_id: str) -> SummaryData | None:
    """The summary as it stands, for ``/interview summary``: its recruiter and hiring lead only.

    Available at any time, before the deadline too, except to a recruiter or
    hiring lead who also sits on the panel (and has not declined) while the
    summary is not posted: seeing the others' feedback would break the panel's
    independence. None for anyone else, and for an unknown interview (the two
    are indistinguishable, so ids reveal nothing).
    """
    interview = session.get(Interview, interview_id)
    if interview is None or user_id not in (interview.recruiter, interview.hiring_lead):
        return None
    if interview.summary_posted_at is None:
        on_panel = session.scalar(
            sa.select(
                sa.exists().where(
                    FeedbackRequest.interview_id == interview_id,
                    FeedbackRequest.interviewer == user_id,
                    FeedbackRequest.state != RequestState.DECLINED,
                )
            )
        )
        if on_panel:
            return None
    return load_summary_data(session, interview_id)


def changed_since_summary(session: Session, interview_id: int) -> list[str]:
    """Interviewers (panel order) whose feedback the posted message does not reflect yet.

    Their feedback was first given or edited after the message's data was read
    (``feedback.seq > summary_seq``): what an ``update`` says changed. Empty
    while the summary is not posted.
    """
    return list(
        session.scalars(
            sa.select(FeedbackRequest.interviewer)
            .join(Feedback, Feedback.request_id == FeedbackRequest.id)
            .join(Interview, Interview.id == FeedbackRequest.interview_id)
            .where(
                FeedbackRequest.interview_id == interview_id,
                FeedbackRequest.state != RequestState.DECLINED,
                Interview.summary_seq.is_not(None),
                Feedback.seq > Interview.summary_seq,
            )
            .order_by(FeedbackRequest.position, FeedbackRequest.id)
        )
    )
