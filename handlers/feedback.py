"""The feedback flow in Slack: the DM's buttons open the modal; its submission is stored.

Every callback checks that the Slack user is the request's interviewer
(storage.feedback refuses otherwise) and carries only the request's opaque id.
A valid submission is committed before the ack, so an ack that closed the modal
always means the feedback is stored.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from handlers.blocks.feedback_modal import (
    SAVE_FAILED_ERROR,
    build_feedback_modal,
    parse_metadata,
    plan_pages,
    read_submission,
    validate_answers,
)
from handlers.blocks.form_dm import build_form_dm
from handlers.blocks.notice import build_notice_modal, last_input_block
from handlers.context import BotContext
from handlers.metrics import FEEDBACK_SUBMISSIONS
from handlers.timezones import TimeZones
from storage.feedback import (
    FeedbackRefused,
    SubmitOutcome,
    load_draft,
    load_form_context,
    save_draft,
    submit_feedback,
)
from storage.views import FormContext

logger = logging.getLogger(__name__)

FORM_GONE = "This feedback form is no longer available."
PAGES_LOST = (
    "The answers of this form's earlier pages were not found, so nothing was saved. "
    "Please open the form again from its message."
)


class FeedbackListeners:
    def __init__(self, ctx: BotContext, timezones: TimeZones) -> None:
        self.ctx = ctx
        self.timezones = timezones

    # -- the DM's "Give feedback" / "Edit feedback" buttons ----------------------
    def open_form(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user = str(body["user"]["id"])
        trigger_id = str(body.get("trigger_id", ""))
        public_id = str((body.get("actions") or [{}])[0].get("value") or "")
        self.ctx.later(self._open_form, client, user, trigger_id, public_id)

    def _open_form(self, client: WebClient, user: str, trigger_id: str, public_id: str) -> None:
        view = self._form_view(public_id, user)
        try:
            client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            logger.warning("views.open failed: %s", exc.response.get("error"))

    def _form_view(self, public_id: str, user: str) -> dict[str, Any]:
        try:
            with self.ctx.session_factory.begin() as session:
                form = load_form_context(
                    session,
                    public_id[:64],
                    user_id=user,
                    policy=self.ctx.policy,
                    now=self.ctx.now(),
                )
                draft = load_draft(session, public_id, user_id=user) if form.editable else {}
        except FeedbackRefused as refused:
            logger.info("feedback form refused for %s: %s", user, refused.reason)
            return build_notice_modal(refused.message)
        if not form.editable:
            return build_notice_modal(form.locked_reason or FORM_GONE)
        pages = plan_pages(form.rubric, form.request.focus_skills)
        return build_feedback_modal(form, page=0, pages=pages, draft=draft)

    # -- view_submission of a page or the final page --------------------------------
    def submit_page(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        self._submit(ack, body, client, final=False)

    def submit_final(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        self._submit(ack, body, client, final=True)

    def _submit(self, ack: Ack, body: dict[str, Any], client: WebClient, *, final: bool) -> None:
        user = str(body["user"]["id"])
        view = body.get("view") or {}
        try:
            public_id, page = parse_metadata(str(view.get("private_metadata") or ""))
        except ValueError:
            logger.warning("feedback submission with unreadable private_metadata from %s", user)
            ack(response_action="update", view=build_notice_modal(FORM_GONE))
            return
        state = view.get("state")
        values = state.get("values") if isinstance(state, dict) else None
        values = values if isinstance(values, dict) else {}
        now = self.ctx.now()
        try:
            with self.ctx.session_factory.begin() as session:
                form = load_form_context(
                    session, public_id, user_id=user, policy=self.ctx.policy, now=now
                )
                if not form.editable:
                    ack(
                        response_action="update",
                        view=build_notice_modal(form.locked_reason or FORM_GONE),
                    )
                    return
                pages = plan_pages(form.rubric, form.request.focus_skills)
                if not 0 <= page < len(pages) or final != (page == len(pages) - 1):
                    ack(response_action="update", view=build_notice_modal(FORM_GONE))
                    return
                answers = read_submission(values, form.rubric, pages[page])
                errors = validate_answers(
                    form,
                    pages[page],
                    answers,
                    final=final,
                    require_evidence=self.ctx.policy.require_evidence,
                )
                if errors:
                    ack(response_action="errors", errors=errors)
                    return
                if not final:
                    save_draft(
                        session,
                        public_id,
                        user_id=user,
                        ratings=list(answers.ratings.values()),
                        now=now,
                    )
                    draft = load_draft(session, public_id, user_id=user)
                    next_view = build_feedback_modal(form, page=page + 1, pages=pages, draft=draft)
                else:
                    draft = load_draft(session, public_id, user_id=user)
                    if len(pages) > 1 and not draft:
                        # The earlier pages' answers are not in a draft (a second modal
                        # submitted its last page again, or a replay): keep the stored
                        # ones rather than delete them; without any, ask to start over.
                        if form.own_feedback is None:
                            ack(response_action="update", view=build_notice_modal(PAGES_LOST))
                            return
                        draft = {r.skill_id: r for r in form.own_feedback.ratings}
                    ratings = {**draft, **answers.ratings}
                    outcome = submit_feedback(
                        session,
                        public_id,
                        user_id=user,
                        recommendation=answers.recommendation or "",
                        notes=answers.notes,
                        ratings=list(ratings.values()),
                        policy=self.ctx.policy,
                        now=now,
                    )
        except FeedbackRefused as refused:
            logger.info("feedback submission refused for %s: %s", user, refused.reason)
            ack(response_action="update", view=build_notice_modal(refused.message))
            return
        except SQLAlchemyError as exc:
            # The database is down or dropped the transaction (a restart, a failover):
            # nothing is acked as stored. Keep the modal open with the answers and ask
            # for another submit, which is idempotent even if the commit did land.
            # Only class names are logged: the exception's text holds the SQL
            # parameters, i.e. the feedback.
            orig = getattr(exc, "orig", None)
            logger.warning(
                "feedback submission from %s not stored: database error %s%s",
                user,
                type(exc).__name__,
                f" ({type(orig).__name__})" if orig is not None else "",
            )
            if ack.response is not None:
                return  # already answered (validation errors or a notice) before the failure
            block = last_input_block(view)
            if block is None:  # not our modal's shape; a notice at least says what happened
                ack(response_action="update", view=build_notice_modal(SAVE_FAILED_ERROR))
                return
            ack(response_action="errors", errors={block: SAVE_FAILED_ERROR})
            return
        if not final:
            ack(response_action="push", view=next_view)
            return
        # Stored and committed: only now tell Slack the modal may close.
        if len(pages) > 1:
            ack(response_action="clear")  # close the pushed pages too
        else:
            ack()
        logger.info("feedback %s for request %s", outcome.value, public_id)
        if outcome in (SubmitOutcome.CREATED, SubmitOutcome.UPDATED):
            FEEDBACK_SUBMISSIONS.labels(outcome=outcome.value).inc()
        self.ctx.later(self._refresh_dm, client, public_id, user)

    def _refresh_dm(self, client: WebClient, public_id: str, user: str) -> None:
        """After the ack: show the DM as submitted, with its Edit button (best effort)."""
        try:
            with self.ctx.session_factory.begin() as session:
                form = load_form_context(
                    session, public_id, user_id=user, policy=self.ctx.policy, now=self.ctx.now()
                )
        except FeedbackRefused:
            return
        except SQLAlchemyError as exc:
            # The feedback is stored; only the DM keeps its old buttons (they still work).
            logger.warning("could not refresh the form DM: database error %s", type(exc).__name__)
            return
        update_form_dm(client, form, self.timezones)


def update_form_dm(client: WebClient, form: FormContext, timezones: TimeZones) -> None:
    request = form.request
    if not request.dm_channel or not request.dm_ts:
        return
    text, blocks = build_form_dm(form, tz=timezones.of(client, request.interviewer))
    try:
        client.chat_update(channel=request.dm_channel, ts=request.dm_ts, text=text, blocks=blocks)
    except SlackApiError as exc:
        logger.warning("could not update the form DM: %s", exc.response.get("error"))
    except OSError as exc:
        logger.warning("could not update the form DM: %s", exc)
