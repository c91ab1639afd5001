"""The cost of one panel summary: consensus plus Block Kit, and the heatmap separately.

For panels of 4, 8 and 12 on the MLE rubric (``benchmarks.panel_data``: focus skills
plus a few others, disagreements, some "Not assessed" and some ratings without
evidence), SummaryData is built directly (no database, no Slack), then timed the way
``timeit`` does: ``ITERATIONS`` summaries back to back per run, ``ctx.runs`` runs. A
summary is what ``SummaryWorker._post`` computes before its one API call:
``build_summary(data, consensus_of(data))``. The two halves are timed on their own
too. The heatmap (``render_heatmap``, matplotlib, a PNG) is timed apart: it goes out
in the summary's thread after the summary, and the target excludes it.
"""

from __future__ import annotations

import json
import time
import timeit
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from benchmarks.common import Context, Figure, Section, Target
from benchmarks.panel_data import END, make_panel, summary_data
from handlers.blocks.summary import build_summary, consensus_of
from handlers.heatmap import render_heatmap
from rubric import load_builtin
from storage.views import SummaryData

PANELS = (4, 8, 12)
TARGET_MS = 20.0
NOW = END + timedelta(hours=30)


def _ms_per_call(fn: Callable[[], object], iterations: int) -> float:
    return timeit.timeit(fn, number=iterations) / iterations * 1000


def _summary(data: SummaryData) -> tuple[str, list[dict[str, object]]]:
    return build_summary(data, consensus_of(data), now=NOW)


def run(ctx: Context) -> list[Section]:
    iterations = ctx.pick(20, 200)
    rubric = load_builtin("mle")
    command = f"python -m benchmarks --only summary_cost --size {ctx.size}"
    summary = Section(
        title="Summary cost: consensus and Block Kit per panel size",
        command=command,
        columns=[
            "panel",
            "ms per summary",
            "consensus ms",
            "Block Kit ms",
            "blocks",
            "JSON bytes",
            "needs discussion",
        ],
    )
    heat = Section(
        title="Summary cost: the heatmap image",
        command=command,
        columns=["panel", "ms per image", "PNG bytes"],
    )
    worst = 0.0
    worst_panel = 0
    for size in PANELS:
        data = summary_data(rubric, make_panel(rubric, size))
        consensus = consensus_of(data)
        text, blocks = _summary(data)  # warm: imports, caches
        total, cons, kit, image = Figure(), Figure(), Figure(), Figure()
        for _ in range(ctx.runs):
            total.add(_ms_per_call(partial(_summary, data), iterations))
            cons.add(_ms_per_call(partial(consensus_of, data), iterations))
            kit.add(
                _ms_per_call(
                    partial(build_summary, data, consensus, now=NOW),
                    iterations,
                )
            )
        png = b""
        if ctx.size == "full" or size == PANELS[0]:  # tiny: one cold image, a smoke test
            if ctx.size == "full":
                render_heatmap(data, consensus)  # warm: matplotlib's font cache
            for _ in range(ctx.runs):
                started = time.perf_counter()
                png = render_heatmap(data, consensus)
                image.add((time.perf_counter() - started) * 1000)
        if total.median > worst:
            worst, worst_panel = total.median, size
        flagged = sum(1 for s in consensus.skills if s.needs_discussion)
        summary.rows.append(
            [
                str(size),
                total.show(2),
                cons.show(2),
                kit.show(2),
                str(len(blocks)),
                str(len(json.dumps(blocks)) + len(text)),
                f"{flagged} of {len(consensus.skills)}",
            ]
        )
        if png:
            heat.rows.append([str(size), image.show(0), str(len(png))])
    summary.targets.append(
        Target(
            description=f"a summary (consensus + Block Kit, no image) under {TARGET_MS:.0f} ms",
            met=worst < TARGET_MS,
            detail=f"Slowest median: {worst:.2f} ms, for a panel of {worst_panel}.",
        )
    )
    summary.notes.append(
        f"{iterations} summaries back to back per run (timeit), {ctx.runs} run(s); "
        "`ms per summary` is `build_summary(data, consensus_of(data))` on SummaryData built "
        "directly (no database, no Slack), the other two columns its halves. MLE rubric "
        "(16 skills, 3 levels), target Senior; every interviewer rates 2 focus skills, "
        "Fundamentals and 3 more, with disagreements (`benchmarks/panel_data.py`). The "
        "consensus half is the per-skill medians, counts and flags (pure Python; "
        "no per-panel alpha any more)."
    )
    heat.notes.append(
        "`render_heatmap` (matplotlib Agg, PNG), one image per run after "
        "one warm-up render (none in the tiny run), same panels as above. Not part of the "
        "summary's target: it is uploaded to the summary's thread after the summary is "
        "posted (best effort)."
    )
    return [summary, heat]
