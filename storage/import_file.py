"""Reading and validating interview import files (YAML and CSV).

Parsing touches no database: it turns a file into ``InterviewSpec`` values or
raises ``SourceErrors`` listing every problem with its file, line and field.
Writing the specs is ``storage.interviews.import_interviews``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from rubric import RubricRegistry
from rubric.durations import parse_duration
from rubric.located_yaml import (
    LocatedYaml,
    SourceError,
    SourceErrors,
    format_path,
    load_located_yaml,
    validation_errors,
)
from rubric.located_yaml import (
    Path as DocPath,
)

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
SLACK_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,31}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")

CSV_COLUMNS = (
    "external_id",
    "candidate",
    "role",
    "rubric",
    "target_level",
    "starts_at",
    "ends_at",
    "duration",
    "hiring_channel",
    "recruiter",
    "hiring_lead",
    "panel",
)

EmailResolver = Callable[[str], str]
"""Maps an email to a Slack user ID.

Raises ``LookupError`` with a reason when Slack has no such user (the row is then
incomplete, or an error), and :class:`EmailLookupUnavailable` when Slack could not
be asked (down, rate limited, a missing scope): not the email's fault, so a source
retries later instead of recording people as missing.
"""


class EmailLookupUnavailable(Exception):
    """Slack could not answer an email lookup; nothing about the email is known."""


@dataclass(frozen=True)
class PanelMemberSpec:
    interviewer: str
    focus: tuple[str, ...]
    shadow: bool = False  # a trainee: rates, shown apart, never counted


@dataclass(frozen=True)
class InterviewSpec:
    """One validated interview of an import file, people resolved to Slack IDs, times in UTC."""

    file: str
    line: int | None
    external_id: str | None
    candidate: str
    role: str
    rubric_id: str
    target_level: str
    starts_at: datetime
    ends_at: datetime
    hiring_channel: str
    recruiter: str
    hiring_lead: str
    panel: tuple[PanelMemberSpec, ...]

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    @property
    def natural_key(self) -> tuple[str, str, datetime]:
        """How a row without ``external_id`` is identified: (candidate, role, starts_at)."""
        return (self.candidate, self.role, self.starts_at)

    def error(self, path: str, message: str) -> SourceError:
        return SourceError(self.file, self.line, path, message)


# -- row schema -----------------------------------------------------------------

# Interviews take place in this range; outside it, adding a deadline could overflow.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _storable(value: object) -> object:
    # A CSV cell or a modal field can hold what no text column can (YAML is checked on load).
    if isinstance(value, str):
        for char in value:
            if char == "\x00" or "\ud800" <= char <= "\udfff":
                raise ValueError(f"holds the character U+{ord(char):04X}, which cannot be stored")
    return value


Text = Annotated[
    str,
    BeforeValidator(_storable),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
]


def _person(value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        if SLACK_USER_ID.match(value) or EMAIL.match(value):
            return value
        raise ValueError(f"expected a Slack user ID (U...) or an email, got {value!r}")
    return value


def _channel(value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        if SLACK_CHANNEL_ID.match(value):
            return value
        raise ValueError(f"expected a Slack channel ID (C... or G..., not a #name), got {value!r}")
    return value


def _text_id(value: object) -> object:
    # external ids like 4711 are often written unquoted
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Person = Annotated[str, BeforeValidator(_person)]
Channel = Annotated[str, BeforeValidator(_channel)]


class PanelRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interviewer: Person
    focus: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]] = []
    shadow: StrictBool = False

    @field_validator("focus", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return [] if value is None else value


class InterviewRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: Annotated[
        str | None,
        BeforeValidator(_storable),
        BeforeValidator(_text_id),
        StringConstraints(strip_whitespace=True, min_length=1, max_length=128),
    ] = None
    candidate: Text
    role: Text
    rubric: Text = "mle"
    target_level: Text | None = None
    starts_at: datetime
    ends_at: datetime | None = None
    duration: Annotated[
        timedelta | None, BeforeValidator(lambda v: v if v is None else parse_duration(v))
    ] = None
    hiring_channel: Channel
    recruiter: Person
    hiring_lead: Person
    panel: list[PanelRow] = Field(min_length=1)

    @field_validator("starts_at", "ends_at", mode="before")
    @classmethod
    def _aware_timestamp(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            raise ValueError("expected a date and time with an offset, got a date only")
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(
                    f"expected an ISO 8601 timestamp like 2026-12-01T10:00:00+01:00, got {value!r}"
                ) from None
        if isinstance(value, datetime) and value.tzinfo is None:
            default_tz: tzinfo | None = (info.context or {}).get("default_tz")
            if default_tz is None:
                raise ValueError(
                    "timestamp has no time zone offset; add one (e.g. +01:00) "
                    "or set `timezone` in the config"
                )
            value = value.replace(tzinfo=default_tz)
        return value

    @field_validator("panel", mode="before")
    @classmethod
    def _panel_given(cls, value: object) -> object:
        if value is None or value == []:
            raise ValueError("the panel is empty; list at least one interviewer")
        return value

    @model_validator(mode="after")
    def _one_end(self) -> InterviewRow:
        if self.ends_at is None and self.duration is None:
            raise ValueError("give ends_at or duration")
        if self.ends_at is not None and self.duration is not None:
            raise ValueError("give ends_at or duration, not both")
        return self


# -- parsing ----------------------------------------------------------------------


@dataclass
class _Row:
    """One raw row, the document it came from (for line numbers) and its path there."""

    data: Any
    doc: LocatedYaml
    prefix: DocPath

    def locate(self, path: Sequence[str | int]) -> int | None:
        return self.doc.line_of(path)


def parse_import_file(
    path: Path,
    *,
    registry: RubricRegistry,
    default_tz: tzinfo | None = None,
    resolve_email: EmailResolver | None = None,
) -> list[InterviewSpec]:
    """Read a YAML (``.yaml``/``.yml``) or CSV (``.csv``) import file.

    Raises:
        SourceErrors: every problem in the file; nothing is returned if there is one.
    """
    name = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceErrors([SourceError(name, None, "", "file not found")]) from None
    except OSError as exc:
        raise SourceErrors([SourceError(name, None, "", f"cannot read file: {exc}")]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = (
            f"not UTF-8 text (byte 0x{data[exc.start : exc.start + 1].hex()} cannot be decoded)"
        )
        raise SourceErrors([SourceError(name, line, "", message)]) from None
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        rows = _yaml_rows(text, name)
    elif suffix == ".csv":
        rows = _csv_rows(text, name)
    else:
        raise SourceErrors(
            [SourceError(name, None, "", "unsupported file type; use .yaml, .yml or .csv")]
        )
    return parse_rows(
        rows, file=name, registry=registry, default_tz=default_tz, resolve_email=resolve_email
    )


def _yaml_rows(text: str, name: str) -> list[_Row]:
    doc = load_located_yaml(text, name)
    if not isinstance(doc.data, dict):
        raise SourceErrors([doc.error((), "expected a mapping with an `interviews:` list")])
    unknown = [k for k in doc.data if k != "interviews"]
    errors = [
        doc.error((str(k),), "unknown field (the file holds `interviews:` only)") for k in unknown
    ]
    items = doc.data.get("interviews")
    if not isinstance(items, list):
        errors.append(doc.error(("interviews",), "expected a list of interviews"))
    elif not items:
        errors.append(doc.error(("interviews",), "no interviews in the file"))
    if errors:
        raise SourceErrors(errors)
    assert isinstance(items, list)
    return [_Row(item, doc, ("interviews", i)) for i, item in enumerate(items)]


def _csv_rows(text: str, name: str) -> list[_Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise SourceErrors([SourceError(name, 1, "", "the CSV file is empty")]) from None
    except csv.Error as exc:
        raise SourceErrors([SourceError(name, 1, "", f"unreadable CSV: {exc}")]) from None
    header = [h.strip() for h in header]
    errors = [
        SourceError(name, 1, column or f"column {i + 1}", "unknown column")
        for i, column in enumerate(header)
        if column not in CSV_COLUMNS
    ]
    seen: set[str] = set()
    for column in header:
        if column in seen:
            errors.append(SourceError(name, 1, column, "column appears twice"))
        seen.add(column)
    if errors:
        raise SourceErrors(errors)
    rows: list[_Row] = []
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a cell past the csv module's field size limit
            raise SourceErrors([SourceError(name, line, "", f"unreadable CSV: {exc}")]) from None
        start, line = line, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            errors.append(
                SourceError(name, start, "", f"expected {len(header)} cells, found {len(cells)}")
            )
            continue
        data: dict[str, Any] = {
            col: cell.strip() for col, cell in zip(header, cells, strict=True) if cell.strip()
        }
        if "panel" in data:
            data["panel"] = _csv_panel(data["panel"])
        rows.append(_Row(data, LocatedYaml(name, data, {(): start}), ()))
    if errors:
        raise SourceErrors(errors)
    if not rows:
        raise SourceErrors([SourceError(name, 2, "", "no interviews in the file")])
    return rows


def _csv_panel(cell: str) -> list[dict[str, Any]]:
    """``U1:skill+skill;U2:skill;U3::shadow`` -> the YAML panel shape.

    A third ``:``-separated part ``shadow`` marks a shadow interviewer; anything
    else there is kept as given, so the row's validation names it.
    """
    panel: list[dict[str, Any]] = []
    for member in cell.split(";"):
        if not member.strip():
            continue
        interviewer, _, rest = member.partition(":")
        focus, marked, flag = rest.partition(":")
        skills = [s.strip() for s in focus.split("+") if s.strip()]
        entry: dict[str, Any] = {"interviewer": interviewer.strip(), "focus": skills}
        if marked:
            entry["shadow"] = True if flag.strip().lower() == "shadow" else flag.strip()
        panel.append(entry)
    return panel


def parse_interview(
    data: Mapping[str, Any],
    *,
    source: str,
    registry: RubricRegistry,
    default_tz: tzinfo | None = None,
) -> InterviewSpec:
    """Validate one interview given as a mapping in the import row shape (e.g. from a modal).

    Raises:
        SourceErrors: every problem, each with its field path (no line numbers).
    """
    row = _Row(dict(data), LocatedYaml(source, data, {}), ())
    [spec] = parse_rows(
        [row], file=source, registry=registry, default_tz=default_tz, resolve_email=None
    )
    return spec


def parse_rows(
    rows: Sequence[_Row],
    *,
    file: str,
    registry: RubricRegistry,
    default_tz: tzinfo | None,
    resolve_email: EmailResolver | None,
) -> list[InterviewSpec]:
    errors: list[SourceError] = []
    valid: list[tuple[_Row, InterviewRow]] = []
    for row in rows:
        located = row.doc
        if not isinstance(row.data, dict):
            errors.append(located.error(row.prefix, "expected a mapping (one interview)"))
            continue
        try:
            parsed = InterviewRow.model_validate(row.data, context={"default_tz": default_tz})
        except ValidationError as exc:
            errors.extend(validation_errors(exc, located, prefix=row.prefix))
            continue
        row_errors = _check_against_rubric(parsed, registry)
        errors.extend(located.error((*row.prefix, *p), msg) for p, msg in row_errors)
        if not row_errors:
            valid.append((row, parsed))
    if errors:
        raise SourceErrors(sorted(errors, key=lambda e: (e.line or 0, e.path)))

    resolved = _resolve_people(valid, file, resolve_email)
    specs = [_to_spec(file, row, parsed, registry, resolved) for row, parsed in valid]
    _check_duplicates(specs, valid, file)
    return specs


def _check_against_rubric(row: InterviewRow, registry: RubricRegistry) -> list[tuple[DocPath, str]]:
    if row.rubric not in registry:
        return [
            (("rubric",), f"unknown rubric {row.rubric!r} (known: {', '.join(registry.ids())})")
        ]
    rubric = registry.get(row.rubric)
    problems: list[tuple[DocPath, str]] = []
    levels = ", ".join(rubric.level_ids)
    role = rubric.role(row.role)
    if row.target_level is not None:
        if row.target_level.lower() not in rubric.level_ids:
            problems.append(
                (("target_level",), f"unknown level {row.target_level!r} (levels: {levels})")
            )
    elif role is None:
        known = ", ".join(f"{r.id} ({r.name})" for r in rubric.roles) or "none"
        problems.append(
            (
                ("role",),
                f"unknown role {row.role!r} for rubric {rubric.id!r} and no target_level given "
                f"(roles: {known})",
            )
        )
    seen: dict[str, int] = {}
    for i, member in enumerate(row.panel):
        key = member.interviewer.lower()
        if key in seen:
            problems.append(
                (
                    (("panel", i, "interviewer")),
                    f"{member.interviewer} is on the panel twice (also panel[{seen[key]}])",
                )
            )
        else:
            seen[key] = i
        for j, skill in enumerate(member.focus):
            if not rubric.has_skill(skill):
                problems.append(
                    (("panel", i, "focus", j), f"unknown skill {skill!r} in rubric {rubric.id!r}")
                )
        if len(set(member.focus)) != len(member.focus):
            problems.append((("panel", i, "focus"), "a focus skill is listed twice"))
    if row.panel and all(member.shadow for member in row.panel):
        problems.append(
            (
                ("panel",),
                "every interviewer is a shadow; at least one must not be (shadows never count)",
            )
        )
    if row.ends_at is not None and row.ends_at <= row.starts_at:
        problems.append((("ends_at",), "the interview ends before (or when) it starts"))
    if row.duration is not None and row.duration <= timedelta(0):
        problems.append((("duration",), "must be longer than 0s"))
    span = f"between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}"
    if not _in_range(row.starts_at):
        problems.append((("starts_at",), f"must be {span}"))
    elif row.ends_at is not None and not _in_range(row.ends_at):
        problems.append((("ends_at",), f"must be {span}"))
    elif row.duration is not None and not _in_range(row.starts_at, row.duration):
        problems.append((("duration",), f"is too long: the interview must end {span}"))
    return problems


def _in_range(moment: datetime, plus: timedelta = timedelta(0)) -> bool:
    try:
        return EARLIEST <= moment + plus <= LATEST
    except OverflowError:
        return False


def _resolve_people(
    valid: Iterable[tuple[_Row, InterviewRow]], file: str, resolve_email: EmailResolver | None
) -> dict[str, str]:
    """Resolve every email once; an unresolvable one is an error at each place it is used."""
    places: dict[str, list[SourceError]] = {}
    for row, parsed in valid:
        fields: list[tuple[DocPath, str]] = [
            (("recruiter",), parsed.recruiter),
            (("hiring_lead",), parsed.hiring_lead),
        ]
        fields += [(("panel", i, "interviewer"), m.interviewer) for i, m in enumerate(parsed.panel)]
        for path, person in fields:
            if "@" in person:
                full = (*row.prefix, *path)
                places.setdefault(person.lower(), []).append(
                    SourceError(file, row.locate(full), format_path(full), "")
                )
    resolved: dict[str, str] = {}
    errors: list[SourceError] = []
    for email, where in places.items():
        if resolve_email is None:
            reason = (
                "emails are resolved through Slack (users.lookupByEmail): "
                "set SLACK_BOT_TOKEN, or use a Slack user ID"
            )
        else:
            try:
                resolved[email] = resolve_email(email)
                continue
            except LookupError as exc:
                reason = str(exc.args[0]) if exc.args else f"no Slack user with email {email}"
            except EmailLookupUnavailable as exc:
                # A file import is run by a person: a located error, nothing imported.
                reason = f"{exc}; nothing was imported, run it again"
        errors.extend(SourceError(e.file, e.line, e.path, reason) for e in where)
    if errors:
        raise SourceErrors(sorted(errors, key=lambda e: (e.line or 0, e.path)))
    return resolved


def _to_spec(
    file: str,
    row: _Row,
    parsed: InterviewRow,
    registry: RubricRegistry,
    resolved: Mapping[str, str],
) -> InterviewSpec:
    rubric = registry.get(parsed.rubric)

    def person(value: str) -> str:
        return resolved[value.lower()] if "@" in value else value

    role = rubric.role(parsed.role)
    target = (
        parsed.target_level.lower() if parsed.target_level else (role.target_level if role else "")
    )
    ends_at = (
        parsed.ends_at
        if parsed.ends_at is not None
        else parsed.starts_at + (parsed.duration or timedelta(0))
    )
    return InterviewSpec(
        file=file,
        line=row.locate(row.prefix),
        external_id=parsed.external_id,
        candidate=parsed.candidate,
        role=parsed.role,
        rubric_id=rubric.id,
        target_level=target,
        starts_at=parsed.starts_at.astimezone(UTC),
        ends_at=ends_at.astimezone(UTC),
        hiring_channel=parsed.hiring_channel,
        recruiter=person(parsed.recruiter),
        hiring_lead=person(parsed.hiring_lead),
        panel=tuple(
            PanelMemberSpec(person(m.interviewer), tuple(m.focus), m.shadow) for m in parsed.panel
        ),
    )


def _check_duplicates(
    specs: Sequence[InterviewSpec], valid: Sequence[tuple[_Row, InterviewRow]], file: str
) -> None:
    errors: list[SourceError] = []
    by_external: dict[str, InterviewSpec] = {}
    by_natural: dict[tuple[str, str, datetime], InterviewSpec] = {}
    for spec, (row, _parsed) in zip(specs, valid, strict=True):
        members = [m.interviewer for m in spec.panel]
        for i, member in enumerate(members):
            if member in members[:i]:
                path = (*row.prefix, "panel", i, "interviewer")
                errors.append(
                    SourceError(
                        file, row.locate(path), format_path(path), f"{member} is on the panel twice"
                    )
                )
        if spec.external_id is not None:
            first = by_external.setdefault(spec.external_id, spec)
            if first is not spec:
                path = (*row.prefix, "external_id")
                errors.append(
                    SourceError(
                        file,
                        row.locate(path),
                        format_path(path),
                        f"external_id {spec.external_id!r} appears twice (first at {first.where})",
                    )
                )
        else:
            first = by_natural.setdefault(spec.natural_key, spec)
            if first is not spec:
                errors.append(
                    SourceError(
                        file,
                        spec.line,
                        format_path(row.prefix),
                        "the same interview (candidate, role, starts_at) appears twice "
                        f"(first at {first.where})",
                    )
                )
    if errors:
        raise SourceErrors(errors)
