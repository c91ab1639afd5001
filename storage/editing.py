"""Who may submit or edit feedback, and when: refusals and the edit-lock rules.

Shared by :mod:`storage.feedback` (which refuses) and :mod:`storage.queries`
(which shows the lock in a :class:`~storage.views.FormContext`), so a form is
shown as editable exactly when a submission would be accepted. Import the
public names from :mod:`storage.feedback` or :mod:`storage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import assert_never

from storage.models import InterviewState, RequestState
from storage.policy import FeedbackPolicy

__all__ = ["EditLock", "FeedbackRefused", "RefusalReason", "edit_lock"]


class RefusalReason(StrEnum):
    NOT_FOUND = "not_found"  # no such request (garbage id, or removed from the panel)
    NOT_YOURS = "not_yours"  # the request is another interviewer's
    CANCELLED = "cancelled"  # the interview was cancelled
    HISTORY = "history"  # the interview is archived history
    DECLINED = "declined"  # the interviewer declined the request
    LOCKED = "locked"  # submitted feedback may no longer be edited (feedback.editable_until)
    INVALID = "invalid"  # the answers do not fit the interview's rubric


_MESSAGES: dict[RefusalReason, str] = {
    RefusalReason.NOT_FOUND: (
        "I couldn't find this feedback form. It may have been removed from the interview panel."
    ),
    RefusalReason.NOT_YOURS: "This feedback form belongs to another interviewer.",
    RefusalReason.CANCELLED: "This interview was cancelled; no feedback is needed.",
    RefusalReason.HISTORY: "This interview is archived; its feedback can no longer change.",
    RefusalReason.DECLINED: "You declined this feedback request, so it can no longer be filled in.",
    RefusalReason.LOCKED: "Your feedback is locked and can no longer be edited.",
    RefusalReason.INVALID: (
        "This form no longer matches the interview's rubric. Please open it again."
    ),
}

_LOCKED_MESSAGES: dict[str, str] = {
    "summary": "The summary has been posted, so your feedback is locked and can't be edited.",
    "deadline": "The deadline for editing this feedback has passed, so it is locked.",
    "never": "Submitted feedback can't be edited.",
}


class FeedbackRefused(Exception):
    """A feedback form may not be shown, saved or submitted.

    Attributes:
        reason: why, for code.
        message: why, as a sentence fit to show the interviewer in Slack; it never
            reveals anything about other people's feedback.
    """

    def __init__(self, reason: RefusalReason, message: str | None = None) -> None:
        self.reason = reason
        self.message = message if message is not None else _MESSAGES[reason]
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"FeedbackRefused({self.reason.value!r}, {self.message!r})"


@dataclass(frozen=True)
class EditLock:
    """Why a form is not editable: the refusal a submission would get."""

    reason: RefusalReason
    message: str

    def refusal(self) -> FeedbackRefused:
        return FeedbackRefused(self.reason, self.message)


def edit_lock(
    *,
    interview_state: InterviewState,
    request_state: RequestState,
    has_feedback: bool,
    ends_at: datetime,
    policy: FeedbackPolicy,
    now: datetime,
) -> EditLock | None:
    """Return why the interviewer may not submit (or edit) now, or None if they may.

    Rules, in order: a cancelled or archived interview and a declined request
    lock the form; feedback not given yet may always be submitted (late
    feedback, after the summary, is accepted); given feedback may be edited per
    ``policy.editable_until``: ``summary`` while the interview is still
    scheduled, ``deadline`` while ``now < ends_at + summary_deadline``,
    ``never`` not at all.
    """
    if interview_state == InterviewState.CANCELLED:
        return _lock(RefusalReason.CANCELLED)
    if interview_state == InterviewState.ARCHIVED:
        return _lock(RefusalReason.HISTORY)
    if request_state == RequestState.DECLINED:
        return _lock(RefusalReason.DECLINED)
    if not has_feedback:
        return None
    match policy.editable_until:
        case "summary":
            editable = interview_state == InterviewState.SCHEDULED
        case "deadline":
            editable = now < ends_at + policy.summary_deadline
        case "never":
            editable = False
        case _:  # pragma: no cover - a bad config value; bot.config validates it
            assert_never(policy.editable_until)
    if editable:
        return None
    return EditLock(RefusalReason.LOCKED, _LOCKED_MESSAGES[policy.editable_until])


def _lock(reason: RefusalReason) -> EditLock:
    return EditLock(reason, _MESSAGES[reason])
