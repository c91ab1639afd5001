"""The mapping every source shares: from a job and an interview kit to import-row keys.

Configured once (config ``mapping:``), used by every source (calendar feeds, Ashby,
Greenhouse, Lever, the generic webhook when a row names a ``job``): the job (or
role) name picks the rubric, role, target level, hiring channel and hiring lead;
the interview or kit name picks the focus skills; ``defaults`` fill the rest. A
job with no mapping is not guessed: the interview is stored as incomplete.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rubric import RubricRegistry
from rubric.located_yaml import Path as DocPath
from storage.import_file import EMAIL, SLACK_CHANNEL_ID, SLACK_USER_ID

__all__ = ["JobMapping", "Missing", "SourceMapping", "mapping_problems", "resolve_row"]

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


# -- resolving a source's row ------------------------------------------------------

# Keys ``defaults`` may hold: what a job gives, and how long an interview lasts.
DEFAULT_KEYS = (*MAPPABLE_KEYS, "duration")


@dataclass(frozen=True)
class Missing:
    """Something a person must supply before the interview can exist (never guessed)."""

    field: str
    message: str


def _find_job(mapping: SourceMapping, name: str) -> JobMapping | None:
    wanted = name.strip().casefold()
    return next((job for job in mapping.jobs if job.job.strip().casefold() == wanted), None)


def _kit_skills(mapping: SourceMapping, name: str) -> tuple[str, ...] | None:
    wanted = name.strip().casefold()
    return next(
        (skills for kit, skills in mapping.kits.items() if kit.strip().casefold() == wanted), None
    )


def _absent(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def resolve_row(
    mapping: SourceMapping, fields: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Missing]]:
    """The import row for a source's ``fields``: ``job`` and ``kit`` resolved, defaults filled.

    The row's own keys win over its job's, which win over ``defaults``. A job the
    mapping does not know is :class:`Missing` (its interview is stored as incomplete);
    with no ``role`` anywhere, the job's name is the role. A kit gives its focus
    skills to the panel members that have none.
    """
    row = {key: value for key, value in fields.items() if key not in ("job", "kit")}
    missing: list[Missing] = []
    job_name = fields.get("job")
    if isinstance(job_name, str) and job_name.strip():
        job = _find_job(mapping, job_name)
        if job is None:
            missing.append(
                Missing("job", f"no mapping for the job {job_name.strip()!r} (config mapping.jobs)")
            )
        else:
            for key in MAPPABLE_KEYS:
                value = getattr(job, key)
                if _absent(row.get(key)) and value is not None:
                    row[key] = value
        if _absent(row.get("role")) and _absent(mapping.defaults.get("role")):
            row["role"] = job_name.strip()
    for key, value in mapping.defaults.items():
        if _absent(row.get(key)) and value is not None:
            row[key] = value
    if "ends_at" in row and not _absent(row["ends_at"]) and "duration" not in fields:
        row.pop("duration", None)  # a default duration never overrides a given end
    kit_name = fields.get("kit")
    skills = _kit_skills(mapping, kit_name) if isinstance(kit_name, str) else None
    if skills and isinstance(row.get("panel"), list):
        row["panel"] = [
            {**member, "focus": list(skills)}
            if isinstance(member, dict) and not member.get("focus")
            else member
            for member in row["panel"]
        ]
    return row, missing


# -- validation against the rubrics (the config loader reports these with file:line) --


def mapping_problems(mapping: SourceMapping, registry: RubricRegistry) -> list[tuple[DocPath, str]]:
    """Every place where ``mapping`` names a rubric, level, role or skill that does not exist.

    Paths are relative to the config's ``mapping:`` section.
    """
    problems: list[tuple[DocPath, str]] = []
    for key in mapping.defaults:
        if key not in DEFAULT_KEYS:
            problems.append((("defaults", key), f"unknown key (known: {', '.join(DEFAULT_KEYS)})"))
    problems += _values_problems(mapping.defaults, ("defaults",), registry, check_role=False)
    seen: dict[str, int] = {}
    for i, job in enumerate(mapping.jobs):
        key = job.job.strip().casefold()
        if key in seen:
            problems.append(
                (("jobs", i, "job"), f"the job {job.job!r} is mapped twice (jobs[{seen[key]}])")
            )
        seen.setdefault(key, i)
        merged = {
            **mapping.defaults,
            **{k: v for k, v in job.model_dump().items() if v is not None},
        }
        merged.setdefault("role", mapping.defaults.get("role") or job.job)
        problems += _values_problems(merged, ("jobs", i), registry, check_role=True, own=job)
    known_skills = {
        skill for rubric_id in registry.ids() for skill in _skill_ids(registry, rubric_id)
    }
    for kit, skills in mapping.kits.items():
        for j, skill in enumerate(skills):
            if skill not in known_skills:
                problems.append((("kits", kit, j), f"unknown skill {skill!r} (in no rubric)"))
    return problems


def _skill_ids(registry: RubricRegistry, rubric_id: str) -> list[str]:
    return [skill.id for skill in registry.get(rubric_id).skills]


def _values_problems(
    values: Mapping[str, Any],
    at: DocPath,
    registry: RubricRegistry,
    *,
    check_role: bool,
    own: JobMapping | None = None,
) -> list[tuple[DocPath, str]]:
    def where(key: str) -> DocPath:
        # Reported where the value is written: the job's own key, else defaults, else the job.
        if own is None or getattr(own, key, None) is not None:
            return (*at, key)
        return ("defaults", key) if key in values and key != "role" else (*at, "job")

    problems: list[tuple[DocPath, str]] = []
    channel = values.get("hiring_channel")
    if channel is not None and not (isinstance(channel, str) and SLACK_CHANNEL_ID.match(channel)):
        problems.append(
            (
                where("hiring_channel"),
                f"expected a Slack channel ID (C... or G...), got {channel!r}",
            )
        )
    for key in ("recruiter", "hiring_lead"):
        person = values.get(key)
        if person is not None and not (
            isinstance(person, str) and (SLACK_USER_ID.match(person) or EMAIL.match(person))
        ):
            problems.append(
                (where(key), f"expected a Slack user ID (U...) or an email, got {person!r}")
            )
    rubric_id = values.get("rubric", "mle")
    if not isinstance(rubric_id, str) or rubric_id not in registry:
        known = ", ".join(registry.ids())
        problems.append((where("rubric"), f"unknown rubric {rubric_id!r} (known: {known})"))
        return problems
    rubric = registry.get(rubric_id)
    level = values.get("target_level")
    if level is not None:
        if not isinstance(level, str) or level.lower() not in rubric.level_ids:
            levels = ", ".join(rubric.level_ids)
            problems.append((where("target_level"), f"unknown level {level!r} (levels: {levels})"))
    elif check_role:
        role = values.get("role")
        if not isinstance(role, str) or rubric.role(role) is None:
            known = ", ".join(r.id for r in rubric.roles) or "none"
            problems.append(
                (
                    where("role"),
                    f"the role {role!r} is not a role of rubric {rubric.id!r} (roles: {known}): "
                    "give target_level",
                )
            )
    return problems
