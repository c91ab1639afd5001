"""What every listener and job needs, handed in by the composition root (bot/)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo

from sqlalchemy.orm import Session, sessionmaker

from rubric import RubricRegistry
from rubric.quiet_hours import QuietHours
from storage.policy import FeedbackPolicy


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ReminderSettings:
    """``reminders.*``: how often and how many nudges, and when never to send them."""

    interval: timedelta = timedelta(hours=4)
    max_nudges: int = 3
    quiet_hours: QuietHours | None = field(
        default_factory=lambda: QuietHours(start=time(20, 0), end=time(8, 0))
    )


@dataclass(frozen=True)
class BotContext:
    """Dependencies of the Slack layer; built once per process by ``bot.app``."""

    session_factory: sessionmaker[Session]
    policy: FeedbackPolicy
    registry: RubricRegistry
    default_tz: tzinfo
    recruiters: frozenset[str] = frozenset()  # access.recruiters: user IDs and user group IDs
    clock: Callable[[], datetime] = field(default=utc_now)
    reminders: ReminderSettings = field(default_factory=ReminderSettings)
    # Best-effort Slack calls after an ack (refreshing a DM, explaining a refusal). Not
    # Bolt's listener threads: while Slack is slow or down, their retries would hold
    # those few threads and delay other requests' acks past Slack's 3 seconds.
    after_ack: Executor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="after-ack")
    )

    def now(self) -> datetime:
        return self.clock()
