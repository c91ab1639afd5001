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
from datetime import date
from typing import Any

import yaml
from pydantic import ValidationError

PathPart = str | int
Path = tuple[PathPart, ...]

MAX_DEPTH = 64
"""Deeper nesting is refused: no input of ours needs it, and PyYAML recurses per level."""
MAX_ALIAS_PATHS = 50_000
"""Paths recorded through aliases; past it an alias is not walked into again (alias bombs)."""


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


class _Loader(yaml.SafeLoader):
    """SafeLoader that bounds nesting and reports bad dates at their line."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels", self.get_mark()
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> date:
        # An unquoted 2026-13-45 matches YAML's timestamp pattern; datetime() refuses it.
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"invalid date or timestamp {node.value!r} ({exc})", node.start_mark
            ) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def load_located_yaml(text: str, file: str) -> LocatedYaml:
    """Parse one YAML document with ``SafeLoader`` and record the line of each value.

    Raises:
        SourceErrors: on a syntax error, a duplicate mapping key, an invalid date,
            nesting deeper than :data:`MAX_DEPTH`, or a string no file may hold (a NUL
            character or an unpaired surrogate, which only escapes can write).
    """
    try:
        loader = _Loader(text)
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
        _walk(node, (), lines, errors, file, _Budget())
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


@dataclass
class _Budget:
    alias_paths: int = MAX_ALIAS_PATHS
    seen: set[int] = field(default_factory=set)


def _unstorable(text: str) -> str | None:
    """The first character no text column can hold (NUL, unpaired surrogates), if any."""
    for char in text:
        if char == "\x00" or "\ud800" <= char <= "\udfff":
            return char
    return None


def _walk(
    node: yaml.Node,
    path: Path,
    lines: dict[Path, int],
    errors: list[SourceError],
    file: str,
    budget: _Budget,
    ancestors: frozenset[int] = frozenset(),
) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    # An alias may point at one of its own ancestors (``a: &x [*x]``); walking into it
    # would never end. The cycle is left for validation to reject.
    if id(node) in ancestors:
        return
    if id(node) in budget.seen:
        # Another alias of a node walked already: its paths cost budget, and nested
        # aliases (a "billion laughs" file) would take exponential time and memory.
        if budget.alias_paths <= 0:
            return
        budget.alias_paths -= 1
    budget.seen.add(id(node))
    ancestors = ancestors | {id(node)}
    if isinstance(node, yaml.ScalarNode):
        bad = _unstorable(str(node.value))
        if bad is not None:
            errors.append(
                SourceError(
                    file,
                    node.start_mark.line + 1,
                    format_path(path),
                    f"text holds the character U+{ord(bad):04X}, which cannot be stored",
                )
            )
    elif isinstance(node, yaml.MappingNode):
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
            _walk(value_node, (*path, key), lines, errors, file, budget, ancestors)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, errors, file, budget, ancestors)


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
