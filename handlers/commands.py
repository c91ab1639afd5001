"""``/interview``: help, list, schedule and cancel.

Replies are ephemeral: the slash command's ack carries them, so nothing is posted
where others can see it. ``schedule`` and ``cancel`` are for the recruiters named in
``access.recruiters``.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.blocks.calibration import build_calibration_report
from handlers.blocks.commands import build_help, build_list, build_notice
from handlers.blocks.schedule_modal import build_schedule_modal
from handlers.blocks.summary import build_summary, consensus_of
from handlers.blocks.text import escape_mrkdwn
from handlers.command_text import CommandText, parse_command
from handlers.context import BotContext
from handlers.feedback import update_form_dm
from handlers.summary import CandidateDisplay
from handlers.timezones import TimeZones
from storage.audit import record_audit
from storage.calibration import calibration_report
from storage.queries import (
    CancelOutcome,
    cancel_interview,
    forms_for_interviewer,
    interviews_for_owner,
    sent_forms_of_interview,
)
from storage.summaries import summary_for_viewer
from storage.views import FormContext

logger = logging.getLogger(__name__)


class CommandListeners:
    """Only reached through the guard, which has checked the caller's role (storage.access)."""

    def __init__(
        self,
        ctx: BotContext,
        timezones: TimeZones,
        *,
        candidate_display: CandidateDisplay = "full",
    ) -> None:
        self.ctx = ctx
        self.timezones = timezones
        self.candidate_display = candidate_display

    def interview(
        self, ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        user = str(command.get("user_id", ""))
        parsed = context.get("command_text")
        if not isinstance(parsed, CommandText):
            parsed = parse_command(command.get("text"))
        if parsed.sub == "list":
            self._reply(ack, *self._list(client, user))
        elif parsed.sub == "summary":
            self._reply(ack, *self._summary(user, parsed))
        elif parsed.sub == "schedule":
            self._schedule(ack, client, str(command.get("trigger_id", "")))
        elif parsed.sub == "calibration":
            self._calibration(ack, client, user, parsed)
        elif parsed.sub == "cancel":
            text, blocks, cancelled = self._cancel(user, parsed)
            self._reply(ack, text, blocks)
            # After the ack: the panel's DMs lose their buttons and say why.
            self.ctx.later(self._update_dms, client, cancelled)
        else:
            self._reply(ack, *build_help())

    @staticmethod
    def _reply(ack: Ack, text: str, blocks: list[dict[str, Any]]) -> None:
        ack(text=text, blocks=blocks, response_type="ephemeral")

    def _list(self, client: WebClient, user: str) -> tuple[str, list[dict[str, Any]]]:
        now = self.ctx.now()
        with self.ctx.session_factory.begin() as session:
            open_forms, _recent = forms_for_interviewer(
                session, user, policy=self.ctx.policy, now=now
            )
            owned = interviews_for_owner(session, user, now=now)
        tz = self.timezones.of(client, user)
        return build_list(open_forms=open_forms, owned=owned, tz=tz, now=now)

    def _summary(self, user: str, parsed: CommandText) -> tuple[str, list[dict[str, Any]]]:
        """The current summary, ephemeral, for the interview's recruiter and hiring lead only."""
        if parsed.interview_id is None:
            return build_notice(
                "Usage: `/interview summary &lt;id&gt;` (the id from `/interview list`)."
            )
        interview_id = parsed.interview_id
        with self.ctx.session_factory.begin() as session:
            # Checked again here (the guard decided a moment ago): ids reveal nothing.
            data = summary_for_viewer(session, interview_id, user_id=user)
        if data is None:
            return build_notice(f"No interview {interview_id} that you recruit for or lead.")
        if not data.feedback:
            return build_notice(f"No feedback has been submitted for interview {interview_id} yet.")
        return build_summary(
            data,
            consensus_of(data),
            candidate_display=self.candidate_display,
            now=self.ctx.now(),
        )

    # -- calibration: computed after the ack, sent as a DM (it can take a moment) ----------
    def _calibration(self, ack: Ack, client: WebClient, user: str, parsed: CommandText) -> None:
        if parsed.usage:
            self._reply(
                ack,
                *build_notice(
                    "Usage: `/interview calibration [rubric] [--since 90d]`, for example "
                    "`/interview calibration mle --since 180d` (from 1d to 3660d)."
                ),
            )
            return
        self._reply(
            ack,
            *build_notice(
                "Working out how consistently the team rates each skill; "
                "the report arrives as a direct message from the bot in a moment."
            ),
        )
        self.ctx.later(self._send_calibration, client, user, parsed)

    def _send_calibration(self, client: WebClient, user: str, parsed: CommandText) -> None:
        now = self.ctx.now()
        since = now - (parsed.since or self.ctx.calibration.period)
        with self.ctx.session_factory.begin() as session:
            reports = calibration_report(
                session,
                since=since,
                until=now,
                rubric_id=parsed.rubric_id,
                min_ratings=self.ctx.calibration.min_ratings,
            )
            record_audit(
                session,
                actor=user,
                action="calibration.viewed",
                entity="rubric",
                entity_id=parsed.rubric_id or "*",
                detail={"days": (now - since).days},
                at=now,
            )
        if parsed.rubric_id and not reports and parsed.rubric_id not in self.ctx.registry.ids():
            known = ", ".join(f"`{escape_mrkdwn(i)}`" for i in self.ctx.registry.ids())
            text, blocks = build_notice(
                f"I know no rubric `{escape_mrkdwn(parsed.rubric_id)}`. Rubrics: {known}."
            )
        else:
            text, blocks = build_calibration_report(
                reports, since=since, until=now, rubric_id=parsed.rubric_id
            )
        try:
            client.chat_postMessage(channel=user, text=text, blocks=blocks)
        except SlackApiError as exc:
            logger.warning("could not send the calibration report: %s", exc.response.get("error"))

    def _update_dms(self, client: WebClient, forms: list[FormContext]) -> None:
        for form in forms:
            update_form_dm(client, form, self.timezones)

    def _schedule(self, ack: Ack, client: WebClient, trigger_id: str) -> None:
        ack()
        self.ctx.later(self._open_schedule, client, trigger_id)

    def _open_schedule(self, client: WebClient, trigger_id: str) -> None:
        view = build_schedule_modal(list(self.ctx.registry.all()))
        try:
            client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            logger.warning(
                "views.open for the schedule modal failed: %s", exc.response.get("error")
            )

    def _cancel(
        self, user: str, parsed: CommandText
    ) -> tuple[str, list[dict[str, Any]], list[FormContext]]:
        """The reply, and the sent forms whose DMs must now say the interview is off."""
        if parsed.interview_id is None:
            usage = "Usage: `/interview cancel &lt;id&gt;` (the id from `/interview list`)."
            return *build_notice(usage), []
        interview_id = parsed.interview_id
        now = self.ctx.now()
        cancelled: list[FormContext] = []
        with self.ctx.session_factory.begin() as session:
            outcome = cancel_interview(session, interview_id, actor=user, now=now)
            if outcome is CancelOutcome.CANCELLED:
                cancelled = sent_forms_of_interview(
                    session, interview_id, policy=self.ctx.policy, now=now
                )
        messages = {
            CancelOutcome.CANCELLED: "is cancelled; no forms or reminders will go out.",
            CancelOutcome.ALREADY_CANCELLED: "was already cancelled.",
            CancelOutcome.NOT_FOUND: "does not exist.",
            CancelOutcome.NOT_ALLOWED: "is already summarised or archived; it cannot be cancelled.",
        }
        notice = escape_mrkdwn(f"Interview {interview_id} {messages[outcome]}")
        return *build_notice(notice), cancelled
