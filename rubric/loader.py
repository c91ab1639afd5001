"""Reading rubrics from YAML, with every problem reported as ``file:line: path: message``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from rubric.located_yaml import (
    LocatedYaml,
    SourceError,
    SourceErrors,
    load_located_yaml,
    validation_errors,
)
from rubric.model import Rubric

BUILTIN_NAMES = ("mle",)
"""Rubrics shipped in ``rubric/data``."""


def load_rubric_text(text: str, file: str) -> Rubric:
    """Validate the YAML text of one rubric.

    Args:
        text: the document.
        file: the name to show in errors.

    Raises:
        SourceErrors: every problem found, each located by line and field path.
    """
    return load_located_rubric(text, file)[0]


def load_located_rubric(text: str, file: str) -> tuple[Rubric, LocatedYaml]:
    """Like :func:`load_rubric_text`, also returning the parsed document (for its lines)."""
    doc = load_located_yaml(text, file)
    if doc.data is None:
        raise SourceErrors([SourceError(file, 1, "", "rubric is empty")])
    if not isinstance(doc.data, dict):
        raise SourceErrors([doc.error((), "expected a mapping at the top level")])
    try:
        return Rubric.model_validate(doc.data), doc
    except ValidationError as exc:
        raise SourceErrors(validation_errors(exc, doc)) from None


def read_source_text(path: Path) -> str:
    """Read a UTF-8 text file, turning every way that can fail into SourceErrors."""
    file = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceErrors([SourceError(file, None, "", "file not found")]) from None
    except IsADirectoryError:
        raise SourceErrors([SourceError(file, None, "", "is a directory, not a file")]) from None
    except PermissionError:
        raise SourceErrors([SourceError(file, None, "", "permission denied")]) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SourceErrors([SourceError(file, None, "", f"cannot read: {reason}")]) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1].hex()
        message = f"not UTF-8 text (byte 0x{bad} cannot be decoded)"
        raise SourceErrors([SourceError(file, line, "", message)]) from None


def load_rubric_file(path: Path) -> Rubric:
    """Load and validate one rubric file.

    Raises:
        SourceErrors: if the file cannot be read or the rubric is invalid.
    """
    return load_rubric_text(read_source_text(path), str(path))


def builtin_file_label(name: str) -> str:
    """How errors and messages name a built-in rubric's file."""
    return f"<built-in>/{name}.yaml"


def load_builtin(name: str = "mle") -> Rubric:
    """Load a rubric shipped with interview-bot (``mle``).

    Read through ``importlib.resources``, so it works from an installed wheel.

    Raises:
        SourceErrors: if there is no such built-in rubric (or it is broken).
    """
    label = builtin_file_label(name)
    if name not in BUILTIN_NAMES:
        known = ", ".join(BUILTIN_NAMES)
        raise SourceErrors(
            [SourceError(label, None, "", f"no built-in rubric {name!r} (built-in: {known})")]
        )
    text = (resources.files("rubric") / "data" / f"{name}.yaml").read_text(encoding="utf-8")
    return load_rubric_text(text, label)
