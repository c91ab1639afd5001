"""Reminders people don't mute: nudges, the recruiter digest, the hiring-lead escalation.

Three kinds of the job engine (:mod:`handlers.jobs`): every unit is claimed from
the database (storage.reminders), checked against the recipient's quiet hours
(deferred, not dropped, when it falls inside them), sent, and recorded. The
nudge's buttons (snooze, "I did not attend") and the digest's "Nudge now" are
handled here too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from handlers.blocks.commands import build_notice
from handlers.blocks.reminders import (
    build_declined_notice,
    build_digest,
    build_escalation,
    build_not_attended,
    build_nudge,
    build_nudge_queued,
    build_snoozed,
)
from handlers.context import BotContext
from handlers.jobs import JobReport, Outcome, failure_code
from handlers.metrics import DIGESTS, ESCALATIONS, NUDGES
from handlers.timezones import TimeZones
from rubric.quiet_hours import next_allowed, tomorrow_morning
from storage.digests import claim_due_digests, defer_digest, digest_for, mark_digest_sent
from storage.escalations import (
    claim_due_escalations,
    defer_escalation,
    escalation_for,
    mark_escalated,
)
from storage.feedback import FeedbackRefused
from storage.forms import PERMANENT_SLACK_ERRORS
from storage.queries import interviewer_of
from storage.reminders import (
    NudgeJob,
    claim_due_nudges,
    decline_request,
    defer_nudge,
    mark_nudge_sent,
    record_nudge_failure,
    request_nudge_now,
    snooze_request,
)
from storage.summaries import load_summary_data

logger = logging.getLogger(__name__)

# An archived DM channel will not come back by retrying either.
PERMANENT = PERMANENT_SLACK_ERRORS | {"is_archived"}
_KINDS = ("nudge", "escalation", "digest")


@dataclass
class ReminderReport:
    nudges: int = 0
    deferred: int = 0
    digests: int = 0
    escalations: int = 0
    failed: int = 0

    @classmethod
    def of(cls, jobs: JobReport) -> ReminderReport:
        """What the reminder kinds did in one run of the job engine."""
        return cls(
            nudges=jobs.of("nudge", "done"),
            deferred=jobs.total(_KINDS, "deferred"),
            digests=jobs.of("digest", "done:sent"),
            escalations=jobs.of("escalation", "done:sent"),
            failed=jobs.total(_KINDS, "failed"),
        )


class _ReminderKind:
    """What the three reminder kinds share: the recipient's quiet hours, one Slack DM."""

    def __init__(self, ctx: BotContext, client: WebClient, timezones: TimeZones) -> None:
        self.ctx = ctx
        self.client = client
        self.timezones = timezones

    def _held(self, user: str, now: datetime, defer: Callable[[Session, datetime], object]) -> bool:
        """Inside ``user``'s quiet hours: ``defer`` the unit to when they end (and say so)."""
        allowed = next_allowed(
            now, self.timezones.of(self.client, user), self.ctx.reminders.quiet_hours
        )
        if allowed <= now:
            return False
        with self.ctx.session_factory.begin() as session:
            defer(session, allowed)
        return True

    def _send(self, user: str, text: str, blocks: list[dict[str, Any]]) -> str | None:
        """DM ``user`` (a new message each time: an edited one notifies nobody); the error code."""
        try:
            self.client.chat_postMessage(channel=user, text=text, blocks=blocks)
        except (SlackApiError, OSError) as exc:
            return failure_code(exc)
        return None


class NudgeKind(_ReminderKind):
    """An interviewer's reminder: due after the form DM, spaced by ``reminders.interval``."""

    name = "nudge"
    rounds = None  # every due nudge each sweep: a failed one waits for its backoff

    def claim(self, now: datetime, limit: int) -> list[NudgeJob]:
        with self.ctx.session_factory.begin() as session:
            return claim_due_nudges(
                session,
                now=now,
                policy=self.ctx.policy,
                max_nudges=self.ctx.reminders.max_nudges,
                limit=limit,
            )

    def label(self, job: NudgeJob) -> str:
        return job.context.request.public_id

    def run(self, job: NudgeJob, now: datetime) -> Outcome:
        request = job.context.request

        def defer(session: Session, until: datetime) -> None:
            defer_nudge(session, request.public_id, until=until, now=now)

        if self._held(request.interviewer, now, defer):
            return "deferred"
        text, blocks = build_nudge(
            job.context,
            tz=self.timezones.of(self.client, request.interviewer),
            now=now,
            number=job.number,
            max_nudges=self.ctx.reminders.max_nudges,
        )
        error = self._send(request.interviewer, text, blocks)
        with self.ctx.session_factory.begin() as session:
            if error is not None:
                record_nudge_failure(
                    session,
                    request.public_id,
                    error=error,
                    permanent=error in PERMANENT,
                    now=self.ctx.now(),
                )
            else:
                mark_nudge_sent(
                    session,
                    request.public_id,
                    now=self.ctx.now(),
                    interval=self.ctx.reminders.interval,
                    max_nudges=self.ctx.reminders.max_nudges,
                    forced=job.forced,
                    number=job.number,
                )
        if error is not None:
            if error in PERMANENT:
                logger.error("reminders to %s stopped: %s", request.interviewer, error)
            return "failed"
        NUDGES.inc()
        logger.debug("nudge %d sent to %s", job.number, request.interviewer)
        return "done"


class EscalationKind(_ReminderKind):
    """The hiring lead's DM at the summary deadline: who has not given feedback."""

    name = "escalation"

    def claim(self, now: datetime, limit: int) -> list[int]:
        with self.ctx.session_factory.begin() as session:
            return claim_due_escalations(session, now=now, policy=self.ctx.policy, limit=limit)

    def label(self, interview_id: int) -> str:
        return str(interview_id)

    def run(self, interview_id: int, now: datetime) -> Outcome:
        with self.ctx.session_factory.begin() as session:
            interview, missing = escalation_for(session, interview_id)
        if not missing:
            self._record(interview_id, sent=False)
            return "done:nothing"

        def defer(session: Session, until: datetime) -> None:
            defer_escalation(session, interview_id, until=until)

        if self._held(interview.hiring_lead, now, defer):
            return "deferred"
        text, blocks = build_escalation(
            interview, missing, tz=self.timezones.of(self.client, interview.hiring_lead)
        )
        error = self._send(interview.hiring_lead, text, blocks)
        if error is None:
            self._record(interview_id, sent=True)
            ESCALATIONS.inc()
            logger.debug("escalation sent to %s", interview.hiring_lead)
            return "done:sent"
        if error in PERMANENT:
            logger.error("escalation to %s failed for good: %s", interview.hiring_lead, error)
            self._record(interview_id, sent=False)
            return "failed:permanent"
        return "failed"  # the claim's lease expires and a later sweep retries

    def _record(self, interview_id: int, *, sent: bool) -> None:
        with self.ctx.session_factory.begin() as session:
            mark_escalated(session, interview_id, now=self.ctx.now(), sent=sent)


class DigestKind(_ReminderKind):
    """A recruiter's digest of missing feedback, at most once per ``digest_interval``."""

    name = "digest"

    def claim(self, now: datetime, limit: int) -> list[str]:
        with self.ctx.session_factory.begin() as session:
            return claim_due_digests(session, now=now, limit=limit)

    def label(self, recruiter: str) -> str:
        return recruiter

    def run(self, recruiter: str, now: datetime) -> Outcome:
        with self.ctx.session_factory.begin() as session:
            items = digest_for(session, recruiter, now=now, policy=self.ctx.policy)
        if not items:
            self._record(recruiter, now, sent=False)
            return "done:nothing"

        def defer(session: Session, until: datetime) -> None:
            defer_digest(session, recruiter, until=until)

        if self._held(recruiter, now, defer):
            return "deferred"
        text, blocks = build_digest(items, tz=self.timezones.of(self.client, recruiter), now=now)
        error = self._send(recruiter, text, blocks)
        if error is not None:
            logger.warning("digest to %s failed: %s", recruiter, error)
            return "failed"  # the lease expires and a later sweep retries
        self._record(recruiter, now, sent=True)
        DIGESTS.inc()
        logger.debug("digest sent to %s", recruiter)
        return "done:sent"

    def _record(self, recruiter: str, now: datetime, *, sent: bool) -> None:
        with self.ctx.session_factory.begin() as session:
            mark_digest_sent(
                session,
                recruiter,
                now=now,
                interval=self.ctx.policy.digest_interval,
                sent=sent,
                policy=self.ctx.policy,
            )


def reminder_kinds(
    ctx: BotContext, client: WebClient, timezones: TimeZones
) -> tuple[NudgeKind, EscalationKind, DigestKind]:
    """The reminder kinds in the sweep's order: escalations arm the digest, so digests last."""
    return (
        NudgeKind(ctx, client, timezones),
        EscalationKind(ctx, client, timezones),
        DigestKind(ctx, client, timezones),
    )


class ReminderListeners:
    """The nudge's buttons and the digest's Nudge now."""

    def __init__(self, ctx: BotContext, timezones: TimeZones) -> None:
        self.ctx = ctx
        self.timezones = timezones

    @staticmethod
    def _action(body: dict[str, Any]) -> tuple[str, str, str | None, str | None]:
        user = str(body["user"]["id"])
        value = str((body.get("actions") or [{}])[0].get("value") or "")[:64]
        container = body.get("container") or {}
        return user, value, container.get("channel_id"), container.get("message_ts")

    def _tell(self, client: WebClient, channel: str | None, user: str, text: str) -> None:
        notice_text, blocks = build_notice(text)
        try:
            client.chat_postEphemeral(
                channel=channel or user, user=user, text=notice_text, blocks=blocks
            )
        except (SlackApiError, OSError) as exc:
            logger.warning("could not answer %s: %s", user, exc)

    def _replace(
        self,
        client: WebClient,
        channel: str | None,
        ts: str | None,
        text: str,
        blocks: list[dict[str, Any]],
    ) -> None:
        if not channel or not ts:
            return
        try:
            client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except (SlackApiError, OSError) as exc:
            logger.warning("could not update the reminder: %s", exc)

    # Each button is acked at once; the change and its Slack calls follow the ack.
    def snooze_hour(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        self.ctx.later(self._snooze, body, client, morning=False)

    def snooze_morning(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        self.ctx.later(self._snooze, body, client, morning=True)

    def _snooze(self, body: dict[str, Any], client: WebClient, *, morning: bool) -> None:
        user, public_id, channel, ts = self._action(body)
        now = self.ctx.now()
        tz = self.timezones.of(client, user)
        until = (
            tomorrow_morning(now, tz, self.ctx.reminders.quiet_hours)
            if morning
            else now + timedelta(hours=1)
        )
        try:
            with self.ctx.session_factory.begin() as session:
                form = snooze_request(
                    session, public_id, user_id=user, until=until, now=now, policy=self.ctx.policy
                )
        except FeedbackRefused as refused:
            self._tell(client, channel, user, refused.message)
            return
        self._replace(client, channel, ts, *build_snoozed(form, until=until, tz=tz))

    def not_attended(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        self.ctx.later(self._not_attended, body, client)

    def _not_attended(self, body: dict[str, Any], client: WebClient) -> None:
        user, public_id, channel, ts = self._action(body)
        try:
            with self.ctx.session_factory.begin() as session:
                result = decline_request(
                    session, public_id, user_id=user, now=self.ctx.now(), policy=self.ctx.policy
                )
                summary = load_summary_data(session, result.context.request.interview.interview_id)
        except FeedbackRefused as refused:
            self._tell(client, channel, user, refused.message)
            return
        self._replace(client, channel, ts, *build_not_attended(result.context))
        if result.changed:
            recruiter = result.context.request.interview.recruiter
            text, blocks = build_declined_notice(
                result.context, remaining=len(summary.missing), expected=len(summary.expected)
            )
            try:
                client.chat_postMessage(channel=recruiter, text=text, blocks=blocks)
            except (SlackApiError, OSError) as exc:
                logger.warning("could not tell the recruiter about a decline: %s", exc)

    def nudge_now(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        self.ctx.later(self._nudge_now, body, client)

    def _nudge_now(self, body: dict[str, Any], client: WebClient) -> None:
        user, public_id, channel, _ts = self._action(body)
        with self.ctx.session_factory.begin() as session:
            outcome = request_nudge_now(session, public_id, actor=user, now=self.ctx.now())
        if outcome == "queued":
            with self.ctx.session_factory.begin() as session:
                interviewer = interviewer_of(session, public_id) or "?"
            text, blocks = build_nudge_queued(interviewer)
            try:
                client.chat_postEphemeral(
                    channel=channel or user, user=user, text=text, blocks=blocks
                )
            except (SlackApiError, OSError) as exc:
                logger.warning("could not confirm a nudge: %s", exc)
            return
        messages = {
            "not_allowed": "Only the interview's recruiter can ask for an extra reminder.",
            "not_open": "That feedback is no longer open: nothing to remind about.",
            "summary_posted": (
                "The summary was posted without their feedback, so there are no more "
                "reminders: what they give now is shown as given after the summary "
                "and does not count."
            ),
            "not_found": "That request no longer exists.",
        }
        self._tell(client, channel, user, messages.get(outcome, "Nothing to do."))
