"""Ack latency of ``interview-bot serve --http`` against a bare Bolt app.

Per run: one bare app (``benchmarks/bare_app.py``) and, per backend, a fresh
database with interviews whose forms the served sweep has sent. Then, at
concurrency 1 and 16, the same three kinds of Slack-signed request go to each:
a final ``view_submission`` of a form not yet answered (stored before the ack),
the DM's "Give feedback" button (ack, then ``views.open``) and ``/interview list``.
Latency is client-side wall time per request, on a fresh connection each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common import Context, Figure, Section, Target, percentile, table_row
from benchmarks.served import (
    Body,
    Result,
    Served,
    button,
    closed_modal,
    command,
    database,
    import_interviews_file,
    load,
    ok,
    panel,
    stored_count,
    submission,
    wait_forms_sent,
)
from storage.engine import create_engine_for

KINDS = ("view_submission", "block_actions", "slash_command")
CONCURRENCY = (1, 16)
LIST_USER = "U0LIST"  # `/interview list` from an interviewer with two open forms
PANEL = 10
# "bare": Bolt's default App, the target's baseline. "bare, in-thread": the same with
# process_before_response=True, as serve runs: Bolt's floor, for reference.
IN_THREAD = "bare, in-thread"
BARE_APPS = ("bare", IN_THREAD)


@dataclass
class Cell:
    p50: Figure = field(default_factory=Figure)
    p95: Figure = field(default_factory=Figure)
    p99: Figure = field(default_factory=Figure)
    ratio: Figure = field(default_factory=Figure)  # p99 / the bare app's p99 in the same run
    floor: Figure = field(default_factory=Figure)  # p99 / the in-thread bare app's p99

    def add(self, samples: list[float]) -> None:
        self.p50.add(percentile(samples, 50))
        self.p95.add(percentile(samples, 95))
        self.p99.add(percentile(samples, 99))


Requests = dict[str, Callable[[int], list[Body]]]


def _measure(
    events_url: str, requests: Requests, per_kind: int
) -> dict[tuple[str, int], list[float]]:
    """Milliseconds per request, by (kind, concurrency); every answer checked."""
    checks: dict[str, Callable[[Result], bool]] = {
        "view_submission": closed_modal,
        "block_actions": ok,
        "slash_command": ok,
    }
    out: dict[tuple[str, int], list[float]] = {}
    for index, concurrency in enumerate(CONCURRENCY):
        for kind in KINDS:
            bodies = requests[kind](index)
            results, _wall = load(events_url, bodies[:per_kind], concurrency, checks[kind])
            out[(kind, concurrency)] = [r.seconds * 1000 for r in results]
    return out


def run(ctx: Context) -> list[Section]:
    per_kind = ctx.pick(5, 150)  # requests per kind and concurrency, per backend and run
    # The tiny (smoke) run measures SQLite only, to stay within seconds.
    backends = ["sqlite"] + (["postgresql"] if ctx.pg_url and ctx.size == "full" else [])
    cells: dict[tuple[str, str, int], Cell] = {}
    total = 0
    for run_no in range(ctx.runs):
        with Served.fake_slack(ctx.workdir / f"ack-{run_no}") as served:
            bare_p99: dict[tuple[str, int], float] = {}
            runs: dict[str, dict[tuple[str, int], list[float]]] = {}
            for backend in backends:
                runs[backend], view = _serve_run(ctx, served, backend, per_kind, run_no)
            for app in BARE_APPS:
                bare = served.bare(f"{app}-{run_no}", in_thread=app == IN_THREAD)
                try:
                    # The bare app acks anything: the same bodies (the bot's real modal).
                    forms = [(f"U0P{i % PANEL:03d}", f"bare{i:05d}") for i in range(2 * per_kind)]
                    runs[app] = _measure(bare.events, _requests(forms, view, per_kind), per_kind)
                finally:
                    bare.stop()
        floor_p99: dict[tuple[str, int], float] = {}
        for (kind, concurrency), samples in runs["bare"].items():
            bare_p99[(kind, concurrency)] = percentile(samples, 99)
        for (kind, concurrency), samples in runs[IN_THREAD].items():
            floor_p99[(kind, concurrency)] = percentile(samples, 99)
        for app, measured in runs.items():
            for (kind, concurrency), samples in measured.items():
                total += len(samples)
                cell = cells.setdefault((app, kind, concurrency), Cell())
                cell.add(samples)
                p99 = percentile(samples, 99)
                if app != "bare":
                    cell.ratio.add(p99 / bare_p99[(kind, concurrency)])
                if app not in BARE_APPS:
                    cell.floor.add(p99 / floor_p99[(kind, concurrency)])
    return [_section(ctx, cells, backends, per_kind, total)]


def _requests(forms: list[tuple[str, str]], view: dict[str, Any], per_kind: int) -> Requests:
    """Request bodies by kind; ``index`` picks the concurrency's own unanswered forms."""
    return {
        "view_submission": lambda index: [
            submission(view, user, public_id)
            for user, public_id in forms[index * per_kind : (index + 1) * per_kind]
        ],
        "block_actions": lambda index: [
            button(user, public_id)
            for user, public_id in forms[index * per_kind : (index + 1) * per_kind]
        ],
        "slash_command": lambda _index: [command(LIST_USER, "list") for _ in range(per_kind)],
    }


def _serve_run(
    ctx: Context, served: Served, backend: str, per_kind: int, run_no: int
) -> tuple[dict[tuple[str, int], list[float]], dict[str, Any]]:
    forms_needed = 2 * per_kind  # one unanswered form per submission, per concurrency
    interviews = -(-forms_needed // PANEL)
    with database(backend, ctx.pg_url, served.workdir) as url:
        engine = create_engine_for(url)
        try:
            import_interviews_file(engine, served.workdir, interviews, panel(PANEL))
            import_interviews_file(
                engine, served.workdir, 2, [LIST_USER, "U0X001"], offset=interviews
            )
            serve = served.serve(url, f"serve-{backend}-{run_no}")
            try:
                sent = wait_forms_sent(engine, interviews * PANEL + 4)
                forms = [(u, p) for u, p in sent if u.startswith("U0P")]
                view = served.feedback_view(serve.events, *forms[-1])
                measured = _measure(serve.events, _requests(forms, view, per_kind), per_kind)
                stored = stored_count(engine)
                if stored != forms_needed:
                    raise RuntimeError(f"{stored} feedback stored, {forms_needed} acked as stored")
            finally:
                serve.stop()
        finally:
            engine.dispose()
    return measured, view


def _section(
    ctx: Context,
    cells: dict[tuple[str, str, int], Cell],
    backends: list[str],
    per_kind: int,
    total: int,
) -> Section:
    size = f" --size {ctx.size}" if ctx.size != "full" else ""
    section = Section(
        title="Ack latency: `serve --http` against a bare Bolt app",
        command=f"python -m benchmarks --only ack_latency{size}",
        columns=[
            "kind",
            "app",
            "concurrency",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "p99 / bare p99",
            "p99 / in-thread bare p99",
        ],
    )
    worst_ratio = 0.0
    worst_p99 = 0.0
    misses: list[str] = []
    for kind in KINDS:
        for concurrency in CONCURRENCY:
            for app in [*BARE_APPS, *backends]:
                cell = cells[(app, kind, concurrency)]
                ratio = cell.ratio.show(2, "x") if app != "bare" else ""
                floor = cell.floor.show(2, "x") if app not in BARE_APPS else ""
                section.rows.append(
                    table_row(
                        [
                            kind,
                            app if app in BARE_APPS else f"serve, {app}",
                            concurrency,
                            cell.p50.show(1),
                            cell.p95.show(1),
                            cell.p99.show(1),
                            ratio,
                            floor,
                        ]
                    )
                )
                if app not in BARE_APPS:
                    worst_p99 = max(worst_p99, cell.p99.median)
                    worst_ratio = max(worst_ratio, cell.ratio.median)
                    if cell.ratio.median > 1.5:
                        misses.append(f"{kind} on {app} at {concurrency}: {cell.ratio.median:.2f}x")
    section.targets.append(
        Target(
            "p99 at most 1.5x the bare app's p99, for every kind, backend and concurrency",
            not misses,
            f"Worst median ratio {worst_ratio:.2f}x"
            + (f"; over 1.5x: {'; '.join(misses)}." if misses else "."),
        )
    )
    section.targets.append(
        Target(
            "p99 far under Slack's 3 s ack deadline (under 1 s)",
            worst_p99 < 1000,
            f"Worst median p99 {worst_p99:.0f} ms.",
        )
    )
    section.notes.append(
        f"{total} signed requests in all: per run, backend and concurrency {per_kind} of each "
        "kind to `serve`, and the same to the bare app (a Bolt `App` whose three listeners "
        "only `ack()`, behind waitress with the same settings). Each `view_submission` is "
        "the first for its form (stored before the ack; the stored count is checked), on "
        "the one-skill rubric; `block_actions` is the form DM's *Give feedback* button "
        "(the bot acks, then opens the modal); the command is `/interview list` from an "
        "interviewer with two open forms. Keep-alive-free `http.client` clients; the "
        "fake Slack runs in a process of its own; `serve` runs its sweep every second."
    )
    section.notes.append(
        "Fix made while measuring (storage/engine.py): on SQLite every transaction begins "
        "with `BEGIN IMMEDIATE`, and threads waiting for the write lock polled it from "
        "SQLite's busy handler, sleeping up to 100 ms a time; they now queue on a lock in "
        "the process first. SQLite, one run, 200 requests per kind, p99 at concurrency 16 "
        "before -> after: view_submission 2063 -> 850 ms, block_actions 1012 -> 458 ms, "
        "slash_command 936 -> 519 ms (at concurrency 1 within noise)."
    )
    section.notes.append(
        "The two baselines: `bare` is Bolt's default `App`, the target's baseline. Its "
        "listener runs on Bolt's listener pool while the request's thread polls for the "
        "ack every 10 ms, so even an instant ack costs about 12 ms. `bare, in-thread` is "
        "the same app with `process_before_response=True`, the mode `serve` now runs in "
        "(fix below). It is Bolt's floor, and it is shown only for reference, with its "
        "own ratio column."
    )
    section.notes.append(
        "Fix made while measuring (bot/app.py, handlers/): `serve` ran Bolt's default mode. "
        "Every listener was handed to a pool of 5 threads, while the 8 request threads "
        "polled for its ack. At concurrency 16 the requests queued for those 5 threads, "
        "and under a profiler some waited past 3 s: Bolt answered `404 unhandled request`, "
        "which Slack shows the user as an error. Listeners now run in the request's "
        "thread (`process_before_response=True`), and what follows an ack (`views.open`, "
        "the DM refresh, the Home tab, confirmations) goes to the bot's own after-ack "
        "pool (`BotContext.later`). `tests/test_ack_first.py` holds Slack's answer to "
        "show that no ack waits for it. Median p99 before (commit 167746f, the same "
        "benchmark) -> after (the table above), SQLite at concurrency 1: view_submission "
        "42.6 ms, block_actions 22.7 ms, slash_command 23.0 ms; at 16: 536, 351, 305 ms. "
        "PostgreSQL at 16: 1152, 557, 433 ms. Buttons gained most (`views.open` left the "
        "request path); submissions and commands at concurrency 16 did not: 8 request "
        "threads now contend for SQLite's one writer and the GIL where 5 listener threads "
        "did, so their queue is longer though the throughput is the same."
    )
    section.notes.append(
        "Where the ratio is still over 1.5x, and why: `serve` does its work before the "
        "ack by design. A submission is validated and committed, because the ack "
        "promises it is stored: the guard's transaction, then the form, draft and "
        "feedback in a second one, about a dozen SQL statements through the SQLAlchemy "
        "ORM. The button's guard reads the request, and `/interview list` answers in the "
        "ack. At concurrency 16 the clients keep 16 requests in flight, so latency is "
        "about 16 / throughput. `serve` spends CPU on each request: that ORM work, the "
        "modal built and the DM updated after the ack, and the sweep. It does so on the "
        "same 2 CPUs and GIL, where the bare app spends almost none. The load generator "
        "and the fake Slack share those CPUs too. Closing that gap needs less Python per "
        "request (one transaction per submission, Core instead of ORM on the hot path), "
        "not a setting."
    )
    return section
