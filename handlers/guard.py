"""The one authorization guard: a Bolt listener middleware in front of every listener.

It reads the acting user and the target (a request's opaque id from a button value
or the modal's ``private_metadata``; an interview number from the command text or
from a summary button's value),
asks :func:`storage.access.authorize`, and either lets the listener run or answers
the refusal itself, on the surface it came from: an ephemeral reply to a command,
a notice replacing a modal, a notice modal or ephemeral message after a button.
Listeners therefore never check roles themselves; the decision is in
``context["access"]``. For the feedback form's flows (:data:`HELD`) the guard
decides in a transaction it keeps open and hands to the listener
(``context[FLOW_SESSION]``, with the user it decided for in
``context[ACTING_USER]``): the flow (storage.feedback_flows) reuses the request
the decision loaded and commits in that same transaction. A refusal is committed
with its audit before any listener runs, as for every other action.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from handlers.access import Recruiters
from handlers.blocks.commands import build_notice
from handlers.blocks.feedback_modal import SAVE_FAILED_ERROR, parse_metadata
from handlers.blocks.notice import build_notice_modal, last_input_block
from handlers.command_text import parse_command
from handlers.context import BotContext
from handlers.metrics import ACCESS_REFUSED
from storage.access import MATRIX, USER_ID, Action, Decision, Role, authorize

logger = logging.getLogger(__name__)

Middleware = Callable[..., BoltResponse | None]

UNAVAILABLE = (
    "Interview feedback is briefly unavailable (its database is not answering). "
    "Nothing was changed; please try again in a minute."
)
# The feedback form's flows run in the transaction the guard decided in
# (storage.feedback_flows): one transaction per request, each row read once.
HELD = frozenset({Action.OPEN_FORM, Action.SAVE_PAGE, Action.SUBMIT})
FLOW_SESSION = "flow_session"  # context key: the guard's open Session (HELD actions)
ACTING_USER = "acting_user"  # context key: the user the guard decided for
_COMMAND_ACTIONS = {
    "help": Action.HELP,
    "list": Action.LIST,
    "summary": Action.VIEW_SUMMARY,
    "schedule": Action.SCHEDULE,
    "cancel": Action.CANCEL,
    "calibration": Action.CALIBRATION,
}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def loggable(user: str) -> str:
    """A user id fit for a log line: forged ones are not written out (log injection)."""
    return user if USER_ID.fullmatch(user) else "<malformed user id>"


def user_of(body: dict[str, Any]) -> str:
    """The acting user of any payload; "" when there is none."""
    user = body.get("user")
    if isinstance(user, dict):
        return _str(user.get("id"))
    event = _dict(body.get("event"))
    return _str(body.get("user_id")) or _str(event.get("user"))


def button_value(body: dict[str, Any]) -> str:
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else {}
    return _str(_dict(first).get("value"))


def button_interview(body: dict[str, Any]) -> int | None:
    """The interview number a button carries as its value (the summary's buttons)."""
    value = button_value(body)
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 10 else None


def metadata_request(body: dict[str, Any]) -> str | None:
    try:
        public_id, _page = parse_metadata(_str(_dict(body.get("view")).get("private_metadata")))
    except ValueError:
        return None
    return public_id


class Guard:
    """Builds the middleware for each listener; one instance per app."""

    def __init__(
        self, ctx: BotContext, recruiters: Recruiters, calibration: Recruiters | None = None
    ) -> None:
        self.ctx = ctx
        self.recruiters = recruiters
        self.calibration = calibration or Recruiters(())  # access.calibration

    # -- one middleware per surface -------------------------------------------------
    def button(self, action: Action) -> Middleware:
        """block_actions whose button value is a request's public id."""
        return self._button(action, lambda body: {"public_id": button_value(body)})

    def interview_button(self, action: Action) -> Middleware:
        """block_actions whose button value is an interview number (the summary's buttons)."""
        return self._button(action, lambda body: {"interview_id": button_interview(body)})

    def _button(
        self, action: Action, target: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> Middleware:
        """One button guard; ``target`` pulls what the button acts on out of the body."""

        def guard_button(
            body: dict[str, Any], client: WebClient, context: BoltContext, next: Callable[[], None]
        ) -> BoltResponse | None:
            if action in HELD:
                return self._held_button(body, client, context, next, action)
            decision = self._decide(client, user_of(body), action, "block_actions", **target(body))
            if decision is not None and decision.allowed:
                context["access"] = decision
                next()
                return None
            message = UNAVAILABLE if decision is None else decision.message
            # The notice needs a Slack call: after the ack.
            self.ctx.later(self._tell_after_button, client, body, action, message)
            return BoltResponse(status=200, body="")

        return guard_button

    def _held_button(
        self,
        body: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        next: Callable[[], None],
        action: Action,
    ) -> BoltResponse | None:
        """A button whose flow runs in the guard's transaction (the feedback form's)."""
        user = user_of(body)
        decision, session = self._decide_held(
            client, user, action, "block_actions", button_value(body)
        )
        if decision is not None and decision.allowed:
            _hand_over(context, decision, session, user)
            next()
            return None
        message = UNAVAILABLE if decision is None else decision.message
        self.ctx.later(self._tell_after_button, client, body, action, message)
        return BoltResponse(status=200, body="")

    def feedback_view(self, action: Action) -> Middleware:
        """view_submission of the feedback modal: the request is in private_metadata."""

        def guard_feedback_view(
            body: dict[str, Any], client: WebClient, context: BoltContext, next: Callable[[], None]
        ) -> BoltResponse | None:
            decision, session = self._decide_held(
                client, user_of(body), action, "view_submission", metadata_request(body)
            )
            if decision is None:
                return _view_errors(body, SAVE_FAILED_ERROR)
            if decision.allowed:
                _hand_over(context, decision, session, user_of(body))
                next()
                return None
            return _view_update(decision.message)

        return guard_feedback_view

    def schedule_view(self) -> Middleware:
        def guard_schedule_view(
            body: dict[str, Any], client: WebClient, context: BoltContext, next: Callable[[], None]
        ) -> BoltResponse | None:
            decision = self._decide(client, user_of(body), Action.SCHEDULE, "view_submission")
            if decision is None:
                return _view_errors(body, SAVE_FAILED_ERROR)
            if decision.allowed:
                context["access"] = decision
                next()
                return None
            return _view_update(decision.message, title="Schedule")

        return guard_schedule_view

    def command(self) -> Middleware:
        def guard_command(
            body: dict[str, Any], client: WebClient, context: BoltContext, next: Callable[[], None]
        ) -> BoltResponse | None:
            parsed = parse_command(body.get("text"))
            action = _COMMAND_ACTIONS[parsed.sub]
            if parsed.usage:
                # No target to check: the listener answers with the usage line.
                action = Action.HELP
            decision = self._decide(
                client,
                user_of(body),
                action,
                "command",
                interview_id=parsed.interview_id,
            )
            if decision is None:
                return _ephemeral(UNAVAILABLE)
            if decision.allowed:
                context["access"] = decision
                context["command_text"] = parsed
                next()
                return None
            return _ephemeral(decision.message)

        return guard_command

    def home(self) -> Middleware:
        def guard_home(
            body: dict[str, Any], client: WebClient, context: BoltContext, next: Callable[[], None]
        ) -> BoltResponse | None:
            decision = self._decide(client, user_of(body), Action.VIEW_HOME, "event")
            if decision is not None and decision.allowed:
                context["access"] = decision
                next()
                return None
            return BoltResponse(status=200, body="")  # an event has nobody to answer

        return guard_home

    # -- the decision ----------------------------------------------------------------
    def _decide(
        self,
        client: WebClient,
        user: str,
        action: Action,
        surface: str,
        *,
        public_id: str | None = None,
        interview_id: int | None = None,
    ) -> Decision | None:
        """The decision, committed with its audit event; None if the database failed."""
        try:
            with self.ctx.session_factory.begin() as session:
                decision = self._authorize(
                    session, client, user, action, surface, public_id, interview_id
                )
        except SQLAlchemyError as exc:
            _log_failure(action, exc)
            return None
        _note_refusal(decision, action, user)
        return decision

    def _decide_held(
        self, client: WebClient, user: str, action: Action, surface: str, public_id: str | None
    ) -> tuple[Decision | None, Session]:
        """The decision in a transaction kept open for the listener's flow when allowed.

        A refusal is committed with its audit event at once and the session closed.
        When allowed, the session goes to the listener (:func:`_hand_over`), which
        closes it: Bolt runs a listener after its middleware has returned.
        """
        session = self.ctx.session_factory()
        try:
            session.begin()
            decision = self._authorize(session, client, user, action, surface, public_id, None)
            if not decision.allowed:
                session.commit()
                session.close()
        except SQLAlchemyError as exc:
            session.close()
            _log_failure(action, exc)
            return None, session
        except BaseException:
            session.close()  # never leave a transaction (SQLite's write lock) open
            raise
        _note_refusal(decision, action, user)
        return decision, session

    def _authorize(
        self,
        session: Session,
        client: WebClient,
        user: str,
        action: Action,
        surface: str,
        public_id: str | None,
        interview_id: int | None,
    ) -> Decision:
        rule = MATRIX[action]
        reads = Role.CALIBRATION_READER in rule.roles
        in_team = (
            (Role.RECRUITING_TEAM in rule.roles or reads)
            and bool(user)
            and self.recruiters.includes(client, user)
        )
        in_calibration: bool | None = None
        if reads and self.calibration.configured:
            in_calibration = bool(user) and self.calibration.includes(client, user)
        return authorize(
            session,
            user=user,
            action=action,
            in_team=in_team,
            in_calibration=in_calibration,
            public_id=public_id[:64] if public_id is not None else None,
            interview_id=interview_id,
            policy=self.ctx.policy,
            now=self.ctx.now(),
            surface=surface,
        )

    def _tell_after_button(
        self, client: WebClient, body: dict[str, Any], action: Action, message: str
    ) -> None:
        user = user_of(body)
        try:
            if action is Action.OPEN_FORM and _str(body.get("trigger_id")):
                client.views_open(
                    trigger_id=_str(body.get("trigger_id")),
                    view=build_notice_modal(message),
                )
                return
            container = _dict(body.get("container"))
            text, blocks = build_notice(message)
            client.chat_postEphemeral(
                channel=_str(container.get("channel_id")) or user,
                user=user,
                text=text,
                blocks=blocks,
            )
        except (SlackApiError, OSError) as exc:
            logger.warning(
                "could not tell %s why %s was refused: %s",
                loggable(user),
                action.value,
                type(exc).__name__,
            )


def _hand_over(context: BoltContext, decision: Decision, session: Session, user: str) -> None:
    """What the listener's flow needs: the decision, its open transaction, the acting user.

    The listener owns the session from here and closes it (handlers.feedback).
    """
    context["access"] = decision
    context[FLOW_SESSION] = session
    context[ACTING_USER] = user


def _log_failure(action: Action, exc: SQLAlchemyError) -> None:
    logger.error("authorization for %s failed: database error %s", action.value, type(exc).__name__)


def _note_refusal(decision: Decision, action: Action, user: str) -> None:
    if not decision.allowed:
        ACCESS_REFUSED.labels(action=action.value, reason=str(decision.refusal)).inc()
        logger.info("refused %s to %s: %s", action.value, loggable(user), decision.refusal)


def _json(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(status=200, body=payload)


def _ephemeral(message: str) -> BoltResponse:
    text, blocks = build_notice(message)
    return _json({"response_type": "ephemeral", "text": text, "blocks": blocks})


def _view_update(message: str, *, title: str = "Interview feedback") -> BoltResponse:
    return _json({"response_action": "update", "view": build_notice_modal(message, title=title)})


def _view_errors(body: dict[str, Any], message: str) -> BoltResponse:
    """The message on the modal's last input block, keeping the answers; else a notice."""
    block = last_input_block(body.get("view"))
    if block is None:
        return _view_update(message)
    return _json({"response_action": "errors", "errors": {block: message}})
