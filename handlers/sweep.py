"""The sweep: derive due work from the database and do it, one claimed unit at a time.

The rows are the schedule. Every kind of work is a kind of the job engine
(:mod:`handlers.jobs`), run by one worker in this order: form DMs
(:class:`FormKind`), summaries, nudges, escalations, digests, then the kinds the
sources register. Each unit is claimed atomically in its own short transaction
(:mod:`storage.jobs`), the Slack call happens outside any transaction, and the
result is recorded in another. A crash between the claim and the record leaves
the row due again once its lease expires, so delivery is at least once; the
duplicate window is a crash between Slack's answer and the commit.
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
from handlers.jobs import JobKind, JobReport, Outcome, failure_code, run_kinds
from handlers.logcontext import log_context
from handlers.metrics import FORMS_SENT, SWEEP_DURATION
from handlers.reminders import ReminderReport, reminder_kinds
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
# retention.days: the purge runs at most this often per process (cheap, and hourly
# is precise enough for a limit counted in days).
PURGE_EVERY = timedelta(hours=1)


@dataclass
class SweepReport:
    """One sweep: every kind's outcomes (``jobs``), read per kind below."""

    jobs: JobReport = field(default_factory=JobReport)
    purged: int = 0  # interviews deleted by retention.days

    @property
    def forms_sent(self) -> int:
        return self.jobs.of("form", "done")

    @property
    def forms_abandoned(self) -> int:  # permanent Slack errors, recorded on the row
        return self.jobs.of("form", "failed:permanent")

    @property
    def forms_failed(self) -> int:  # will be retried
        return self.jobs.of("form", "failed") - self.forms_abandoned

    @property
    def summaries(self) -> SummaryReport:
        return SummaryReport.of(self.jobs)

    @property
    def reminders(self) -> ReminderReport:
        return ReminderReport.of(self.jobs)


class FormKind:
    """The interviewer's feedback form DM, due ``form_delay`` after the interview's end."""

    name = "form"
    rounds = None  # every due form each sweep: a failed one waits for its backoff

    def __init__(self, ctx: BotContext, client: WebClient, timezones: TimeZones) -> None:
        self.ctx = ctx
        self.client = client
        self.timezones = timezones

    def claim(self, now: datetime, limit: int) -> list[FormContext]:
        with self.ctx.session_factory.begin() as session:
            return claim_due_forms(session, now=now, policy=self.ctx.policy, limit=limit)

    def label(self, form: FormContext) -> str:
        return form.request.public_id

    def run(self, form: FormContext, now: datetime) -> Outcome:
        request = form.request
        try:
            tz = self.timezones.of(self.client, request.interviewer)
            text, blocks = build_form_dm(form, tz=tz)
            # Posting to the user ID lands in the app's DM with them, without conversations.open.
            response = self.client.chat_postMessage(
                channel=request.interviewer, text=text, blocks=blocks
            )
        except (SlackApiError, OSError) as exc:  # OSError: unreachable after the client's retries
            return self._failed(form, failure_code(exc))
        with self.ctx.session_factory.begin() as session:
            mark_form_sent(
                session,
                request.public_id,
                channel=str(response["channel"]),
                ts=str(response["ts"]),
                now=self.ctx.now(),
                policy=self.ctx.policy,
            )
        FORMS_SENT.inc()
        logger.debug("form DM sent to %s", request.interviewer)
        return "done"

    def _failed(self, form: FormContext, error: str) -> Outcome:
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
            # Logged once: the row is never retried, so this line never repeats.
            logger.error(
                "cannot DM %s the feedback form for interview %d: %s",
                form.request.interviewer,
                form.request.interview.interview_id,
                error,
            )
            return "failed:permanent"
        logger.warning("form DM to %s failed (%s); it stays due", form.request.interviewer, error)
        return "failed"


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
        self.retention = retention  # retention.days; None keeps everything
        self.kinds = tuple(kinds)  # feed polls, outgoing deliveries, ... (handlers.jobs)
        self.own_kinds: tuple[JobKind, ...] = (
            FormKind(ctx, client, timezones),
            self.summaries,
            *reminder_kinds(ctx, client, timezones),
        )
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
        run_kinds(
            (*self.own_kinds, *self.kinds),
            now=self.ctx.now,
            stopping=self._stopping,
            batch=BATCH,
            report=report.jobs,
        )
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
