"""The App Home tab: feedback to give, feedback recently submitted, interviews you own.

Every list is capped so the view stays well inside Slack's 100 blocks; what is
cut is counted ("and 180 more"). An interviewer's items carry only their own
requests; the "Your interviews" list (recruiters and hiring leads) shows who is
missing as mentions, never what anyone submitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from handlers.blocks.form_dm import (
    Block,
    context,
    due_text,
    edit_button,
    interview_title,
    interview_when,
    is_cancelled,
    no_feedback_needed,
    open_button,
    section,
    skill_names,
)
from handlers.blocks.incomplete import incomplete_home_item
from handlers.blocks.text import escape_mrkdwn, format_when, mention, plain, truncate
from storage.incomplete_view import IncompleteView
from storage.views import FormContext, InterviewProgress

OPEN_LIMIT = 20
RECENT_LIMIT = 10
OWNED_LIMIT = 20
INCOMPLETE_LIMIT = 10
MENTION_LIMIT = 10  # missing people named per interview
HEADER_MAX = 150

# storage.models.InterviewState values
_STATE_NOTES = {
    "cancelled": "cancelled",
    "summarised": "summary posted",
    "archived": "archived",
}


def build_app_home(
    *,
    open_forms: Sequence[FormContext],
    recent: Sequence[FormContext],
    owned: Sequence[InterviewProgress],
    tz: tzinfo,
    now: datetime,
    calibration: Sequence[Block] = (),
    incomplete: Sequence[IncompleteView] = (),
) -> dict[str, Any]:
    """The Home tab view (``views.publish``).

    Args:
        open_forms: the viewer's requests still waiting for feedback (shown soonest due first).
        recent: the viewer's recently submitted requests, newest first.
        owned: interviews the viewer recruits for or leads, in the order given.
        tz: the viewer's time zone.
        now: the current time (aware), to tell due from overdue.
        calibration: the viewer's own calibration blocks (handlers.blocks.calibration).
        incomplete: interviews sources could not complete that the viewer (a recruiter)
            may complete; listed first, each with its "Complete and schedule" button.
    """
    blocks: list[Block] = [
        header("Interview feedback"),
        context(
            f"Updated {format_when(now, tz)} · type `/interview help` to see what the bot can do"
        ),
    ]

    if incomplete:
        blocks.append(header(counted("Interviews to complete", len(incomplete))))
        blocks += [incomplete_home_item(item, tz=tz) for item in incomplete[:INCOMPLETE_LIMIT]]
        blocks += more(len(incomplete), INCOMPLETE_LIMIT)
        blocks.append({"type": "divider"})

    pending = sorted(open_forms, key=lambda ctx: ctx.request.due_at)
    blocks.append(header(counted("Feedback to give", len(pending))))
    if pending:
        blocks += [open_form_item(ctx, tz=tz, now=now) for ctx in pending[:OPEN_LIMIT]]
        blocks += more(len(pending), OPEN_LIMIT)
    else:
        blocks.append(
            section(
                "Nothing to do right now. When an interview you are on ends, "
                "its feedback form appears here (and in a DM from the bot)."
            )
        )

    blocks.append({"type": "divider"})
    blocks.append(header("Recently submitted"))
    if recent:
        blocks += [recent_item(ctx, tz=tz) for ctx in recent[:RECENT_LIMIT]]
        blocks += more(len(recent), RECENT_LIMIT)
    else:
        blocks.append(
            section(
                "Feedback you submit appears here, with a button to edit it "
                "for as long as edits are accepted."
            )
        )

    blocks.append({"type": "divider"})
    blocks.append(header(counted("Your interviews", len(owned))))
    if owned:
        blocks += [owned_item(progress, tz=tz) for progress in owned[:OWNED_LIMIT]]
        blocks += more(len(owned), OWNED_LIMIT)
    else:
        blocks.append(
            section(
                "Interviews you schedule as a recruiter, or run as hiring lead, appear here "
                "with how many of the panel have submitted feedback."
            )
        )
    blocks += calibration
    return {"type": "home", "blocks": blocks}


# -- items, shared with the /interview list reply ---------------------------------------


def open_form_item(ctx: FormContext, *, tz: tzinfo, now: datetime) -> Block:
    """One request waiting for the viewer's feedback, with the Give feedback button."""
    interview = ctx.request.interview
    lines = [interview_title(interview, ctx.rubric), f"Interview {interview_when(interview, tz)}"]
    if no_feedback_needed(ctx):
        reason = "the interview was cancelled" if is_cancelled(ctx) else "you are off the panel"
        lines.append(f"_No feedback needed: {reason}._")
        return section("\n".join(lines))
    if ctx.after_summary:
        # Not overdue any more: the summary went out without it; it is still welcome.
        lines[-1] += " · _summary posted: what you give now is marked as after it_"
    else:
        lines[-1] += f" · {due_text(ctx.request, tz, now)}"
    focus = skill_names(ctx.rubric, ctx.request.focus_skills)
    if focus:
        lines.append("Focus: " + ", ".join(escape_mrkdwn(name) for name in focus))
    if not ctx.editable:
        lines.append(f"_{escape_mrkdwn(ctx.locked_reason or 'Feedback is closed.')}_")
        return section("\n".join(lines))
    return section("\n".join(lines), accessory=open_button(ctx.request.public_id, primary=False))


def recent_item(ctx: FormContext, *, tz: tzinfo) -> Block:
    """One request the viewer has submitted, with Edit feedback while edits are accepted."""
    interview = ctx.request.interview
    lines = [interview_title(interview, ctx.rubric), f"Interview {interview_when(interview, tz)}"]
    if ctx.own_feedback is not None:
        lines.append(f"Submitted ✓ {format_when(ctx.own_feedback.submitted_at, tz)}")
    if ctx.editable and ctx.own_feedback is not None and not no_feedback_needed(ctx):
        return section("\n".join(lines), accessory=edit_button(ctx.request.public_id))
    if ctx.locked_reason:
        lines.append(f"_{escape_mrkdwn(ctx.locked_reason)}_")
    return section("\n".join(lines))


def owned_item(progress: InterviewProgress, *, tz: tzinfo, show_id: bool = False) -> Block:
    """``Ada Lovelace — Senior ML Engineer, <when> · 2 of 4 submitted`` and who is missing."""
    interview = progress.interview
    line = f"{interview_title(interview)}, {format_when(interview.starts_at, tz)}"
    line += f" · {progress.submitted} of {progress.expected} submitted"
    state_note = _STATE_NOTES.get(interview.state)
    if state_note:
        line += f" · {state_note}"
    lines = [line]
    if progress.missing and interview.state != "cancelled":
        names = [mention(user) for user in progress.missing[:MENTION_LIMIT]]
        extra = len(progress.missing) - MENTION_LIMIT
        lines.append(
            "Waiting for " + ", ".join(names) + (f" and {extra} more" if extra > 0 else "")
        )
    if show_id:
        lines.append(f"ID `{interview.interview_id}`")
    return section("\n".join(lines))


# -- small pieces ------------------------------------------------------------------------


def header(text: str) -> Block:
    return {"type": "header", "text": plain(truncate(text, HEADER_MAX))}


def counted(title: str, count: int) -> str:
    return f"{title} ({count})" if count else title


def more(total: int, shown: int) -> list[Block]:
    """A context block saying how many items were left out, if any."""
    hidden = total - shown
    return [context(f"…and {hidden} more not shown here.")] if hidden > 0 else []
