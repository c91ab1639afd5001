"""The feedback flow in Slack: the DM's buttons open the modal; its submission is stored.

Every callback carries only the request's opaque id; the guard (handlers.guard)
decides whether the Slack user is its interviewer and hands its transaction over.
Each listener parses, makes one storage.feedback_flows call in that transaction
and answers. A valid submission is committed before the ack, so an ack that
closed the modal always means the feedback is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

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
from handlers.guard import ACTING_USER, FLOW_SESSION, UNAVAILABLE
from handlers.metrics import FEEDBACK_SUBMISSIONS
from handlers.timezones import TimeZones
from storage.access import Decision
from storage.feedback import SubmitOutcome
from storage.feedback_flows import (
    FORM_GONE,
    PAGES_LOST,
    FlowKind,
    FlowResult,
    PageCheck,
    open_form,
    save_page,
    submit_form,
)
from storage.models import FeedbackRequest
from storage.views import FormContext

logger = logging.getLogger(__name__)

__all__ = ["FORM_GONE", "PAGES_LOST", "FeedbackListeners", "update_form_dm"]


class FeedbackListeners:
    """The form's listeners: parse the payload, make one flow call, answer Slack."""

    def __init__(self, ctx: BotContext, timezones: TimeZones) -> None:
        self.ctx = ctx
        self.timezones = timezones

    # -- the DM's "Give feedback" / "Edit feedback" buttons ----------------------
    def open_form(
        self, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        ack()  # a button's ack promises nothing; the form is read in the guard's transaction
        session, request, _user = _flow(context)
        try:
            with session:
                result = open_form(
                    session, request=request, policy=self.ctx.policy, now=self.ctx.now()
                )
        except SQLAlchemyError as exc:
            logger.warning("could not open the form: database error %s", type(exc).__name__)
            result = FlowResult(FlowKind.NOTICE, notice=UNAVAILABLE)
        self.ctx.later(self._open_view, client, str(body.get("trigger_id", "")), result)

    def _open_view(self, client: WebClient, trigger_id: str, result: FlowResult) -> None:
        if result.form is None:
            view = build_notice_modal(result.notice or FORM_GONE)
        else:
            pages = plan_pages(result.form.rubric, result.form.request.focus_skills)
            view = build_feedback_modal(result.form, page=0, pages=pages, draft=dict(result.draft))
        try:
            client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            logger.warning("views.open failed: %s", exc.response.get("error"))

    # -- view_submission of a page or the final page --------------------------------
    def submit_page(
        self, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        self._submit(ack, body, client, context, final=False)

    def submit_final(
        self, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        self._submit(ack, body, client, context, final=True)

    def _submit(
        self,
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        *,
        final: bool,
    ) -> None:
        session, request, user = _flow(context)
        with session:  # the guard's transaction, handed over: closed here whatever happens
            self._submit_in(ack, body, client, session, request, user, final=final)

    def _submit_in(
        self,
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        session: Session,
        request: FeedbackRequest,
        user: str,
        *,
        final: bool,
    ) -> None:
        view = body.get("view") or {}
        try:
            public_id, page = parse_metadata(str(view.get("private_metadata") or ""))
        except ValueError:  # the guard refuses these; kept for a listener called directly
            ack(response_action="update", view=build_notice_modal(FORM_GONE))
            return
        state = view.get("state")
        values = state.get("values") if isinstance(state, dict) else None
        check = self._checker(values if isinstance(values, dict) else {}, page, final)
        policy, now = self.ctx.policy, self.ctx.now()
        try:
            if final:
                result = submit_form(
                    session,
                    request=request,
                    user_id=user,
                    check=check,
                    policy=policy,
                    now=now,
                )
            else:
                result = save_page(session, request=request, check=check, policy=policy, now=now)
        except SQLAlchemyError as exc:
            # The database is down or dropped the transaction (a restart, a failover):
            # nothing is acked as stored. Keep the modal open with the answers and ask
            # for another submit, which is idempotent even if the commit did land.
            _log_not_stored(user, exc)
            block = last_input_block(view)
            if block is None:  # not our modal's shape; a notice at least says what happened
                ack(response_action="update", view=build_notice_modal(SAVE_FAILED_ERROR))
            else:
                ack(response_action="errors", errors={block: SAVE_FAILED_ERROR})
            return
        self._answer(ack, client, result, public_id, user, page)

    def _checker(
        self, values: dict[str, Any], page: int, final: bool
    ) -> Callable[[FormContext], PageCheck]:
        """The modal's checks of the submitted page, run by the flow on the loaded form."""
        require_evidence = self.ctx.policy.require_evidence

        def check(form: FormContext) -> PageCheck:
            pages = plan_pages(form.rubric, form.request.focus_skills)
            if not 0 <= page < len(pages) or final != (page == len(pages) - 1):
                return PageCheck(gone=True)
            answers = read_submission(values, form.rubric, pages[page])
            errors = validate_answers(
                form, pages[page], answers, final=final, require_evidence=require_evidence
            )
            return PageCheck(
                ratings=answers.ratings,
                recommendation=answers.recommendation,
                notes=answers.notes,
                errors=errors,
                pages=len(pages),
            )

        return check

    def _answer(
        self,
        ack: Ack,
        client: WebClient,
        result: FlowResult,
        public_id: str,
        user: str,
        page: int,
    ) -> None:
        """The flow's result as Slack's answer; the DM refresh after a stored one."""
        if result.kind is FlowKind.ERRORS:
            ack(response_action="errors", errors=dict(result.errors))
        elif result.kind is FlowKind.NOTICE:
            if result.refusal is not None:
                logger.info("feedback submission refused for %s: %s", user, result.refusal)
            ack(response_action="update", view=build_notice_modal(result.notice))
        elif result.kind is FlowKind.NEXT_PAGE:
            assert result.form is not None
            pages = plan_pages(result.form.rubric, result.form.request.focus_skills)
            next_view = build_feedback_modal(
                result.form, page=page + 1, pages=pages, draft=dict(result.draft)
            )
            ack(response_action="push", view=next_view)
        else:
            # Stored and committed: only now tell Slack the modal may close.
            if page > 0:
                ack(response_action="clear")  # close the pushed pages too
            else:
                ack()
            outcome = result.outcome
            logger.info("feedback %s for request %s", outcome, public_id)
            if outcome in (SubmitOutcome.CREATED, SubmitOutcome.UPDATED):
                FEEDBACK_SUBMISSIONS.labels(outcome=str(outcome)).inc()
            if result.form is not None:
                self.ctx.later(update_form_dm, client, result.form, self.timezones)


def _flow(context: BoltContext) -> tuple[Session, FeedbackRequest, str]:
    """The guard's open transaction, the request row it authorized, and the acting user."""
    decision = context["access"]
    assert isinstance(decision, Decision)
    assert decision.request is not None  # HELD actions target a request
    return context[FLOW_SESSION], decision.request, str(context[ACTING_USER])


def _log_not_stored(user: str, exc: SQLAlchemyError) -> None:
    # Only class names are logged: the exception's text holds the SQL parameters,
    # i.e. the feedback.
    orig = getattr(exc, "orig", None)
    logger.warning(
        "feedback submission from %s not stored: database error %s%s",
        user,
        type(exc).__name__,
        f" ({type(orig).__name__})" if orig is not None else "",
    )


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
