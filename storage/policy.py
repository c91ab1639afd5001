"""The feedback rules a deployment chooses, as plain values (the bot builds them from config)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

__all__ = ["EditableUntil", "FeedbackPolicy"]

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
