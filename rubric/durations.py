"""Durations as people write them in config and import files: ``30s``, ``5m``, ``24h``, ``2d``."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> timedelta:
    """Parse ``<number><s|m|h|d>`` into a timedelta; ``0s`` is valid.

    Raises:
        ValueError: with a message fit to show after the field's path.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"expected a duration like 30s, 5m, 24h or 2d, got {value!r} (add a unit)")
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(f"expected a duration like 30s, 5m, 24h or 2d, got {value!r}")
    number, unit = match.groups()
    try:
        return timedelta(seconds=float(number) * _UNIT_SECONDS[unit])
    except OverflowError:  # past timedelta's 999999999 days (or infinite)
        raise ValueError(f"duration {value!r} is too long") from None


def format_duration(value: timedelta) -> str:
    """The shortest exact ``<n><unit>`` spelling of ``value`` (inverse of parse_duration)."""
    seconds = value.total_seconds()
    for unit in ("d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
