"""Sweep cost as history grows: one sweep, fixed due work, 10k/100k/1M finished interviews.

The due work (1,000 form DMs, nudges, summaries with their escalations, digests)
is the same at every size, and so is the Slack side (the fake Slack on
loopback), so the ratio of sweep times shows what the history costs the
database. The history grows in place (10k -> 100k -> 1M, see
benchmarks.history_data) and the due work is recreated before every sweep.
Besides the wall time, each sweep's SQL statements are counted and timed
(``before/after_cursor_execute``), Slack calls are timed (``api_call``) and so
are the claims (the storage claim functions the sweep calls).
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

import handlers.reminders
import handlers.summary
import handlers.sweep
from benchmarks import history_data as data
from benchmarks.common import Context, Figure, Section, Target, table_row
from bot.app import Bot, build_bot
from bot.config import Config, FileConfig, RetentionConfig, Secrets
from bot.fakeslack import FakeSlack
from bot.slack_client import create_web_client
from handlers.sweep import Sweeper, SweepReport
from rubric import RubricRegistry
from storage.engine import create_engine_for, make_session_factory
from storage.migrate import upgrade

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)  # a Monday noon: no quiet hours
TARGET_RATIO = 1.5
RETENTION_DAYS = 4000  # the purge runs and finds nothing (1M ended within 3,500 days)
SQLITE_MAX_LOAD_S = 120.0  # SQLite stops short of the largest size if loading it would take longer
# (module, attribute, label): the storage calls whose time is "claims".
CLAIMS = [
    (handlers.sweep, "claim_due_forms", "forms"),
    (handlers.summary, "claim_due_summaries", "summaries"),
    (handlers.reminders, "claim_due_nudges", "nudges"),
    (handlers.reminders, "claim_due_escalations", "escalations"),
    (handlers.reminders, "claim_due_digests", "digests"),
    (handlers.sweep, "purge_expired", "retention"),
]


@dataclass
class Measure:
    sweep: Figure = field(default_factory=Figure)
    db: Figure = field(default_factory=Figure)
    slack: Figure = field(default_factory=Figure)
    claims: Figure = field(default_factory=Figure)
    statements: Figure = field(default_factory=Figure)
    per_claim: dict[str, Figure] = field(default_factory=lambda: defaultdict(Figure))


class Probe:
    """Counts and times SQL statements, Slack calls and claims while ``active``."""

    def __init__(self, engine: Engine, bot: Bot) -> None:
        self.active = False
        self.statements = 0
        self.db = 0.0
        self.slack = 0.0
        self.claims: dict[str, float] = defaultdict(float)
        # statement text -> [total seconds, calls, last params]
        self.by_statement: dict[str, list[Any]] = {}
        self._started: list[float] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        self._engine = engine
        real_call = bot.client.api_call

        def timed_call(api_method: str, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return real_call(api_method, **kwargs)
            finally:
                if self.active:
                    self.slack += time.perf_counter() - started

        bot.client.api_call = timed_call  # type: ignore[method-assign]

    def reset(self) -> None:
        self.statements, self.db, self.slack = 0, 0.0, 0.0
        self.claims.clear()
        self.by_statement.clear()

    def _before(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        self._started.append(time.perf_counter())

    def _after(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        took = time.perf_counter() - self._started.pop()
        if not self.active:
            return
        self.statements += 1
        self.db += took
        entry = self.by_statement.setdefault(statement, [0.0, 0, params])
        entry[0] += took
        entry[1] += 1
        entry[2] = params

    @contextmanager
    def claims_timed(self) -> Iterator[None]:
        saved = [(module, name, getattr(module, name)) for module, name, _ in CLAIMS]
        for (module, name, label), (_, _, real) in zip(CLAIMS, saved, strict=True):
            setattr(module, name, self._timed(real, label))
        try:
            yield
        finally:
            for module, name, real in saved:
                setattr(module, name, real)

    def _timed(self, real: Callable[..., Any], label: str) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                self.claims[label] += time.perf_counter() - started

        return wrapper

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._before)
        event.remove(self._engine, "after_cursor_execute", self._after)


@dataclass
class Backend:
    name: str
    url: str
    drop: Callable[[], None]


@contextmanager
def backends(ctx: Context) -> Iterator[list[Backend]]:
    found = [Backend("SQLite", f"sqlite:///{ctx.workdir / 'sweep_history.db'}", lambda: None)]
    if ctx.pg_url:
        found.append(_pg_database(ctx.pg_url))
    try:
        yield found
    finally:
        for backend in found:
            backend.drop()


def _pg_database(pg_url: str) -> Backend:
    """A database of our own (bench_sweep_<random>), dropped afterwards."""
    name = f"bench_sweep_{secrets.token_hex(4)}"
    admin_url = make_url(pg_url).set(database="postgres")
    admin = create_engine_for(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    return Backend("PostgreSQL", url, drop)


def run(ctx: Context) -> list[Section]:
    sizes = [ctx.pick(100, 10_000), ctx.pick(300, 100_000)]
    if ctx.size == "full":
        sizes.append(1_000_000)
    due = data.DueWork(
        forms=ctx.pick(20, 1000),
        nudges=ctx.pick(4, 100),
        summaries=ctx.pick(0, 2),
        digests=ctx.pick(1, 5),
    )
    registry = RubricRegistry.load(None)
    skills = [skill.id for skill in registry.get("mle").skills]
    section = Section(
        title="Sweep cost as history grows",
        command=f"python -m benchmarks --only sweep_history --size {ctx.size} --runs {ctx.runs}",
        columns=[
            "Backend",
            "History (interviews / rows)",
            "Sweep (s)",
            "vs smallest",
            "DB time (s)",
            "Claims (s)",
            "Slack calls (s)",
            "SQL statements",
            "History load (s)",
        ],
    )
    section.notes.append(
        f"One `Sweeper.run_once()` per run, fake Slack on loopback, fixed clock,"
        f" retention.days {RETENTION_DAYS} (the purge runs, finds nothing). Due work,"
        f" recreated before every sweep:"
        f" {due.forms} form DMs, {due.nudges} nudges, {due.summaries} partial summaries (post,"
        f" thread with heatmap, hiring lead's escalation), {due.digests} recruiter digests."
        f" History: interviews with panels of {data.PANEL}; 80% summarised (3 feedback with"
        f" {data.RATINGS} ratings each, 4th declined or nudged to the cap), 10% cancelled, 10%"
        f" archived; one ending every {data.SPACING_MIN} minutes back from 2 days ago"
        f" (the same last 30 days at every size); {data.RECRUITERS} recruiters,"
        f" {data.INTERVIEWERS} interviewers. DB time: time in cursor.execute; Claims: the storage"
        f" claim calls (incl. the retention purge); Slack calls: time in WebClient.api_call."
    )
    with backends(ctx) as found:
        for backend in found:
            _measure_backend(ctx, backend, sizes, due, registry, skills, section)
    return [section]


def _measure_backend(
    ctx: Context,
    backend: Backend,
    sizes: list[int],
    due: data.DueWork,
    registry: RubricRegistry,
    skills: list[str],
    section: Section,
) -> None:
    engine = create_engine_for(backend.url)
    factory = make_session_factory(engine)
    fake = FakeSlack().start()
    bot: Bot | None = None
    probe: Probe | None = None
    try:
        upgrade(engine)
        for user in data.all_users():
            fake.add_user(user)
        data.seed_users(factory, NOW)
        version_id, version = data.rubric_snapshot(factory, registry)
        config = Config(
            file=FileConfig(retention=RetentionConfig(days=RETENTION_DAYS)),
            slack_api_url=fake.url,
            secrets=Secrets(bot_token=SecretStr("xoxb-bench"), signing_secret=SecretStr("0" * 32)),
        )
        bot = build_bot(
            config, factory, create_web_client(config), registry=registry, clock=lambda: NOW
        )
        probe = Probe(engine, bot)
        audit_base = data.max_audit_id(factory)
        have = 0
        baseline: float | None = None
        last_rate: float | None = None
        for size in sizes:
            if backend.name == "SQLite" and last_rate and size == 1_000_000:
                projected = (size - have) / last_rate
                if projected > SQLITE_MAX_LOAD_S:
                    section.notes.append(
                        f"SQLite not measured at {size:,}: loading it would take about"
                        f" {projected:.0f} s ({last_rate:,.0f} interviews/s at the previous size)."
                    )
                    break
            data.delete_due_work(factory, history=have, audit_after=audit_base)
            growth = data.grow_history(
                engine,
                have=have,
                want=size,
                now=NOW,
                rubric_version_id=version_id,
                rubric_version=version,
                skills=skills,
            )
            last_rate = growth.interviews / growth.seconds
            print(
                f"  {backend.name}: history {size:,} loaded in {growth.seconds:.1f} s", flush=True
            )
            have = size
            rows = sum(data.table_rows(engine).values())
            measure = Measure()
            for _run in range(ctx.runs):
                data.delete_due_work(factory, history=have, audit_after=audit_base)
                data.create_due_work(
                    factory,
                    due,
                    now=NOW,
                    rubric_version_id=version_id,
                    rubric_version=version,
                    skills=skills,
                )
                sweeper = Sweeper(
                    bot.ctx,
                    bot.client,
                    bot.timezones,
                    bot.sweeper.summaries,
                    retention=config.retention.period,
                )
                probe.reset()
                probe.active = True
                with probe.claims_timed():
                    started = time.perf_counter()
                    report = sweeper.run_once()
                    took = time.perf_counter() - started
                probe.active = False
                _check(report, due)
                measure.sweep.add(took)
                measure.db.add(probe.db)
                measure.slack.add(probe.slack)
                measure.claims.add(sum(probe.claims.values()))
                measure.statements.add(probe.statements)
                for label, seconds in probe.claims.items():
                    measure.per_claim[label].add(seconds)
            print(f"  {backend.name} at {size:,}: sweep {measure.sweep.show(2, ' s')}", flush=True)
            if baseline is None:
                baseline = measure.sweep.median
            ratio = measure.sweep.median / baseline
            section.rows.append(
                table_row(
                    [
                        backend.name,
                        f"{size:,} / {rows:,}",
                        measure.sweep.show(2),
                        f"{ratio:.2f}x",
                        measure.db.show(2),
                        measure.claims.show(3),
                        measure.slack.show(2),
                        measure.statements.show(0),
                        f"{growth.seconds:.1f}",
                    ]
                )
            )
            claims = ", ".join(
                f"{label} {fig.show(3)}" for label, fig in sorted(measure.per_claim.items())
            )
            section.notes.append(f"{backend.name} at {size:,}: claims (s) {claims}.")
            if size == sizes[-1] or (backend.name == "SQLite" and size == sizes[1]):
                section.notes.append(_slowest(probe, backend.name, size))
            if size == sizes[-1] or (backend.name == "SQLite" and size == 100_000):
                section.targets.append(
                    Target(
                        f"{backend.name}: sweep at {size:,} interviews at most {TARGET_RATIO}x"
                        f" the sweep at {sizes[0]:,}",
                        ratio <= TARGET_RATIO,
                        f"{measure.sweep.show(2, ' s')} vs {baseline:.2f} s: {ratio:.2f}x.",
                    )
                )
        if backend.name == "PostgreSQL" and ctx.size == "full":
            data.delete_due_work(factory, history=have, audit_after=audit_base)
            data.create_due_work(
                factory,
                due,
                now=NOW,
                rubric_version_id=version_id,
                rubric_version=version,
                skills=skills,
            )
            section.notes.append(_explain(engine, probe, have))
    finally:
        if probe is not None:
            probe.close()
        if bot is not None:
            bot.close()
        fake.stop()
        engine.dispose()


def _check(report: SweepReport, due: data.DueWork) -> None:
    done = (
        report.forms_sent,
        report.reminders.nudges,
        report.summaries.posted,
        report.reminders.escalations,
    )
    if done != (due.forms, due.nudges, due.summaries, due.summaries):
        raise RuntimeError(f"the sweep did not do the due work: {report}")


def _slowest(probe: Probe, backend: str, size: int, top: int = 3) -> str:
    ranked = sorted(probe.by_statement.items(), key=lambda kv: kv[1][0], reverse=True)[:top]
    parts = [
        f"{seconds * 1000:.0f} ms in {calls} x `{' '.join(sql.split())[:110]}...`"
        for sql, (seconds, calls, _params) in ranked
    ]
    return (
        f"{backend} at {size:,}, the costliest statements of the last sweep: "
        + "; ".join(parts)
        + "."
    )


def _explain(engine: Engine, probe: Probe, size: int, top: int = 4) -> str:
    """EXPLAIN ANALYZE of the last sweep's costliest statements (reads only; rolled back)."""
    ranked = sorted(probe.by_statement.items(), key=lambda kv: kv[1][0], reverse=True)
    lines = [
        f"PostgreSQL at {size:,}: EXPLAIN ANALYZE of the costliest statements (due work recreated):"
    ]
    shown = 0
    with engine.connect() as conn:
        for sql, (_seconds, _calls, params) in ranked:
            if shown == top or not sql.lstrip().upper().startswith("SELECT"):
                continue
            with conn.begin() as txn:
                plan = [
                    str(row[0])
                    for row in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                ]
                txn.rollback()
            lines.append("```\n" + " ".join(sql.split())[:300] + "\n" + "\n".join(plan) + "\n```")
            shown += 1
    return "\n\n".join(lines)


__all__ = ["run"]
