"""When a source cancels interviews: their sent form DMs say so, as ``/interview cancel`` does.

storage.intake cancels in the source's transaction and returns the ids; after that
transaction commits, the endpoint or poll calls the ``on_cancelled`` callback that
bot.sources builds from :func:`refresh_cancelled_forms`. The Slack calls run on the
context's after-ack threads, so a webhook answers without waiting for Slack.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk import WebClient

from handlers.context import BotContext
from handlers.feedback import update_form_dm
from handlers.timezones import TimeZones
from storage.queries import sent_forms_of_interview

__all__ = ["refresh_cancelled_forms", "update_cancelled_forms"]

logger = logging.getLogger(__name__)


def refresh_cancelled_forms(
    ctx: BotContext, client: WebClient, timezones: TimeZones, interview_ids: Sequence[int]
) -> None:
    """Update, in the background, the sent form DMs of the cancelled ``interview_ids``."""
    if interview_ids:
        ctx.later(update_cancelled_forms, ctx, client, timezones, tuple(interview_ids))


def update_cancelled_forms(
    ctx: BotContext, client: WebClient, timezones: TimeZones, interview_ids: Sequence[int]
) -> int:
    """Update the sent form DMs now (each loses its buttons and says the interview is off).

    Returns how many DMs were updated; one that fails is logged (update_form_dm).
    """
    updated = 0
    for interview_id in interview_ids:
        now = ctx.now()
        with ctx.session_factory() as session:
            forms = sent_forms_of_interview(session, interview_id, policy=ctx.policy, now=now)
        for form in forms:
            update_form_dm(client, form, timezones)
            updated += 1
    if updated:
        logger.info(
            "updated %d form DM(s) of %d cancelled interview(s)", updated, len(interview_ids)
        )
    return updated
