"""The feedback modal's flows, one call each: open the form, save a page, submit the last page.

Each flow runs in the transaction the guard (handlers.guard) decided in: the guard
authorizes in it (storage.access.authorize loads the request and its interview and
checks that the user is its interviewer and that the form may change), then hands
that session and the decision's request row (``Decision.request``) to the
listener, which makes one of these calls with them. The call does not read the
request again; it loads what the form needs once,
checks the page with the modal's rules (``check``, from handlers.blocks: Slack's
block ids stay out of storage), writes, and commits before it returns, so an ack
that closes the modal always means stored. Edits are submissions of a form that
has feedback already. A submission that raced a cancel or a lock is refused again
under the interview's row lock (storage.feedback.submit_request_feedback).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from storage.editing import FeedbackRefused, RefusalReason
from storage.feedback import (
    SubmitOutcome,
    draft_of,
    save_request_draft,
    submit_request_feedback,
)
from storage.models import FeedbackRequest
from storage.policy import FeedbackPolicy
from storage.queries import form_context_for_request
from storage.views import FormContext, RatingView

__all__ = [
    "FORM_GONE",
    "PAGES_LOST",
    "FlowKind",
    "FlowResult",
    "PageCheck",
    "open_form",
    "save_page",
    "submit_form",
]

FORM_GONE = "This feedback form is no longer available."
PAGES_LOST = (
    "The answers of this form's earlier pages were not found, so nothing was saved. "
    "Please open the form again from its message."
)


@dataclass(frozen=True)
class PageCheck:
    """What the modal made of one submitted page, checked against the loaded form."""

    ratings: Mapping[str, RatingView] = field(default_factory=dict)
    recommendation: str | None = None
    notes: str = ""
    errors: Mapping[str, str] = field(default_factory=dict)  # by block id
    pages: int = 1  # how many pages the form has
    gone: bool = False  # the page does not belong to this form (a stale or forged modal)


Check = Callable[[FormContext], PageCheck]


class FlowKind(StrEnum):
    ERRORS = "errors"  # keep the modal open with errors on its blocks
    NOTICE = "notice"  # replace the modal with a notice
    OPENED = "opened"  # the form to show (open_form)
    NEXT_PAGE = "next_page"  # the page was saved: push the next one
    STORED = "stored"  # submitted and committed: the modal may close


@dataclass(frozen=True)
class FlowResult:
    kind: FlowKind
    form: FormContext | None = None  # OPENED, NEXT_PAGE; STORED: as stored now (the DM)
    draft: Mapping[str, RatingView] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    notice: str = ""
    refusal: RefusalReason | None = None  # NOTICE from a storage refusal, for the log
    outcome: SubmitOutcome | None = None  # STORED


def _notice(message: str, refusal: RefusalReason | None = None) -> FlowResult:
    return FlowResult(FlowKind.NOTICE, notice=message, refusal=refusal)


def open_form(
    session: Session, *, request: FeedbackRequest, policy: FeedbackPolicy, now: datetime
) -> FlowResult:
    """The form to open (Give or Edit feedback), with the draft of its earlier pages."""
    form = form_context_for_request(session, request, policy=policy, now=now)
    if not form.editable:
        return _notice(form.locked_reason or FORM_GONE)
    return FlowResult(FlowKind.OPENED, form=form, draft=draft_of(session, request))


def save_page(
    session: Session,
    *,
    request: FeedbackRequest,
    check: Check,
    policy: FeedbackPolicy,
    now: datetime,
) -> FlowResult:
    """A page that is not the last: merged into the draft and committed; the next to push."""
    form = form_context_for_request(session, request, policy=policy, now=now)
    early = _checked(form, check)
    if isinstance(early, FlowResult):
        return early
    try:
        save_request_draft(session, request, ratings=list(early.ratings.values()), now=now)
    except FeedbackRefused as refused:
        return _notice(refused.message, refused.reason)
    draft = draft_of(session, request)
    session.commit()
    return FlowResult(FlowKind.NEXT_PAGE, form=form, draft=draft)


def submit_form(
    session: Session,
    *,
    request: FeedbackRequest,
    user_id: str,
    check: Check,
    policy: FeedbackPolicy,
    now: datetime,
) -> FlowResult:
    """The last page: the feedback stored (created, edited or unchanged) and committed."""
    form = form_context_for_request(session, request, policy=policy, now=now)
    page = _checked(form, check)
    if isinstance(page, FlowResult):
        return page
    draft = draft_of(session, request)
    if page.pages > 1 and not draft:
        # The earlier pages' answers are not in a draft (a second modal submitted
        # its last page again, or a replay): keep the stored ones rather than
        # delete them; without any, ask to start over.
        if form.own_feedback is None:
            return _notice(PAGES_LOST)
        draft = {r.skill_id: r for r in form.own_feedback.ratings}
    ratings: Sequence[RatingView] = list({**draft, **page.ratings}.values())
    try:
        outcome = submit_request_feedback(
            session,
            request,
            user_id=user_id,
            recommendation=page.recommendation or "",
            notes=page.notes,
            ratings=ratings,
            policy=policy,
            now=now,
            rubric=form.rubric,
        )
    except FeedbackRefused as refused:
        return _notice(refused.message, refused.reason)
    # What the DM shows after the ack, read in this transaction (the feedback just written).
    stored = form_context_for_request(session, request, policy=policy, now=now)
    session.commit()
    return FlowResult(FlowKind.STORED, form=stored, outcome=outcome)


def _checked(form: FormContext, check: Check) -> PageCheck | FlowResult:
    """The page's answers, or the result that answers instead (locked, stale, errors)."""
    if not form.editable:
        return _notice(form.locked_reason or FORM_GONE)
    page = check(form)
    if page.gone:
        return _notice(FORM_GONE)
    if page.errors:
        return FlowResult(FlowKind.ERRORS, errors=page.errors)
    return page
