"""The panel summary in the hiring channel: post it once, finish its thread, keep it current.

Three claimed units of work per interview (storage.summaries), one kind of the
job engine (:class:`SummaryWorker`, run by :func:`handlers.jobs.run_kinds`): ``post`` the
summary message; ``finish`` its thread (every interviewer's reply, packed into as
few messages as fit, then the heatmap); ``update`` the same message when feedback
arrives or changes later.
The channel gets the summary and its thread replies, nothing else.

Only counted feedback (``SummaryData.counted``) makes the consensus, the flags and
every figure (:func:`consensus_of`): feedback given after the summary, edits made
after it and shadows' feedback are shown in the thread, marked, and change none of
them. People a mention would ping are shown by display name (``users.info``,
cached by :class:`handlers.timezones.TimeZones`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.blocks.form_dm import Block
from handlers.blocks.summary import (
    build_not_in_channel_notice,
    build_summary,
    build_update_reply,
    describe_changes,
    feedback_changes,
    pack_replies,
    thread_replies,
)
from handlers.blocks.summary.model import consensus_of
from handlers.context import BotContext
from handlers.jobs import JobReport, Outcome, failure_code
from handlers.metrics import SUMMARIES
from handlers.summary_notices import refresh_missing_dms
from handlers.timezones import TimeZones
from storage.summaries import (
    SummaryJob,
    claim_due_summaries,
    mark_summary_finished,
    mark_summary_posted,
    mark_summary_updated,
    record_summary_failure,
)
from storage.summary_data import changed_since_summary, load_summary_data
from storage.summary_thread import ThreadProgress, record_thread_post, thread_progress
from storage.views import SummaryData

logger = logging.getLogger(__name__)

CandidateDisplay = Literal["full", "initials"]


@dataclass
class SummaryReport:
    posted: int = 0
    finished: int = 0
    updated: int = 0
    failed: int = 0

    @classmethod
    def of(cls, jobs: JobReport) -> SummaryReport:
        """What the summary kind did in one run of the job engine."""
        return cls(
            posted=jobs.of("summary", "done:post"),
            finished=jobs.of("summary", "done:finish"),
            updated=jobs.of("summary", "done:update"),
            failed=jobs.of("summary", "failed"),
        )


class SummaryWorker:
    """The summary's units as one kind of the job engine (:mod:`handlers.jobs`)."""

    name = "summary"
    # A post makes its "finish" due at once: claim again until nothing is due
    # (bounded: work that keeps failing waits for its backoff, not this loop).
    refills = True
    rounds = 10

    def __init__(
        self,
        ctx: BotContext,
        client: WebClient,
        *,
        candidate_display: CandidateDisplay = "full",
        timezones: TimeZones | None = None,
    ) -> None:
        self.ctx = ctx
        self.client = client
        self.candidate_display = candidate_display
        # Display names come with users.info, cached in the database next to the tz.
        self.timezones = timezones or TimeZones(
            ctx.default_tz, session_factory=ctx.session_factory, clock=ctx.now
        )

    def claim(self, now: datetime, limit: int) -> list[SummaryJob]:
        with self.ctx.session_factory.begin() as session:
            return claim_due_summaries(session, now=now, policy=self.ctx.policy, limit=limit)

    def label(self, job: SummaryJob) -> str:
        return f"{job.kind}:{job.interview_id}"

    def run(self, job: SummaryJob, now: datetime) -> Outcome:
        units = {"post": self._post, "finish": self._finish, "update": self._update}
        try:
            units[job.kind](job.interview_id)
        except (SlackApiError, OSError) as exc:
            self._failed(job, failure_code(exc))
            return "failed"
        SUMMARIES.labels(kind=job.kind).inc()
        logger.debug("summary %s for interview %d done", job.kind, job.interview_id)
        return f"done:{job.kind}"

    # -- units -------------------------------------------------------------------
    def _load(self, interview_id: int) -> SummaryData:
        with self.ctx.session_factory.begin() as session:
            return load_summary_data(session, interview_id)

    def _names(self, data: SummaryData) -> dict[str, str]:
        """Display names of the panel (best effort: an unknown name falls back to the ID)."""
        people = [*data.expected, *data.shadows, *(f.interviewer for f in data.feedback)]
        try:
            return self.timezones.names(self.client, list(dict.fromkeys(people)))
        except Exception as exc:  # names are a nicety; never fail the summary for them
            logger.warning("display names not read: %s", type(exc).__name__)
            return {}

    def _post(self, interview_id: int) -> None:
        data = self._load(interview_id)
        text, blocks = build_summary(
            data,
            consensus_of(data),
            candidate_display=self.candidate_display,
            now=self.ctx.now(),
            names=self._names(data),
            posting=True,
        )
        response = self.client.chat_postMessage(
            channel=data.interview.hiring_channel, text=text, blocks=blocks
        )
        with self.ctx.session_factory.begin() as session:
            mark_summary_posted(
                session,
                interview_id,
                channel=str(response["channel"]),
                ts=str(response["ts"]),
                now=self.ctx.now(),
            )

    def _finish(self, interview_id: int) -> None:
        with self.ctx.session_factory.begin() as session:
            data = load_summary_data(session, interview_id)
            # Replies that do not count, of feedback changed since the post, come from the
            # update that follows; counted replies never change (the version before it).
            changed = set(changed_since_summary(session, interview_id))
            progress = thread_progress(session, interview_id)
        channel, ts = data.summary_channel, data.summary_ts
        if not channel or not ts:
            raise RuntimeError("a summary's thread is finished only after it was posted")
        self._post_replies(
            progress, interview_id, channel, ts, thread_replies(data, changed=changed)
        )
        if "heatmap" not in progress.done:
            self._upload_heatmap(data, channel, ts)
            self._posted(interview_id, progress.key("heatmap"))
        refresh_missing_dms(self.ctx, self.client, interview_id, progress)
        with self.ctx.session_factory.begin() as session:
            mark_summary_finished(session, interview_id, now=self.ctx.now())

    def _post_once(
        self,
        progress: ThreadProgress,
        part: str,
        interview_id: int,
        channel: str,
        ts: str,
        text: str,
        blocks: list[dict[str, Any]],
    ) -> None:
        """Post a thread reply unless a failed earlier try of this unit already did."""
        if part in progress.done:
            return
        self.client.chat_postMessage(channel=channel, thread_ts=ts, text=text, blocks=blocks)
        self._posted(interview_id, progress.key(part))

    def _post_replies(
        self,
        progress: ThreadProgress,
        interview_id: int,
        channel: str,
        ts: str,
        groups: Sequence[Sequence[tuple[str, str, list[Block]]]],
    ) -> None:
        """Post each reply once, as few to a message as fit (pack_replies), group by group:
        counted feedback never shares a message with feedback that does not count.

        Each posted reply is recorded under its key (``reply:<user>``, ``edit:<user>``),
        so a resumed unit skips it even if the rest packs differently the next time.
        """
        for group in groups:
            pending = [reply for reply in group if reply[0] not in progress.done]
            for keys, text, blocks in pack_replies(pending):
                self.client.chat_postMessage(
                    channel=channel, thread_ts=ts, text=text, blocks=blocks
                )
                self._posted(interview_id, *(progress.key(key) for key in keys))

    def _posted(self, interview_id: int, *keys: str) -> None:
        with self.ctx.session_factory.begin() as session:
            for key in keys:
                record_thread_post(session, interview_id, key, now=self.ctx.now())

    def _update(self, interview_id: int) -> None:
        included_until = self.ctx.now()
        with self.ctx.session_factory.begin() as session:
            data = load_summary_data(session, interview_id)
            changed = changed_since_summary(session, interview_id)
            progress = thread_progress(session, interview_id)
        channel, ts = data.summary_channel, data.summary_ts
        if not channel or not ts:
            raise RuntimeError("a summary is updated only after it was posted")
        # Counted feedback is the version from before the summary, so what the posted
        # message showed and what it shows now are the same consensus: feedback given
        # or edited since is shown in the thread and moves nothing.
        consensus = consensus_of(data)
        text, blocks = build_summary(
            data,
            consensus,
            candidate_display=self.candidate_display,
            now=included_until,
            names=self._names(data),
        )
        self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        note_text, note_blocks = build_update_reply(
            describe_changes(consensus, consensus, data.rubric, feedback_changes(data, changed))
        )
        self._post_once(progress, "note", interview_id, channel, ts, note_text, note_blocks)
        self._post_replies(
            progress, interview_id, channel, ts, thread_replies(data, changed=changed, update=True)
        )
        with self.ctx.session_factory.begin() as session:
            mark_summary_updated(
                session, interview_id, now=self.ctx.now(), included_until=included_until
            )

    def _upload_heatmap(self, data: SummaryData, channel: str, ts: str) -> None:
        """Best effort: the summary stands without its picture; the failure is logged once."""
        try:
            # Imported on first use: matplotlib is ~40 MiB resident that a process
            # which never posts a summary (or has not yet) need not carry.
            from handlers.heatmap import render_heatmap

            png = render_heatmap(
                data,
                consensus_of(data),
                names=self._names(data),
                candidate_display=self.candidate_display,
            )
            self.client.files_upload_v2(
                channel=channel,
                thread_ts=ts,
                content=png,
                filename=f"interview-{data.interview.interview_id}-ratings.png",
                title="Ratings heatmap",
                alt_txt="Each interviewer's level per skill",
            )
        except Exception as exc:  # rendering or upload; never fail the summary for it
            logger.warning(
                "heatmap for interview %d not uploaded: %s",
                data.interview.interview_id,
                getattr(getattr(exc, "response", None), "get", lambda _k: None)("error")
                or type(exc).__name__,
            )

    def _failed(self, job: SummaryJob, error: str) -> None:
        with self.ctx.session_factory.begin() as session:
            failure = record_summary_failure(
                session, job.interview_id, error=error, now=self.ctx.now()
            )
            data = (
                load_summary_data(session, job.interview_id) if failure.notify_recruiter else None
            )
        logger.warning(
            "summary %s for interview %d failed (%s); retry at %s",
            job.kind,
            job.interview_id,
            error,
            failure.retry_at.isoformat(),
        )
        if data is not None:
            text, blocks = build_not_in_channel_notice(data)
            try:
                self.client.chat_postMessage(
                    channel=data.interview.recruiter, text=text, blocks=blocks
                )
            except (SlackApiError, OSError) as exc:
                logger.warning("could not tell the recruiter about %s: %s", error, exc)
