"""Which thread replies of the pending summary unit are already in Slack.

``finish`` posts the interviewers' replies (several to a message where they fit,
each recorded as ``reply:<user>``) and the heatmap; ``update`` posts a note and
the changed interviewers' replies. Slack can fail between two of them;
the unit is then retried from the start (storage.summaries), and these records
let the retry skip what is already in the thread, so each reply is posted once.
The window left is a crash between Slack's answer and the record's commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import Interview, SummaryPost

__all__ = ["ThreadProgress", "record_thread_post", "thread_progress"]


@dataclass(frozen=True)
class ThreadProgress:
    unit: str  # the pending unit and the change number it started from, "finish:3"
    done: frozenset[str]  # parts already posted, e.g. "reply:U0AAA", "heatmap"

    def key(self, part: str) -> str:
        return f"{self.unit}:{part}"


def thread_progress(session: Session, interview_id: int) -> ThreadProgress:
    """The pending unit's key and what of it is posted (empty when nothing is pending)."""
    interview = session.get(Interview, interview_id)
    if interview is None or interview.summary_pending is None:
        return ThreadProgress("none", frozenset())
    unit = f"{interview.summary_pending.value}:{interview.summary_seq}"
    keys = session.scalars(
        sa.select(SummaryPost.post_key).where(
            SummaryPost.interview_id == interview_id,
            SummaryPost.post_key.startswith(f"{unit}:", autoescape=True),
        )
    )
    return ThreadProgress(unit, frozenset(k.removeprefix(f"{unit}:") for k in keys))


def record_thread_post(session: Session, interview_id: int, key: str, *, now: datetime) -> None:
    """Remember that the reply ``key`` (from :meth:`ThreadProgress.key`) is posted; idempotent."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(SummaryPost)
        .values(interview_id=interview_id, post_key=key[:128], posted_at=now)
        .on_conflict_do_nothing(index_elements=[SummaryPost.interview_id, SummaryPost.post_key])
    )
