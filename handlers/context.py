"""What every listener and job needs, handed in by the composition root (bot/)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo

from sqlalchemy.orm import Session, sessionmaker

from rubric import RubricRegistry
from rubric.quiet_hours import QuietHours
from storage.policy import FeedbackPolicy

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CalibrationSettings:
    """``calibration.*``: the minimum behind any figure, and the default window."""

    min_ratings: int = 10
    period: timedelta = timedelta(days=90)


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
    calibration_readers: frozenset[str] = frozenset()  # access.calibration; empty: the default
    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)
    clock: Callable[[], datetime] = field(default=utc_now)
    reminders: ReminderSettings = field(default_factory=ReminderSettings)
    # Work after an ack (opening a modal, refreshing a DM, explaining a refusal): see
    # ``later``. Its own threads, so Slack being slow or down (retries) never holds
    # the request threads that answer Slack within its 3 seconds.
    after_ack: Executor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="after-ack")
    )

    def now(self) -> datetime:
        return self.clock()

    def later(self, work: Callable[..., object], *args: object, **kwargs: object) -> None:
        """Run ``work`` on ``after_ack``, once the listener has returned its ack.

        Listeners run in the request's own thread (Bolt's ``process_before_response``),
        so anything slow after ``ack()`` would hold the HTTP answer; it goes here. A
        failure is logged, not lost in a future nobody reads.
        """

        def run() -> None:
            try:
                work(*args, **kwargs)
            except Exception:
                logger.exception("work after the ack failed: %s", getattr(work, "__name__", work))

        self.after_ack.submit(run)
