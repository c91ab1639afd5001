"""The rubric schema: levels, recommendations, roles, disciplines and their skills.

A rubric is plain, immutable data. It validates itself completely: field-level
problems come from pydantic, and the cross-field rules (unique ids, one
descriptor per level, known target levels) are checked by a wrap validator on
:class:`Rubric` that reports every problem at its exact location, so a loader
can point at the line of each one and ``Rubric.model_validate`` of a stored
snapshot enforces the same invariants.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, Protocol, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from rubric.located_yaml import PathPart, format_path

SHORT_MAX_CHARS = 75
"""Slack's limit for the text of a select option, where short descriptors appear."""

ID_PATTERN = r"[a-z][a-z0-9_-]{0,63}"
_ID_RE = re.compile(ID_PATTERN)

Loc = tuple[PathPart, ...]
_T = TypeVar("_T")


# ---------------------------------------------------------------------------
# Field types


def _describe(value: object) -> str:
    if isinstance(value, bool):
        # YAML 1.1 (PyYAML) reads yes/no/on/off/true/false as booleans.
        return f"the boolean {str(value).lower()} (YAML reads unquoted yes/no/on/off as booleans)"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _require_str(value: object) -> object:
    # pydantic's own wording ("Input should be a valid string") gives no hint at
    # the usual cause, an unquoted YAML scalar.
    if isinstance(value, str):
        return value
    raise PydanticCustomError("string_type", f"expected text, got {_describe(value)}; quote it")


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise PydanticCustomError("blank", "must not be blank")
    return value


def _check_id(value: str) -> str:
    if not _ID_RE.fullmatch(value):
        raise PydanticCustomError(
            "invalid_id",
            f"invalid id {value!r}: use 1-64 lowercase letters, digits, '_' or '-', "
            "starting with a letter",
        )
    return value


def _check_short(value: str) -> str:
    if len(value.splitlines()) > 1:
        raise PydanticCustomError("multiline", "must be a single line")
    if len(value) > SHORT_MAX_CHARS:
        raise PydanticCustomError(
            "too_long", f"at most {SHORT_MAX_CHARS} characters (got {len(value)})"
        )
    return value


def _at_least(count: int, noun: str) -> Callable[[tuple[_T, ...]], tuple[_T, ...]]:
    def check(items: tuple[_T, ...]) -> tuple[_T, ...]:
        if len(items) < count:
            raise PydanticCustomError(
                "too_short", f"at least {count} {noun} required (got {len(items)})"
            )
        return items

    return check


Id = Annotated[str, BeforeValidator(_require_str), AfterValidator(_check_id)]
"""A stable identifier: ``^[a-z][a-z0-9_-]{0,63}$``."""

Text = Annotated[str, BeforeValidator(_require_str), AfterValidator(_not_blank)]
"""Non-blank text, stripped of surrounding whitespace."""

ShortText = Annotated[Text, AfterValidator(_check_short)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ---------------------------------------------------------------------------
# Models


class Level(_Frozen):
    """A seniority level, such as Junior; a rubric lists them lowest first."""

    id: Id
    name: Text


class LevelDescriptor(_Frozen):
    """What a skill looks like at one level: a select-menu line and the full text."""

    short: ShortText
    full: Text


class Skill(_Frozen):
    """One assessed skill with a descriptor for every level of its rubric."""

    id: Id
    name: Text
    question: Text
    levels: Mapping[str, LevelDescriptor]

    def __hash__(self) -> int:
        # The only mapping in a rubric; hashing its items keeps rubrics hashable
        # (usable as cache keys) like every other frozen model.
        return hash((self.id, self.name, self.question, frozenset(self.levels.items())))


class Discipline(_Frozen):
    """A group of related skills, such as Core technical."""

    id: Id
    name: Text
    description: Text | None = None
    skills: Annotated[tuple[Skill, ...], AfterValidator(_at_least(1, "skill"))]


class Recommendation(_Frozen):
    """An overall recommendation; ``hire`` says whether it votes for hiring."""

    id: Id
    name: Text
    hire: bool


class Role(_Frozen):
    """A role candidates interview for, and the level it is hired at."""

    id: Id
    name: Text
    target_level: Id


class UnknownIdError(KeyError):
    """A lookup by id found nothing; the message lists what exists."""

    def __str__(self) -> str:
        # KeyError's str() is the repr of its argument, quotes and all.
        return str(self.args[0]) if self.args else ""


class Rubric(_Frozen):
    """A competency rubric.

    Invariants (checked on validation): ids are unique per kind (skill ids across
    all disciplines), every skill has exactly one descriptor per level, every
    role's target level is a level of the rubric, and recommendations are ordered
    most negative first with at least one of each ``hire`` value.
    """

    id: Id
    name: Text
    version: Text
    description: Text | None = None
    levels: Annotated[tuple[Level, ...], AfterValidator(_at_least(2, "levels"))]
    recommendations: Annotated[
        tuple[Recommendation, ...], AfterValidator(_at_least(2, "recommendations"))
    ]
    roles: tuple[Role, ...] = ()
    disciplines: Annotated[tuple[Discipline, ...], AfterValidator(_at_least(1, "discipline"))]

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_text(cls, value: object) -> object:
        # An unquoted 1.10 would silently become 1.1; insist on quotes.
        if isinstance(value, str):
            return value
        raise PydanticCustomError(
            "string_type",
            f'must be a string, quote it (e.g. version: "2026.1"), got {_describe(value)}',
        )

    @model_validator(mode="wrap")
    @classmethod
    def _consistent(cls, data: Any, handler: ModelWrapValidatorHandler[Rubric]) -> Rubric:
        # Cross-field rules run on the raw input, even when some fields failed,
        # so that one pass reports every problem, each at its own location.
        if isinstance(data, Rubric):
            return handler(data)
        errors: list[InitErrorDetails] = []
        rubric: Rubric | None = None
        try:
            rubric = handler(data)
        except ValidationError as exc:
            errors.extend(
                {
                    "type": PydanticCustomError(e["type"], e["msg"]),
                    "loc": e["loc"],
                    "input": e["input"],
                }
                for e in exc.errors(include_url=False)
            )
        if isinstance(data, Mapping):
            errors.extend(_consistency_errors(data))
        if rubric is None or errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return rubric

    # -- lookups ------------------------------------------------------------

    @property
    def skills(self) -> tuple[Skill, ...]:
        """Every skill, in discipline order."""
        return tuple(skill for discipline in self.disciplines for skill in discipline.skills)

    @property
    def level_ids(self) -> tuple[str, ...]:
        """Level ids, lowest first."""
        return tuple(level.id for level in self.levels)

    def skill(self, skill_id: str) -> Skill:
        """The skill with this id. Raises UnknownIdError (a KeyError)."""
        return _find(self.skills, skill_id, "skill", self.id)

    def has_skill(self, skill_id: str) -> bool:
        """Whether the rubric has a skill with this id."""
        return any(skill.id == skill_id for skill in self.skills)

    def level(self, level_id: str) -> Level:
        """The level with this id. Raises UnknownIdError (a KeyError)."""
        return _find(self.levels, level_id, "level", self.id)

    def level_index(self, level_id: str) -> int:
        """Position of a level, 0 for the lowest. Raises UnknownIdError (a KeyError)."""
        return self.levels.index(self.level(level_id))

    def recommendation(self, recommendation_id: str) -> Recommendation:
        """The recommendation with this id. Raises UnknownIdError (a KeyError)."""
        return _find(self.recommendations, recommendation_id, "recommendation", self.id)

    def role(self, id_or_name: str) -> Role | None:
        """The role whose id or display name matches, ignoring case and spacing."""
        wanted = _normalise(id_or_name)
        for role in self.roles:
            if wanted == role.id:
                return role
        for role in self.roles:
            if wanted == _normalise(role.name):
                return role
        return None

    def discipline_of(self, skill_id: str) -> Discipline:
        """The discipline a skill belongs to. Raises UnknownIdError (a KeyError)."""
        for discipline in self.disciplines:
            if any(skill.id == skill_id for skill in discipline.skills):
                return discipline
        raise _unknown(self.skills, skill_id, "skill", self.id)


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


_I = TypeVar("_I", bound=_HasId)


def _find(items: Sequence[_I], wanted: str, kind: str, rubric_id: str) -> _I:
    for item in items:
        if item.id == wanted:
            return item
    raise _unknown(items, wanted, kind, rubric_id)


def _unknown(items: Iterable[_HasId], wanted: str, kind: str, rubric_id: str) -> UnknownIdError:
    known = ", ".join(item.id for item in items)
    return UnknownIdError(f"rubric {rubric_id!r} has no {kind} {wanted!r} (known: {known})")


def _normalise(text: str) -> str:
    return " ".join(text.split()).casefold()


def rubric_digest(rubric: Rubric) -> str:
    """SHA-256 (hex) of the rubric's canonical JSON.

    Canonical means ``model_dump(mode="json")`` with sorted keys and compact
    separators, UTF-8 encoded; ``Rubric.model_validate`` of that dump gives an
    equal rubric with the same digest.
    """
    canonical = json.dumps(
        rubric.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------
# Cross-field rules, on raw (possibly invalid) input


def _consistency_errors(data: Mapping[Any, Any]) -> list[InitErrorDetails]:
    errors: list[InitErrorDetails] = []
    for key, noun in (
        ("levels", "level"),
        ("recommendations", "recommendation"),
        ("roles", "role"),
        ("disciplines", "discipline"),
    ):
        errors.extend(_check_unique([((key, i), item) for i, item in _entries(data, key)], noun))
    skills = [
        (("disciplines", d, "skills", s), skill)
        for d, discipline in _entries(data, "disciplines")
        for s, skill in _entries(discipline, "skills")
    ]
    errors.extend(_check_unique(skills, "skill"))
    errors.extend(_check_recommendation_order(data))

    level_ids = _level_ids(data)
    if level_ids is None:
        # The levels themselves are broken (and reported); checking against them
        # would only add noise.
        return errors
    known = f"levels are {', '.join(level_ids)}"
    for loc, skill in skills:
        descriptors = skill.get("levels")
        if not isinstance(descriptors, Mapping):
            continue
        for level_id in level_ids:
            if level_id not in descriptors:
                errors.append(
                    {"type": "missing", "loc": (*loc, "levels", level_id), "input": skill}
                )
        for key in descriptors:
            if isinstance(key, str) and key not in level_ids:
                errors.append(
                    _error((*loc, "levels", key), "unknown_level", f"unknown level ({known})")
                )
    for r, role in _entries(data, "roles"):
        target = role.get("target_level")
        if _valid_id(target) and target not in level_ids:
            errors.append(
                _error(
                    ("roles", r, "target_level"),
                    "unknown_level",
                    f"unknown level {target!r} ({known})",
                )
            )
    return errors


def _as_mapping(value: object) -> Mapping[Any, Any] | None:
    # Python callers may pass model instances (Rubric(levels=(Level(...), ...)));
    # they must meet the same rules as YAML input.
    if isinstance(value, BaseModel):
        return value.model_dump()
    return value if isinstance(value, Mapping) else None


def _entries(data: Mapping[Any, Any], key: str) -> list[tuple[int, Mapping[Any, Any]]]:
    items = data.get(key)
    if not isinstance(items, list | tuple):
        return []
    entries = [(i, _as_mapping(item)) for i, item in enumerate(items)]
    return [(i, item) for i, item in entries if item is not None]


def _valid_id(value: object) -> bool:
    return isinstance(value, str) and _ID_RE.fullmatch(value) is not None


def _level_ids(data: Mapping[Any, Any]) -> tuple[str, ...] | None:
    levels = data.get("levels")
    if not isinstance(levels, list | tuple) or not levels:
        return None
    ids = [(_as_mapping(level) or {}).get("id") for level in levels]
    valid = [i for i in ids if isinstance(i, str) and _valid_id(i)]
    return tuple(dict.fromkeys(valid)) if len(valid) == len(ids) else None


def _check_unique(
    items: Iterable[tuple[Loc, Mapping[Any, Any]]], noun: str
) -> list[InitErrorDetails]:
    errors: list[InitErrorDetails] = []
    first: dict[str, Loc] = {}
    for loc, item in items:
        item_id = item.get("id")
        if not isinstance(item_id, str) or not _valid_id(item_id):
            continue
        if item_id in first:
            message = (
                f"duplicate {noun} id {item_id!r} (first defined at {format_path(first[item_id])})"
            )
            errors.append(_error((*loc, "id"), "duplicate_id", message))
        else:
            first[item_id] = loc
    return errors


def _check_recommendation_order(data: Mapping[Any, Any]) -> list[InitErrorDetails]:
    # Consensus maths relies on the order: every "no hire" option before every "hire" one.
    entries = [
        (i, rec)
        for i, rec in _entries(data, "recommendations")
        if isinstance(rec.get("hire"), bool)
    ]
    errors: list[InitErrorDetails] = []
    hiring: Mapping[Any, Any] | None = None
    for i, rec in entries:
        if rec["hire"]:
            hiring = hiring or rec
        elif hiring is not None:
            errors.append(
                _error(
                    ("recommendations", i, "hire"),
                    "recommendation_order",
                    "recommendations go from most negative to most positive: a hire: false "
                    f"recommendation cannot follow {hiring.get('id')!r} (hire: true)",
                )
            )
    raw = data.get("recommendations")
    if isinstance(raw, list | tuple) and len(entries) == len(raw) >= 2:
        votes = {bool(rec["hire"]) for _, rec in entries}
        if votes != {True, False}:
            errors.append(
                _error(
                    ("recommendations",),
                    "recommendation_votes",
                    "needs at least one recommendation with hire: true and one with hire: false",
                )
            )
    return errors


def _error(loc: Loc, kind: str, message: str) -> InitErrorDetails:
    return {"type": PydanticCustomError(kind, message), "loc": loc, "input": None}
