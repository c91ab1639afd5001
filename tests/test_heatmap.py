"""handlers.heatmap: the ratings heatmap PNG posted in the summary's thread."""

from __future__ import annotations

import io
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from handlers.blocks.summary import level_swatches
from handlers.heatmap import (
    MIN_WIDTH_IN,
    NO_FEEDBACK_FACE,
    NOT_ASSESSED_FACE,
    UNANSWERED_FACE,
    WIDTH_IN,
    render_heatmap,
)
from rubric.consensus_types import PanelConsensus
from storage.views import RatingView, Standing, SummaryData
from tests.summary_data import (
    MLE,
    PANEL,
    make_interview,
    make_rubric,
    panel_feedback,
    real_consensus,
    summary_data,
    worst_panel,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ROOT = Path(__file__).resolve().parent.parent


def decode(png: bytes) -> np.ndarray:
    assert png.startswith(PNG_MAGIC)
    image = imread(io.BytesIO(png), format="png")
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    return image


def count_color(image: np.ndarray, hex_color: str) -> int:
    rgb = np.array([int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return int(np.all(np.abs(image[:, :, :3] - rgb) < 0.02, axis=2).sum())


def render(data: SummaryData, **kwargs: object) -> bytes:
    return render_heatmap(data, real_consensus(data), **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def mle_data() -> SummaryData:
    return summary_data(MLE, panel_feedback())


def test_valid_png_of_a_sensible_size(mle_data: SummaryData) -> None:
    image = decode(render(mle_data))
    height, width = image.shape[:2]
    assert width == int(WIDTH_IN * 100)  # 16 skills: the full width
    assert 350 <= height <= 1000


def test_cells_use_the_summary_colours(mle_data: SummaryData) -> None:
    image = decode(render(mle_data))
    swatches = level_swatches(MLE, "senior")
    for level in ("junior", "senior", "lead"):  # System design has J, J, L, L
        assert count_color(image, swatches[level].color) > 2000


def test_not_assessed_and_unanswered_cells_are_hatched_grey() -> None:
    rubric = make_rubric(3)
    rated = worst_panel(rubric, 1)  # s0 l0, s1 l1, s2 l2
    fb = replace(
        rated.feedback[0],
        ratings=(RatingView("s0", "l0", "x"), RatingView("s1", None, "")),  # s2 unanswered
    )
    gaps = summary_data(rubric, [fb], interview=rated.interview)
    rated_image, gaps_image = decode(render(rated)), decode(render(gaps))
    for face in (NOT_ASSESSED_FACE, UNANSWERED_FACE):  # a cell each, beyond the legend's patch
        assert count_color(gaps_image, face) > count_color(rated_image, face) + 2000
    green = level_swatches(rubric, "l1")["l1"].color
    # Green (the target) is left in the colour bar only.
    assert count_color(rated_image, green) > count_color(gaps_image, green) + 2000


def test_missing_interviewers_get_a_light_row() -> None:
    data = summary_data(MLE, panel_feedback()[:2], expected=PANEL)
    image = decode(render(data))
    assert count_color(image, NO_FEEDBACK_FACE) > 20_000


def test_feedback_after_the_summary_is_not_drawn() -> None:
    """U0DDD's row is the light one of a member without counted feedback, not their levels."""
    counted = summary_data(MLE, panel_feedback()[:3], expected=PANEL, posted=True)
    after = summary_data(MLE, panel_feedback(d_standing=Standing.AFTER_SUMMARY), expected=PANEL)
    faces = [s.color for s in level_swatches(MLE, "senior").values()]

    def areas(data: SummaryData) -> list[int]:
        image = decode(render(data))
        return [count_color(image, face) for face in faces]

    # Only the subtitle differs ("3 of 4 before the summary, 1 after"): the same cells.
    assert areas(after) == areas(counted)
    full = summary_data(MLE, panel_feedback())
    assert areas(full)[2] > areas(after)[2] + 2000  # U0DDD's Lead (blue) is not drawn
    shadow = replace(panel_feedback()[3], interviewer="U0SHADOW", standing=Standing.SHADOW)
    with_shadow = summary_data(MLE, [*panel_feedback()[:3], shadow])
    assert render(with_shadow) == render(summary_data(MLE, panel_feedback()[:3]))


@pytest.mark.parametrize(("n_panel", "n_skills"), [(1, 1), (4, 16), (12, 30), (12, 1), (1, 30)])
def test_any_size_renders(n_panel: int, n_skills: int) -> None:
    data = worst_panel(make_rubric(n_skills, long_names=True), n_panel, missing=n_panel // 3)
    image = decode(render(data))
    height, width = image.shape[:2]
    assert int(MIN_WIDTH_IN * 100) <= width <= int(WIDTH_IN * 100)
    assert height <= 1200


def test_twelve_by_thirty_renders() -> None:
    # Its speed is a benchmark's business (benchmarks/), not a timed unit test's.
    data = worst_panel(make_rubric(30, long_names=True), 12)
    assert render_heatmap(data, real_consensus(data)).startswith(b"\x89PNG")


def test_deterministic_bytes(mle_data: SummaryData) -> None:
    consensus = real_consensus(mle_data)
    first = render_heatmap(mle_data, consensus)
    assert render_heatmap(mle_data, consensus) == first
    assert b"matplotlib" not in first  # no Software chunk with a version in it
    assert b"tIME" not in first


def test_thread_safe(mle_data: SummaryData) -> None:
    consensus = real_consensus(mle_data)
    expected = render_heatmap(mle_data, consensus)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: render_heatmap(mle_data, consensus), range(8)))
    assert all(result == expected for result in results)


def test_rendering_never_imports_pyplot() -> None:
    # pyplot means global figure state and backend switching; a fresh interpreter shows
    # that rendering does not load it.
    code = (
        "import sys\n"
        "from tests.summary_data import MLE, panel_feedback, real_consensus, summary_data\n"
        "from handlers.heatmap import render_heatmap\n"
        "data = summary_data(MLE, panel_feedback())\n"
        "assert render_heatmap(data, real_consensus(data)).startswith(b'\\x89PNG')\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


def test_title_names_and_candidate_display(mle_data: SummaryData) -> None:
    consensus = real_consensus(mle_data)
    default = render_heatmap(mle_data, consensus)
    initials = render_heatmap(mle_data, consensus, candidate_display="initials")
    titled = render_heatmap(mle_data, consensus, title="A. L. — Senior ML Engineer")
    assert initials == titled != default
    named = render_heatmap(mle_data, consensus, names={"U0AAA": "Ann Example"})
    assert named != default
    decode(named)
    # Only the row label differs: the same name as the ID gives the same picture.
    assert render_heatmap(mle_data, consensus, names={"U0AAA": "U0AAA"}) == default


def test_awkward_text_does_not_break_rendering() -> None:
    interview = make_interview(candidate="Ke$ha $x^2$ \\frac{", role="ML $Engineer")
    data = summary_data(MLE, panel_feedback(), interview=interview)
    decode(render(data, names={"U0AAA": "$$", "U0BBB": "_{}^"}))


def test_no_feedback_yet_renders_a_notice() -> None:
    data = summary_data(MLE, [], expected=PANEL)
    image = decode(render(data))
    assert image.shape[:2] == (300, int(MIN_WIDTH_IN * 100))
    empty = summary_data(MLE, [], expected=())
    decode(render(empty))


def test_consensus_without_the_skill_still_renders(mle_data: SummaryData) -> None:
    consensus = real_consensus(mle_data)
    fewer = PanelConsensus(**{**consensus.__dict__, "skills": consensus.skills[:3]})
    decode(render_heatmap(mle_data, fewer))
