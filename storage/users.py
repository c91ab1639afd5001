"""Slack users' time zones and display names (from ``users.info``), cached in the database.

The caller (the Slack layer) computes quiet hours; it asks :func:`cached_timezone`
first and calls ``users.info`` only when the cached value is missing or older
than ``max_age``, then stores what Slack said with :func:`store_timezone` (the
display name rides along). :func:`display_names` reads the names for the places a
mention would ping someone (the summary) or cannot render (the heatmap image).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import SlackUser

__all__ = ["cached_timezone", "display_name_of", "display_names", "store_timezone"]

_TZ_MAX_CHARS = 64  # slack_users.tz is VARCHAR(64)
NAME_MAX_CHARS = 80  # slack_users.display_name is VARCHAR(80)


def display_name_of(user: Mapping[str, Any]) -> str | None:
    """The name to show for a ``users.info`` user: the profile's display name, else the
    real name (the profile's, then the user's), else None; one line, at most 80 characters."""
    profile = user.get("profile") or {}
    for candidate in (
        profile.get("display_name"),
        profile.get("real_name"),
        user.get("real_name"),
    ):
        if isinstance(candidate, str) and candidate.strip():
            return " ".join(candidate.split())[:NAME_MAX_CHARS]
    return None


def display_names(session: Session, user_ids: Collection[str]) -> dict[str, str]:
    """The cached display names of ``user_ids``, in one query; users without one are absent."""
    if not user_ids:
        return {}
    rows = session.execute(
        sa.select(SlackUser.user_id, SlackUser.display_name).where(
            SlackUser.user_id.in_(set(user_ids)), SlackUser.display_name.is_not(None)
        )
    )
    return {user_id: name for user_id, name in rows if name}


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


def store_timezone(
    session: Session,
    user_id: str,
    tz: str | None,
    *,
    now: datetime,
    display_name: str | None = None,
) -> None:
    """Insert or update ``user_id``'s time zone and display name, fetched at ``now``.

    Two processes storing the same user at once both succeed (the later write
    wins): a racing insert is caught in a savepoint and becomes an update.
    """
    if tz is not None and len(tz) > _TZ_MAX_CHARS:
        tz = None  # not an IANA name; the caller falls back to its default
    name = display_name[:NAME_MAX_CHARS] if display_name else None
    values: dict[str, Any] = {"tz": tz, "fetched_at": now, "display_name": name}
    if _update(session, user_id, values):
        return
    try:
        with session.begin_nested():
            session.add(SlackUser(user_id=user_id, **values))
    except IntegrityError:
        if not _update(session, user_id, values):  # pragma: no cover - the row exists
            raise


def _update(session: Session, user_id: str, values: Mapping[str, Any]) -> bool:
    result = session.execute(
        sa.update(SlackUser)
        .where(SlackUser.user_id == user_id)
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    # Session.execute is typed as returning Result; DML returns a CursorResult.
    assert isinstance(result, CursorResult)
    return result.rowcount == 1
