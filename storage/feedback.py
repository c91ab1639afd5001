"""Giving and editing feedback: the form's context, drafts of paged forms, and submission.

Every function identifies the request by its opaque ``public_id`` (what Slack
payloads carry) and checks it against the Slack user acting, so a forged or
forwarded payload can neither read nor write another interviewer's feedback.
Refusals raise :class:`FeedbackRefused`, whose ``message`` can be shown to the
interviewer as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from rubric import Rubric
from rubric.answers import Problem, rating_problems, recommendation_problem
from storage.audit import record_audit
from storage.editing import EditLock, FeedbackRefused, RefusalReason, edit_lock
from storage.feedback_history import record_version
from storage.feedback_rows import (
    apply_answers,
    delete_draft,
    draft_for_update,
    draft_ratings,
    feedback_of,
    rating_row,
    ratings_json,
    same_answers,
)
from storage.locking import lock_interview
from storage.models import (
    PUBLIC_ID_SHAPE,
    Feedback,
    FeedbackDraft,
    FeedbackRequest,
    RequestState,
)
from storage.policy import FeedbackPolicy
from storage.queries import form_context_for_request, rubrics_for_versions
from storage.summary_due import note_feedback_change
from storage.views import FormContext, RatingView

__all__ = [
    "FeedbackRefused",
    "RefusalReason",
    "SubmitOutcome",
    "draft_of",
    "load_draft",
    "load_form_context",
    "save_draft",
    "save_request_draft",
    "submit_feedback",
    "submit_request_feedback",
]

# What new_public_id() makes (URL-safe base64); anything else is garbage, refused
# without a query (and never sent to the database: PostgreSQL rejects NUL bytes).

# Edit rules for save_draft without a policy: feedback.editable_until's default,
# the only rule that needs no duration.
_DEFAULT_DRAFT_POLICY = FeedbackPolicy(
    form_delay=timedelta(0), due_after=timedelta(0), summary_deadline=timedelta(0)
)


class SubmitOutcome(StrEnum):
    CREATED = "created"  # first submission
    UPDATED = "updated"  # an edit that changed something
    UNCHANGED = "unchanged"  # identical to what is stored (a replay): nothing written


def load_form_context(
    session: Session,
    public_id: str,
    *,
    user_id: str,
    policy: FeedbackPolicy,
    now: datetime,
) -> FormContext:
    """The form ``user_id`` opens: their request, the pinned rubric, their own feedback.

    A context is returned even when the form is locked (``editable`` False,
    ``locked_reason`` saying why, in words for the interviewer).

    Raises:
        FeedbackRefused: NOT_FOUND for an unknown or malformed ``public_id``,
            NOT_YOURS if the request is another interviewer's.
    """
    request = _owned_request(session, public_id, user_id)
    return form_context_for_request(session, request, policy=policy, now=now)


def load_draft(session: Session, public_id: str, *, user_id: str) -> dict[str, RatingView]:
    """The answers saved from earlier pages of a paged form, by skill id (empty if none).

    Raises:
        FeedbackRefused: NOT_FOUND or NOT_YOURS, as :func:`load_form_context`.
    """
    return draft_of(session, _owned_request(session, public_id, user_id))


def draft_of(session: Session, request: FeedbackRequest) -> dict[str, RatingView]:
    """:func:`load_draft` for a request the caller has loaded and checked already."""
    draft = session.get(FeedbackDraft, request.id)
    return {} if draft is None else draft_ratings(draft)


def save_draft(
    session: Session,
    public_id: str,
    *,
    user_id: str,
    ratings: Sequence[RatingView],
    now: datetime,
    policy: FeedbackPolicy | None = None,
) -> None:
    """Merge one page's answers into the request's draft (by skill id; later answers win).

    Checked like :func:`submit_feedback`: the form must be ``user_id``'s and
    editable, and the ratings must fit the interview's rubric. Without
    ``policy``, the edit rule of ``feedback.editable_until: summary`` applies;
    the final :func:`submit_feedback` checks again with the real policy. Saving
    the same answers again writes nothing.

    Raises:
        FeedbackRefused: NOT_FOUND, NOT_YOURS, the form's lock (CANCELLED,
            HISTORY, DECLINED, LOCKED), or INVALID.
    """
    save_request_draft(
        session,
        _owned_request(session, public_id, user_id),
        ratings=ratings,
        now=now,
        policy=policy,
    )


def save_request_draft(
    session: Session,
    request: FeedbackRequest,
    *,
    ratings: Sequence[RatingView],
    now: datetime,
    policy: FeedbackPolicy | None = None,
) -> None:
    """:func:`save_draft` for a request the caller has loaded and checked already."""
    has_feedback = session.scalar(sa.select(sa.exists().where(Feedback.request_id == request.id)))
    lock = _lock(request, bool(has_feedback), policy or _DEFAULT_DRAFT_POLICY, now)
    if lock is not None:
        raise lock.refusal()
    rubric = _rubric(session, request)
    page = _valid_ratings(rubric, ratings)

    draft = draft_for_update(session, request.id)
    if draft is None:
        created = FeedbackDraft(
            request_id=request.id, ratings=ratings_json(page.values()), updated_at=now
        )
        try:
            with session.begin_nested():
                session.add(created)
        except IntegrityError:
            # Another page of the same form was saved concurrently: merge into it.
            draft = draft_for_update(session, request.id)
            if draft is None:
                raise
        else:
            return
    merged = draft_ratings(draft)
    before = dict(merged)
    merged.update(page)
    if merged == before:
        return
    draft.ratings = ratings_json(merged.values())
    draft.updated_at = now
    session.flush()


def submit_feedback(
    session: Session,
    public_id: str,
    *,
    user_id: str,
    recommendation: str,
    notes: str,
    ratings: Sequence[RatingView],
    policy: FeedbackPolicy,
    now: datetime,
) -> SubmitOutcome:
    """Store ``user_id``'s feedback for the request: create it, or edit it.

    The stored ratings become the request's draft (earlier pages of a paged
    form, if any) overlaid with ``ratings``; a skill in neither is removed.
    Evidence and notes are stored stripped of surrounding whitespace. The
    request becomes ``submitted`` with no due work, the draft is deleted, and
    the change is audited as ``feedback.submitted`` or ``feedback.edited``
    (counts only, never text). The interview's summary follows
    (:func:`storage.summaries.note_feedback_change`): due now once the whole
    panel has submitted, or with the first feedback after the deadline; to be
    updated when the summary was posted already.

    Idempotent: answers identical to the stored ones return UNCHANGED and write
    nothing, even once the feedback is LOCKED (a replayed submission is not an
    edit). Two concurrent first submissions never make two rows: the loser's
    insert fails on the unique ``request_id`` inside a SAVEPOINT and is retried
    as an edit of the winner's.

    Raises:
        FeedbackRefused: NOT_FOUND or NOT_YOURS; the form's lock exactly as
            :func:`load_form_context` reports it (CANCELLED, HISTORY, DECLINED,
            LOCKED); INVALID if the recommendation, a skill or a level is not
            in the interview's rubric, or a skill is rated twice. Nothing is
            written when it raises.
    """
    return submit_request_feedback(
        session,
        _owned_request(session, public_id, user_id),
        user_id=user_id,
        recommendation=recommendation,
        notes=notes,
        ratings=ratings,
        policy=policy,
        now=now,
    )


def submit_request_feedback(
    session: Session,
    request: FeedbackRequest,
    *,
    user_id: str,
    recommendation: str,
    notes: str,
    ratings: Sequence[RatingView],
    policy: FeedbackPolicy,
    now: datetime,
    rubric: Rubric | None = None,
) -> SubmitOutcome:
    """:func:`submit_feedback` for a request the caller has loaded and checked already.

    ``request`` must be ``user_id``'s (the guard's decision, storage.access);
    ``rubric``, its interview's pinned rubric if the caller has it loaded.
    """
    # Submissions for one interview take turns, and none overlaps a summary
    # transition (those lock the row too): two last submissions then cannot both
    # miss that the panel is complete, and an edit cannot slip in after the post.
    lock_interview(session, request.interview_id)
    rubric = rubric or _rubric(session, request)
    notes = notes.strip()
    given = _valid_ratings(rubric, ratings)
    if not _is_recommendation(rubric, recommendation):
        raise FeedbackRefused(
            RefusalReason.INVALID,
            "That recommendation is not one of this interview's options. "
            "Please open the form again.",
        )
    draft = session.get(FeedbackDraft, request.id)
    answers = {} if draft is None else draft_ratings(draft)
    answers.update(given)
    # Rubric order, so the rows of a new feedback are stored in it.
    order = {skill.id: index for index, skill in enumerate(rubric.skills)}
    wanted = sorted(answers.values(), key=lambda r: order[r.skill_id])

    stored = _store(session, request, draft, recommendation, notes, wanted, policy, now)
    if stored is None:
        return SubmitOutcome.UNCHANGED
    outcome, feedback = stored
    _record(
        session,
        request,
        feedback,
        outcome,
        user_id,
        wanted,
        recommendation=recommendation,
        notes=notes,
        had_draft=draft is not None,
        policy=policy,
        now=now,
    )
    return outcome


# ---------------------------------------------------------------------------
# Helpers


def _store(
    session: Session,
    request: FeedbackRequest,
    draft: FeedbackDraft | None,
    recommendation: str,
    notes: str,
    wanted: Sequence[RatingView],
    policy: FeedbackPolicy,
    now: datetime,
) -> tuple[SubmitOutcome, Feedback] | None:
    """Create or edit the feedback row (None: identical to what is stored, nothing written)."""
    for attempt in range(2):
        if attempt > 0:
            # Lost the race for the first submission: see the winner's request too.
            session.refresh(request, ["state", "next_action_at"])
        existing = feedback_of(session, request.id, reload=attempt > 0)
        same = existing is not None and same_answers(existing, recommendation, notes, wanted)
        lock = _lock(request, existing is not None, policy, now)
        if lock is not None and not (same and lock.reason == RefusalReason.LOCKED):
            raise lock.refusal()
        if existing is not None and same:
            if draft is not None:
                delete_draft(session, request.id)
            if request.state != RequestState.SUBMITTED:
                _mark_submitted(request)
            session.flush()
            return None
        if existing is not None:
            apply_answers(existing, recommendation, notes, wanted, now)
            return SubmitOutcome.UPDATED, existing
        created = Feedback(
            request_id=request.id,
            recommendation=recommendation,
            notes=notes,
            submitted_at=now,
            updated_at=now,
            ratings=[rating_row(r) for r in wanted],
        )
        try:
            with session.begin_nested():
                session.add(created)
        except IntegrityError:
            if attempt > 0:
                raise
            # A concurrent first submission won the unique request_id: only the
            # SAVEPOINT was rolled back. Go again, as an edit of its feedback.
            continue
        return SubmitOutcome.CREATED, created
    raise AssertionError("unreachable")  # pragma: no cover - the second attempt returns


def _record(
    session: Session,
    request: FeedbackRequest,
    feedback: Feedback,
    outcome: SubmitOutcome,
    user_id: str,
    wanted: Sequence[RatingView],
    *,
    recommendation: str,
    notes: str,
    had_draft: bool,
    policy: FeedbackPolicy,
    now: datetime,
) -> None:
    """After a write: the request submitted, its draft gone, the audit, summary and history."""
    _mark_submitted(request)
    if had_draft:
        delete_draft(session, request.id)
    session.flush()
    # The request may have been loaded with no feedback (or a concurrent winner's
    # stale copy): it now has this one, as written (no reload; its ratings are in
    # id order in memory too, new rows being appended).
    set_committed_value(request, "feedback", feedback)
    rated = sum(1 for r in wanted if r.level is not None)
    record_audit(
        session,
        actor=user_id,
        action="feedback.submitted" if outcome == SubmitOutcome.CREATED else "feedback.edited",
        entity="feedback",
        entity_id=feedback.id,
        detail={
            "request": request.public_id,
            "skills_rated": rated,
            "not_assessed": len(wanted) - rated,
        },
        at=now,
    )
    note_feedback_change(
        session,
        request.interview,
        feedback,
        created=outcome == SubmitOutcome.CREATED,
        policy=policy,
        now=now,
    )
    # History after numbering: the version carries the change number the summary compares.
    record_version(
        session,
        request.id,
        seq=feedback.seq,
        actor=user_id,
        recommendation=recommendation,
        notes=notes,
        ratings=wanted,
        at=now,
    )


def _owned_request(session: Session, public_id: str, user_id: str) -> FeedbackRequest:
    if not isinstance(public_id, str) or not PUBLIC_ID_SHAPE.fullmatch(public_id):
        raise FeedbackRefused(RefusalReason.NOT_FOUND)
    request = session.scalars(
        sa.select(FeedbackRequest)
        .where(FeedbackRequest.public_id == public_id)
        .options(
            joinedload(FeedbackRequest.interview),
            selectinload(FeedbackRequest.feedback).selectinload(Feedback.ratings),
        )
    ).one_or_none()
    if request is None:
        raise FeedbackRefused(RefusalReason.NOT_FOUND)
    if request.interviewer != user_id:
        raise FeedbackRefused(RefusalReason.NOT_YOURS)
    return request


def _lock(
    request: FeedbackRequest, has_feedback: bool, policy: FeedbackPolicy, now: datetime
) -> EditLock | None:
    interview = request.interview
    return edit_lock(
        interview_state=interview.state,
        request_state=request.state,
        has_feedback=has_feedback,
        ends_at=interview.ends_at,
        policy=policy,
        now=now,
    )


def _rubric(session: Session, request: FeedbackRequest) -> Rubric:
    version_id = request.interview.rubric_version_id
    return rubrics_for_versions(session, [version_id])[version_id]


def _is_recommendation(rubric: Rubric, recommendation: str) -> bool:
    return recommendation_problem(rubric, recommendation) is None


def _valid_ratings(rubric: Rubric, ratings: Iterable[RatingView]) -> dict[str, RatingView]:
    """The ratings by skill id, evidence stripped; INVALID unless they fit the rubric."""
    ratings = list(ratings)
    problems = rating_problems(rubric, [(r.skill_id, r.level) for r in ratings])
    if problems:
        first = problems[0]
        if first.problem is Problem.UNKNOWN_SKILL:
            raise _invalid(f"“{first.skill_id}” is not a skill of this interview's rubric.")
        if first.problem is Problem.RATED_TWICE:
            raise _invalid(f"“{first.skill_id}” was rated more than once.")
        raise _invalid(
            f"“{first.value}” is not a level of this interview's rubric "
            f"({', '.join(rubric.level_ids)} or Not assessed)."
        )
    return {
        r.skill_id: RatingView(skill_id=r.skill_id, level=r.level, evidence=r.evidence.strip())
        for r in ratings
    }


def _invalid(detail: str) -> FeedbackRefused:
    return FeedbackRefused(RefusalReason.INVALID, f"{detail} Please open the form again.")


def _mark_submitted(request: FeedbackRequest) -> None:
    request.state = RequestState.SUBMITTED
    request.next_action_at = None
