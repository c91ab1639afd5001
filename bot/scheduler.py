"""APScheduler runs the sweep: one interval job, never overlapping, never piling up."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from handlers.sweep import Sweeper

logger = logging.getLogger(__name__)

SWEEP_JOB_ID = "interview-bot-sweep"


def start_scheduler(sweeper: Sweeper, interval: timedelta) -> BackgroundScheduler:
    """Start a background scheduler that sweeps every ``interval``, first right away.

    No work lives in APScheduler's (memory) job store: the database rows are the
    schedule, so any number of processes may run this.
    """
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(
        _sweep,
        "interval",
        args=[sweeper],
        seconds=interval.total_seconds(),
        id=SWEEP_JOB_ID,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=300,
        next_run_time=datetime.now(UTC),
    )
    scheduler.start()
    return scheduler


def _sweep(sweeper: Sweeper) -> None:
    try:
        sweeper.run_once()
    except Exception:
        # One failed sweep (say, the database restarting) must not stop the next.
        logger.exception("sweep failed; the next run retries")


def stop_scheduler(scheduler: BackgroundScheduler, sweeper: Sweeper) -> None:
    sweeper.stop()
    scheduler.shutdown(wait=True)
