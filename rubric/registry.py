"""The rubrics a deployment knows: the built-in ones plus a team's ``rubrics_dir``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rubric.loader import (
    BUILTIN_NAMES,
    builtin_file_label,
    load_builtin,
    load_located_rubric,
    read_source_text,
)
from rubric.located_yaml import SourceError, SourceErrors
from rubric.model import Rubric, UnknownIdError

RUBRIC_SUFFIXES = (".yaml", ".yml")


class UnknownRubricError(UnknownIdError):
    """No rubric has the requested id; the message lists the known ids."""


@dataclass(frozen=True)
class _Origin:
    file: str
    line: int | None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file


class RubricRegistry:
    """An immutable set of rubrics, looked up by id."""

    def __init__(self, rubrics: Iterable[Rubric]) -> None:
        """Index ``rubrics`` by id.

        Raises:
            ValueError: if two rubrics share an id.
        """
        self._rubrics: dict[str, Rubric] = {}
        for rubric in rubrics:
            if rubric.id in self._rubrics:
                raise ValueError(f"rubric id {rubric.id!r} is defined twice")
            self._rubrics[rubric.id] = rubric

    @classmethod
    def load(cls, rubrics_dir: Path | None) -> RubricRegistry:
        """Load the built-in rubrics and every ``*.yaml`` / ``*.yml`` file in ``rubrics_dir``.

        Files are read in name order, not recursively; hidden files are skipped.

        Raises:
            SourceErrors: every problem in every file, a missing directory, and
                each rubric id defined more than once (naming both files).
        """
        origins: dict[str, _Origin] = {}
        rubrics: list[Rubric] = []
        errors: list[SourceError] = []
        for name in BUILTIN_NAMES:
            rubric = load_builtin(name)
            origins[rubric.id] = _Origin(builtin_file_label(name), None)
            rubrics.append(rubric)
        for path in _rubric_files(rubrics_dir) if rubrics_dir is not None else []:
            try:
                rubric, doc = load_located_rubric(read_source_text(path), str(path))
            except SourceErrors as exc:
                errors.extend(exc.errors)
                continue
            first = origins.get(rubric.id)
            if first is not None:
                errors.append(
                    doc.error(("id",), f"rubric id {rubric.id!r} is already defined in {first}")
                )
                continue
            origins[rubric.id] = _Origin(str(path), doc.line_of(("id",)))
            rubrics.append(rubric)
        if errors:
            raise SourceErrors(errors)
        return cls(rubrics)

    def get(self, rubric_id: str) -> Rubric:
        """The rubric with this id.

        Raises:
            UnknownRubricError: (a KeyError) naming the known ids.
        """
        try:
            return self._rubrics[rubric_id]
        except KeyError:
            known = ", ".join(self.ids())
            raise UnknownRubricError(
                f"unknown rubric {rubric_id!r} (known rubrics: {known})"
            ) from None

    def ids(self) -> list[str]:
        """Rubric ids, sorted."""
        return sorted(self._rubrics)

    def all(self) -> list[Rubric]:
        """Every rubric, sorted by id."""
        return [self._rubrics[rubric_id] for rubric_id in self.ids()]

    def __contains__(self, rubric_id: object) -> bool:
        return rubric_id in self._rubrics

    def __iter__(self) -> Iterator[Rubric]:
        return iter(self.all())

    def __len__(self) -> int:
        return len(self._rubrics)


def _rubric_files(rubrics_dir: Path) -> list[Path]:
    if not rubrics_dir.exists():
        raise SourceErrors([SourceError(str(rubrics_dir), None, "", "rubrics directory not found")])
    if not rubrics_dir.is_dir():
        raise SourceErrors([SourceError(str(rubrics_dir), None, "", "not a directory")])
    try:
        entries = list(rubrics_dir.iterdir())
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SourceErrors(
            [SourceError(str(rubrics_dir), None, "", f"cannot list: {reason}")]
        ) from None
    return sorted(
        (
            path
            for path in entries
            # Editors and macOS leave hidden siblings (.#team.yaml, ._team.yaml).
            if path.suffix.lower() in RUBRIC_SUFFIXES
            and not path.name.startswith(".")
            and path.is_file()
        ),
        key=lambda path: path.name,
    )
