"""The ratings heatmap posted in the summary's thread: interviewers by skills, coloured by level.

Rows are the panel (in panel order, the same order as the summary's squares), columns
the rubric's skills (in rubric order, grouped by discipline). A cell's colour is the
interviewer's level, on the summary's scale (``level_swatches``: green at the target
level, blue and purple above it, yellow, orange and red below it), and it carries the
level's abbreviation too, so colour is never the only cue. "Not assessed" cells are
hatched grey (``///``), skills left unanswered dotted grey (``..``), and interviewers
without feedback that counts (none yet, or given after the summary) get a light row
saying so. Rows are labelled with display names (Slack IDs where none is known);
shadow interviewers have no row (their feedback never counts). Everything drawn comes
from the summary's model (``handlers.blocks.summary.summary_model``). A colour bar
names the levels and marks the target in bold ("Senior (target)"), which the subtitle
names too; skills that need discussion are labelled in bold red.

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
    Cell,
    SkillRow,
    SummaryModel,
    Swatch,
    candidate_name,
    summary_model,
)
from rubric import Rubric
from rubric.consensus_types import PanelConsensus
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
        consensus: the consensus of its counted feedback (``handlers.summary.consensus_of``).
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
    model = summary_model(data, consensus, candidate_display=candidate_display)
    if not model.counted:
        return _render_empty(title, model)
    return _render_grid(data.rubric, model, title, names or {})


# -- the grid ----------------------------------------------------------------------------


def _render_grid(
    rubric: Rubric, model: SummaryModel, title: str, names: Mapping[str, str]
) -> bytes:
    swatches = model.swatches
    panel = [column.interviewer for column in model.columns]
    skills = [row for discipline in model.disciplines for row in discipline.rows]
    empty = {c.interviewer for c in model.columns if not c.counted}

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

    _cells(ax, skills, swatches, rows, cols)
    for r, interviewer in enumerate(panel):
        if interviewer in empty:
            ax.text(
                cols / 2,
                r + 0.5,
                model.no_feedback_label,
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
    for discipline in model.disciplines[:-1]:
        edge += len(discipline.rows)
        ax.axvline(edge, color="white", linewidth=6)

    _label_axes(ax, skills, panel, names)
    _discipline_names(ax, model, grid_w, cols)
    _title(fig, title, model, height)
    _legend(fig, rubric, model, (grid_x + grid_w, width, height), rows)
    return _png(fig)


def _cells(
    ax: Axes, skills: Sequence[SkillRow], swatches: Mapping[str, Swatch], rows: int, cols: int
) -> None:
    rated: list[Rectangle] = []
    colors: list[tuple[float, float, float]] = []
    kinds: dict[str, list[Rectangle]] = {_NOT_ASSESSED: [], _UNANSWERED: [], _NO_FEEDBACK: []}
    font = max(7.0, min(11.0, 360 / max(cols, 1) / 1.6))
    for c, skill in enumerate(skills):
        for r in range(rows):
            cell = Rectangle((c, r), 1, 1)
            kind, level = _kind(skill.cells[r], swatches)
            if kind != _RATED or level is None:
                kinds[kind].append(cell)
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


def _kind(cell: Cell, swatches: Mapping[str, Swatch]) -> tuple[str, str | None]:
    if cell.kind == "level" and cell.level in swatches:
        return _RATED, cell.level
    if cell.kind == "no_feedback":
        return _NO_FEEDBACK, None
    if cell.kind == "not_assessed":
        return _NOT_ASSESSED, None
    return _UNANSWERED, None


def _label_axes(
    ax: Axes, skills: Sequence[SkillRow], panel: Sequence[str], names: Mapping[str, str]
) -> None:
    ax.set_xticks([c + 0.5 for c in range(len(skills))])
    labels = ax.set_xticklabels(
        [_mathsafe(_clip(s.name, SKILL_LABEL_MAX)) for s in skills],
        rotation=45,
        ha="right",
        rotation_mode="anchor",
        fontsize=10 if len(skills) <= 20 else 9,
    )
    for label, skill in zip(labels, skills, strict=True):
        if skill.flagged:
            label.set_color(FLAG_COLOR)
            label.set_fontweight("bold")
    ax.set_yticks([r + 0.5 for r in range(len(panel))])
    ax.set_yticklabels(
        [_mathsafe(_clip(names.get(i) or i, ROW_LABEL_MAX)) for i in panel], fontsize=10
    )


def _discipline_names(ax: Axes, model: SummaryModel, grid_w: float, cols: int) -> None:
    # Above the grid, centred on each discipline's columns, cut to the room they have.
    chars_per_col = grid_w / cols * DPI / 8.5  # about 8.5 px per bold character at 10 pt
    start = 0
    for discipline in model.disciplines:
        span = len(discipline.rows)
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


def _title(fig: Figure, title: str, model: SummaryModel, height: float) -> None:
    # The same count and agreement sentence as the summary (no per-panel coefficient).
    agreement = model.agreement_text.removeprefix("Agreement: ").rstrip(".")
    subtitle = f"Target level: {_clip(model.target_name, 30)} · {model.count_text} · {agreement}"
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
    fig: Figure, rubric: Rubric, model: SummaryModel, place: tuple[float, float, float], rows: int
) -> None:
    x, width, height = place  # inches: right edge of the grid, figure width and height
    swatches, target_level = model.swatches, model.target_level
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
    fig.legend(
        handles=_legend_handles(model),
        loc="upper left",
        bbox_to_anchor=((x + 0.15) / width, (top - bar_h - 0.2) / height),
        fontsize=8.5,
        frameon=False,
        handlelength=1.4,
        borderaxespad=0,
    )


def _legend_handles(model: SummaryModel) -> list[Patch]:
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
    if model.not_counted:
        handles.append(
            Patch(
                facecolor=NO_FEEDBACK_FACE,
                edgecolor=HATCH_EDGE,
                linewidth=0.6,
                label=model.no_feedback_label,
            )
        )
    handles.append(Patch(facecolor=FLAG_COLOR, linewidth=0, label="skill needs discussion"))
    return handles


# -- no feedback yet ------------------------------------------------------------------------


def _render_empty(title: str, model: SummaryModel) -> bytes:
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
    fig.text(
        0.5,
        0.4,
        f"No feedback yet ({model.count_text})",
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
