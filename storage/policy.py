"""The feedback rules a deployment chooses, as plain values (the bot builds them from config).

Also the one place that spaces the reminders: when the first nudge, the next
nudge, the recruiter's digest and the summary deadline fall due
(:class:`FeedbackPolicy` methods, :func:`next_nudge_at`, :func:`digest_due`). The storage
transitions ask these; none computes a spacing of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

__all__ = ["EditableUntil", "FeedbackPolicy", "digest_due", "next_nudge_at"]

EditableUntil = Literal["summary", "deadline", "never"]
"""How long submitted feedback may be edited (``feedback.editable_until``):

* ``summary``: while the interview's summary has not been posted;
* ``deadline``: until the interview's end plus ``summary.deadline``;
* ``never``: not at all once submitted.

Feedback not yet given can always be submitted (late feedback is accepted), unless
the interview was cancelled or archived or the request was declined.
"""


@dataclass(frozen=True)
class FeedbackPolicy:
    """Timings and rules for feedback requests.

    Every duration counts from the interview's end: the form DM falls due after
    ``form_delay``, feedback after ``due_after``, the summary after
    ``summary_deadline``. A recruiter gets at most one digest of missing
    feedback per ``digest_interval`` (an interview reaching its summary
    deadline sends one sooner). ``require_evidence`` asks the form for evidence with
    every level given (enforced by the Slack layer's validation).
    """

    form_delay: timedelta
    due_after: timedelta
    summary_deadline: timedelta
    editable_until: EditableUntil = "summary"
    require_evidence: bool = True
    digest_interval: timedelta = timedelta(hours=24)

    def overdue_at(self, ends_at: datetime) -> datetime:
        """When an interview's feedback becomes overdue: its end + ``due_after``."""
        return ends_at + self.due_after

    def deadline_at(self, ends_at: datetime) -> datetime:
        """The summary deadline (and the escalation): the end + ``summary_deadline``."""
        return ends_at + self.summary_deadline

    def first_nudge_at(self, ends_at: datetime, *, now: datetime) -> datetime:
        """When the first nudge after a form DM sent at ``now`` falls due.

        When the feedback becomes overdue, but a form that went out late (an
        interview imported after it ended, a Slack outage) first leaves its
        interviewer half of ``due_after``: a nudge never follows the form DM
        within seconds.
        """
        return max(self.overdue_at(ends_at), now + self.due_after / 2)


def digest_due(
    due: datetime, *, last_sent_at: datetime | None, interval: timedelta | None
) -> datetime:
    """When a recruiter's digest wanted at ``due`` may go: never within ``interval`` of the last.

    ``interval`` is ``digest_interval``; None (an interview reached its summary
    deadline: the recruiter hears of it now) ignores the last digest.
    """
    if interval is None or last_sent_at is None:
        return due
    return max(due, last_sent_at + interval)


def next_nudge_at(
    now: datetime, *, number: int, interval: timedelta, max_nudges: int
) -> datetime | None:
    """After the ``number``-th nudge went out at ``now``: the next, ``interval`` later, or none.

    None once ``number`` reaches ``max_nudges`` (``reminders.max``); a
    recruiter's "Nudge now" may add one past it, never a schedule.
    """
    return now + interval if number < max_nudges else None
