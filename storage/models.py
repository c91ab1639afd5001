"""The database schema as SQLAlchemy 2 declarative models.

The Alembic migrations in ``storage/migrations/versions`` create exactly this
schema; ``tests/test_storage_migrations.py`` fails when the two drift apart, so
a change here needs a new migration.

Conventions:

* every timestamp is a :class:`~storage.types.UTCDateTime` and defaults in
  Python (not in the server), so SQLite and PostgreSQL behave alike;
* enums are ``StrEnum`` stored as ``VARCHAR(16)`` plus a ``CHECK`` constraint
  (no native PostgreSQL enum types, nothing to ``ALTER TYPE``);
* constraint and index names come from :data:`NAMING_CONVENTION`, so migrations
  are deterministic on every backend.
"""

from __future__ import annotations

import enum
import re
import secrets
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UTCDateTime

__all__ = [
    "NAMING_CONVENTION",
    "AuditEvent",
    "Base",
    "Feedback",
    "FeedbackDraft",
    "FeedbackRequest",
    "FeedbackVersion",
    "IncompleteInterview",
    "Interview",
    "InterviewState",
    "OutboxEvent",
    "OutgoingDelivery",
    "RecruiterDigest",
    "RequestState",
    "RubricVersion",
    "SkillRating",
    "SlackUser",
    "SourceState",
    "SummaryStep",
    "WebhookEvent",
    "new_public_id",
    "utcnow",
]

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


# What a public id may look like (new_public_id makes 22 of these characters): a value
# from Slack that does not match is forged or garbage and needs no database lookup.
PUBLIC_ID_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,32}")


def new_public_id() -> str:
    """Return a fresh opaque id for a feedback request: 22 URL-safe characters, 128 random bits."""
    return secrets.token_urlsafe(16)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class InterviewState(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    SUMMARISED = "summarised"
    # Imported after its summary deadline had passed: kept as history, nothing is sent.
    ARCHIVED = "archived"


class SummaryStep(enum.StrEnum):
    """The next unit of work on an interview's hiring-channel summary (see storage.summaries)."""

    POST = "post"  # post the summary message
    FINISH = "finish"  # its thread: the interviewers' replies (packed), then the heatmap
    UPDATE = "update"  # feedback arrived or changed after the post: update the message


class RequestState(enum.StrEnum):
    PENDING = "pending"
    FORM_SENT = "form_sent"
    SUBMITTED = "submitted"
    DECLINED = "declined"


def _str_enum(cls: type[enum.StrEnum], name: str) -> sa.Enum:
    # VARCHAR + CHECK on every backend; the CHECK is named ck_<table>_<name>.
    return sa.Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda e: [m.value for m in e],
    )


class RubricVersion(Base):
    """An immutable snapshot of a rubric, keyed by the digest of its content.

    An interview points at the snapshot it was scheduled with, so editing a
    rubric file later never changes past feedback.
    """

    __tablename__ = "rubric_versions"
    __table_args__ = (sa.UniqueConstraint("rubric_id", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_id: Mapped[str] = mapped_column(sa.String(64))
    version: Mapped[str] = mapped_column(sa.String(64))
    # sha256 hex of the canonical rubric JSON.
    digest: Mapped[str] = mapped_column(sa.String(64))
    # The full rubric as dumped by pydantic.
    definition: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Interview(Base):
    __tablename__ = "interviews"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        # An import identifies rows without external_id by this triple.
        sa.Index(None, "candidate", "role", "starts_at"),
        # The summary sweep's lookup: live interviews whose summary work is due.
        sa.Index(None, "state", "summary_due_at"),
        # The escalation sweep's lookup (storage.reminders): live interviews not escalated yet.
        sa.Index(None, "state", "escalation_due_at"),
        # A recruiter's digest (storage.reminders.digest_for): their recent interviews only.
        sa.Index(None, "recruiter", "ends_at"),
        # The summary's bookkeeping (storage.summaries); literal copies in migration 0003.
        sa.CheckConstraint("summary_attempts >= 0", name="summary_attempts_non_negative"),
        sa.CheckConstraint(
            "(summary_channel IS NULL AND summary_ts IS NULL AND summary_posted_at IS NULL"
            " AND summary_updated_at IS NULL AND summary_seq IS NULL"
            " AND summary_posted_seq IS NULL)"
            " OR (summary_channel IS NOT NULL AND summary_ts IS NOT NULL"
            " AND summary_posted_at IS NOT NULL AND summary_updated_at IS NOT NULL"
            " AND summary_seq IS NOT NULL AND summary_posted_seq IS NOT NULL)",
            name="summary_posted_together",
        ),
        sa.CheckConstraint(
            "summary_pending IS NULL"
            " OR (summary_pending = 'post' AND summary_ts IS NULL)"
            " OR (summary_pending IN ('finish', 'update') AND summary_ts IS NOT NULL)",
            name="summary_step_fits_message",
        ),
        sa.CheckConstraint(
            "summary_due_at IS NULL OR summary_pending IS NOT NULL", name="summary_due_needs_step"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(sa.String(128), unique=True)
    # Where it came from: "import", "modal", "webhook", "calendar:<name>", "ashby",
    # "greenhouse", "lever"; NULL for interviews stored before sources existed. A feed
    # cancels the interviews it owns that left it (storage.intake).
    source: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    candidate: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(200))
    rubric_id: Mapped[str] = mapped_column(sa.String(64))
    rubric_version: Mapped[str] = mapped_column(sa.String(64))
    rubric_version_id: Mapped[int] = mapped_column(sa.ForeignKey("rubric_versions.id"))
    target_level: Mapped[str] = mapped_column(sa.String(32))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Indexed for the retention purge (storage.retention).
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    hiring_channel: Mapped[str] = mapped_column(sa.String(32))
    # Indexed for their owners' lists (App Home, /interview list).
    recruiter: Mapped[str] = mapped_column(sa.String(32), index=True)
    hiring_lead: Mapped[str] = mapped_column(sa.String(32), index=True)
    state: Mapped[InterviewState] = mapped_column(
        _str_enum(InterviewState, "interview_state"),
        default=InterviewState.SCHEDULED,
        index=True,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # The hiring-channel summary (storage.summaries). The next unit of work, NULL if none:
    summary_pending: Mapped[SummaryStep | None] = mapped_column(
        _str_enum(SummaryStep, "summary_step")
    )
    # When the sweep should look at it next: the deadline, now, a retry after a failure,
    # or the end of a claim's lease. NULL: nothing to do, or a summary that waits for its
    # first feedback. Indexed with the state (the sweep's lookup).
    summary_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Feedback changes are numbered per interview, under the interview's row lock, so
    # "changed since the message" never depends on clocks: feedback_seq counts every
    # creation or edit of this interview's feedback (Feedback.seq is its last one).
    feedback_seq: Mapped[int] = mapped_column(default=0)
    # feedback_seq when the pending unit was claimed; NULL once it is recorded (done or
    # failed). While set, a 'post' is in flight: nothing makes it due before its lease ends.
    summary_claimed_seq: Mapped[int | None] = mapped_column()
    # Consecutive failed Slack calls for the pending unit, for backoff; 0 after a success.
    summary_attempts: Mapped[int] = mapped_column(default=0)
    summary_error: Mapped[str | None] = mapped_column(sa.String(255))
    # The recruiter was told the bot cannot post in the hiring channel (at most once).
    summary_notified: Mapped[bool] = mapped_column(default=False)
    # The posted message: where, when it was posted and last brought up to date.
    summary_channel: Mapped[str | None] = mapped_column(sa.String(32))
    summary_ts: Mapped[str | None] = mapped_column(sa.String(32))
    summary_posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The feedback changes it reflects (every Feedback.seq up to this), now and when posted
    # (feedback first given after that is late).
    summary_seq: Mapped[int | None] = mapped_column()
    summary_posted_seq: Mapped[int | None] = mapped_column()

    # The hiring lead's escalation at the summary deadline (storage.reminders): when the
    # sweep should look next (the deadline, or a claim's lease end; NULL: nothing to do),
    # and when it was done (with or without a DM). Indexed with the state.
    escalation_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    rubric_snapshot: Mapped[RubricVersion] = relationship()
    requests: Mapped[list[FeedbackRequest]] = relationship(
        back_populates="interview",
        order_by="FeedbackRequest.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class FeedbackRequest(Base):
    """One interviewer's part of a panel: the form they are sent and its progress."""

    __tablename__ = "feedback_requests"
    __table_args__ = (
        sa.UniqueConstraint("interview_id", "interviewer"),
        # The sweep's lookup: what is due, in order.
        sa.Index(None, "state", "next_action_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Opaque and unguessable: the only request id that ever goes into Slack payloads
    # (button values, modal private_metadata). Never the integer primary key.
    public_id: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_public_id)
    interview_id: Mapped[int] = mapped_column(sa.ForeignKey("interviews.id", ondelete="CASCADE"))
    # Indexed for an interviewer's own list (App Home).
    interviewer: Mapped[str] = mapped_column(sa.String(32), index=True)
    # Skill ids this interviewer was asked to focus on.
    focus_skills: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # Panel order.
    position: Mapped[int] = mapped_column(default=0)
    # A shadow interviewer (a trainee): rates like everyone, shown apart, never counted,
    # never waited for (DESIGN "Shadow interviewers").
    shadow: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    state: Mapped[RequestState] = mapped_column(
        _str_enum(RequestState, "request_state"), default=RequestState.PENDING
    )
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Nudges sent after the form DM (the form itself is not one).
    reminder_count: Mapped[int] = mapped_column(default=0)
    # A recruiter's "Nudge now": one more nudge, due now, even past reminders.max.
    nudge_requested: Mapped[bool] = mapped_column(default=False)
    last_nudged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Consecutive failed Slack calls for the current step, for backoff; 0 after a success.
    attempts: Mapped[int] = mapped_column(default=0)
    dm_channel: Mapped[str | None] = mapped_column(sa.String(32))
    dm_ts: Mapped[str | None] = mapped_column(sa.String(32))
    last_error: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    interview: Mapped[Interview] = relationship(back_populates="requests")
    feedback: Mapped[Feedback | None] = relationship(
        back_populates="request",
        uselist=False,
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class Feedback(Base):
    """An interviewer's submitted feedback.

    Keyed by its request (``request_id`` is unique), so a replayed submission
    overwrites the row and can never add a second one.
    """

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("feedback_requests.id", ondelete="CASCADE"), unique=True
    )
    # NULL until the interviewer has given one.
    recommendation: Mapped[str | None] = mapped_column(sa.String(32))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The interview's feedback_seq at this feedback's creation and at its last change.
    first_seq: Mapped[int] = mapped_column(default=0)
    seq: Mapped[int] = mapped_column(default=0)

    request: Mapped[FeedbackRequest] = relationship(back_populates="feedback")
    ratings: Mapped[list[SkillRating]] = relationship(
        back_populates="feedback",
        order_by="SkillRating.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class FeedbackVersion(Base):
    """One version of a feedback, as submitted: who changed what, when.

    Written in the transaction of every creation or edit (never for an unchanged
    replay), so the version from before the summary survives an edit after it:
    that version is the one that counts (storage.summaries). ``ratings`` is a
    list of ``{"skill_id", "level", "evidence"}`` objects, ``level`` null for
    "Not assessed". ``seq`` is the interview's feedback change number.
    """

    __tablename__ = "feedback_versions"
    __table_args__ = (sa.UniqueConstraint("request_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("feedback_requests.id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column()
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A Slack user id (the interviewer) or "migration" for a version backfilled by 0006.
    actor: Mapped[str] = mapped_column(sa.String(64))
    recommendation: Mapped[str | None] = mapped_column(sa.String(32))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    ratings: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)


class SkillRating(Base):
    __tablename__ = "skill_ratings"
    __table_args__ = (sa.UniqueConstraint("feedback_id", "skill_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback.id", ondelete="CASCADE"))
    skill_id: Mapped[str] = mapped_column(sa.String(64))
    # NULL means "Not assessed".
    level: Mapped[str | None] = mapped_column(sa.String(32))
    evidence: Mapped[str] = mapped_column(sa.Text, default="")

    feedback: Mapped[Feedback] = relationship(back_populates="ratings")


class FeedbackDraft(Base):
    """Answers from the earlier pages of a feedback modal split into pages.

    Kept until the final page is submitted (which stores the feedback and deletes
    the draft). ``ratings`` is a list of ``{"skill_id", "level", "evidence"}``
    objects, ``level`` null for "Not assessed".
    """

    __tablename__ = "feedback_drafts"

    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("feedback_requests.id", ondelete="CASCADE"), primary_key=True
    )
    ratings: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SlackUser(Base):
    """A Slack user's time zone from ``users.info``, cached (refreshed at most daily)."""

    __tablename__ = "slack_users"

    user_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    # IANA name, e.g. "Europe/Berlin"; NULL when Slack gave none.
    tz: Mapped[str | None] = mapped_column(sa.String(64))
    # The name people see in Slack (profile display name, else real name), for images
    # and text that cannot use <@mentions>; NULL when not fetched or Slack gave none.
    display_name: Mapped[str | None] = mapped_column(sa.String(80))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecruiterDigest(Base):
    """When a recruiter's digest of missing feedback is due next (storage.reminders)."""

    __tablename__ = "recruiter_digests"

    recruiter: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    # NULL: nothing to report until a form goes out or an interview reaches its deadline.
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Who did what to which entity, and when.

    ``detail`` holds identifiers and state names only: never feedback text,
    notes, evidence or tokens.
    """

    __tablename__ = "audit_events"
    __table_args__ = (sa.Index(None, "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # A Slack user id, "cli" or "system".
    actor: Mapped[str] = mapped_column(sa.String(64))
    # e.g. "interview.created"
    action: Mapped[str] = mapped_column(sa.String(64))
    # e.g. "interview"
    entity: Mapped[str] = mapped_column(sa.String(32))
    entity_id: Mapped[str] = mapped_column(sa.String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


class SlackEvent(Base):
    """A Slack ``event_id`` already taken in (storage.events): a redelivery is dropped.

    Kept for a day, well past Slack's retries (immediately, after 1 and 5 minutes).
    """

    __tablename__ = "slack_events"

    event_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SummaryPost(Base):
    """A thread reply of a summary unit already posted (storage.summary_thread).

    A ``finish`` or ``update`` cut off by a Slack failure is retried from the
    start; its replies already in the thread are skipped, not posted twice.
    """

    __tablename__ = "summary_posts"

    interview_id: Mapped[int] = mapped_column(
        sa.ForeignKey("interviews.id", ondelete="CASCADE"), primary_key=True
    )
    # "<unit>:<summary_seq>:<part>", e.g. "finish:3:reply:U0AAA" or "update:3:note".
    post_key: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The interview sources' tables live in storage.models_sources; importing them here
# registers them on Base.metadata wherever the models are imported.
from storage.models_sources import (  # noqa: E402
    IncompleteInterview,
    OutboxEvent,
    OutgoingDelivery,
    SourceState,
    WebhookEvent,
)
