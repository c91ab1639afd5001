"""The one way interviews from sources get in: validate, map, upsert, or store as incomplete.

Every source (the generic webhook, calendar feeds, Ashby, Greenhouse, Lever)
turns what it received into :class:`SourceRow` values and calls
:func:`intake_rows` in its own transaction. A row goes through the mapping
(storage.mapping), the import file's row validation (storage.import_file) and the
import's idempotent upsert keyed by ``external_id`` (storage.interviews), so a
source can be replayed at will. A row a person must complete (an interviewer's
email unknown to Slack, an unmapped job, no hiring channel, recruiter, hiring
lead or panel) is stored as incomplete (storage.incomplete): nothing is sent
and nothing guessed. A row that cannot be read (a bad timestamp, a wrong type)
is a :class:`RowError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rubric import RubricRegistry
from rubric.located_yaml import SourceErrors
from storage.import_file import SLACK_USER_ID, EmailResolver, InterviewSpec, parse_interview
from storage.incomplete import drop_incomplete, resolve_incomplete, upsert_incomplete
from storage.intake_emails import prefetch_emails, resolve_people
from storage.interviews import Timings, import_interviews
from storage.mapping import Missing, SourceMapping, resolve_row
from storage.models import IncompleteInterview, Interview, InterviewState
from storage.queries import CancelOutcome, cancel_interview

__all__ = [
    "SOURCE_MAX",
    "Intake",
    "IntakeResult",
    "RowError",
    "SourceRow",
    "cancel_missing",
    "intake_rows",
    "prefetch_emails",
]

# interviews.source and incomplete_interviews.source: every source's name fits (calendar
# names are at most 40 characters, Ashby ids 58, so "ashby:<schedule id>" is at most 64).
SOURCE_MAX = 64

Outcome = Literal["created", "updated", "unchanged", "cancelled", "incomplete", "invalid"]


@dataclass(frozen=True)
class SourceRow:
    source: str  # "webhook", "calendar:<name>", "ashby", "greenhouse", "lever"
    external_id: str  # globally unique: prefixed with the source, e.g. "ashby:<id>"
    fields: Mapping[str, Any]  # import-row keys, plus optional "job" and "kit" names
    cancelled: bool = False
    where: str = ""  # how errors and logs name it, e.g. "ashby event 3f2e..."


@dataclass(frozen=True)
class RowError:
    index: int
    field: str
    message: str


@dataclass(frozen=True)
class IntakeResult:
    created: int
    updated: int
    unchanged: int
    cancelled: int
    incomplete: int
    errors: tuple[RowError, ...]  # invalid rows (not merely incomplete)
    cancelled_interviews: tuple[int, ...]  # whose sent form DMs the Slack side must update
    outcomes: tuple[str, ...]  # per row: created|updated|unchanged|cancelled|incomplete|invalid

    def counts(self) -> dict[str, int]:
        """The generic webhook's 200 body."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "cancelled": self.cancelled,
            "incomplete": self.incomplete,
        }


# The keys a person completes in the schedule modal; absent, the row is incomplete.
_PEOPLE_MISSING = {
    "hiring_channel": "no hiring channel (set it in the config mapping or in the row)",
    "recruiter": "no recruiter",
    "hiring_lead": "no hiring lead",
}
_PLACEHOLDER_CHANNEL = "C0MISSING"


@dataclass(frozen=True)
class Intake:
    """What every source takes its rows in with, made once (bot.sources); sessions stay
    with the caller, whose transaction also holds its own writes (dedupe, poll state)."""

    registry: RubricRegistry
    timings: Timings
    mapping: SourceMapping
    default_tz: tzinfo | None = None

    def take(
        self,
        session: Session,
        rows: Sequence[SourceRow],
        *,
        now: datetime,
        resolve_email: EmailResolver | None = None,
        all_or_nothing: bool = False,
    ) -> IntakeResult:
        """:func:`intake_rows` with this intake's registry, timings, mapping and zone."""
        return intake_rows(
            session,
            rows,
            registry=self.registry,
            timings=self.timings,
            mapping=self.mapping,
            now=now,
            resolve_email=resolve_email,
            all_or_nothing=all_or_nothing,
            default_tz=self.default_tz,
        )

    def prefetch(
        self, rows: Sequence[SourceRow], resolve_email: EmailResolver | None
    ) -> EmailResolver | None:
        """:func:`prefetch_emails` through this intake's mapping."""
        return prefetch_emails(rows, self.mapping, resolve_email)


@dataclass
class _Prepared:
    index: int
    row: SourceRow
    spec: InterviewSpec | None = None
    known: dict[str, Any] = field(default_factory=dict)
    missing: list[Missing] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    settled: bool = False  # a person completed this very row already: nothing to do


def intake_rows(
    session: Session,
    rows: Sequence[SourceRow],
    *,
    registry: RubricRegistry,
    timings: Timings,
    mapping: SourceMapping,
    now: datetime,
    resolve_email: EmailResolver | None = None,
    all_or_nothing: bool = False,
    default_tz: tzinfo | None = None,
) -> IntakeResult:
    """Take ``rows`` in, in the caller's transaction (never committed here).

    Each row is created, updated, unchanged, cancelled, incomplete or invalid
    (``outcomes``). With ``all_or_nothing`` nothing is written when any row is
    invalid: the result then has only ``errors`` (other rows ``unchanged``), and
    the caller should roll back anyway. Emails are resolved before anything is
    written (``resolve_email`` may call Slack).
    """
    cache: dict[str, str | LookupError] = {}

    def prepare(index: int, row: SourceRow) -> _Prepared:
        return _prepare(index, row, registry, mapping, resolve_email, cache, default_tz)

    prepared = [_after_a_person(session, prepare(i, row), prepare) for i, row in enumerate(rows)]
    _check_duplicates(prepared)
    if all_or_nothing and any(p.errors for p in prepared):
        return _result(
            ["invalid" if p.errors else "unchanged" for p in prepared], prepared, (), rows
        )
    outcomes: list[Outcome] = []
    cancelled: list[int] = []
    for p in prepared:
        outcomes.append(_write(session, p, registry, timings, now, cancelled))
    return _result(outcomes, prepared, tuple(cancelled), rows)


def _result(
    outcomes: Sequence[str],
    prepared: Sequence[_Prepared],
    cancelled: tuple[int, ...],
    rows: Sequence[SourceRow],
) -> IntakeResult:
    errors = tuple(error for p in prepared for error in p.errors)
    return IntakeResult(
        created=outcomes.count("created"),
        updated=outcomes.count("updated"),
        unchanged=outcomes.count("unchanged"),
        cancelled=outcomes.count("cancelled"),
        incomplete=outcomes.count("incomplete"),
        errors=errors,
        cancelled_interviews=cancelled,
        outcomes=tuple(outcomes),
    )


# -- preparing a row (no database) ------------------------------------------------


def _prepare(
    index: int,
    row: SourceRow,
    registry: RubricRegistry,
    mapping: SourceMapping,
    resolve_email: EmailResolver | None,
    cache: dict[str, str | LookupError],
    default_tz: tzinfo | None,
) -> _Prepared:
    prepared = _Prepared(index, row)
    if not isinstance(row.external_id, str) or not 1 <= len(row.external_id.strip()) <= 128:
        prepared.errors.append(RowError(index, "external_id", "must be 1 to 128 characters"))
        return prepared
    if not 1 <= len(row.source) <= SOURCE_MAX:  # a bug in a source: refused, not a DataError
        prepared.errors.append(RowError(index, "source", f"must be 1 to {SOURCE_MAX} characters"))
        return prepared
    bad = _unstorable({"external_id": row.external_id, **row.fields}, "")
    if bad is not None:
        # NUL or a lone surrogate: no text column (nor a Slack lookup) can take it.
        prepared.errors.append(RowError(index, bad[0], bad[1]))
        return prepared
    if row.cancelled:
        return prepared
    data, prepared.missing = resolve_row(mapping, row.fields)
    data["external_id"] = row.external_id
    probe = dict(data)
    for key, message in _PEOPLE_MISSING.items():
        if _absent(data.get(key)):
            prepared.missing.append(Missing(key, message))
            placeholder = f"U0MISSING{key[:1].upper()}"
            probe[key] = _PLACEHOLDER_CHANNEL if key == "hiring_channel" else placeholder
    if any(m.field == "job" for m in prepared.missing) and _absent(data.get("target_level")):
        # The job's mapping would give the level: its absence is part of what is missing.
        rubric_id = data.get("rubric", "mle")
        if isinstance(rubric_id, str) and rubric_id in registry:
            probe["target_level"] = registry.get(rubric_id).level_ids[0]
    panel = data.get("panel")
    if panel is None or panel == []:
        prepared.missing.append(Missing("panel", "no interviewers"))
        probe["panel"] = [{"interviewer": "U0MISSINGP"}]
    resolve_people(data, probe, prepared.missing, resolve_email, cache)
    prepared.known = _jsonable(data)
    try:
        spec = parse_interview(
            probe,
            source=row.where or row.source,
            registry=registry,
            default_tz=default_tz,
        )
    except SourceErrors as exc:
        prepared.errors = [RowError(index, e.path, e.message) for e in exc.errors]
        return prepared
    if not prepared.missing:
        prepared.spec = spec
    return prepared


def _after_a_person(
    session: Session, p: _Prepared, prepare: Callable[[int, SourceRow], _Prepared]
) -> _Prepared:
    """An incomplete row a person already completed (in the schedule modal) stays done.

    The same row again changes nothing (a feed repeats it on every poll). A changed
    one takes what the person supplied from the interview they made (channel,
    people, the job's rubric and level, a missing panel) and is applied if that
    completes it; else it is incomplete again and the recruiter is asked again.
    """
    if p.spec is not None or p.errors or p.row.cancelled:
        return p
    stored = session.scalars(
        sa.select(IncompleteInterview).where(IncompleteInterview.external_id == p.row.external_id)
    ).one_or_none()
    if stored is None or stored.resolved_interview_id is None:
        return p
    if stored.row == p.known and stored.missing == _missing_json(p.missing):
        p.settled = True
        return p
    interview = session.get(Interview, stored.resolved_interview_id)
    if interview is None:
        return p
    missing = {m.field for m in p.missing}
    fields = dict(p.row.fields)
    for key in _PEOPLE_MISSING:
        if key in missing:
            fields[key] = getattr(interview, key)
    if "job" in missing:
        fields.pop("job", None)
        fields.update(
            rubric=interview.rubric_id, target_level=interview.target_level, role=interview.role
        )
    if "panel" in missing:
        fields["panel"] = [
            {"interviewer": r.interviewer, "focus": list(r.focus_skills), "shadow": r.shadow}
            for r in sorted(interview.requests, key=lambda r: (r.position, r.id))
        ]
    again = prepare(p.index, replace(p.row, fields=fields))
    return again if again.spec is not None else p


def _missing_json(missing: Sequence[Missing]) -> list[dict[str, str]]:
    return [{"field": m.field, "message": m.message} for m in missing]


def _unstorable(value: object, path: str) -> tuple[str, str] | None:
    """The first string in ``value`` holding NUL or a lone surrogate: (its path, why)."""
    if isinstance(value, str):
        for char in value:
            if char == "\x00" or "\ud800" <= char <= "\udfff":
                return path, f"holds the character U+{ord(char):04X}, which cannot be stored"
        return None
    items: list[tuple[str, object]] = []
    if isinstance(value, Mapping):
        items = [(path or "row", k) for k in value]  # keys first: a path never holds one
        items += [(f"{path}.{k}" if path else str(k), v) for k, v in value.items()]
    elif isinstance(value, list | tuple):
        items = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    for where, item in items:
        found = _unstorable(item, where)
        if found is not None:
            return found
    return None


def _absent(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _jsonable(value: Any) -> Any:
    # Sources may hand datetimes and durations; the incomplete row is stored as JSON.
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"{int(value.total_seconds())}s"
    return value


def _check_duplicates(prepared: Sequence[_Prepared]) -> None:
    first: dict[str, int] = {}
    for i, p in enumerate(prepared):
        if p.errors:
            continue
        seen = first.setdefault(p.row.external_id, i)
        if seen != i:
            p.errors.append(
                RowError(
                    p.index, "external_id", f"{p.row.external_id!r} appears twice (first at {seen})"
                )
            )
            p.spec = None


# -- writing a row ----------------------------------------------------------------


def _write(
    session: Session,
    p: _Prepared,
    registry: RubricRegistry,
    timings: Timings,
    now: datetime,
    cancelled: list[int],
) -> Outcome:
    if p.errors:
        return "invalid"
    if p.settled:
        return "unchanged"
    row = p.row
    if row.cancelled:
        return _cancel(session, p, now, cancelled)
    if p.spec is None:
        recruiter = p.known.get("recruiter")
        upsert_incomplete(
            session,
            source=row.source,
            external_id=row.external_id,
            row=p.known,
            missing=_missing_json(p.missing),
            recruiter=recruiter
            if isinstance(recruiter, str) and SLACK_USER_ID.match(recruiter)
            else None,
            now=now,
        )
        return "incomplete"
    try:
        [result] = import_interviews(
            session,
            [p.spec],
            registry=registry,
            timings=timings,
            now=now,
            actor=_actor(row),
            source=row.source,
        )
    except SourceErrors as exc:
        p.errors.extend(RowError(p.index, e.path, e.message) for e in exc.errors)
        return "invalid"
    resolve_incomplete(session, row.external_id, result.interview_id, now)
    return result.outcome.value


def _actor(row: SourceRow) -> str:
    return f"source:{row.source}"[:64]


def _cancel(session: Session, p: _Prepared, now: datetime, cancelled: list[int]) -> Outcome:
    row = p.row
    dropped = drop_incomplete(session, row.external_id)
    interview = session.scalars(
        sa.select(Interview).where(Interview.external_id == row.external_id)
    ).one_or_none()
    if interview is None:
        return "cancelled" if dropped else "unchanged"
    outcome = cancel_interview(session, interview.id, actor=_actor(row), now=now)
    if outcome == CancelOutcome.CANCELLED:
        cancelled.append(interview.id)
        return "cancelled"
    if outcome == CancelOutcome.NOT_ALLOWED and interview.state == InterviewState.SUMMARISED:
        p.errors.append(
            RowError(
                p.index,
                "status",
                f"interview {interview.id} is summarised; it can no longer be cancelled",
            )
        )
        return "invalid"
    return "cancelled" if dropped else "unchanged"


def cancel_missing(
    session: Session, *, source: str, seen_external_ids: Sequence[str] | set[str], now: datetime
) -> tuple[int, ...]:
    """Cancel the interviews ``source`` owns that it no longer lists and that have not ended.

    For feeds that list everything (a calendar): an event that left the feed before
    it ended is cancelled. Its open incomplete rows that left are dropped as well.
    Returns the cancelled interviews' ids (whose sent form DMs must be updated).
    """
    seen = set(seen_external_ids)
    candidates = session.execute(
        sa.select(Interview.id, Interview.external_id).where(
            Interview.source == source,
            Interview.state == InterviewState.SCHEDULED,
            Interview.ends_at > now,
        )
    ).all()
    cancelled: list[int] = []
    for interview_id, external_id in candidates:
        if external_id in seen:
            continue
        outcome = cancel_interview(session, interview_id, actor=f"source:{source}"[:64], now=now)
        if outcome == CancelOutcome.CANCELLED:
            cancelled.append(interview_id)
    stale = session.scalars(
        sa.select(IncompleteInterview).where(
            IncompleteInterview.source == source,
            IncompleteInterview.resolved_interview_id.is_(None),
        )
    ).all()
    for incomplete in stale:
        if incomplete.external_id not in seen and not _ended(incomplete.row, now):
            session.delete(incomplete)
    session.flush()
    return tuple(cancelled)


def _ended(row: Mapping[str, Any], now: datetime) -> bool:
    # An incomplete interview that has ended stays listed: someone may still complete it.
    for key in ("ends_at", "starts_at"):
        value = row.get(key)
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                continue
            if moment.tzinfo is not None:
                return moment < now
    return False
