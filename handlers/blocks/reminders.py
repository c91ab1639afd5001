"""Reminders: the interviewer's nudge DM and its later states, and the recruiter's views.

Pure builders: plain data in, ``(fallback text, blocks)`` out; no Slack client, no
database. Every button's value is the request's ``public_id`` and nothing else.
What an interviewer sees is about their own request only; the recruiter's digest
and the hiring lead's escalation name who is missing, never what anyone wrote
(the view types carry no feedback to leak).

Tone: polite and brief. A nudge always says how many reminders remain, so people
can trust it will stop.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo

from handlers.blocks.form_dm import (
    FALLBACK_NAME_MAX,
    FIELD_MAX,
    NAME_MAX,
    OPEN_ACTION,
    Block,
    build_form_dm,
    context,
    interview_when,
    no_feedback_needed,
    open_button,
    section,
    skill_names,
)
from handlers.blocks.limits import MESSAGE_MAX_BLOCKS
from handlers.blocks.text import escape_mrkdwn, format_when, mention, plain, truncate
from storage.views import DigestItem, DigestLine, FormContext, InterviewView

__all__ = [
    "NOT_ATTENDED_ACTION",
    "NUDGE_NOW_ACTION",
    "OPEN_ACTION",
    "SNOOZE_HOUR_ACTION",
    "SNOOZE_MORNING_ACTION",
    "build_declined_notice",
    "build_digest",
    "build_escalation",
    "build_not_attended",
    "build_nudge",
    "build_nudge_queued",
    "build_snoozed",
    "humanize_duration",
]

SNOOZE_HOUR_ACTION = "nudge_snooze_hour"
SNOOZE_MORNING_ACTION = "nudge_snooze_morning"
NOT_ATTENDED_ACTION = "nudge_not_attended"
NUDGE_NOW_ACTION = "digest_nudge_now"

ERROR_MAX = 100  # a Slack error code shown in the digest (they are short; be safe)
ESCALATION_MENTIONS_MAX = 40  # mentions listed by name before "and N more"

# What a recruiter can do about a Slack error that stopped reminders.
_ERROR_HINTS = {
    "user_not_found": "check the Slack ID",
    "cannot_dm_bot": "that Slack ID belongs to a bot",
    "user_disabled": "the account is deactivated",
    "account_inactive": "the account is deactivated",
}


# -- text pieces ------------------------------------------------------------------------


def humanize_duration(delta: timedelta) -> str:
    """``45 min``, ``3 h 20 min``, ``1 d 4 h``: whole units, rounded down, at least ``1 min``.

    Days drop minutes (nobody needs them a day late); zero parts are left out.
    """
    minutes = max(1, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _subject(interview: InterviewView) -> str:
    """``*Ada Lovelace* (Senior ML Engineer)`` in mrkdwn, names escaped."""
    candidate = escape_mrkdwn(truncate(interview.candidate, NAME_MAX))
    role = escape_mrkdwn(truncate(interview.role, NAME_MAX))
    return f"*{candidate}* ({role})"


def _fallback_subject(interview: InterviewView) -> str:
    """``Ada Lovelace (Senior ML Engineer)``: short, no bold, for notifications."""
    candidate = escape_mrkdwn(truncate(interview.candidate, FALLBACK_NAME_MAX))
    role = escape_mrkdwn(truncate(interview.role, FALLBACK_NAME_MAX))
    return f"{candidate} ({role})"


def _aware(moment: datetime) -> datetime:
    # Storage keeps UTC; a naive time is UTC (as text.format_when assumes).
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _due_phrase(due_at: datetime, now: datetime, tz: tzinfo) -> str:
    """``was due Tue 2 Mar 2027, 11:00 CET (overdue by 3 h)`` or ``is due … (in 2 h)``."""
    when = format_when(due_at, tz)
    late = _aware(now) - _aware(due_at)
    if late >= timedelta(0):
        return f"was due {when} (overdue by {humanize_duration(late)})"
    return f"is due {when} (in {humanize_duration(-late)})"


def _button(text: str, action_id: str, public_id: str) -> Block:
    return {"type": "button", "action_id": action_id, "text": plain(text), "value": public_id}


# -- the interviewer's nudge ------------------------------------------------------------


def build_nudge(
    ctx: FormContext, *, tz: tzinfo, now: datetime, number: int, max_nudges: int
) -> tuple[str, list[Block]]:
    """A reminder DM to an interviewer whose feedback is still missing.

    Args:
        ctx: the interviewer's own request.
        tz: the interviewer's time zone.
        now: when the reminder goes out (for "overdue by …").
        number: which reminder this is, from 1; above ``max_nudges`` it is an extra one
            a recruiter asked for ("Nudge now") and is worded so.
        max_nudges: how many automatic reminders there are in all (0: none).

    If the request no longer needs feedback (cancelled, declined, submitted, closed,
    or the summary is posted without it), this is the ordinary feedback DM for that
    state: a nudge would be wrong.
    """
    if number < 1:
        raise ValueError(f"number must be >= 1, got {number}")
    if max_nudges < 0:
        raise ValueError(f"max_nudges must be >= 0, got {max_nudges}")
    if (
        no_feedback_needed(ctx)
        or ctx.own_feedback is not None
        or not ctx.editable
        or ctx.after_summary
    ):
        return build_form_dm(ctx, tz=tz)

    request = ctx.request
    interview = request.interview
    due = _due_phrase(request.due_at, now, tz)
    forced = number > max_nudges
    if forced:
        lead = "Your recruiter asked for this reminder"
        remaining = "No further automatic reminders will follow."
    else:
        lead = f"Reminder {number} of {max_nudges}"
        left = max_nudges - number
        remaining = (
            "This is the last reminder."
            if left == 0
            else f"{_plural(left, 'more reminder')} at most, then we stop."
        )

    focus = skill_names(ctx.rubric, request.focus_skills)
    focus_text = (
        ", ".join(escape_mrkdwn(name) for name in focus)
        if focus
        else "None assigned: rate the skills you observed."
    )
    blocks: list[Block] = [
        section(f":bell: {lead}: your feedback on {_subject(interview)} {due}."),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Interview*\n{interview_when(interview, tz)}"},
                {
                    "type": "mrkdwn",
                    "text": truncate(f"*Your focus skills*\n{focus_text}", FIELD_MAX),
                },
            ],
        },
        {
            "type": "actions",
            "elements": [
                open_button(request.public_id),
                _button("Snooze 1 h", SNOOZE_HOUR_ACTION, request.public_id),
                _button("Snooze until tomorrow morning", SNOOZE_MORNING_ACTION, request.public_id),
                _not_attended_button(request.public_id),
            ],
        },
        context(f"{remaining} Thanks for taking the time."),
    ]
    fallback = f"{lead}: your feedback on {_fallback_subject(interview)} {due}"
    return fallback, blocks


def _not_attended_button(public_id: str) -> Block:
    button = _button("I did not attend", NOT_ATTENDED_ACTION, public_id)
    button["confirm"] = {
        "title": plain("Did not attend?"),
        "text": plain(
            "Your recruiter will be told you did not attend this interview, "
            "and you will get no more reminders for it."
        ),
        "confirm": plain("Yes, I did not attend"),
        "deny": plain("Cancel"),
    }
    return button


def build_snoozed(ctx: FormContext, *, until: datetime, tz: tzinfo) -> tuple[str, list[Block]]:
    """The nudge after "Snooze …" (replaces it): when it comes back, and Give feedback."""
    request = ctx.request
    interview = request.interview
    when = format_when(until, tz)
    blocks: list[Block] = [
        section(
            f":zzz: Snoozed until {when} — we'll remind you then.\n"
            f"Your feedback on {_subject(interview)}, "
            f"interview {interview_when(interview, tz)}, was due {format_when(request.due_at, tz)}."
        ),
        {"type": "actions", "elements": [open_button(request.public_id)]},
    ]
    fallback = f"Snoozed until {when}: feedback on {_fallback_subject(interview)}"
    return fallback, blocks


def build_not_attended(ctx: FormContext) -> tuple[str, list[Block]]:
    """The nudge after "I did not attend" (replaces it): no buttons, nothing more to do."""
    interview = ctx.request.interview
    text = (
        f"Noted: you did not attend the interview with {_subject(interview)}, "
        "so there will be no more reminders; the recruiter has been told. Thank you."
    )
    fallback = (
        f"Noted: you did not attend the interview with {_fallback_subject(interview)}; "
        "no more reminders."
    )
    return fallback, [section(text)]


# -- the recruiter's side ---------------------------------------------------------------


def build_declined_notice(
    ctx: FormContext, *, remaining: int, expected: int
) -> tuple[str, list[Block]]:
    """DM to the recruiter: an interviewer says they did not attend.

    Args:
        ctx: that interviewer's request.
        remaining: expected interviewers whose feedback is still missing (after this one).
        expected: interviewers still expected to give feedback (declined ones excluded).
    """
    if not 0 <= remaining <= expected:
        raise ValueError(f"need 0 <= remaining <= expected, got {remaining} and {expected}")
    request = ctx.request
    interview = request.interview
    who = mention(request.interviewer)
    if expected == 0:
        status = "No one on the panel is expected to give feedback now."
    elif remaining == 0:
        status = f"All expected feedback is in ({expected} of {expected})."
    else:
        status = f"Still to give feedback: {remaining} of {expected}."
    text = (
        f"{who} says they did not attend the interview with {_subject(interview)}; "
        f"they are no longer expected to give feedback. {status}"
    )
    fallback = f"{who} did not attend the interview with {_fallback_subject(interview)}"
    return fallback, [section(text)]


def build_nudge_queued(interviewer: str) -> tuple[str, list[Block]]:
    """Small confirmation after a recruiter's "Nudge now"."""
    text = f"Nudge queued for {mention(interviewer)}; it goes out outside their quiet hours."
    return text, [section(f":outbox_tray: {text}")]


def build_digest(
    items: Sequence[DigestItem], *, tz: tzinfo, now: datetime
) -> tuple[str, list[Block]]:
    """A recruiter's digest of missing feedback, one line (and Nudge now) per person.

    Within Slack's 50 blocks a message: what does not fit is counted in "and N more".
    ``now`` is when the digest was built (shown in the footer); how late each person is
    comes from ``DigestLine.overdue_by``. A line whose summary was posted without them
    (``DigestLine.after_summary``) says they were late, not overdue, and has no
    Nudge now: nothing they give now counts.
    """
    shown_items = [item for item in items if item.missing]
    people = sum(len(item.missing) for item in shown_items)
    late = sum(1 for item in shown_items for line in item.missing if line.after_summary)
    summary = (
        f"{_plural(people, 'person', 'people')} across {_plural(len(shown_items), 'interview')}"
    )
    if late:
        summary += f" ({late} late: the summary was posted without them)"
    fallback = f"Missing feedback: {summary}"
    if not shown_items:
        return "Missing feedback: none", [section("Nothing missing: all feedback is in.")]

    blocks: list[Block] = [section(f":hourglass_flowing_sand: *Missing feedback*: {summary}")]
    needed = len(blocks) + sum(1 + len(item.missing) for item in shown_items) + 1  # + footer
    # Keep room for the footer and, if anything is cut, the "and N more" line.
    budget = MESSAGE_MAX_BLOCKS - len(blocks) - (1 if needed <= MESSAGE_MAX_BLOCKS else 2)
    hidden_people = 0
    hidden_interviews = 0
    for item in shown_items:
        if budget < 2:  # an interview's heading without any of its lines would mislead
            hidden_people += len(item.missing)
            hidden_interviews += 1
            continue
        interview = item.interview
        blocks.append(section(f"{_subject(interview)} · {interview_when(interview, tz)}"))
        budget -= 1
        for line in item.missing:
            if budget < 1:
                hidden_people += 1
                continue
            blocks.append(_digest_line(line))
            budget -= 1
    if hidden_people:
        more = f"…and {_plural(hidden_people, 'more person', 'more people')} not shown"
        if hidden_interviews:
            left_out = _plural(hidden_interviews, "interview")
            more += f" ({left_out} left out entirely)"
        blocks.append(context(more + ": see App Home or `/interview list`."))
    blocks.append(context(f"As of {format_when(now, tz)}"))
    return fallback, blocks


LATE_TEXT = "late: the summary was posted without their feedback"


def _digest_line(line: DigestLine) -> Block:
    parts = [mention(line.interviewer)]
    sent = line.reminders_sent
    if line.after_summary:
        # No longer overdue: nothing given now counts. Reported once, without a button.
        parts.append(LATE_TEXT)
        parts.append(f"{_plural(sent, 'reminder')} sent" if sent else "no reminders sent")
    else:
        if line.overdue_by > timedelta(0):
            parts.append(f"overdue by {humanize_duration(line.overdue_by)}")
        else:
            parts.append("not overdue yet")
        parts.append(f"{_plural(sent, 'reminder')} sent" if sent else "no reminders sent yet")
    text = " · ".join(parts)
    if line.last_error:
        error = escape_mrkdwn(truncate(line.last_error, ERROR_MAX))
        hint = _ERROR_HINTS.get(line.last_error)
        text += f"\n:warning: reminders stopped: Slack says {error}"
        if hint:
            text += f" — {hint}"
    if line.after_summary:
        return section(text)
    return section(text, accessory=_button("Nudge now", NUDGE_NOW_ACTION, line.public_id))


# -- the hiring lead's escalation -------------------------------------------------------


def build_escalation(
    interview: InterviewView, missing: Sequence[str], *, tz: tzinfo
) -> tuple[str, list[Block]]:
    """For the hiring lead at the summary deadline: who is still missing.

    Sent only while no summary is posted (``storage.reminders.escalation_for``):
    once it is, the people without feedback are late and nobody is pointed at
    the summary to chase them.
    """
    subject = _subject(interview)
    channel = f"<#{interview.hiring_channel}>"
    when = format_when(interview.starts_at, tz)
    if not missing:
        text = (
            f"All feedback for {subject}, interviewed {when}, is in; the summary is in {channel}."
        )
        return f"All feedback is in for {_fallback_subject(interview)}", [section(text)]
    names = [mention(user) for user in missing[:ESCALATION_MENTIONS_MAX]]
    extra = len(missing) - len(names)
    listed = ", ".join(names) + (f" and {extra} more" if extra else "")
    text = (
        f"Feedback still missing for {subject}, interviewed {when}: {listed}. "
        f"The summary deadline has passed and no summary is posted in {channel} yet."
    )
    fallback = (
        f"Feedback still missing for {_fallback_subject(interview)} from "
        f"{_plural(len(missing), 'interviewer')}; the summary deadline has passed"
    )
    return fallback, [section(text)]
