"""Finished-interview history, generated inside the database, and the due work a sweep does.

History rows are made by ``INSERT ... SELECT`` over a number series (PostgreSQL
``generate_series``, SQLite a recursive CTE), one statement per table, so a
million interviews never pass through Python. Interview ``i`` (1-based) ended
``2 days + 5 i minutes`` before the clock: growing the history adds older rows.
Each has a panel of 4; 80% are summarised (3 submitted with 3 ratings each, the
4th declined, or for 1 in 10 nudged to the cap without answering), 10% cancelled
and 10% archived (panel never sent). Nothing in it is due: that is the point of the measurement.

The due work is made with the ORM (ids after the history's), and deleted again
after each sweep (``ON DELETE CASCADE``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from rubric import RubricRegistry, rubric_digest
from storage.models import (
    AuditEvent,
    Feedback,
    FeedbackRequest,
    Interview,
    InterviewState,
    RecruiterDigest,
    RequestState,
    SkillRating,
    SlackUser,
    SummaryStep,
)
from storage.rubric_versions import ensure_rubric_version

PANEL = 4
RATINGS = 3  # per submitted feedback
RECRUITERS = 20
INTERVIEWERS = 500
# One interview ends every SPACING_MIN minutes, back from 2 days ago: the newest 10k span
# 35 days, so every size has the same last 30 days (what digests read) and only older rows.
SPACING_MIN = 5
HISTORY_TABLES = ("interviews", "feedback_requests", "feedback", "skill_ratings")


def recruiter(n: int) -> str:
    return f"U0REC{100 + n % RECRUITERS}"


def lead(n: int) -> str:
    return f"U0LEAD{100 + n % RECRUITERS}"


def interviewer(n: int) -> str:
    return f"U0I{1000 + n % INTERVIEWERS}"


def all_users() -> list[str]:
    return (
        [recruiter(n) for n in range(RECRUITERS)]
        + [lead(n) for n in range(RECRUITERS)]
        + [interviewer(n) for n in range(INTERVIEWERS)]
    )


def rubric_snapshot(factory: sessionmaker[Session], registry: RubricRegistry) -> tuple[int, str]:
    rubric = registry.get("mle")
    with factory.begin() as session:
        row = ensure_rubric_version(
            session,
            rubric_id=rubric.id,
            version=rubric.version,
            digest=rubric_digest(rubric),
            definition=rubric.model_dump(mode="json"),
        )
        return row.id, rubric.version


# ---------------------------------------------------------------------------
# History: SQL per dialect


class _Sql:
    """The few expressions that differ between PostgreSQL and SQLite."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"

    def series(self) -> str:
        if self.pg:
            return "s(i) AS (SELECT generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)))"
        return "RECURSIVE s(i) AS (SELECT :lo UNION ALL SELECT i + 1 FROM s WHERE i < :hi)"

    def ago(self, minutes: str) -> str:
        """The timestamp ``minutes`` (an SQL expression) before :now."""
        if self.pg:
            return f"(CAST(:now AS timestamptz) - ({minutes}) * interval '1 minute')"
        # SQLAlchemy's SQLite DateTime text format, microseconds included.
        return f"(strftime('%Y-%m-%d %H:%M:%S', :now, (-({minutes})) || ' minutes') || '.000000')"

    def json(self, literal: str) -> str:
        return f"CAST('{literal}' AS json)" if self.pg else f"'{literal}'"


_PANEL = " UNION ALL ".join(f"SELECT {p} AS p" for p in range(PANEL))
_RATING = " UNION ALL ".join(f"SELECT {k} AS k" for k in range(RATINGS))


def _history_statements(sql: _Sql, skills: list[str]) -> list[str]:
    end = f"(2880 + {SPACING_MIN} * i)"  # minutes before now
    summarised = "i % 10 < 8"
    state = (
        "CASE WHEN i % 10 < 8 THEN 'summarised' WHEN i % 10 = 8 THEN 'cancelled'"
        " ELSE 'archived' END"
    )

    def if_summarised(value: str) -> str:
        return f"CASE WHEN {summarised} THEN {value} END"

    interviews = f"""
WITH {sql.series()}
INSERT INTO interviews (id, external_id, candidate, role, rubric_id, rubric_version,
  rubric_version_id, target_level, starts_at, ends_at, hiring_channel, recruiter, hiring_lead,
  state, created_at, updated_at, summary_pending, summary_due_at, feedback_seq,
  summary_claimed_seq, summary_attempts, summary_error, summary_notified, summary_channel,
  summary_ts, summary_posted_at, summary_updated_at, summary_seq, summary_posted_seq,
  escalation_due_at, escalated_at)
SELECT i, 'hist-' || i, 'Candidate ' || i, 'ML Engineer', 'mle', :rubric_version,
  :rubric_version_id, 'senior', {sql.ago(end + " + 60")}, {sql.ago(end)}, 'C0HIRING',
  'U0REC' || (100 + i % {RECRUITERS}), 'U0LEAD' || (100 + i % {RECRUITERS}),
  {state}, {sql.ago(end + " + 10080")}, {sql.ago(end + " - 2880")}, NULL, NULL,
  CASE WHEN {summarised} THEN 3 ELSE 0 END, NULL, 0, NULL, false,
  {if_summarised("'C0HIRING'")}, {if_summarised("'1700000000.' || i")},
  {if_summarised(sql.ago(end + " - 1440"))}, {if_summarised(sql.ago(end + " - 1440"))},
  {if_summarised("3")}, {if_summarised("3")}, NULL, {if_summarised(sql.ago(end + " - 2880"))}
FROM s"""
    who = f"'U0I' || (1000 + (i + p * {INTERVIEWERS // PANEL}) % {INTERVIEWERS})"
    request_state = (
        f"CASE WHEN NOT ({summarised}) THEN 'pending' WHEN p < 3 THEN 'submitted'"
        " WHEN i % 10 = 1 THEN 'form_sent' ELSE 'declined' END"
    )
    sent = f"({summarised})"
    nudged = f"({summarised} AND p = 3 AND i % 10 = 1)"
    requests = f"""
WITH {sql.series()}
INSERT INTO feedback_requests (id, public_id, interview_id, interviewer, focus_skills, position,
  state, next_action_at, reminder_count, nudge_requested, last_nudged_at, attempts, dm_channel,
  dm_ts, last_error, created_at, updated_at)
SELECT (i - 1) * {PANEL} + p + 1, 'h' || ((i - 1) * {PANEL} + p + 1), i, {who},
  {sql.json("[]")}, p, {request_state}, NULL, CASE WHEN {nudged} THEN 3 ELSE 0 END, false,
  CASE WHEN {nudged} THEN {sql.ago(end + " - 2000")} END, 0,
  CASE WHEN {sent} THEN 'D' || {who} END, CASE WHEN {sent} THEN '1700000001.' || i END, NULL,
  {sql.ago(end + " + 10080")}, {sql.ago(end + " - 2880")}
FROM s CROSS JOIN ({_PANEL}) AS panel"""
    feedback = f"""
WITH {sql.series()}
INSERT INTO feedback (id, request_id, recommendation, notes, submitted_at, updated_at,
  first_seq, seq)
SELECT (i - 1) * {PANEL} + p + 1, (i - 1) * {PANEL} + p + 1,
  CASE (i + p) % 4 WHEN 0 THEN 'strong_no' WHEN 1 THEN 'no' WHEN 2 THEN 'yes'
  ELSE 'strong_yes' END,
  'Notes on candidate ' || i, {sql.ago(end + " - 60")}, {sql.ago(end + " - 60")}, p + 1, p + 1
FROM s CROSS JOIN ({_PANEL}) AS panel WHERE {summarised} AND p < 3"""
    skill_rows = " UNION ALL ".join(
        f"SELECT {n} AS n, '{skill}' AS skill_id" for n, skill in enumerate(skills)
    )
    ratings = f"""
WITH {sql.series()}
INSERT INTO skill_ratings (id, feedback_id, skill_id, level, evidence)
SELECT ((i - 1) * {PANEL} + p + 1) * {RATINGS} + k, (i - 1) * {PANEL} + p + 1, sk.skill_id,
  CASE (i + k) % 3 WHEN 0 THEN 'junior' WHEN 1 THEN 'senior' ELSE 'lead' END,
  'Evidence for interview ' || i
FROM s CROSS JOIN ({_PANEL}) AS panel CROSS JOIN ({_RATING}) AS rating
JOIN ({skill_rows}) AS sk ON sk.n = (i + p + k * 5) % {len(skills)}
WHERE {summarised} AND p < 3"""
    return [interviews, requests, feedback, ratings]


@dataclass
class Growth:
    interviews: int  # added
    rows: int  # added, all tables
    seconds: float


def grow_history(
    engine: Engine,
    *,
    have: int,
    want: int,
    now: datetime,
    rubric_version_id: int,
    rubric_version: str,
    skills: list[str],
    chunk: int = 250_000,
) -> Growth:
    """Add interviews ``have+1 .. want`` (with their panels, feedback, ratings); then ANALYZE."""
    started = time.perf_counter()
    sql = _Sql(engine.dialect.name)
    statements = [sa.text(s) for s in _history_statements(sql, skills)]
    now_param: object = now if sql.pg else now.strftime("%Y-%m-%d %H:%M:%S")
    rows = 0
    with engine.connect() as conn:
        _load_mode(conn, sql, on=True)
        indexes = _drop_indexes(conn, sql)
        try:
            for lo in range(have + 1, want + 1, chunk):
                hi = min(want, lo + chunk - 1)
                params = {
                    "lo": lo,
                    "hi": hi,
                    "now": now_param,
                    "rubric_version_id": rubric_version_id,
                    "rubric_version": rubric_version,
                }
                with conn.begin():
                    for statement in statements:
                        rows += conn.execute(statement, params).rowcount
        finally:
            with conn.begin():
                for ddl in indexes:  # rebuilt in one sorted pass each: faster than row by row
                    conn.exec_driver_sql(ddl)
            _load_mode(conn, sql, on=False)
        if sql.pg:
            for table in ("interviews", "feedback_requests", "feedback", "skill_ratings"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT max(id) FROM {table}))"
                )
            conn.commit()
            # What autovacuum would have done by the time a history this size exists.
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    return Growth(want - have, rows, time.perf_counter() - started)


def _drop_indexes(conn: Connection, sql: _Sql) -> list[str]:
    """Drop the history tables' secondary indexes; return the DDL that recreates them."""
    tables = ", ".join(f"'{t}'" for t in HISTORY_TABLES)
    with conn.begin():
        if sql.pg:
            constraints = conn.exec_driver_sql(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
                " FROM pg_constraint WHERE contype = 'u'"
                f" AND conrelid::regclass::text IN ({tables})"
            ).all()
            indexes = conn.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                f" AND tablename IN ({tables}) AND left(indexname, 3) <> 'pk_'"
                " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            ).all()
            for table, name, _ in constraints:
                conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _ in indexes:
                conn.exec_driver_sql(f'DROP INDEX "{name}"')
            return [
                f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
                for table, name, definition in constraints
            ] + [definition for _, definition in indexes]
        named = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            f" AND tbl_name IN ({tables})"
        ).all()
        for name, _ in named:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        return [ddl for _, ddl in named]


def _load_mode(conn: Connection, sql: _Sql, *, on: bool) -> None:
    """Bulk-load settings for this connection only: no FK triggers, no fsync per commit."""
    if sql.pg:
        conn.exec_driver_sql(f"SET session_replication_role = {'replica' if on else 'DEFAULT'}")
        conn.exec_driver_sql(f"SET synchronous_commit = {'off' if on else 'on'}")
        conn.exec_driver_sql(f"SET maintenance_work_mem = '{'512MB' if on else '64MB'}'")
        conn.commit()
    else:  # pragmas outside any transaction, so on the driver's connection (autocommit)
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.execute(f"PRAGMA synchronous = {'OFF' if on else 'NORMAL'}")
        raw.execute(f"PRAGMA foreign_keys = {'OFF' if on else 'ON'}")


def table_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: int(conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one())
            for t in HISTORY_TABLES
        }


# ---------------------------------------------------------------------------
# Due work


@dataclass(frozen=True)
class DueWork:
    forms: int  # pending requests due now (panels of 4)
    nudges: int  # form_sent requests whose first nudge is due
    summaries: int  # interviews past their summary deadline: post + finish, and an escalation
    digests: int  # recruiters whose digest is due

    @property
    def total_units(self) -> int:
        return self.forms + self.nudges + 3 * self.summaries + self.digests


def seed_users(factory: sessionmaker[Session], now: datetime) -> None:
    """Cached time zones for everyone, as a running bot has them (no users.info in the sweep)."""
    with factory.begin() as session:
        session.execute(sa.delete(SlackUser))
        session.add_all(SlackUser(user_id=u, tz="UTC", fetched_at=now) for u in all_users())


def create_due_work(
    factory: sessionmaker[Session],
    due: DueWork,
    *,
    now: datetime,
    rubric_version_id: int,
    rubric_version: str,
    skills: list[str],
) -> None:
    """The due work, recreated before each sweep (see :func:`delete_due_work`)."""

    def interview(n: int, ended: timedelta, **fields: object) -> Interview:
        ends = now - ended
        return Interview(
            candidate=f"Due candidate {n}",
            role="ML Engineer",
            rubric_id="mle",
            rubric_version=rubric_version,
            rubric_version_id=rubric_version_id,
            target_level="senior",
            starts_at=ends - timedelta(hours=1),
            ends_at=ends,
            hiring_channel="C0HIRING",
            recruiter=recruiter(n),
            hiring_lead=lead(n),
            state=InterviewState.SCHEDULED,
            created_at=now - timedelta(days=7),
            updated_at=now - timedelta(days=7),
            **fields,
        )

    def panel(n: int, state: RequestState, **fields: object) -> list[FeedbackRequest]:
        return [
            FeedbackRequest(
                interviewer=interviewer(n * PANEL + p),
                focus_skills=[],
                position=p,
                state=state,
                created_at=now - timedelta(days=7),
                updated_at=now - timedelta(days=7),
                **fields,
            )
            for p in range(PANEL)
        ]

    rows: list[Interview] = []
    # Forms: ended 10 minutes ago, form_delay (5 min) passed.
    for n in range(due.forms // PANEL):
        row = interview(n, timedelta(minutes=10))
        row.requests = panel(n, RequestState.PENDING, next_action_at=now - timedelta(minutes=5))
        rows.append(row)
    # Nudges: forms went out a day ago, feedback now overdue (due_after 24 h).
    for n in range(due.nudges // PANEL):
        row = interview(n, timedelta(hours=25), summary_pending=SummaryStep.POST)
        row.requests = panel(
            n,
            RequestState.FORM_SENT,
            next_action_at=now - timedelta(hours=1),
            dm_channel="D0DM",
            dm_ts="1700000002.000100",
        )
        rows.append(row)
    # Summaries: past the 48 h deadline with 3 of 4 submitted: a partial post, its
    # thread and heatmap, and the hiring lead's escalation (which arms the digest).
    for n in range(due.summaries):
        row = interview(
            n,
            timedelta(hours=49),
            summary_pending=SummaryStep.POST,
            summary_due_at=now - timedelta(hours=1),
            escalation_due_at=now - timedelta(hours=1),
            feedback_seq=3,
        )
        row.requests = panel(n, RequestState.SUBMITTED, dm_channel="D0DM", dm_ts="1.1")
        row.requests[-1].state = RequestState.FORM_SENT
        row.requests[-1].reminder_count = 3
        for p, request in enumerate(row.requests[:-1]):
            request.feedback = Feedback(
                recommendation="yes",
                notes="Solid",
                submitted_at=now - timedelta(hours=48),
                updated_at=now - timedelta(hours=48),
                first_seq=p + 1,
                seq=p + 1,
                ratings=[
                    SkillRating(
                        skill_id=skills[(n + k) % len(skills)], level="senior", evidence="e"
                    )
                    for k in range(RATINGS)
                ],
            )
        rows.append(row)
    with factory.begin() as session:
        session.add_all(rows)
        for n in range(due.digests):
            session.merge(
                RecruiterDigest(
                    recruiter=recruiter(n),
                    next_action_at=now - timedelta(minutes=1),
                    last_sent_at=now - timedelta(days=1),
                )
            )


def delete_due_work(factory: sessionmaker[Session], *, history: int, audit_after: int) -> None:
    """Back to the history alone: due interviews (cascading), the sweep's audit events, digests."""
    with factory.begin() as session:
        session.execute(sa.delete(Interview).where(Interview.id > history))
        session.execute(sa.delete(AuditEvent).where(AuditEvent.id > audit_after))
        session.execute(sa.delete(RecruiterDigest))


def max_audit_id(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(sa.select(sa.func.coalesce(sa.func.max(AuditEvent.id), 0))) or 0)
