"""The mapping every source shares: from a job and an interview kit to import-row keys.

Configured once (config ``mapping:``), used by every source (calendar feeds, Ashby,
Greenhouse, Lever, the generic webhook when a row names a ``job``): the job (or
role) name picks the rubric, role, target level, hiring channel and hiring lead;
the interview or kit name picks the focus skills; ``defaults`` fill the rest. A
job with no mapping is not guessed: the interview is stored as incomplete.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["JobMapping", "SourceMapping"]

# The import-row keys a mapping may set (storage.import_file's columns).
MAPPABLE_KEYS = (
    "rubric",
    "role",
    "target_level",
    "hiring_channel",
    "recruiter",
    "hiring_lead",
)


class JobMapping(BaseModel):
    """One job (or role) of the ATS or calendar, and what its interviews get."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job: str = Field(min_length=1, max_length=200)  # the ATS job name (case-insensitive)
    rubric: str | None = None
    role: str | None = None
    target_level: str | None = None
    hiring_channel: str | None = None
    recruiter: str | None = None
    hiring_lead: str | None = None


class SourceMapping(BaseModel):
    """Config ``mapping:``: ``defaults``, ``jobs`` and ``kits``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    defaults: dict[str, Any] = Field(default_factory=dict)
    jobs: tuple[JobMapping, ...] = ()
    # interview or kit name (case-insensitive) -> focus skill ids
    kits: dict[str, tuple[str, ...]] = Field(default_factory=dict)
