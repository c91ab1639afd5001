"""YAML documents that remember where each value came from.

Every input file of interview-bot (rubrics, interview imports, the config) is
validated with pydantic, and every error must name the file, the line and the
field path. PyYAML's ``safe_load`` forgets positions, so this module composes
the node tree once, records the line of every path, rejects duplicate keys
(which ``safe_load`` would silently resolve to the last one) and maps pydantic
errors back to lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

PathPart = str | int
Path = tuple[PathPart, ...]


@dataclass(frozen=True, order=True)
class SourceError:
    """One problem in an input file, located as precisely as the input allows."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SourceErrors(Exception):
    """Raised with every problem found in one or more input files."""

    def __init__(self, errors: Iterable[SourceError]) -> None:
        self.errors: list[SourceError] = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


def format_path(path: Sequence[PathPart]) -> str:
    """Render ``("skills", 3, "levels", "lead")`` as ``skills[3].levels.lead``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class LocatedYaml:
    """A parsed YAML document and the 1-based line of every path in it."""

    file: str
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Sequence[PathPart]) -> int | None:
        """The line of ``path``, or of its nearest ancestor that exists in the file."""
        parts = tuple(path)
        while True:
            if parts in self.lines:
                return self.lines[parts]
            if not parts:
                return None
            parts = parts[:-1]

    def error(self, path: Sequence[PathPart], message: str) -> SourceError:
        return SourceError(self.file, self.line_of(path), format_path(path), message)


def load_located_yaml(text: str, file: str) -> LocatedYaml:
    """Parse one YAML document with ``SafeLoader`` and record the line of each value.

    Raises:
        SourceErrors: on a syntax error or a duplicate mapping key.
    """
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        # The reader rejects non-printable characters up front, before any parsing.
        at = text.count("\n", 0, exc.position) + 1
        message = f"invalid YAML: unacceptable character #x{exc.character:04x} ({exc.reason})"
        raise SourceErrors([SourceError(file, at, "", message)]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return LocatedYaml(file, None, {(): 1})
        errors: list[SourceError] = []
        lines: dict[Path, int] = {}
        _walk(node, (), lines, errors, file)
        if errors:
            raise SourceErrors(errors)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise SourceErrors([SourceError(file, line, "", f"invalid YAML: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise SourceErrors([SourceError(file, None, "", f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return LocatedYaml(file, data, lines)


def _walk(
    node: yaml.Node,
    path: Path,
    lines: dict[Path, int],
    errors: list[SourceError],
    file: str,
    ancestors: frozenset[int] = frozenset(),
) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    # An alias may point at one of its own ancestors (``a: &x [*x]``); walking into it
    # would never end. The cycle is left for validation to reject.
    if id(node) in ancestors:
        return
    ancestors = ancestors | {id(node)}
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                errors.append(
                    SourceError(
                        file,
                        line,
                        format_path((*path, key)),
                        f"duplicate key (first defined on line {seen[key]})",
                    )
                )
                continue
            seen[key] = line
            lines[(*path, key)] = line
            _walk(value_node, (*path, key), lines, errors, file, ancestors)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, errors, file, ancestors)


def validation_errors(
    exc: ValidationError, doc: LocatedYaml, *, prefix: Sequence[PathPart] = ()
) -> list[SourceError]:
    """Turn a pydantic error into located errors, one per problem, in file order.

    ``prefix`` is prepended to each error's location, for documents whose
    validated part sits below the root.
    """
    out: list[SourceError] = []
    for err in exc.errors(include_url=False):
        loc: Path = (*prefix, *(p for p in err["loc"] if isinstance(p, str | int)))
        out.append(doc.error(loc, _message(err)))
    return sorted(out, key=lambda e: (e.line or 0, e.path))


def _message(err: Any) -> str:
    kind = err.get("type", "")
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        return "unknown field"
    msg = str(err.get("msg", "invalid value"))
    # pydantic prefixes errors raised by our own validators; users need not see it.
    for noise in ("Value error, ", "Assertion failed, "):
        if msg.startswith(noise):
            msg = msg[len(noise) :]
    return msg
