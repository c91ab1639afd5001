"""The schedule modal's submission: one interview, validated like an import row."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.blocks.commands import build_notice
from handlers.blocks.schedule_modal import (
    FALLBACK_BLOCK,
    errors_for_blocks,
    read_schedule_state,
)
from handlers.blocks.schedule_prefill import incomplete_of_metadata
from handlers.blocks.text import escape_mrkdwn
from handlers.context import BotContext
from rubric.located_yaml import SourceErrors
from storage.import_file import InterviewSpec, parse_interview
from storage.incomplete import load_incomplete, resolve_incomplete
from storage.incomplete_view import IncompleteView
from storage.interviews import ImportResult, Timings, import_interviews

logger = logging.getLogger(__name__)

GONE = "This interview was completed or cancelled meanwhile; nothing was scheduled."


class ScheduleListeners:
    """Only reached through the guard (recruiting team only: storage.access)."""

    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    def submit(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        user = str(body["user"]["id"])
        view = body.get("view")
        state = view.get("state") if isinstance(view, dict) else None
        values = state.get("values") if isinstance(state, dict) else None
        values = values if isinstance(values, dict) else {}
        row, field_to_block = read_schedule_state(values, submitter=user)
        # Completing an incomplete interview: same external id and source, resolved with it.
        incomplete_id = incomplete_of_metadata(view)
        owner: IncompleteView | None = None
        if incomplete_id is not None:
            with self.ctx.session_factory() as session:
                owner = load_incomplete(session, incomplete_id)
            if owner is None:
                ack(response_action="errors", errors={FALLBACK_BLOCK: GONE})
                return
            row["external_id"] = owner.external_id
        try:
            spec = parse_interview(
                row, source="schedule modal", registry=self.ctx.registry, default_tz=None
            )
            result = self._store(spec, user, owner)
        except SourceErrors as exc:
            ack(response_action="errors", errors=errors_for_blocks(exc.errors, field_to_block))
            return
        ack()
        logger.info(
            "interview %d %s from the schedule modal", result.interview_id, result.outcome.value
        )
        shadows = sum(1 for member in spec.panel if member.shadow)
        panel = f"panel of {len(spec.panel)}" + (
            f" ({shadows} shadow{'s' if shadows > 1 else ''}, never counted)" if shadows else ""
        )
        text, blocks = build_notice(
            f"Interview {result.interview_id} {result.outcome.value}: "
            f"*{escape_mrkdwn(spec.candidate)}*, {escape_mrkdwn(spec.role)}, "
            f"{panel}. Forms go out after it ends."
        )
        self.ctx.later(_confirm, client, user, text, blocks)

    def _store(self, spec: InterviewSpec, user: str, owner: IncompleteView | None) -> ImportResult:
        now = self.ctx.now()
        with self.ctx.session_factory.begin() as session:
            [result] = import_interviews(
                session,
                [spec],
                registry=self.ctx.registry,
                timings=Timings(
                    form_delay=self.ctx.policy.form_delay,
                    summary_deadline=self.ctx.policy.summary_deadline,
                ),
                now=now,
                actor=user,
                source=owner.source if owner is not None else "modal",
            )
            if owner is not None:
                resolve_incomplete(session, owner.external_id, result.interview_id, now)
        return result


def _confirm(client: WebClient, user: str, text: str, blocks: list[dict[str, Any]]) -> None:
    try:
        client.chat_postMessage(channel=user, text=text, blocks=blocks)
    except SlackApiError as exc:
        logger.warning("could not confirm the schedule to %s: %s", user, exc.response.get("error"))
