"""Resident memory of ``interview-bot serve --http``: idle, then under a stream of submissions.

RSS (``VmRSS`` of /proc/<pid>/status) of ``serve`` on SQLite, idle (started, its
sweep has sent every form, no request yet) and after 10k and 20k final
``view_submission``s; the bare Bolt app the same, with the same request bodies.
The first F submissions store each form's feedback; the rest resubmit identical
feedback (an idempotent "stored" answer: the full validate, lock and compare path,
no new row), since creating 20k forms through the sweep would take minutes.
"""

from __future__ import annotations

import time

from benchmarks.common import Context, Figure, Section, Target, table_row
from benchmarks.served import (
    Body,
    Process,
    Served,
    closed_modal,
    database,
    import_interviews_file,
    load,
    panel,
    stored_count,
    submission,
    wait_forms_sent,
)
from storage.engine import create_engine_for

CONCURRENCY = 16
PANEL = 10
GROWTH_TOLERANCE = 0.05  # RSS after 20k at most 5% above RSS after 10k


def _mib(kib: int) -> float:
    return kib / 1024


def _drive(process: Process, bodies: list[Body], checkpoints: list[int]) -> list[int]:
    """Send ``bodies`` in a cycle; RSS (KiB) idle and at each checkpoint."""
    time.sleep(0.5)
    rss = [process.rss_kib()]
    sent = 0
    for checkpoint in checkpoints:
        while sent < checkpoint:
            chunk = min(checkpoint - sent, len(bodies) - sent % len(bodies))
            start = sent % len(bodies)
            load(process.events, bodies[start : start + chunk], CONCURRENCY, closed_modal)
            sent += chunk
        time.sleep(0.5)  # let the after-ack work drain
        rss.append(process.rss_kib())
    return rss


def run(ctx: Context) -> list[Section]:
    checkpoints = [ctx.pick(200, 10_000), ctx.pick(400, 20_000)]
    forms_count = ctx.pick(100, 1000)
    serve_rss = [Figure() for _ in range(3)]
    bare_rss = [Figure() for _ in range(3)]
    with Served.fake_slack(ctx.workdir / "memory") as served:
        with database("sqlite", None, served.workdir) as url:
            engine = create_engine_for(url)
            try:
                # One panel member never answers: no summary locks the forms.
                interviews = forms_count // PANEL
                import_interviews_file(engine, served.workdir, interviews, panel(PANEL + 1))
                serve = served.serve(url, "serve-memory")
                try:
                    sent = wait_forms_sent(engine, interviews * (PANEL + 1))
                    silent = panel(PANEL + 1)[-1]
                    forms = [(user, public_id) for user, public_id in sent if user != silent]
                    view = served.feedback_view(serve.events, *forms[-1])
                    bodies = [submission(view, user, public_id) for user, public_id in forms]
                    for figure, kib in zip(
                        serve_rss, _drive(serve, bodies, checkpoints), strict=True
                    ):
                        figure.add(_mib(kib))
                    if stored_count(engine) != forms_count:
                        raise RuntimeError("not every form's feedback was stored")
                finally:
                    serve.stop()
            finally:
                engine.dispose()
        bare = served.bare("bare-memory")
        try:
            for figure, kib in zip(bare_rss, _drive(bare, bodies, checkpoints), strict=True):
                figure.add(_mib(kib))
        finally:
            bare.stop()
    return [_section(ctx, serve_rss, bare_rss, checkpoints, forms_count)]


def _section(
    ctx: Context,
    serve_rss: list[Figure],
    bare_rss: list[Figure],
    checkpoints: list[int],
    forms_count: int,
) -> Section:
    size = f" --size {ctx.size}" if ctx.size != "full" else ""
    labels = ["idle", *[f"after {c:,} submissions" for c in checkpoints]]
    section = Section(
        title="Memory: resident set size of `serve` against the bare app",
        command=f"python -m benchmarks --only memory{size}",
        columns=["process", *[f"RSS {label} MiB" for label in labels]],
    )
    section.rows.append(table_row(["serve, sqlite", *[f.show(1) for f in serve_rss]]))
    section.rows.append(table_row(["bare Bolt app", *[f.show(1) for f in bare_rss]]))
    idle_ratio = serve_rss[0].median / bare_rss[0].median
    growth = serve_rss[2].median / serve_rss[1].median - 1
    section.targets.append(
        Target(
            "`serve` idle RSS at most 1.5x the bare app's idle RSS",
            idle_ratio <= 1.5,
            f"{idle_ratio:.2f}x ({serve_rss[0].median:.1f} MiB against {bare_rss[0].median:.1f}).",
        )
    )
    section.targets.append(
        Target(
            f"no growth from {checkpoints[0]:,} to {checkpoints[1]:,} submissions "
            f"(tolerance {GROWTH_TOLERANCE:.0%})",
            growth <= GROWTH_TOLERANCE,
            f"{growth:+.1%} ({serve_rss[1].median:.1f} to {serve_rss[2].median:.1f} MiB).",
        )
    )
    section.notes.append(
        f"One run (RSS is one trajectory, not a sample): {forms_count} forms sent by the "
        f"served sweep (panels of {PANEL + 1}, one of whom never answers, so no summary "
        f"locks the forms); the first {forms_count} submissions store them, the rest resubmit "
        "identical feedback (idempotent, answered as stored), at concurrency "
        f"{CONCURRENCY}. The bare app gets the same bodies. RSS read 0.5 s after each "
        "checkpoint. SQLite only (the PostgreSQL driver adds its own, constant, share)."
    )
    section.notes.append(
        "Fix made while measuring (handlers/summary.py): matplotlib (the heatmap) was "
        "imported when `serve` started, though it is only needed to post a summary; it is "
        "now imported on first use. Idle RSS before the fix: 123.7 MiB against the bare "
        "app's 73.3 MiB (1.69x; tiny run); importing the serving modules alone went from "
        "119 to 89 MiB peak RSS. numpy (krippendorff's alpha, rubric/consensus.py) is "
        "still imported at start."
    )
    section.notes.append(
        "Where the growth comes from (measured after commit 634e0cc, one run each, "
        "20,000 submissions, RSS after 10k -> 20k). At commit 634e0cc: 126.8 -> 144.7 MiB "
        "(+14.1%). With listeners in the request thread (bot/app.py): 118 -> 126 MiB "
        "(+6.8%); the same with `MALLOC_ARENA_MAX=2`: 114 -> 119 MiB (+4.4%). With the "
        "connection pool sized for serve's threads as well (storage/engine.py, 16 + 8 "
        "instead of SQLAlchemy's 5 + 10, which made the extra threads open and close "
        "SQLite connections, each with its own page cache): 115 -> 120 MiB (+4.3%). "
        "Serving idle for 5 minutes with the sweep every second, RSS stayed at 95 MiB, "
        "so the growth follows requests, not time. Python objects do not grow: "
        "`tracemalloc` over 1,500 identical submissions to the served app in one process "
        "(the tests' harness) showed +124 KiB of live Python memory, all of it transient "
        "request objects. What still grows is outside Python's heap: each pooled SQLite "
        "connection fills its page cache (up to 2 MB) and its cache of 128 prepared "
        "statements as it meets new pages and statements, and memory freed by 13 threads "
        "stays in glibc's per-thread arenas (the smaller figure with "
        "`MALLOC_ARENA_MAX=2`). These caches are bounded, so the growth should flatten, "
        "but 20,000 requests do not show the plateau."
    )
    return section
