"""The building blocks of every config section (bot.config, bot.config_sources)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

from rubric.durations import format_duration, parse_duration

__all__ = ["Duration", "Section"]

Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]
"""A duration written ``<number><s|m|h|d>`` in the file, shown the same way."""


class Section(BaseModel):
    """A config section: unknown keys are errors, values never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)
