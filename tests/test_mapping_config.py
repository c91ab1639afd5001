"""Config ``mapping:``: validated against the rubrics, each problem with its file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config_file


def test_mapping_problems_are_located(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            mapping:
              defaults:
                duration: 45m
                colour: blue
              jobs:
                - job: Senior ML Engineer
                  target_level: senior
                  hiring_channel: C0ML
                - job: Data Wrangler
                  rubric: nope
                - job: Mystery
                - job: senior ml engineer
                  target_level: staff
              kits:
                onsite: [system_design, juggling]
            """
        )
    )
    with pytest.raises(ConfigError) as caught:
        load_config_file(path)
    assert [str(e).removeprefix(f"{path}:") for e in caught.value.errors] == [
        "4: mapping.defaults.colour: unknown key (known: rubric, role, target_level, "
        "hiring_channel, recruiter, hiring_lead, duration)",
        "10: mapping.jobs[1].rubric: unknown rubric 'nope' (known: mle)",
        "11: mapping.jobs[2].job: the role 'Mystery' is not a role of rubric 'mle' "
        "(roles: mle-junior, mle-senior, mle-lead): give target_level",
        "12: mapping.jobs[3].job: the job 'senior ml engineer' is mapped twice (jobs[0])",
        "13: mapping.jobs[3].target_level: unknown level 'staff' (levels: junior, senior, lead)",
        "15: mapping.kits.onsite[1]: unknown skill 'juggling' (in no rubric)",
    ]


def test_a_valid_mapping_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "mapping:\n  defaults: {hiring_channel: C0HIRING}\n"
        "  jobs: [{job: Senior ML Engineer}]\n  kits: {Onsite: [system_design]}\n"
    )
    config = load_config_file(path)
    assert config.mapping.jobs[0].job == "Senior ML Engineer"
