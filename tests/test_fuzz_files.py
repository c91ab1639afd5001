"""Fuzzing the files people write: interview imports (YAML, CSV) and rubrics.

Properties, for any file:

* parsing either succeeds or raises ``SourceErrors`` whose every error names the
  file and a line of it (``file:line: path: message``), never anything else;
* a file that parses imports into the database (SQLite and PostgreSQL) or fails
  with ``SourceErrors`` and writes nothing, and importing it again changes
  nothing (every row ``unchanged``);
* the CLI (``schedule import``, ``rubric validate``) exits 0 or 1 and prints
  ``file:line:`` errors, never a traceback;
* a rubric that validates can be used: digested, rendered, made into a form.
"""

from __future__ import annotations

import copy
import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from handlers.blocks.feedback_modal import plan_pages
from rubric import RubricRegistry, load_rubric_file, render_rubric, rubric_digest
from rubric.located_yaml import SourceErrors
from storage.import_file import CSV_COLUMNS, parse_import_file
from storage.interviews import ImportOutcome, Timings, import_interviews
from storage.models import Base
from tests.fuzz_strategies import (
    MRKDWN,
    NASTY_CHARS,
    fuzz,
    huge_text,
    json_values,
    nasty_text,
    numbers,
)

REGISTRY = RubricRegistry.load(None)
NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
TIMINGS = Timings(form_delay=timedelta(minutes=5), summary_deadline=timedelta(hours=48))

# -- text mutations shared by every file kind -----------------------------------------------

# Lines that break YAML in the ways people (and attackers) do.
YAML_LINES = (
    "\tcandidate: tab-indented",
    "  - : empty key",
    "candidate: &anchor Ada",
    "role: *anchor",
    "role: *undefined",
    "<<: *anchor",
    "!!python/object/apply:os.system ['true']",
    "? [a, b]\n: complex key",
    "starts_at: 2026-13-45T10:00:00+00:00",
    "starts_at: 2026-02-30",
    "duration: 99999999999999d",
    'candidate: "\\0"',
    'candidate: "\\ud800"',
    "candidate: '",
    "interviews: " + "[" * 200 + "]" * 200,
    "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]",
    "---\nsecond: document",
    "%YAML 1.1",
    "...",
    "key: value: other",
    "- list at the top",
)


@st.composite
def mutated_text(draw: st.DrawFn, text: str, lines: tuple[str, ...]) -> str:
    """``text`` with a few lines inserted, replaced, cut or garbled."""
    rows = text.split("\n")
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(rows)))
        kind = draw(st.sampled_from(["insert", "replace", "cut", "chars", "truncate"]))
        if kind == "insert":
            rows.insert(at, draw(st.one_of(st.sampled_from(lines), nasty_text())))
        elif kind == "replace" and at < len(rows):
            rows[at] = draw(st.sampled_from(lines))
        elif kind == "cut" and at < len(rows):
            del rows[at]
        elif kind == "chars" and at < len(rows):
            row = rows[at]
            pos = draw(st.integers(0, len(row)))
            rows[at] = row[:pos] + draw(st.sampled_from(NASTY_CHARS + MRKDWN)) + row[pos:]
        elif kind == "truncate":
            rows = rows[: max(at, 1)]
    return "\n".join(rows)


def raw_bytes(text: str) -> bytes:
    """As a file holds it: UTF-8, lone surrogates as the bytes a broken encoder writes."""
    return text.encode("utf-8", "surrogatepass")


def check_source_errors(exc: SourceErrors, path: Path, data: bytes) -> None:
    """Every error names the file and one of its lines; a one-line message."""
    assert exc.errors, "SourceErrors without errors"
    # YAML also breaks lines at \r, U+0085, U+2028 and U+2029: splitlines() bounds them all.
    last_line = len(data.decode("utf-8", "replace").splitlines()) + 1
    for error in exc.errors:
        assert error.file == str(path), error
        assert error.line is not None and 1 <= error.line <= last_line + 1, error
        assert error.message.strip(), error
        assert str(error).startswith(f"{path}:{error.line}: "), str(error)


# -- interview import files -----------------------------------------------------------------


def base_row(n: int) -> dict[str, Any]:
    return {
        "external_id": f"fz-{n}",
        "candidate": f"Ada {n}",
        "role": "Senior ML Engineer",
        "rubric": "mle",
        "starts_at": f"2027-03-0{1 + n % 8}T09:00:00+01:00",
        "duration": "60m",
        "hiring_channel": "C0HIRING",
        "recruiter": "U0RECRUIT",
        "hiring_lead": "U0LEAD",
        "panel": [
            {"interviewer": "U0AAA", "focus": ["system_design"]},
            {"interviewer": "U0BBB", "focus": []},
        ],
    }


FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "external_id": st.one_of(st.integers(-(10**20), 10**20), nasty_text(), st.just("fz-0")),
    "candidate": st.one_of(nasty_text(), huge_text(150, 400)),
    "role": st.sampled_from(["mle-lead", "Astronaut", "senior ml engineer", ""]),
    "rubric": st.sampled_from(["mle", "MLE", "nope", ""]),
    "target_level": st.sampled_from(["junior", "LEAD", "principal", "not_assessed"]),
    "starts_at": st.one_of(
        st.sampled_from(
            [
                "2027-03-01T09:00:00",
                "2027-03-01",
                "0001-01-01T00:00:00+01:00",
                "9999-12-31T23:30:00+00:00",
                "1969-12-31T23:00:00+00:00",
                "2027-03-01T09:00:00+25:00",
                "yesterday",
            ]
        ),
        st.datetimes(timezones=st.just(UTC)),
        numbers(),
    ),
    "ends_at": st.sampled_from(
        ["2027-03-01T08:00:00+00:00", "2027-03-01T12:00:00+00:00", "9999-12-31T23:59:59-01:00"]
    ),
    "duration": st.one_of(
        st.sampled_from(["0s", "-5m", "1.5h", "99999999999d", "9" * 400 + "d", "60", "1w"]),
        numbers(),
    ),
    "hiring_channel": st.sampled_from(["#hiring", "C0HIRING", "G0PRIV", "c0hiring", "C"]),
    "recruiter": st.sampled_from(["ada@example.com", "U0RECRUIT", "W0ENT", "u0x", "@ada"]),
    "hiring_lead": st.sampled_from(["U0LEAD", "U0AAA", "lead@", ""]),
    "panel": st.one_of(
        st.lists(
            st.fixed_dictionaries(
                {"interviewer": st.sampled_from(["U0AAA", "U0BBB", "U0AAA", "bob@example.com"])},
                optional={
                    "focus": st.one_of(
                        st.lists(st.sampled_from(["planning", "cooking", "planning", ""])),
                        json_values(),
                    ),
                    "shadow": st.one_of(st.booleans(), json_values()),
                    "extra": st.just(1),
                },
            ),
            max_size=4,
        ),
        json_values(),
    ),
}


@st.composite
def import_rows(draw: st.DrawFn) -> list[Any]:
    rows: list[Any] = [base_row(n) for n in range(draw(st.integers(1, 3)))]
    for _ in range(draw(st.integers(0, 4))):
        row = draw(st.sampled_from(rows))
        if not isinstance(row, dict):
            continue
        field = draw(st.sampled_from([*FIELD_VALUES, "drop", "unknown", "whole"]))
        if field == "drop":
            row.pop(draw(st.sampled_from(sorted(row) or ["candidate"])), None)
        elif field == "unknown":
            row[draw(nasty_text(max_size=8))] = draw(json_values())
        elif field == "whole":
            rows[rows.index(row)] = draw(json_values())
        else:
            row[field] = draw(FIELD_VALUES[field])
    return rows


def yaml_import_texts() -> st.SearchStrategy[str]:
    def dump(rows: list[Any]) -> str:
        return yaml.safe_dump({"interviews": rows}, allow_unicode=True, sort_keys=False)

    return import_rows().map(dump).flatmap(lambda text: mutated_text(text, YAML_LINES))


def csv_cell(value: Any) -> str:
    if isinstance(value, list):  # the panel: U1:skill+skill;U2:skill
        return ";".join(
            f"{m.get('interviewer', '')}:{'+'.join(map(str, m.get('focus') or []))}"
            + (f":{'shadow' if m['shadow'] is True else m['shadow']}" if "shadow" in m else "")
            if isinstance(m, dict)
            else str(m)
            for m in value
        )
    return "" if value is None else str(value)


@st.composite
def csv_import_texts(draw: st.DrawFn) -> str:
    rows = [r for r in draw(import_rows()) if isinstance(r, dict)]
    columns = list(CSV_COLUMNS)
    if draw(st.booleans()):
        columns = draw(st.permutations(columns))
    if draw(st.integers(0, 4)) == 0:
        columns.append(draw(st.sampled_from(["candidate", "colour", "", " panel "])))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(c)) for c in columns])
    text = out.getvalue()
    lines = ('"unclosed,quote', "a,b", "", "x" * 140_000, ",,,,,,,,,,,,", 'a"b,c')
    return draw(mutated_text(text, lines))


def parse_or_errors(path: Path, data: bytes) -> list[Any] | None:
    try:
        return parse_import_file(path, registry=REGISTRY)
    except SourceErrors as exc:
        check_source_errors(exc, path, data)
        return None


def rows_of(factory: sessionmaker[Session]) -> dict[str, list[tuple[Any, ...]]]:
    with factory() as session:
        return {
            t.name: sorted(map(tuple, session.execute(sa.select(t)).all()), key=repr)
            for t in Base.metadata.sorted_tables
            if t.name != "audit_events"
        }


def import_twice(factory: sessionmaker[Session], specs: list[Any]) -> None:
    """Import; a conflict writes nothing; a second import of the same file changes nothing."""
    before = rows_of(factory)
    try:
        with factory.begin() as session:
            import_interviews(session, specs, registry=REGISTRY, timings=TIMINGS, now=NOW)
    except SourceErrors as exc:
        conflicts = exc.errors
    else:
        conflicts = []
    if conflicts:
        assert all(e.message for e in conflicts)
        assert rows_of(factory) == before, "a failed import wrote rows"
        return
    after = rows_of(factory)
    with factory.begin() as session:
        again = import_interviews(session, specs, registry=REGISTRY, timings=TIMINGS, now=NOW)
    assert {r.outcome for r in again} == {ImportOutcome.UNCHANGED}, again
    assert rows_of(factory) == after, "re-importing the same file changed rows"


def file_check(
    tmp_path: Path, suffix: str, factory: sessionmaker[Session] | None
) -> Callable[[str], None]:
    path = tmp_path / f"interviews{suffix}"

    def check(text: str) -> None:
        data = raw_bytes(text)
        path.write_bytes(data)
        specs = parse_or_errors(path, data)
        if specs is not None and factory is not None:
            import_twice(factory, specs)

    return check


def test_fuzz_import_yaml(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    fuzz(yaml_import_texts(), file_check(tmp_path, ".yaml", session_factory), examples=60)


def test_fuzz_import_csv(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    fuzz(csv_import_texts(), file_check(tmp_path, ".csv", session_factory), examples=60)


def test_fuzz_import_parse_only(tmp_path: Path) -> None:
    """Parsing alone is cheap: many more files, both formats."""
    yaml_check = file_check(tmp_path, ".yaml", None)
    csv_check = file_check(tmp_path, ".csv", None)
    fuzz(
        st.one_of(
            yaml_import_texts().map(lambda t: ("y", t)), csv_import_texts().map(lambda t: ("c", t))
        ),
        lambda case: (yaml_check if case[0] == "y" else csv_check)(case[1]),
        examples=300,
    )


# -- the CLI ----------------------------------------------------------------------------------

_LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+): ")


def check_cli_output(code: int, err: str, path: Path) -> None:
    assert code in (0, 1), (code, err[-2000:])
    assert "Traceback" not in err, err[-2000:]
    if code == 1:
        *errors, summary = err.strip().splitlines()
        assert "error" in summary, summary
        for line in errors:
            match = _LOCATED.match(line)
            assert match and match["file"] == str(path), f"not file:line: {line[:300]!r}"


def test_fuzz_cli_schedule_import(
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("INTERVIEW_BOT_CONFIG", "SLACK_BOT_TOKEN", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", db_url)
    paths = {".yaml": tmp_path / "cli.yaml", ".csv": tmp_path / "cli.csv"}

    def check(case: tuple[str, str]) -> None:
        suffix, text = case
        path = paths[suffix]
        path.write_bytes(raw_bytes(text))
        code = main(["schedule", "import", str(path)])
        _out, err = capsys.readouterr()
        check_cli_output(code, err, path)

    texts = st.one_of(
        yaml_import_texts().map(lambda t: (".yaml", t)),
        csv_import_texts().map(lambda t: (".csv", t)),
    )
    fuzz(texts, check, examples=25)


# -- rubrics --------------------------------------------------------------------------------


def small_rubric() -> dict[str, Any]:
    levels = [{"id": "junior", "name": "Junior"}, {"id": "senior", "name": "Senior"}]
    return {
        "id": "team",
        "name": "Team",
        "version": "1",
        "levels": levels,
        "recommendations": [
            {"id": "no_hire", "name": "No", "hire": False},
            {"id": "hire", "name": "Yes", "hire": True},
        ],
        "roles": [{"id": "dev", "name": "Developer", "target_level": "senior"}],
        "disciplines": [
            {
                "id": "craft",
                "name": "Craft",
                "skills": [
                    {
                        "id": f"skill_{k}",
                        "name": f"Skill {k}",
                        "question": "Can they?",
                        "levels": {
                            "junior": {"short": "Some", "full": "Some of it."},
                            "senior": {"short": "All", "full": "All of it."},
                        },
                    }
                    for k in range(3)
                ],
            }
        ],
    }


RUBRIC_VALUES = st.one_of(
    nasty_text(),
    huge_text(70, 200),
    json_values(),
    st.sampled_from(["not_assessed", "Junior", "junior", "1.10", "", "a" * 65]),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


@st.composite
def rubric_texts(draw: st.DrawFn) -> str:
    doc = copy.deepcopy(small_rubric())
    for _ in range(draw(st.integers(0, 4))):
        path = draw(st.sampled_from(_paths(doc)[1:]))
        *parents, last = path
        holder: Any = doc
        for key in parents:
            holder = holder[key]
        kind = draw(st.sampled_from(["set", "set", "drop", "duplicate"]))
        if kind == "set":
            holder[last] = draw(RUBRIC_VALUES)
        elif kind == "drop" and isinstance(holder, dict):
            holder.pop(last, None)
        elif kind == "duplicate" and isinstance(holder, list):
            holder.append(copy.deepcopy(holder[last]))
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    return draw(mutated_text(text, YAML_LINES))


def test_fuzz_rubric_files(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"

    def check(text: str) -> None:
        data = raw_bytes(text)
        path.write_bytes(data)
        try:
            rubric = load_rubric_file(path)
        except SourceErrors as exc:
            check_source_errors(exc, path, data)
            return
        # Valid means usable: stored, shown, and rendered as a feedback form.
        assert len(rubric_digest(rubric)) == 64
        assert render_rubric(rubric)
        assert RubricRegistry([rubric]).get(rubric.id) == rubric
        plan_pages(rubric, [])

    fuzz(rubric_texts(), check, examples=200)


def test_fuzz_cli_rubric_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "team.yaml"

    def check(text: str) -> None:
        path.write_bytes(raw_bytes(text))
        code = main(["rubric", "validate", str(path)])
        out, err = capsys.readouterr()
        check_cli_output(code, err, path)
        assert (code == 0) == out.startswith(f"{path}: ok"), (code, out)

    fuzz(rubric_texts(), check, examples=60)
