"""The ratings heatmap posted in the summary's thread: interviewers by skills, coloured by level.

Rows are the panel (in panel order, the same order as the summary's squares), columns
the rubric's skills (in rubric order, grouped by discipline). A cell's colour is the
interviewer's level, on the summary's scale (``level_swatches``: green at the target
level, blue and purple above it, yellow, orange and red below it), and it carries the
level's abbreviation too, so colour is never the only cue. "Not assessed" cells are
hatched grey (``///``), skills left unanswered dotted grey (``..``), and interviewers
who have not submitted get a light row saying so. A colour bar names the levels and
marks the target in bold ("Senior (target)"), which the subtitle names too; skills that
need discussion are labelled in bold red.

Rendering uses matplotlib's object API (``Figure`` and the Agg canvas), never pyplot:
no global state, safe from several threads. The PNG carries no timestamp or version
metadata, so the same input gives the same bytes. An interview without any feedback
renders a small "No feedback yet" image rather than raising.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Literal

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PatchCollection
from matplotlib.colors import BoundaryNorm, ListedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from handlers.blocks.summary import (
    ALPHA,
    Swatch,
    candidate_name,
    level_swatches,
    panel_order,
)
from rubric import Rubric
from rubric.consensus_types import PanelConsensus, SkillConsensus
from storage.views import SummaryData

DPI = 100
WIDTH_IN = 15.0  # at most 1500 px: legible in Slack's preview and when opened full size
MIN_WIDTH_IN = 12.0
COL_MAX_IN = 1.1  # few skills get square-ish cells, not stretched bars
ROW_IN = 0.5
LEFT_IN, RIGHT_IN = 2.1, 2.5  # row labels; colour bar and legend
TOP_IN, BOTTOM_IN = 1.25, 2.0  # title and discipline names; rotated skill names
SKILL_LABEL_MAX = 26
ROW_LABEL_MAX = 24
TITLE_MAX = 80

NOT_ASSESSED_FACE, NOT_ASSESSED_HATCH = "#E4E4E4", "///"
UNANSWERED_FACE, UNANSWERED_HATCH = "#F2F2F2", ".."
NO_FEEDBACK_FACE = "#FAFAFA"
HATCH_EDGE = "#9A9A9A"
FLAG_COLOR = "#B3261E"
TEXT_COLOR = "#1F1F1F"

_RATED, _NOT_ASSESSED, _UNANSWERED, _NO_FEEDBACK = "rated", "not_assessed", "unanswered", "none"


def render_heatmap(
    data: SummaryData,
    consensus: PanelConsensus,
    *,
    names: Mapping[str, str] | None = None,
    title: str | None = None,
    candidate_display: Literal["full", "initials"] = "full",
) -> bytes:
    """The panel's ratings as a PNG.

    Args:
        data: the interview, rubric, panel and submitted feedback.
        consensus: its consensus (for the target level and the skills needing discussion).
        names: display names for Slack user IDs (rows show the ID otherwise).
        title: the title; by default "<candidate> — <role>", the candidate shown as
            ``candidate_display`` says ("initials": "A. L.").
        candidate_display: used only for the default title.

    Returns:
        PNG bytes, 1200 to 1500 px wide; the same bytes for the same input.
    """
    if title is None:
        title = f"{candidate_name(data, candidate_display)} — {data.interview.role}"
    title = _clip(" ".join(title.split()), TITLE_MAX)
    if not data.feedback:
        return _render_empty(title, data)
    return _render_grid(data, consensus, title, names or {})


# -- the grid ----------------------------------------------------------------------------


def _render_grid(
    data: SummaryData, consensus: PanelConsensus, title: str, names: Mapping[str, str]
) -> bytes:
    rubric = data.rubric
    target_level = consensus.target_level or data.interview.target_level
    swatches = level_swatches(rubric, target_level)
    panel = panel_order(data)
    skills = rubric.skills
    missing = set(data.missing) | {i for i in panel if i not in _submitted(data)}
    late = {fb.interviewer for fb in data.feedback if fb.late}
    by_skill = {s.skill_id: s for s in consensus.skills}
    flagged = {s.skill_id for s in consensus.needs_discussion}

    rows, cols = len(panel), len(skills)
    height = TOP_IN + rows * ROW_IN + BOTTOM_IN
    width = min(max(LEFT_IN + cols * COL_MAX_IN + RIGHT_IN, MIN_WIDTH_IN), WIDTH_IN)
    room = width - LEFT_IN - RIGHT_IN
    grid_w = min(room, cols * COL_MAX_IN)
    grid_x = LEFT_IN + (room - grid_w) / 2
    fig = Figure(figsize=(width, height), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((grid_x / width, BOTTOM_IN / height, grid_w / width, rows * ROW_IN / height))
    ax.set_xlim(0, cols)
    ax.set_ylim(rows, 0)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0)

    rated: list[Rectangle] = []
    colors: list[tuple[float, float, float]] = []
    kinds: dict[str, list[Rectangle]] = {_NOT_ASSESSED: [], _UNANSWERED: [], _NO_FEEDBACK: []}
    font = max(7.0, min(11.0, 360 / max(cols, 1) / 1.6))
    for r, interviewer in enumerate(panel):
        for c, skill in enumerate(skills):
            cell = Rectangle((c, r), 1, 1)
            kind, level = _cell(interviewer, skill.id, missing, by_skill)
            if kind != _RATED or level is None or level not in swatches:
                kinds[_UNANSWERED if kind == _RATED else kind].append(cell)
                continue
            rgb = to_rgb(swatches[level].color)
            rated.append(cell)
            colors.append(rgb)
            ax.text(
                c + 0.5,
                r + 0.5,
                _mathsafe(swatches[level].char),
                ha="center",
                va="center",
                fontsize=font,
                fontweight="bold",
                color="white" if _luminance(rgb) < 0.45 else TEXT_COLOR,
            )

    ax.add_collection(PatchCollection(rated, facecolors=colors, edgecolors="white", linewidths=2))
    for kind, face, hatch in (
        (_NOT_ASSESSED, NOT_ASSESSED_FACE, NOT_ASSESSED_HATCH),
        (_UNANSWERED, UNANSWERED_FACE, UNANSWERED_HATCH),
    ):
        if kinds[kind]:
            ax.add_collection(
                PatchCollection(
                    kinds[kind], facecolors=face, edgecolors=HATCH_EDGE, linewidths=0, hatch=hatch
                )
            )
    if kinds[_NO_FEEDBACK]:
        ax.add_collection(
            PatchCollection(kinds[_NO_FEEDBACK], facecolors=NO_FEEDBACK_FACE, linewidths=0)
        )
    for r, interviewer in enumerate(panel):
        if interviewer in missing:
            ax.text(
                cols / 2,
                r + 0.5,
                "no feedback yet",
                ha="center",
                va="center",
                fontsize=10,
                style="italic",
                color="#6B6B6B",
            )
    # White rules between rows and a wider one between disciplines.
    for r in range(1, rows):
        ax.axhline(r, color="white", linewidth=2)
    edge = 0
    for discipline in rubric.disciplines[:-1]:
        edge += len(discipline.skills)
        ax.axvline(edge, color="white", linewidth=6)

    _label_axes(ax, data, panel, names, late, flagged, cols)
    _discipline_names(ax, data, grid_w, cols)
    _title(fig, title, data, consensus, height)
    _legend(fig, rubric, swatches, target_level, missing, (grid_x + grid_w, width, height), rows)
    return _png(fig)


def _submitted(data: SummaryData) -> set[str]:
    return {fb.interviewer for fb in data.feedback}


def _cell(
    interviewer: str,
    skill_id: str,
    missing: set[str],
    by_skill: Mapping[str, SkillConsensus],
) -> tuple[str, str | None]:
    if interviewer in missing:
        return _NO_FEEDBACK, None
    skill = by_skill.get(skill_id)
    if skill is None:
        return _UNANSWERED, None
    levels = dict(skill.ratings)
    if interviewer in levels:
        return _RATED, levels[interviewer]
    if interviewer in skill.not_assessed_by:
        return _NOT_ASSESSED, None
    return _UNANSWERED, None


def _label_axes(
    ax: Axes,
    data: SummaryData,
    panel: Sequence[str],
    names: Mapping[str, str],
    late: set[str],
    flagged: set[str],
    cols: int,
) -> None:
    skills = data.rubric.skills
    ax.set_xticks([c + 0.5 for c in range(cols)])
    labels = ax.set_xticklabels(
        [_mathsafe(_clip(s.name, SKILL_LABEL_MAX)) for s in skills],
        rotation=45,
        ha="right",
        rotation_mode="anchor",
        fontsize=10 if cols <= 20 else 9,
    )
    for label, skill in zip(labels, skills, strict=True):
        if skill.id in flagged:
            label.set_color(FLAG_COLOR)
            label.set_fontweight("bold")
    ax.set_yticks([r + 0.5 for r in range(len(panel))])
    ax.set_yticklabels(
        [
            _mathsafe(_clip(names.get(i) or i, ROW_LABEL_MAX) + (" (late)" if i in late else ""))
            for i in panel
        ],
        fontsize=10,
    )


def _discipline_names(ax: Axes, data: SummaryData, grid_w: float, cols: int) -> None:
    # Above the grid, centred on each discipline's columns, cut to the room they have.
    chars_per_col = grid_w / cols * DPI / 8.5  # about 8.5 px per bold character at 10 pt
    start = 0
    for discipline in data.rubric.disciplines:
        span = len(discipline.skills)
        room = int(span * chars_per_col) - 1
        if room >= 3:
            ax.text(
                start + span / 2,
                -0.15,
                _mathsafe(_clip(discipline.name, room)),
                ha="center",
                va="bottom",
                fontsize=10,
                fontweight="bold",
                color="#444444",
            )
        start += span


def _title(
    fig: Figure, title: str, data: SummaryData, consensus: PanelConsensus, height: float
) -> None:
    rubric = data.rubric
    target = consensus.target_level or data.interview.target_level
    try:
        target_name = rubric.level(target).name
    except KeyError:
        target_name = target
    submitted = len(data.feedback)
    expected = max(len(panel_order(data)), submitted)
    alpha = consensus.agreement.alpha
    agreement = (
        f"agreement {ALPHA} = {alpha:.2f} ({consensus.agreement.reading})"
        if alpha is not None
        else "agreement: not enough data"
    )
    subtitle = (
        f"Target level: {_clip(target_name, 30)} · {submitted} of {expected} submitted · "
        f"{agreement}"
    )
    fig.text(
        0.5,
        1 - 0.3 / height,
        _mathsafe(title),
        ha="center",
        va="top",
        fontsize=_title_size(title, fig.get_figwidth()),
        fontweight="bold",
        color=TEXT_COLOR,
    )
    fig.text(
        0.5,
        1 - 0.68 / height,
        _mathsafe(subtitle),
        ha="center",
        va="top",
        fontsize=11,
        color="#444444",
    )


def _legend(
    fig: Figure,
    rubric: Rubric,
    swatches: Mapping[str, Swatch],
    target_level: str,
    missing: set[str],
    place: tuple[float, float, float],
    rows: int,
) -> None:
    x, width, height = place  # inches: right edge of the grid, figure width and height
    levels = rubric.levels
    colors = [swatches[level.id].color for level in levels]
    cmap = ListedColormap(colors)
    norm = BoundaryNorm([i - 0.5 for i in range(len(levels) + 1)], cmap.N)
    bar_h = max(min(rows * ROW_IN, 0.42 * len(levels)), 0.9)
    top = height - TOP_IN
    cax = fig.add_axes(
        (
            (x + 0.35) / width,
            (top - bar_h) / height,
            0.22 / width,
            bar_h / height,
        )
    )
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax, ticks=range(len(levels)))
    bar.ax.invert_yaxis()  # lowest level at the top, like reading down a list
    bar.ax.set_yticklabels(
        [
            _mathsafe(_clip(level.name, 14) + (" (target)" if level.id == target_level else ""))
            for level in levels
        ],
        fontsize=9,
    )
    for label, level in zip(bar.ax.get_yticklabels(), levels, strict=True):
        if level.id == target_level:
            label.set_fontweight("bold")
    bar.ax.tick_params(length=0)
    bar.ax.minorticks_off()
    bar.outline.set_visible(False)

    handles = [
        Patch(
            facecolor=NOT_ASSESSED_FACE,
            edgecolor=HATCH_EDGE,
            hatch=NOT_ASSESSED_HATCH,
            linewidth=0,
            label="not assessed",
        ),
        Patch(
            facecolor=UNANSWERED_FACE,
            edgecolor=HATCH_EDGE,
            hatch=UNANSWERED_HATCH,
            linewidth=0,
            label="unanswered",
        ),
    ]
    if missing:
        handles.append(
            Patch(
                facecolor=NO_FEEDBACK_FACE,
                edgecolor=HATCH_EDGE,
                linewidth=0.6,
                label="no feedback yet",
            )
        )
    handles.append(Patch(facecolor=FLAG_COLOR, linewidth=0, label="skill needs discussion"))
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=((x + 0.15) / width, (top - bar_h - 0.2) / height),
        fontsize=8.5,
        frameon=False,
        handlelength=1.4,
        borderaxespad=0,
    )


# -- no feedback yet ------------------------------------------------------------------------


def _render_empty(title: str, data: SummaryData) -> bytes:
    fig = Figure(figsize=(MIN_WIDTH_IN, 3.0), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    fig.text(
        0.5,
        0.72,
        _mathsafe(title),
        ha="center",
        fontsize=_title_size(title, MIN_WIDTH_IN),
        fontweight="bold",
    )
    expected = len(panel_order(data))
    fig.text(
        0.5,
        0.4,
        f"No feedback yet (0 of {expected} submitted)",
        ha="center",
        fontsize=13,
        color="#6B6B6B",
    )
    return _png(fig)


# -- helpers -----------------------------------------------------------------------------------


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # No "Software" (matplotlib's version) and no timestamp: same input, same bytes.
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def _mathsafe(text: str) -> str:
    # matplotlib reads text between two "$" as mathtext (and may fail on it).
    return text.replace("$", r"\$")


def _title_size(title: str, width_in: float) -> float:
    # 16 pt, smaller when a long title would not fit (a bold capital is about 0.75 em wide).
    return min(16.0, 0.92 * width_in * 72 / (0.75 * max(len(title), 1)))


def _luminance(rgb: tuple[float, float, float]) -> float:
    r, g, b = rgb
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
