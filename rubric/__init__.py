"""Competency rubrics: the schema, the YAML loader, the registry and a text rendering.

Pure domain code: nothing here touches Slack or a database, and importing the
package loads no files.
"""

from rubric.loader import load_builtin, load_rubric_file, load_rubric_text
from rubric.located_yaml import SourceError, SourceErrors
from rubric.model import (
    SHORT_MAX_CHARS,
    Discipline,
    Level,
    LevelDescriptor,
    Recommendation,
    Role,
    Rubric,
    Skill,
    UnknownIdError,
    rubric_digest,
)
from rubric.registry import RubricRegistry, UnknownRubricError
from rubric.text import render_rubric

__all__ = [
    "SHORT_MAX_CHARS",
    "Discipline",
    "Level",
    "LevelDescriptor",
    "Recommendation",
    "Role",
    "Rubric",
    "RubricRegistry",
    "Skill",
    "SourceError",
    "SourceErrors",
    "UnknownIdError",
    "UnknownRubricError",
    "load_builtin",
    "load_rubric_file",
    "load_rubric_text",
    "render_rubric",
    "rubric_digest",
]
