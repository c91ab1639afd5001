"""The summary's "Debrief guide" button: the hiring lead's agenda, in a modal.

The guard (``Action.DEBRIEF_GUIDE``) has already decided who may see it: the
interview's recruiter and hiring lead and the recruiting team, and only once the
summary is posted; everyone else gets its usual refusal. The listener acks at once;
after the ack it reads the summary's data, builds the guide
(``handlers.blocks.debrief``) and opens it with the click's ``trigger_id`` (valid
3 seconds). When the modal cannot be opened (an expired trigger, Slack refusing
it), the guide is sent as a direct message instead.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from handlers.blocks.commands import build_notice
from handlers.blocks.debrief import DebriefGuide, debrief_guide
from handlers.blocks.debrief_render import render_guide_message, render_guide_view
from handlers.blocks.notice import build_notice_modal
from handlers.blocks.summary import CandidateDisplay, candidate_name
from handlers.context import BotContext
from storage.access import Decision
from storage.summaries import load_summary_data

logger = logging.getLogger(__name__)

NOT_POSTED = "The debrief guide opens once the interview's summary is posted."
UNREADABLE = "The debrief guide could not be read just now. Please try again in a minute."


class DebriefListeners:
    def __init__(self, ctx: BotContext, *, candidate_display: CandidateDisplay = "full") -> None:
        self.ctx = ctx
        self.candidate_display = candidate_display

    def open_guide(
        self, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        ack()
        decision = context.get("access")
        interview_id = decision.access.interview_id if isinstance(decision, Decision) else None
        if interview_id is None:  # pragma: no cover - the guard always sets it
            return
        user = str(body["user"]["id"])
        trigger_id = str(body.get("trigger_id") or "")
        self.ctx.later(self._open, client, user, trigger_id, interview_id)

    def _open(self, client: WebClient, user: str, trigger_id: str, interview_id: int) -> None:
        guide, problem = self._guide(interview_id)
        view = render_guide_view(guide) if guide is not None else build_notice_modal(problem)
        try:
            client.views_open(trigger_id=trigger_id, view=view)
            return
        except SlackApiError as exc:
            logger.warning(
                "debrief guide: views.open failed (%s); sending it as a DM",
                exc.response.get("error"),
            )
        text, blocks = render_guide_message(guide) if guide is not None else build_notice(problem)
        try:
            client.chat_postMessage(channel=user, text=text, blocks=blocks)
        except SlackApiError as exc:
            logger.warning("debrief guide: the DM failed too: %s", exc.response.get("error"))

    def _guide(self, interview_id: int) -> tuple[DebriefGuide | None, str]:
        try:
            with self.ctx.session_factory.begin() as session:
                data = load_summary_data(session, interview_id)
        except (SQLAlchemyError, KeyError) as exc:
            logger.error("debrief guide of interview %d: %s", interview_id, type(exc).__name__)
            return None, UNREADABLE
        if not data.posted:  # the guard checked; a summary is never unposted, but be plain
            return None, NOT_POSTED
        candidate = candidate_name(data, self.candidate_display)
        return debrief_guide(data, candidate=candidate), ""
