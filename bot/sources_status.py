"""``interview-bot sources status``: every polled source's health and the incomplete interviews.

One line block per source (the calendar feeds in the config, and every other row
of ``source_states``, e.g. Greenhouse): when it last succeeded, its last error,
how many events its last poll saw, and the interviews it created, updated,
cancelled and left incomplete since it was added. Then the interviews a source
could not complete, with what is missing. Feed URLs are never printed (Google's
secret address is a credential); feeds are named by their ``name``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from rubric.durations import format_duration
from storage.incomplete import all_incomplete
from storage.incomplete_view import IncompleteView
from storage.source_state import STAT_KEYS, StateView, all_states

__all__ = ["collect_status", "render_json", "render_text", "sources_status"]


def sources_status(
    config: Config,
    session_factory: sessionmaker[Session],
    *,
    fmt: str,
    now: datetime,
    out: TextIO,
) -> int:
    status = collect_status(config, session_factory)
    if fmt == "json":
        print(render_json(status), file=out)
    else:
        print(render_text(status, now), file=out)
    return 0


def collect_status(config: Config, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    """The status as plain data (the JSON format prints it as is)."""
    intervals = {f"calendar:{feed.feed_name}": feed.poll_interval for feed in config.file.calendars}
    with session_factory() as session:
        states = {state.name: state for state in all_states(session)}
        incomplete = all_incomplete(session)
    names = sorted(set(states) | set(intervals))
    return {
        "sources": [
            _source(name, states.get(name), intervals.get(name), name in intervals)
            for name in names
        ],
        "incomplete": [_incomplete(view) for view in incomplete],
    }


def _source(name: str, state: StateView | None, interval: Any, configured: bool) -> dict[str, Any]:
    polled = state is not None and state.polls + state.failures > 0
    return {
        "name": name,
        "configured": configured or not name.startswith("calendar:"),
        "poll_interval": format_duration(interval) if interval is not None else None,
        "polls": state.polls if state else 0,
        "failures": state.failures if state else 0,
        "last_success_at": _iso(state.last_success_at) if state else None,
        "last_error": state.last_error if state else None,
        "last_error_at": _iso(state.last_error_at) if state else None,
        "consecutive_failures": state.attempts if state else 0,
        "next_poll_at": _iso(state.next_poll_at) if state and polled else None,
        "events_seen": (state.last.get("events_seen", 0) if state and state.last else 0),
        "totals": {key: (state.totals.get(key, 0) if state else 0) for key in STAT_KEYS[1:]},
        "last_poll": {key: (state.last.get(key, 0) if state else 0) for key in STAT_KEYS[1:]},
    }


def _incomplete(view: IncompleteView) -> dict[str, Any]:
    return {
        "id": view.id,
        "source": view.source,
        "external_id": view.external_id,
        "candidate": view.candidate,
        "starts_at": view.row.get("starts_at"),
        "missing": [{"field": f, "message": m} for f, m in view.missing],
        "recruiter": view.recruiter,
        "recruiter_asked_at": _iso(view.notified_at),
        "since": _iso(view.created_at),
    }


def render_json(status: Mapping[str, Any]) -> str:
    return json.dumps(status, indent=2, ensure_ascii=False)


def render_text(status: Mapping[str, Any], now: datetime) -> str:
    lines: list[str] = []
    sources: Sequence[Mapping[str, Any]] = status["sources"]
    if not sources:
        lines.append("No polled sources (configure calendars: or Greenhouse).")
    for source in sources:
        lines += _source_lines(source, now)
    incomplete: Sequence[Mapping[str, Any]] = status["incomplete"]
    lines.append("")
    lines.append(f"Incomplete interviews: {len(incomplete)}")
    for item in incomplete:
        missing = "; ".join(f"{m['field']}: {m['message']}" for m in item["missing"])
        when = _short_time(item.get("starts_at"))
        lines.append(f"  #{item['id']} {item['source']} {item['candidate']} ({when})")
        lines.append(f"      missing: {missing or '-'}")
        asked = item["recruiter_asked_at"]
        lines.append(f"      recruiter asked: {_short_time(asked) if asked else 'not yet'}")
    return "\n".join(lines)


def _source_lines(source: Mapping[str, Any], now: datetime) -> list[str]:
    head = source["name"]
    if source["poll_interval"]:
        head += f" (every {source['poll_interval']})"
    if not source["configured"]:
        head += " (no longer configured)"
    success = source["last_success_at"]
    lines = [head]
    lines.append(f"  last success: {_ago(success, now) if success else 'never'}")
    if source["last_error"]:
        failing = source["consecutive_failures"]
        suffix = f", {failing} failure(s) in a row" if failing else ""
        lines.append(
            f"  last error:   {source['last_error']} ({_ago(source['last_error_at'], now)}{suffix})"
        )
    else:
        lines.append("  last error:   none")
    totals = source["totals"]
    lines.append(f"  events seen:  {source['events_seen']} (last poll)")
    lines.append(
        "  interviews:   "
        + ", ".join(f"{totals[key]} {key}" for key in ("created", "updated", "cancelled"))
        + f", {totals['incomplete']} incomplete (since added)"
    )
    if source["next_poll_at"]:
        lines.append(f"  next poll:    {_short_time(source['next_poll_at'])}")
    return lines


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _short_time(value: object) -> str:
    if not isinstance(value, str):
        return "no time"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def _ago(value: str | None, now: datetime) -> str:
    if value is None:
        return "-"
    moment = datetime.fromisoformat(value)
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 120:
        ago = f"{seconds} s ago"
    elif seconds < 2 * 3600:
        ago = f"{seconds // 60} min ago"
    elif seconds < 2 * 86400:
        ago = f"{seconds // 3600} h ago"
    else:
        ago = f"{seconds // 86400} days ago"
    return f"{_short_time(value)} ({ago})"
