"""The sweep: derive due work from the database and do it, one claimed unit at a time.

The rows are the schedule. Each unit is claimed atomically in its own short
transaction (storage.forms.claim_due_forms), the Slack call happens outside any
transaction, and the result is recorded in another. A crash between the claim and
the record leaves the row due again once its lease expires, so delivery is at
least once; the duplicate window is a crash between Slack's answer and the commit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.blocks.form_dm import build_form_dm
from handlers.context import BotContext
from handlers.jobs import JobKind, JobReport, run_kinds
from handlers.logcontext import log_context
from handlers.metrics import FORMS_SENT, SWEEP_CLAIMED, SWEEP_DURATION
from handlers.reminders import ReminderReport, ReminderWorker
from handlers.summary import SummaryReport, SummaryWorker
from handlers.timezones import TimeZones
from storage.forms import (
    PERMANENT_SLACK_ERRORS,
    claim_due_forms,
    mark_form_sent,
    record_form_failure,
)
from storage.retention import purge_expired
from storage.views import FormContext

logger = logging.getLogger(__name__)

BATCH = 50
MAX_SUMMARY_ROUNDS = 10
# retention.days: the purge runs at most this often per process (cheap, and hourly
# is precise enough for a limit counted in days).
PURGE_EVERY = timedelta(hours=1)


@dataclass
class SweepReport:
    forms_sent: int = 0
    forms_failed: int = 0
    forms_abandoned: int = 0  # permanent Slack errors, recorded on the row
    summaries: SummaryReport = field(default_factory=SummaryReport)
    reminders: ReminderReport = field(default_factory=ReminderReport)
    jobs: JobReport = field(default_factory=JobReport)  # the engine's other kinds
    purged: int = 0  # interviews deleted by retention.days


class Sweeper:
    """Runs sweeps; ``stop()`` makes a running sweep finish between units."""

    def __init__(
        self,
        ctx: BotContext,
        client: WebClient,
        timezones: TimeZones,
        summaries: SummaryWorker | None = None,
        *,
        retention: timedelta | None = None,
        kinds: Sequence[JobKind] = (),
    ) -> None:
        self.ctx = ctx
        self.client = client
        self.timezones = timezones
        self.summaries = summaries or SummaryWorker(ctx, client)
        self.reminders = ReminderWorker(ctx, client, timezones)
        self.retention = retention  # retention.days; None keeps everything
        self.kinds = tuple(kinds)  # feed polls, outgoing deliveries, ... (handlers.jobs)
        self._next_purge_at: datetime | None = None
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run_once(self) -> SweepReport:
        started = time.perf_counter()
        try:
            with log_context(job="sweep"):
                return self._run_once()
        finally:
            SWEEP_DURATION.observe(time.perf_counter() - started)

    def _run_once(self) -> SweepReport:
        report = SweepReport()
        while not self._stopping.is_set():
            now = self.ctx.now()
            with self.ctx.session_factory.begin() as session:
                claimed = claim_due_forms(session, now=now, policy=self.ctx.policy, limit=BATCH)
            SWEEP_CLAIMED.labels(kind="form").inc(len(claimed))
            for form in claimed:
                if self._stopping.is_set():
                    break  # the unclaimed rest comes back after its lease
                with log_context(job=f"form:{form.request.public_id}"):
                    self._send_form(form, report)
            if len(claimed) < BATCH:
                break
        self._run_summaries(report)
        if not self._stopping.is_set():
            report.reminders = self.reminders.run(self._stopping)
        if self.kinds and not self._stopping.is_set():
            report.jobs = run_kinds(self.kinds, now=self.ctx.now, stopping=self._stopping)
        if not self._stopping.is_set():
            report.purged = self._purge()
        if report.forms_sent or report.forms_failed or report.forms_abandoned:
            logger.info(
                "sweep: %d form(s) sent, %d failed (will retry), %d abandoned",
                report.forms_sent,
                report.forms_failed,
                report.forms_abandoned,
            )
        return report

    def _purge(self) -> int:
        """Delete interviews past ``retention.days``, at most once per PURGE_EVERY."""
        if self.retention is None:
            return 0
        now = self.ctx.now()
        if self._next_purge_at is not None and now < self._next_purge_at:
            return 0
        # Set first: a purge that fails is retried next hour, not on every sweep.
        self._next_purge_at = now + PURGE_EVERY
        cutoff = now - self.retention
        with log_context(job="retention"):
            result = purge_expired(
                self.ctx.session_factory,
                cutoff=cutoff,
                now=now,
                actor="system",
                should_stop=self._stopping.is_set,
            )
            if result.interviews:  # a count only: nothing about the candidates
                logger.info(
                    "retention: purged %d interview(s) that ended before %s",
                    len(result.interviews),
                    f"{cutoff:%Y-%m-%d %H:%M} UTC",
                )
        return len(result.interviews)

    def _run_summaries(self, report: SweepReport) -> None:
        # A post makes its "finish" due at once, so claim again until nothing is due
        # (bounded: work that keeps failing waits for its backoff, not this loop).
        for _round in range(MAX_SUMMARY_ROUNDS):
            if self._stopping.is_set():
                return
            jobs = self.summaries.claim(BATCH)
            if not jobs:
                return
            SWEEP_CLAIMED.labels(kind="summary").inc(len(jobs))
            for job in jobs:
                if self._stopping.is_set():
                    return  # unclaimed work comes back after its lease
                self.summaries.run(job, report.summaries)

    def _send_form(self, form: FormContext, report: SweepReport) -> None:
        request = form.request
        try:
            tz = self.timezones.of(self.client, request.interviewer)
            text, blocks = build_form_dm(form, tz=tz)
            # Posting to the user ID lands in the app's DM with them, without conversations.open.
            response = self.client.chat_postMessage(
                channel=request.interviewer, text=text, blocks=blocks
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or f"http_{exc.response.status_code}")
            self._failed(form, error, report)
            return
        except OSError as exc:  # unreachable after the client's own retries
            self._failed(form, f"unreachable: {type(exc).__name__}", report)
            return
        with self.ctx.session_factory.begin() as session:
            mark_form_sent(
                session,
                request.public_id,
                channel=str(response["channel"]),
                ts=str(response["ts"]),
                now=self.ctx.now(),
                policy=self.ctx.policy,
            )
        report.forms_sent += 1
        FORMS_SENT.inc()
        logger.debug("form DM sent to %s", request.interviewer)

    def _failed(self, form: FormContext, error: str, report: SweepReport) -> None:
        permanent = error in PERMANENT_SLACK_ERRORS
        with self.ctx.session_factory.begin() as session:
            record_form_failure(
                session,
                form.request.public_id,
                error=error,
                permanent=permanent,
                now=self.ctx.now(),
            )
        if permanent:
            report.forms_abandoned += 1
            # Logged once: the row is never retried, so this line never repeats.
            logger.error(
                "cannot DM %s the feedback form for interview %d: %s",
                form.request.interviewer,
                form.request.interview.interview_id,
                error,
            )
        else:
            report.forms_failed += 1
            logger.warning(
                "form DM to %s failed (%s); it stays due", form.request.interviewer, error
            )
