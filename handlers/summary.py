"""The panel summary in the hiring channel: post it once, finish its thread, keep it current.

Three claimed units of work per interview (storage.summaries): ``post`` the
summary message; ``finish`` its thread (every interviewer's reply, packed into as
few messages as fit, then the heatmap); ``update`` the same message when feedback
arrives or changes later.
The channel gets the summary and its thread replies, nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.blocks.summary import (
    build_feedback_reply,
    build_not_in_channel_notice,
    build_summary,
    build_update_reply,
    describe_changes,
    pack_replies,
)
from handlers.context import BotContext
from handlers.logcontext import log_context
from handlers.metrics import SUMMARIES
from rubric.consensus import panel_consensus
from rubric.consensus_types import PanelConsensus, PanelistInput, PanelRating
from storage.summaries import (
    SummaryJob,
    changed_since_summary,
    claim_due_summaries,
    load_summary_data,
    mark_summary_finished,
    mark_summary_posted,
    mark_summary_updated,
    record_summary_failure,
)
from storage.summary_thread import ThreadProgress, record_thread_post, thread_progress
from storage.views import PanelistFeedback, SummaryData

logger = logging.getLogger(__name__)

CandidateDisplay = Literal["full", "initials"]


def panel_inputs(feedback: Sequence[PanelistFeedback]) -> list[PanelistInput]:
    return [
        PanelistInput(
            interviewer=f.interviewer,
            focus=f.focus_skills,
            recommendation=f.recommendation,
            ratings=tuple(
                PanelRating(r.skill_id, r.level, has_evidence=bool(r.evidence.strip()))
                for r in f.ratings
            ),
        )
        for f in feedback
    ]


def consensus_of(
    data: SummaryData, feedback: Sequence[PanelistFeedback] | None = None
) -> PanelConsensus:
    chosen = data.feedback if feedback is None else feedback
    return panel_consensus(data.rubric, data.interview.target_level, panel_inputs(chosen))


@dataclass
class SummaryReport:
    posted: int = 0
    finished: int = 0
    updated: int = 0
    failed: int = 0


class SummaryWorker:
    def __init__(
        self, ctx: BotContext, client: WebClient, *, candidate_display: CandidateDisplay = "full"
    ) -> None:
        self.ctx = ctx
        self.client = client
        self.candidate_display = candidate_display

    def claim(self, limit: int) -> list[SummaryJob]:
        with self.ctx.session_factory.begin() as session:
            return claim_due_summaries(
                session, now=self.ctx.now(), policy=self.ctx.policy, limit=limit
            )

    def run(self, job: SummaryJob, report: SummaryReport) -> None:
        with log_context(job=f"summary:{job.kind}:{job.interview_id}"):
            self._run(job, report)

    def _run(self, job: SummaryJob, report: SummaryReport) -> None:
        try:
            if job.kind == "post":
                self._post(job.interview_id)
                report.posted += 1
            elif job.kind == "finish":
                self._finish(job.interview_id)
                report.finished += 1
            else:
                self._update(job.interview_id)
                report.updated += 1
            SUMMARIES.labels(kind=job.kind).inc()
            logger.debug("summary %s for interview %d done", job.kind, job.interview_id)
        except SlackApiError as exc:
            report.failed += 1
            self._failed(job, str(exc.response.get("error") or f"http_{exc.response.status_code}"))
        except OSError as exc:
            report.failed += 1
            self._failed(job, f"unreachable: {type(exc).__name__}")

    # -- units -------------------------------------------------------------------
    def _load(self, interview_id: int) -> SummaryData:
        with self.ctx.session_factory.begin() as session:
            return load_summary_data(session, interview_id)

    def _post(self, interview_id: int) -> None:
        data = self._load(interview_id)
        text, blocks = build_summary(
            data, consensus_of(data), candidate_display=self.candidate_display, now=self.ctx.now()
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
            # Feedback changed since the post gets its reply from the update that follows.
            changed = set(changed_since_summary(session, interview_id))
            progress = thread_progress(session, interview_id)
        channel, ts = data.summary_channel, data.summary_ts
        if not channel or not ts:
            raise RuntimeError("a summary's thread is finished only after it was posted")
        self._post_replies(
            progress,
            interview_id,
            channel,
            ts,
            [f for f in data.feedback if f.interviewer not in changed],
            data,
        )
        if "heatmap" not in progress.done:
            self._upload_heatmap(data, channel, ts)
            self._posted(interview_id, progress.key("heatmap"))
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
        feedback: Sequence[PanelistFeedback],
        data: SummaryData,
    ) -> None:
        """Post each interviewer's reply once, as few to a message as fit (pack_replies).

        Each posted reply is recorded under its interviewer, so a resumed unit skips
        it even if the rest packs differently the next time.
        """
        pending = [f for f in feedback if f"reply:{f.interviewer}" not in progress.done]
        replies = [(f.interviewer, *build_feedback_reply(data, f)) for f in pending]
        for interviewers, text, blocks in pack_replies(replies):
            self.client.chat_postMessage(channel=channel, thread_ts=ts, text=text, blocks=blocks)
            self._posted(interview_id, *(progress.key(f"reply:{who}") for who in interviewers))

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
        after = consensus_of(data)
        # The summary as posted: without feedback that first arrived since. Edits overwrite
        # the old answers, so an edited interviewer is counted with their current ones.
        new_since = {f.interviewer for f in data.feedback if f.interviewer in changed and f.late}
        before = consensus_of(data, [f for f in data.feedback if f.interviewer not in new_since])
        text, blocks = build_summary(
            data, after, candidate_display=self.candidate_display, now=included_until
        )
        self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        note_text, note_blocks = build_update_reply(
            describe_changes(before, after, data.rubric, changed)
        )
        self._post_once(progress, "note", interview_id, channel, ts, note_text, note_blocks)
        self._post_replies(
            progress,
            interview_id,
            channel,
            ts,
            [f for f in data.feedback if f.interviewer in changed],
            data,
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

            png = render_heatmap(data, consensus_of(data), candidate_display=self.candidate_display)
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
