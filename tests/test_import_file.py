"""storage.import_file: parsing and validating YAML and CSV import files (no database)."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rubric import RubricRegistry
from rubric.located_yaml import SourceErrors
from storage.import_file import parse_import_file

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def registry() -> RubricRegistry:
    return RubricRegistry.load(None)


def write(tmp_path: Path, text: str, name: str = "batch.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


ONE = """
interviews:
  - external_id: gh-1
    candidate: Ada Lovelace
    role: Senior ML Engineer
    starts_at: 2027-03-01T10:00:00+01:00
    ends_at: 2027-03-01T11:00:00+01:00
    hiring_channel: C0HIRING
    recruiter: U0RECRUIT
    hiring_lead: U0LEAD
    panel:
      - interviewer: U0AAA
        focus: [system_design]
      - interviewer: U0BBB
"""


def errors_of(path: Path, registry: RubricRegistry, **kwargs: object) -> list[str]:
    with pytest.raises(SourceErrors) as caught:
        parse_import_file(path, registry=registry, **kwargs)  # type: ignore[arg-type]
    return [str(e).replace(str(path.parent) + "/", "") for e in caught.value.errors]


def test_sample_yaml_parses(registry: RubricRegistry) -> None:
    specs = parse_import_file(EXAMPLES / "interviews.yaml", registry=registry)
    assert [s.external_id for s in specs] == ["greenhouse-4711", "greenhouse-4712"]
    ada, grace = specs
    assert ada.starts_at == datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    assert ada.ends_at == datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
    assert ada.target_level == "senior"
    assert [(m.interviewer, m.focus) for m in ada.panel] == [
        ("U0AAA", ("system_design", "ml_workflows")),
        ("U0BBB", ("communication", "planning")),
    ]
    # role id sets the target level; duration sets the end; quoted Z timestamps work
    assert grace.target_level == "lead"
    assert grace.ends_at - grace.starts_at == timedelta(minutes=90)
    assert grace.panel[2].focus == ()
    assert ada.line == 4 and grace.line == 19


def test_sample_csv_parses_like_yaml(registry: RubricRegistry) -> None:
    specs = parse_import_file(EXAMPLES / "interviews.csv", registry=registry)
    turing, johnson = specs
    assert turing.panel[0].focus == ("system_design", "ml_workflows")
    assert turing.ends_at - turing.starts_at == timedelta(minutes=60)
    assert johnson.target_level == "junior"
    assert johnson.panel[1].interviewer == "U0DDD" and johnson.panel[1].focus == ()
    assert (turing.line, johnson.line) == (2, 3)


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        ("candidate: Ada Lovelace", "candidate: Ada Lovelace", None),  # control: valid
        (
            "    role: Senior ML Engineer",
            "    role: Senior ML Engineer\n    rubric: nope",
            "batch.yaml:5: interviews[0].rubric: unknown rubric 'nope' (known: mle)",
        ),
        (
            "    role: Senior ML Engineer",
            "    role: Astronaut",
            "batch.yaml:4: interviews[0].role: unknown role 'Astronaut' for rubric 'mle' and no target_level given",
        ),
        (
            "    role: Senior ML Engineer",
            "    role: Senior ML Engineer\n    target_level: principal",
            "batch.yaml:5: interviews[0].target_level: unknown level 'principal' (levels: junior, senior, lead)",
        ),
        (
            "focus: [system_design]",
            "focus: [system_desing]",
            "batch.yaml:12: interviews[0].panel[0].focus[0]: unknown skill 'system_desing' in rubric 'mle'",
        ),
        (
            "ends_at: 2027-03-01T11:00:00+01:00",
            "ends_at: 2027-03-01T09:00:00+01:00",
            "batch.yaml:6: interviews[0].ends_at: the interview ends before (or when) it starts",
        ),
        (
            "      - interviewer: U0BBB",
            "      - interviewer: U0AAA",
            "batch.yaml:13: interviews[0].panel[1].interviewer: U0AAA is on the panel twice (also panel[0])",
        ),
        (
            "recruiter: U0RECRUIT",
            "recruiter: recruiter-bob",
            "batch.yaml:8: interviews[0].recruiter: expected a Slack user ID (U...) or an email, got 'recruiter-bob'",
        ),
        (
            "hiring_channel: C0HIRING",
            "hiring_channel: '#hiring'",
            "batch.yaml:7: interviews[0].hiring_channel: expected a Slack channel ID (C... or G..., not a #name)",
        ),
        (
            "starts_at: 2027-03-01T10:00:00+01:00",
            "starts_at: 2027-03-01T10:00:00",
            "batch.yaml:5: interviews[0].starts_at: timestamp has no time zone offset",
        ),
        (
            "starts_at: 2027-03-01T10:00:00+01:00",
            "starts_at: 2027-03-01",
            "batch.yaml:5: interviews[0].starts_at: expected a date and time with an offset, got a date only",
        ),
        (
            "starts_at: 2027-03-01T10:00:00+01:00",
            "starts_at: next tuesday",
            "batch.yaml:5: interviews[0].starts_at: expected an ISO 8601 timestamp",
        ),
        (
            "    candidate: Ada Lovelace\n",
            "",
            "batch.yaml:2: interviews[0].candidate: field required",
        ),
        (
            "    hiring_lead: U0LEAD",
            "    hiring_lead: U0LEAD\n    hiring_manager: U0X",
            "batch.yaml:10: interviews[0].hiring_manager: unknown field",
        ),
        (
            "    ends_at: 2027-03-01T11:00:00+01:00",
            "    ends_at: 2027-03-01T11:00:00+01:00\n    duration: 60m",
            "batch.yaml:2: interviews[0]: give ends_at or duration, not both",
        ),
        (
            "    ends_at: 2027-03-01T11:00:00+01:00\n",
            "",
            "batch.yaml:2: interviews[0]: give ends_at or duration",
        ),
    ],
)
def test_each_bad_field_names_file_line_and_path(
    tmp_path: Path, registry: RubricRegistry, replace: str, by: str, expected: str | None
) -> None:
    assert replace in ONE
    path = write(tmp_path, ONE.replace(replace, by, 1) if expected else ONE)
    if expected is None:
        assert len(parse_import_file(path, registry=registry)) == 1
        return
    errors = errors_of(path, registry)
    assert any(e.startswith(expected) for e in errors), errors


def test_empty_panel_and_empty_file(tmp_path: Path, registry: RubricRegistry) -> None:
    no_panel = ONE.split("    panel:")[0] + "    panel: []\n"
    assert errors_of(write(tmp_path, no_panel), registry) == [
        "batch.yaml:10: interviews[0].panel: the panel is empty; list at least one interviewer"
    ]
    assert errors_of(write(tmp_path, "interviews: []\n"), registry) == [
        "batch.yaml:1: interviews: no interviews in the file"
    ]
    assert errors_of(write(tmp_path, ""), registry) == [
        "batch.yaml:1: expected a mapping with an `interviews:` list"
    ]


def test_every_error_of_every_row_is_reported(tmp_path: Path, registry: RubricRegistry) -> None:
    text = ONE + ONE.split("interviews:\n", 1)[1].replace("gh-1", "gh-2").replace("U0AAA", "nobody")
    text = text.replace("system_design", "astrology")
    errors = errors_of(write(tmp_path, text), registry)
    assert errors == [
        "batch.yaml:12: interviews[0].panel[0].focus[0]: unknown skill 'astrology' in rubric 'mle'",
        "batch.yaml:23: interviews[1].panel[0].interviewer: expected a Slack user ID (U...) or an email, got 'nobody'",
    ]


def test_repeated_external_id_and_natural_key(tmp_path: Path, registry: RubricRegistry) -> None:
    second = ONE.split("interviews:\n", 1)[1]
    errors = errors_of(write(tmp_path, ONE + second), registry)
    assert errors == [
        "batch.yaml:14: interviews[1].external_id: external_id 'gh-1' appears twice (first at batch.yaml:2)"
    ]
    no_ids = (ONE + second).replace("  - external_id: gh-1\n    candidate", "  - candidate")
    errors = errors_of(write(tmp_path, no_ids), registry)
    assert errors == [
        "batch.yaml:13: interviews[1]: the same interview (candidate, role, starts_at) appears twice (first at batch.yaml:2)"
    ]


def test_default_time_zone_from_config(tmp_path: Path, registry: RubricRegistry) -> None:
    naive = ONE.replace("+01:00", "")
    path = write(tmp_path, naive)
    specs = parse_import_file(path, registry=registry, default_tz=ZoneInfo("Europe/Berlin"))
    assert specs[0].starts_at == datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def test_emails_resolve_through_the_resolver(tmp_path: Path, registry: RubricRegistry) -> None:
    path = write(tmp_path, ONE.replace("recruiter: U0RECRUIT", "recruiter: Rita@Example.com"))
    looked_up: list[str] = []

    def resolve(email: str) -> str:
        looked_up.append(email)
        if email == "rita@example.com":
            return "U0RITA"
        raise LookupError(f"no Slack user has the email {email}")

    assert (
        parse_import_file(path, registry=registry, resolve_email=resolve)[0].recruiter == "U0RITA"
    )
    assert looked_up == ["rita@example.com"]

    path = write(tmp_path, ONE.replace("interviewer: U0BBB", "interviewer: ghost@example.com"))
    assert errors_of(path, registry, resolve_email=resolve) == [
        "batch.yaml:13: interviews[0].panel[1].interviewer: no Slack user has the email ghost@example.com"
    ]
    assert errors_of(path, registry) == [
        "batch.yaml:13: interviews[0].panel[1].interviewer: emails are resolved through Slack "
        "(users.lookupByEmail): set SLACK_BOT_TOKEN, or use a Slack user ID"
    ]


def test_an_email_and_an_id_of_the_same_person(tmp_path: Path, registry: RubricRegistry) -> None:
    path = write(tmp_path, ONE.replace("interviewer: U0BBB", "interviewer: aaa@example.com"))
    errors = errors_of(path, registry, resolve_email=lambda _e: "U0AAA")
    assert errors == [
        "batch.yaml:13: interviews[0].panel[1].interviewer: U0AAA is on the panel twice"
    ]


CSV_HEADER = (
    "external_id,candidate,role,starts_at,duration,hiring_channel,recruiter,hiring_lead,panel\n"
)


def test_csv_errors_name_the_line_and_column(tmp_path: Path, registry: RubricRegistry) -> None:
    text = (
        CSV_HEADER
        + "gh-1,Ada,mle-senior,2027-03-01T10:00:00+01:00,60m,C0HIRING,U0R,U0L,U0AAA:system_design\n"
        + '"gh-2","Bob, Jr.",mle-senior,2027-03-01T12:00:00+01:00,60m,C0HIRING,U0R,U0L,"U0AAA:cooking;U0AAA"\n'
        + "gh-3,Cy,mle-senior,2027-03-01T12:00:00+01:00,sixty,C0HIRING,U0R,U0L,\n"
    )
    errors = errors_of(write(tmp_path, text, "batch.csv"), registry)
    assert errors == [
        "batch.csv:3: panel[0].focus[0]: unknown skill 'cooking' in rubric 'mle'",
        "batch.csv:3: panel[1].interviewer: U0AAA is on the panel twice (also panel[0])",
        "batch.csv:4: duration: expected a duration like 30s, 5m, 24h or 2d, got 'sixty'",
        "batch.csv:4: panel: field required",
    ]


def test_csv_header_problems(tmp_path: Path, registry: RubricRegistry) -> None:
    path = write(tmp_path, CSV_HEADER.replace("panel", "panell"), "batch.csv")
    assert errors_of(path, registry) == ["batch.csv:1: panell: unknown column"]
    path = write(tmp_path, CSV_HEADER + "gh-1,Ada\n", "batch.csv")
    assert errors_of(path, registry) == ["batch.csv:2: expected 9 cells, found 2"]


def test_unsupported_and_missing_files(tmp_path: Path, registry: RubricRegistry) -> None:
    assert errors_of(write(tmp_path, "x", "batch.txt"), registry) == [
        "batch.txt: unsupported file type; use .yaml, .yml or .csv"
    ]
    assert errors_of(tmp_path / "absent.yaml", registry) == ["absent.yaml: file not found"]
