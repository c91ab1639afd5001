"""After the summary is posted: tell the interviewers still missing that it is out.

Their form DM is updated in place (``chat.update``, so it notifies nobody and
leaves no trail of messages) to say the summary is in the hiring channel and
that feedback given now is shown as given after it and never counted (DESIGN
"After a partial summary"). Called by the summary's ``finish`` unit, after its
thread; each refreshed DM is recorded like a thread reply
(:mod:`storage.summary_thread`), so a retried unit repeats none.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.blocks.form_dm import build_form_dm
from handlers.context import BotContext
from handlers.jobs import failure_code
from handlers.timezones import TimeZones
from storage.queries import missing_forms_after_summary
from storage.summary_thread import ThreadProgress, record_thread_post
from storage.views import FormContext

__all__ = ["TRANSIENT_SLACK_ERRORS", "refresh_missing_dms"]

logger = logging.getLogger(__name__)

# Worth retrying the whole unit for; anything else (message_not_found,
# channel_not_found, cant_update_message, ...) will not get better by retrying.
TRANSIENT_SLACK_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


def refresh_missing_dms(
    ctx: BotContext,
    client: WebClient,
    interview_id: int,
    progress: ThreadProgress,
    *,
    timezones: TimeZones | None = None,
) -> int:
    """Update the form DM of every interviewer still missing; return how many were updated.

    Missing: a request not declined, without feedback, whose form DM was sent
    (one not sent yet says the same by itself when it goes out). A DM already
    refreshed by an earlier try of this unit (``dm:<user>`` in ``progress``) is
    skipped. A permanent Slack error is logged and the DM skipped for good; a
    transient one (or Slack unreachable) propagates, so the unit is retried.
    """
    with ctx.session_factory.begin() as session:
        forms = missing_forms_after_summary(session, interview_id, policy=ctx.policy, now=ctx.now())
    pending = [f for f in forms if f"dm:{f.request.interviewer}" not in progress.done]
    if not pending:
        return 0
    if timezones is None:
        # The form DMs' sends stored these time zones: a database read each, no Slack call.
        timezones = TimeZones(ctx.default_tz, session_factory=ctx.session_factory, clock=ctx.now)
    updated = 0
    for form in pending:
        if _update(client, form, timezones):
            updated += 1
        with ctx.session_factory.begin() as session:
            record_thread_post(
                session,
                interview_id,
                progress.key(f"dm:{form.request.interviewer}"),
                now=ctx.now(),
            )
    return updated


def _update(client: WebClient, form: FormContext, timezones: TimeZones) -> bool:
    request = form.request
    if not request.dm_channel or not request.dm_ts:  # pragma: no cover - selected with a DM
        return False
    text, blocks = build_form_dm(form, tz=timezones.of(client, request.interviewer))
    try:
        client.chat_update(channel=request.dm_channel, ts=request.dm_ts, text=text, blocks=blocks)
    except SlackApiError as exc:
        status = exc.response.status_code
        error = failure_code(exc)
        if error in TRANSIENT_SLACK_ERRORS or status == 429 or status >= 500:
            raise
        # The code only: never the message's text.
        logger.warning(
            "form DM of %s not updated after the summary: %s", request.interviewer, error
        )
        return False
    return True
