"""Reminders people don't mute: nudges, the recruiter digest, the hiring-lead escalation.

Every unit is claimed from the database (storage.reminders), checked against the
recipient's quiet hours (deferred, not dropped, when it falls inside them), sent,
and recorded. The nudge's buttons (snooze, "I did not attend") and the digest's
"Nudge now" are handled here too.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

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
from handlers.logcontext import log_context
from handlers.metrics import DIGESTS, ESCALATIONS, NUDGES, SWEEP_CLAIMED
from handlers.timezones import TimeZones
from rubric.quiet_hours import next_allowed, tomorrow_morning
from storage.feedback import FeedbackRefused
from storage.forms import PERMANENT_SLACK_ERRORS
from storage.queries import interviewer_of
from storage.reminders import (
    NudgeJob,
    claim_due_digests,
    claim_due_escalations,
    claim_due_nudges,
    decline_request,
    defer_digest,
    defer_escalation,
    defer_nudge,
    digest_for,
    escalation_for,
    mark_digest_sent,
    mark_escalated,
    mark_nudge_sent,
    record_nudge_failure,
    request_nudge_now,
    snooze_request,
)
from storage.summaries import load_summary_data

logger = logging.getLogger(__name__)

BATCH = 50
PERMANENT = PERMANENT_SLACK_ERRORS | {"is_archived"}


def _error(exc: SlackApiError) -> str:
    return str(exc.response.get("error") or f"http_{exc.response.status_code}")


@dataclass
class ReminderReport:
    nudges: int = 0
    deferred: int = 0
    digests: int = 0
    escalations: int = 0
    failed: int = 0


class ReminderWorker:
    def __init__(self, ctx: BotContext, client: WebClient, timezones: TimeZones) -> None:
        self.ctx = ctx
        self.client = client
        self.timezones = timezones

    def run(self, stopping: threading.Event) -> ReminderReport:
        report = ReminderReport()
        self._nudges(stopping, report)
        self._escalations(stopping, report)  # arms the recruiter's digest: run digests after
        self._digests(stopping, report)
        return report

    def _allowed(self, user: str) -> tuple[bool, Any]:
        """(send now?, the time quiet hours end) for ``user``."""
        now = self.ctx.now()
        allowed = next_allowed(
            now, self.timezones.of(self.client, user), self.ctx.reminders.quiet_hours
        )
        return allowed <= now, allowed

    # -- nudges ------------------------------------------------------------------
    def _nudges(self, stopping: threading.Event, report: ReminderReport) -> None:
        while not stopping.is_set():
            with self.ctx.session_factory.begin() as session:
                jobs = claim_due_nudges(
                    session,
                    now=self.ctx.now(),
                    policy=self.ctx.policy,
                    max_nudges=self.ctx.reminders.max_nudges,
                    limit=BATCH,
                )
            SWEEP_CLAIMED.labels(kind="nudge").inc(len(jobs))
            for job in jobs:
                if stopping.is_set():
                    return
                with log_context(job=f"nudge:{job.context.request.public_id}"):
                    self._nudge(job, report)
            if len(jobs) < BATCH:
                return

    def _nudge(self, job: NudgeJob, report: ReminderReport) -> None:
        request = job.context.request
        ok, allowed = self._allowed(request.interviewer)
        if not ok:
            with self.ctx.session_factory.begin() as session:
                defer_nudge(session, request.public_id, until=allowed, now=self.ctx.now())
            report.deferred += 1
            return
        tz = self.timezones.of(self.client, request.interviewer)
        text, blocks = build_nudge(
            job.context,
            tz=tz,
            now=self.ctx.now(),
            number=job.number,
            max_nudges=self.ctx.reminders.max_nudges,
        )
        try:
            # A new message each time: an edited message notifies nobody.
            self.client.chat_postMessage(channel=request.interviewer, text=text, blocks=blocks)
        except (SlackApiError, OSError) as exc:
            error = (
                _error(exc)
                if isinstance(exc, SlackApiError)
                else f"unreachable: {type(exc).__name__}"
            )
            report.failed += 1
            with self.ctx.session_factory.begin() as session:
                record_nudge_failure(
                    session,
                    request.public_id,
                    error=error,
                    permanent=error in PERMANENT,
                    now=self.ctx.now(),
                )
            if error in PERMANENT:
                logger.error("reminders to %s stopped: %s", request.interviewer, error)
            return
        with self.ctx.session_factory.begin() as session:
            mark_nudge_sent(
                session,
                request.public_id,
                now=self.ctx.now(),
                interval=self.ctx.reminders.interval,
                max_nudges=self.ctx.reminders.max_nudges,
                forced=job.forced,
                number=job.number,
            )
        report.nudges += 1
        NUDGES.inc()
        logger.debug("nudge %d sent to %s", job.number, request.interviewer)

    # -- escalations -----------------------------------------------------------------
    def _escalations(self, stopping: threading.Event, report: ReminderReport) -> None:
        with self.ctx.session_factory.begin() as session:
            ids = claim_due_escalations(
                session, now=self.ctx.now(), policy=self.ctx.policy, limit=BATCH
            )
        SWEEP_CLAIMED.labels(kind="escalation").inc(len(ids))
        for interview_id in ids:
            if stopping.is_set():
                return
            with log_context(job=f"escalation:{interview_id}"):
                self._escalation(interview_id, report)

    def _escalation(self, interview_id: int, report: ReminderReport) -> None:
        with self.ctx.session_factory.begin() as session:
            interview, missing = escalation_for(session, interview_id)
        if not missing:
            with self.ctx.session_factory.begin() as session:
                mark_escalated(session, interview_id, now=self.ctx.now(), sent=False)
            return
        ok, allowed = self._allowed(interview.hiring_lead)
        if not ok:
            with self.ctx.session_factory.begin() as session:
                defer_escalation(session, interview_id, until=allowed)
            report.deferred += 1
            return
        text, blocks = build_escalation(
            interview, missing, tz=self.timezones.of(self.client, interview.hiring_lead)
        )
        try:
            self.client.chat_postMessage(channel=interview.hiring_lead, text=text, blocks=blocks)
        except (SlackApiError, OSError) as exc:
            report.failed += 1
            error = _error(exc) if isinstance(exc, SlackApiError) else type(exc).__name__
            if error in PERMANENT:
                logger.error("escalation to %s failed for good: %s", interview.hiring_lead, error)
                with self.ctx.session_factory.begin() as session:
                    mark_escalated(session, interview_id, now=self.ctx.now(), sent=False)
            # otherwise the claim's lease expires and the next sweep retries
            return
        with self.ctx.session_factory.begin() as session:
            mark_escalated(session, interview_id, now=self.ctx.now(), sent=True)
        report.escalations += 1
        ESCALATIONS.inc()
        logger.debug("escalation sent to %s", interview.hiring_lead)

    # -- digests -----------------------------------------------------------------------
    def _digests(self, stopping: threading.Event, report: ReminderReport) -> None:
        with self.ctx.session_factory.begin() as session:
            recruiters = claim_due_digests(session, now=self.ctx.now(), limit=BATCH)
        SWEEP_CLAIMED.labels(kind="digest").inc(len(recruiters))
        for recruiter in recruiters:
            if stopping.is_set():
                return
            with log_context(job=f"digest:{recruiter}"):
                self._digest(recruiter, report)

    def _digest(self, recruiter: str, report: ReminderReport) -> None:
        now = self.ctx.now()
        with self.ctx.session_factory.begin() as session:
            items = digest_for(session, recruiter, now=now, policy=self.ctx.policy)
        interval = self.ctx.policy.digest_interval
        if not items:
            with self.ctx.session_factory.begin() as session:
                mark_digest_sent(
                    session,
                    recruiter,
                    now=now,
                    interval=interval,
                    sent=False,
                    policy=self.ctx.policy,
                )
            return
        ok, allowed = self._allowed(recruiter)
        if not ok:
            with self.ctx.session_factory.begin() as session:
                defer_digest(session, recruiter, until=allowed)
            report.deferred += 1
            return
        text, blocks = build_digest(items, tz=self.timezones.of(self.client, recruiter), now=now)
        try:
            self.client.chat_postMessage(channel=recruiter, text=text, blocks=blocks)
        except (SlackApiError, OSError) as exc:
            report.failed += 1
            logger.warning("digest to %s failed: %s", recruiter, exc)
            return  # the lease expires and the next sweep retries
        with self.ctx.session_factory.begin() as session:
            mark_digest_sent(
                session,
                recruiter,
                now=now,
                interval=interval,
                sent=True,
                policy=self.ctx.policy,
            )
        report.digests += 1
        DIGESTS.inc()
        logger.debug("digest sent to %s", recruiter)


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
