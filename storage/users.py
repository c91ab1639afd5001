"""Slack users' time zones (from ``users.info``), cached in the database.

The caller (the Slack layer) computes quiet hours; it asks :func:`cached_timezone`
first and calls ``users.info`` only when the cached value is missing or older
than ``max_age``, then stores what Slack said with :func:`store_timezone`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import SlackUser

__all__ = ["cached_timezone", "store_timezone"]

_TZ_MAX_CHARS = 64  # slack_users.tz is VARCHAR(64)


def cached_timezone(
    session: Session, user_id: str, *, now: datetime, max_age: timedelta = timedelta(hours=24)
) -> tuple[bool, str | None]:
    """``(fresh, tz)``: the cached IANA time zone of ``user_id`` and whether it is fresh.

    Fresh: fetched less than ``max_age`` before ``now``. ``(False, None)`` when
    nothing is cached; a stale entry still returns its ``tz`` (usable if Slack
    cannot be asked). ``tz`` None in a fresh entry means Slack gave none.
    """
    row = session.get(SlackUser, user_id, populate_existing=True)
    if row is None:
        return False, None
    return now - row.fetched_at < max_age, row.tz


def store_timezone(session: Session, user_id: str, tz: str | None, *, now: datetime) -> None:
    """Insert or update ``user_id``'s time zone, fetched at ``now``.

    Two processes storing the same user at once both succeed (the later write
    wins): a racing insert is caught in a savepoint and becomes an update.
    """
    if tz is not None and len(tz) > _TZ_MAX_CHARS:
        tz = None  # not an IANA name; the caller falls back to its default
    if _update(session, user_id, tz, now):
        return
    try:
        with session.begin_nested():
            session.add(SlackUser(user_id=user_id, tz=tz, fetched_at=now))
    except IntegrityError:
        if not _update(session, user_id, tz, now):  # pragma: no cover - the row exists
            raise


def _update(session: Session, user_id: str, tz: str | None, now: datetime) -> bool:
    result = session.execute(
        sa.update(SlackUser)
        .where(SlackUser.user_id == user_id)
        .values(tz=tz, fetched_at=now)
        .execution_options(synchronize_session="fetch")
    )
    # Session.execute is typed as returning Result; DML returns a CursorResult.
    assert isinstance(result, CursorResult)
    return result.rowcount == 1
