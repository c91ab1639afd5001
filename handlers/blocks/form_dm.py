"""The feedback DM an interviewer gets when an interview ends, and its later states.

One message per request, updated in place as the request moves on: pending
(with a "Give feedback" button), submitted (with "Edit feedback" while edits
are accepted), locked, cancelled. Once the summary is posted, a form still
open says so first (:func:`after_summary_notice`): what is given or changed
now is shown as given after the summary and never counted. It shows the
viewer's own request only, and never anyone else's ratings, notes or
recommendation.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from handlers.blocks.text import escape_mrkdwn, format_when, mrkdwn, plain, truncate
from rubric import Rubric
from storage.views import FormContext, InterviewView, RequestView

OPEN_ACTION = "feedback_open"
EDIT_ACTION = "feedback_edit"

# storage.models.InterviewState / RequestState values (handlers.blocks may not import
# storage.models: it pulls in SQLAlchemy).
CANCELLED = "cancelled"
DECLINED = "declined"

SECTION_MAX = 3000
FIELD_MAX = 2000
NAME_MAX = 120  # a candidate or role name inside a longer line
FALLBACK_NAME_MAX = 60  # the same in a notification, which phones cut short anyway

Block = dict[str, Any]


# -- pieces shared with app_home and commands ---------------------------------------


def level_name(rubric: Rubric, level_id: str) -> str:
    """The display name of a level; the id itself if the rubric does not know it."""
    try:
        return rubric.level(level_id).name
    except KeyError:
        return level_id


def skill_names(rubric: Rubric, skill_ids: tuple[str, ...]) -> list[str]:
    """Display names of skills, in the given order; unknown ids are shown as they are."""
    names: list[str] = []
    for skill_id in skill_ids:
        try:
            names.append(rubric.skill(skill_id).name)
        except KeyError:
            names.append(skill_id)
    return names


def interview_title(interview: InterviewView, rubric: Rubric | None = None) -> str:
    """``*Ada Lovelace* — Senior ML Engineer (target: Senior)`` in mrkdwn, names escaped."""
    candidate = escape_mrkdwn(truncate(interview.candidate, NAME_MAX))
    role = escape_mrkdwn(truncate(interview.role, NAME_MAX))
    title = f"*{candidate}* — {role}"
    if rubric is not None and interview.target_level:
        title += f" (target: {escape_mrkdwn(level_name(rubric, interview.target_level))})"
    return title


def fallback_subject(interview: InterviewView) -> str:
    """``Ada Lovelace (Senior ML Engineer)`` for notification text: short, no markup."""
    candidate = escape_mrkdwn(truncate(interview.candidate, FALLBACK_NAME_MAX))
    role = escape_mrkdwn(truncate(interview.role, FALLBACK_NAME_MAX))
    return f"{candidate} ({role})"


def interview_when(interview: InterviewView, tz: tzinfo) -> str:
    """``Mon 1 Mar 2027, 10:00 CET (60 min)``."""
    minutes = round((interview.ends_at - interview.starts_at).total_seconds() / 60)
    when = format_when(interview.starts_at, tz)
    return f"{when} ({minutes} min)" if minutes > 0 else when


def is_overdue(request: RequestView, now: datetime) -> bool:
    return request.due_at <= now


def due_text(request: RequestView, tz: tzinfo, now: datetime | None = None) -> str:
    """``due Tue 2 Mar …``, or ``:warning: *overdue* (was due …)`` once ``now`` has passed it."""
    when = format_when(request.due_at, tz)
    if now is not None and is_overdue(request, now):
        return f":warning: *overdue* (was due {when})"
    return f"due {when}"


def is_cancelled(ctx: FormContext) -> bool:
    return ctx.request.interview.state == CANCELLED


def no_feedback_needed(ctx: FormContext) -> bool:
    """Cancelled interviews and declined requests need no feedback, whatever else holds."""
    return is_cancelled(ctx) or ctx.request.state == DECLINED


def open_button(public_id: str, *, primary: bool = True) -> Block:
    """The "Give feedback" button; its value is the request's public id and nothing else."""
    button: Block = {
        "type": "button",
        "action_id": OPEN_ACTION,
        "text": plain("Give feedback"),
        "value": public_id,
    }
    if primary:
        button["style"] = "primary"
    return button


def edit_button(public_id: str) -> Block:
    """The "Edit feedback" button; its value is the request's public id and nothing else."""
    return {
        "type": "button",
        "action_id": EDIT_ACTION,
        "text": plain("Edit feedback"),
        "value": public_id,
    }


def after_summary_notice(ctx: FormContext) -> str:
    """What giving or changing feedback means once the summary is out (mrkdwn, one line).

    Shown at the top of the DM and of the modal while ``ctx.after_summary``
    (DESIGN "After a partial summary"): nothing given or changed now moves the
    panel's consensus.
    """
    head = ":hourglass: The summary is already posted in the hiring channel."
    if ctx.own_feedback is None:
        body = (
            "Feedback you give now is shown in its thread as given after the summary, "
            "and does not change the panel's consensus."
        )
    else:
        body = "An edit you make now is shown in its thread as made after the summary"
        body += (
            "; a shadow's feedback never counts in the consensus."
            if ctx.shadow
            else "; the version from before the summary keeps counting."
        )
    if ctx.shadow and ctx.own_feedback is None:
        body += " As a shadow, yours never counts anyway."
    return f"{head} {body}"


SHADOW_NOTE = (
    "You are a *shadow* on this panel: rate as everyone does. Your feedback is shown "
    "apart and never counts in the panel's consensus."
)


def section(text: str, *, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(truncate(text, SECTION_MAX))}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(truncate(text, SECTION_MAX))]}


# -- the DM ---------------------------------------------------------------------------


def build_form_dm(
    ctx: FormContext, *, tz: tzinfo, reminder: bool = False
) -> tuple[str, list[Block]]:
    """The feedback DM for one request, in the interviewer's time zone.

    Args:
        ctx: the viewer's own request, rubric and (once submitted) feedback.
        tz: the interviewer's time zone (``users.info`` ``tz``).
        reminder: word it as a nudge; only used while feedback is still missing.

    Returns:
        (fallback text for notifications, blocks).
    """
    interview = ctx.request.interview
    if no_feedback_needed(ctx):
        return _not_needed(ctx, tz)
    if ctx.own_feedback is not None:
        return _submitted(ctx, tz)
    if not ctx.editable:
        return _closed(ctx, tz)

    if ctx.after_summary:
        return _after_summary(ctx, tz)

    title = interview_title(interview, ctx.rubric)
    due = format_when(ctx.request.due_at, tz)
    subject = fallback_subject(interview)
    if reminder:
        headline = f":bell: Reminder: your feedback on {title} is still missing."
        fallback = f"Reminder: your feedback on {subject} is due {due}"
    else:
        headline = f"Time to give feedback on {title}"
        fallback = f"Time to give feedback on {subject}, due {due}"

    focus_text = _focus_text(ctx)
    blocks: list[Block] = [
        section(headline),
        {
            "type": "section",
            "fields": [
                mrkdwn(f"*Interview*\n{interview_when(interview, tz)}"),
                mrkdwn(f"*Due*\n{due}"),
            ],
        },
        section(f"*Your focus skills*\n{truncate(focus_text, FIELD_MAX)}"),
        {"type": "actions", "elements": [open_button(ctx.request.public_id)]},
        context(
            "Rate each skill against the rubric's level descriptors; "
            "skills you did not cover can be marked “Not assessed”."
            + (f" {SHADOW_NOTE}" if ctx.shadow else "")
        ),
    ]
    return fallback, blocks


def _focus_text(ctx: FormContext) -> str:
    focus = skill_names(ctx.rubric, ctx.request.focus_skills)
    if not focus:
        return "None assigned: rate the skills you observed."
    return ", ".join(escape_mrkdwn(name) for name in focus)


def _after_summary(ctx: FormContext, tz: tzinfo) -> tuple[str, list[Block]]:
    # Still missing once the summary is out: they may give it (their evidence has
    # value), told plainly that it is shown apart and no longer due.
    interview = ctx.request.interview
    focus_text = _focus_text(ctx)
    blocks: list[Block] = [
        section(after_summary_notice(ctx)),
        section(
            f"You can still give your feedback on {interview_title(interview, ctx.rubric)}, "
            f"interview {interview_when(interview, tz)}.\n"
            f"*Your focus skills*\n{truncate(focus_text, FIELD_MAX)}"
        ),
        {"type": "actions", "elements": [open_button(ctx.request.public_id)]},
    ]
    fallback = (
        f"Summary posted for {fallback_subject(interview)}: "
        "feedback you give now is shown as given after it"
    )
    return fallback, blocks


def _submitted(ctx: FormContext, tz: tzinfo) -> tuple[str, list[Block]]:
    assert ctx.own_feedback is not None
    interview = ctx.request.interview
    feedback = ctx.own_feedback
    status = f"Feedback submitted ✓ {format_when(feedback.submitted_at, tz)}"
    if feedback.updated_at > feedback.submitted_at:
        status += f" (last edited {format_when(feedback.updated_at, tz)})"
    blocks: list[Block] = [
        section(
            f"*{status}*\n{interview_title(interview, ctx.rubric)}, "
            f"interview {interview_when(interview, tz)}"
        )
    ]
    if ctx.editable:
        blocks.append({"type": "actions", "elements": [edit_button(ctx.request.public_id)]})
        if ctx.after_summary:
            blocks.append(context(after_summary_notice(ctx)))
    else:
        blocks.append(context(escape_mrkdwn(ctx.locked_reason or "Your feedback is locked.")))
    fallback = f"Feedback submitted ✓ for {fallback_subject(interview)}"
    return fallback, blocks


def _closed(ctx: FormContext, tz: tzinfo) -> tuple[str, list[Block]]:
    # Not submitted and no longer accepted (e.g. the summary was posted without it).
    interview = ctx.request.interview
    reason = ctx.locked_reason or "Feedback for this interview is closed."
    blocks = [
        section(
            f"Feedback on {interview_title(interview, ctx.rubric)} is closed.\n"
            f"Interview {interview_when(interview, tz)}"
        ),
        context(escape_mrkdwn(reason)),
    ]
    return f"Feedback on {fallback_subject(interview)} is closed", blocks


def _not_needed(ctx: FormContext, tz: tzinfo) -> tuple[str, list[Block]]:
    interview = ctx.request.interview
    title = interview_title(interview, ctx.rubric)
    when = interview_when(interview, tz)
    subject = fallback_subject(interview)
    if is_cancelled(ctx):
        text = f":no_entry_sign: The interview with {title} on {when} was cancelled — "
        text += "no feedback needed."
        fallback = f"Interview with {subject} cancelled — no feedback needed"
    else:
        text = f"You are no longer on the panel for {title} on {when} — no feedback needed."
        fallback = f"No feedback needed for {subject}"
    return fallback, [section(text)]
