"""Sustained stored feedback submissions per second, on SQLite and PostgreSQL.

Per backend: a fresh database with ``runs x N`` forms sent by the served sweep;
then per run, N final submissions (each the first for its form) at concurrency 16
against ``interview-bot serve --http``. The rate is the stored count (read back
from the database, and every answer checked to have closed the modal) over the
wall time of the burst.
"""

from __future__ import annotations

from benchmarks.common import Context, Figure, Section, table_row
from benchmarks.served import (
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


def run(ctx: Context) -> list[Section]:
    n = ctx.pick(20, 500)  # submissions per run
    # The tiny (smoke) run measures SQLite only, to stay within seconds.
    backends = ["sqlite"] + (["postgresql"] if ctx.pg_url and ctx.size == "full" else [])
    rates: dict[str, Figure] = {}
    with Served.fake_slack(ctx.workdir / "throughput") as served:
        for backend in backends:
            rates[backend] = _backend(ctx, served, backend, n)
    size = f" --size {ctx.size}" if ctx.size != "full" else ""
    section = Section(
        title="Throughput: stored feedback submissions per second",
        command=f"python -m benchmarks --only throughput{size}",
        columns=["backend", "submissions per run", "concurrency", "stored per second"],
    )
    for backend in backends:
        section.rows.append(table_row([backend, n, CONCURRENCY, rates[backend].show(0)]))
    section.notes.append(
        "Each submission is a form's first final `view_submission` (one-skill rubric), "
        "committed before the ack; after each burst the stored count must equal the "
        "answers that closed the modal. `serve` keeps its sweep running (every second) and "
        "updates each form DM after the ack (`chat.update` on the fake Slack, a process of "
        "its own). Keep-alive-free clients, one connection per request, on 127.0.0.1; "
        "client and server share the machine's CPUs."
    )
    return [section]


def _backend(ctx: Context, served: Served, backend: str, n: int) -> Figure:
    rate = Figure()
    interviews = -(-n * ctx.runs // PANEL)
    with database(backend, ctx.pg_url, served.workdir) as url:
        engine = create_engine_for(url)
        try:
            import_interviews_file(engine, served.workdir, interviews, panel(PANEL))
            serve = served.serve(url, f"serve-{backend}")
            try:
                forms = wait_forms_sent(engine, interviews * PANEL)
                view = served.feedback_view(serve.events, *forms[-1])
                for run_no in range(ctx.runs):
                    batch = forms[run_no * n : (run_no + 1) * n]
                    bodies = [submission(view, user, public_id) for user, public_id in batch]
                    before = stored_count(engine)
                    _results, wall = load(serve.events, bodies, CONCURRENCY, closed_modal)
                    stored = stored_count(engine) - before
                    if stored != n:
                        raise RuntimeError(f"{stored} stored of {n} acked as stored")
                    rate.add(stored / wall)
            finally:
                serve.stop()
        finally:
            engine.dispose()
    return rate
