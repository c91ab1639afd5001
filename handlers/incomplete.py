"""Incomplete interviews on the Slack side: the recruiter's DM (a job kind) and its button.

A source stored an interview it could not complete (storage.intake); its
``notify_due_at`` falls due at once. :class:`IncompleteNotices` claims it
(storage.jobs via storage.incomplete) and DMs the row's recruiter, or, when the
source named none Slack knows, everyone in ``access.recruiters``. A permanent
Slack error is recorded and not retried; a transient one backs off.
:class:`CompleteListeners` answers the "Complete and schedule" button (the guard
lets recruiters only through) by opening the schedule modal prefilled;
handlers.schedule turns its submission into a normal interview.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from handlers.blocks.incomplete import build_incomplete_dm, build_incomplete_done, field_name
from handlers.blocks.notice import build_notice_modal
from handlers.blocks.schedule_modal import build_schedule_modal
from handlers.blocks.schedule_prefill import Prefill
from handlers.context import BotContext
from handlers.timezones import TimeZones
from storage.forms import PERMANENT_SLACK_ERRORS
from storage.incomplete import (
    DoneNotice,
    claim_due_incomplete,
    incomplete_for,
    load_due_incomplete,
    load_incomplete,
    mark_incomplete_notified,
    record_incomplete_failure,
)
from storage.incomplete_view import IncompleteView

__all__ = ["CompleteListeners", "IncompleteNotices", "incomplete_for_viewer", "team_members"]

logger = logging.getLogger(__name__)

GONE = "That interview was already completed or cancelled: there is nothing left to schedule."
NO_RECIPIENT = "nobody to tell: the row names no recruiter in Slack and access.recruiters is empty"


class _Transient(Exception):
    pass


def team_members(ctx: BotContext, client: WebClient) -> list[str]:
    """Everyone in ``access.recruiters``: user IDs as listed, user groups expanded.

    Raises:
        _Transient: a group could not be read (retried later, not given up).
    """
    users = sorted(entry for entry in ctx.recruiters if not entry.startswith("S"))
    for group in sorted(entry for entry in ctx.recruiters if entry.startswith("S")):
        try:
            response = client.usergroups_users_list(usergroup=group)
        except (SlackApiError, OSError) as exc:
            raise _Transient(f"usergroups.users.list: {_error_of(exc)}") from None
        users += [str(u) for u in response.get("users") or [] if str(u) not in users]
    return users


def _error_of(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "unknown_error"))
    return type(exc).__name__


def incomplete_for_viewer(
    ctx: BotContext, client: WebClient, session: Session, user: str
) -> list[IncompleteView]:
    """What App Home lists for ``user``: theirs and the unassigned ones, for recruiters only.

    Only the recruiting team may complete them (storage.access), so nobody else sees them.
    """
    if user not in ctx.recruiters:
        if not any(entry.startswith("S") for entry in ctx.recruiters):
            return []
        try:
            if user not in team_members(ctx, client):
                return []
        except _Transient:
            return []
    return incomplete_for(session, user)


class IncompleteNotices:
    """The job kind that tells a recruiter what an incoming interview lacks."""

    name = "incomplete"

    def __init__(self, ctx: BotContext, client: WebClient, timezones: TimeZones) -> None:
        self.ctx = ctx
        self.client = client
        self.timezones = timezones

    def claim(self, now: datetime, limit: int) -> Sequence[int]:
        with self.ctx.session_factory.begin() as session:
            return [int(c.key) for c in claim_due_incomplete(session, now=now, limit=limit)]

    def label(self, unit: Any) -> str:
        return str(unit)

    def run(self, unit: Any, now: datetime) -> str:
        with self.ctx.session_factory() as session:
            item = load_due_incomplete(session, int(unit))
        if item is None:
            return "done"  # cancelled since it was claimed
        if isinstance(item, DoneNotice):
            return self._say_done(item, now)
        try:
            recipients = [item.recruiter] if item.recruiter else team_members(self.ctx, self.client)
        except _Transient as exc:
            return self._failed(item.id, str(exc), permanent=False, now=now)
        if not recipients:
            return self._failed(item.id, NO_RECIPIENT, permanent=True, now=now)
        sent, errors = self._send(item, recipients)
        if not sent:
            permanent = all(error in PERMANENT_SLACK_ERRORS for error in errors)
            return self._failed(item.id, ", ".join(sorted(set(errors))), permanent, now=now)
        if errors:  # told someone: not sent again to those who got it
            logger.warning("incomplete interview %d: %d DM(s) failed", item.id, len(errors))
        with self.ctx.session_factory.begin() as session:
            mark_incomplete_notified(session, item.id, now=now, dms=sent)
        logger.info("incomplete interview %d: told %d recruiter(s)", item.id, len(recipients))
        return "done"

    def _send(
        self, item: IncompleteView, recipients: Sequence[str]
    ) -> tuple[list[tuple[str, str]], list[str]]:
        """The DMs sent as (channel, ts), and the errors of those that were not."""
        sent: list[tuple[str, str]] = []
        errors: list[str] = []
        for user in recipients:
            text, blocks = build_incomplete_dm(item, tz=self.timezones.of(self.client, user))
            try:
                reply = self.client.chat_postMessage(channel=user, text=text, blocks=blocks)
            except (SlackApiError, OSError) as exc:
                errors.append(_error_of(exc))
                continue
            sent.append((str(reply.get("channel") or user), str(reply.get("ts") or "")))
        return sent, errors

    def _say_done(self, done: DoneNotice, now: datetime) -> str:
        """Its DMs lose the button: someone completed it (best effort, never retried)."""
        text, blocks = build_incomplete_done(done.item, interview_id=done.interview_id)
        for channel, ts in done.dms:
            try:
                self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
            except (SlackApiError, OSError) as exc:
                logger.warning(
                    "incomplete interview %d: update failed (%s)", done.item.id, _error_of(exc)
                )
        with self.ctx.session_factory.begin() as session:
            mark_incomplete_notified(session, done.item.id, now=now)
        return "done"

    def _failed(self, incomplete_id: int, error: str, permanent: bool, *, now: datetime) -> str:
        with self.ctx.session_factory.begin() as session:
            wait = record_incomplete_failure(
                session, incomplete_id, error=error, permanent=permanent, now=now
            )
        logger.warning(
            "incomplete interview %d: DM failed (%s)%s",
            incomplete_id,
            error,
            "; given up" if wait is None else f"; retry in {int(wait.total_seconds())}s",
        )
        return "failed" if wait is None else "deferred"


class CompleteListeners:
    """The "Complete and schedule" button; only reached through the guard (recruiters)."""

    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    def open(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        self.ctx.later(self._open, client, body)

    def _open(self, client: WebClient, body: dict[str, Any]) -> None:
        actions = body.get("actions") or [{}]
        value = str(actions[0].get("value", "")) if isinstance(actions[0], dict) else ""
        item = None
        if value.isdigit() and len(value) < 10:
            with self.ctx.session_factory() as session:
                item = load_incomplete(session, int(value))
        try:
            if item is None:
                notice = build_notice_modal(GONE, title="Schedule")
                client.views_open(trigger_id=str(body.get("trigger_id", "")), view=notice)
                return
            view = build_schedule_modal(
                list(self.ctx.registry.all()), prefill=Prefill(item.row, item.id, _note(item))
            )
            client.views_open(trigger_id=str(body.get("trigger_id", "")), view=view)
        except SlackApiError as exc:
            logger.warning("could not open the completion modal: %s", exc.response.get("error"))


def _note(item: IncompleteView) -> str:
    missing = ", ".join(field_name(field) for field, _ in item.missing)
    return f"From {item.source}. Missing: {missing}. Scheduling it makes it a normal interview."
