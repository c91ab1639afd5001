"""Initial schema: rubric versions, interviews, feedback requests, feedback, audit.

Revision ID: 0001
Revises:
Create Date: 2026-01-01

Hand-written to match storage.models exactly. Every constraint and index is
named explicitly (op.f: the name is final), following
storage.models.NAMING_CONVENTION, so the schema is identical on SQLite and
PostgreSQL and does not depend on the models' metadata at run time. Enums are
VARCHAR(16) with a named CHECK, as sa.Enum(native_enum=False,
create_constraint=True) renders them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INTERVIEW_STATES = ("scheduled", "cancelled", "summarised", "archived")
REQUEST_STATES = ("pending", "form_sent", "submitted", "declined")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _utc() -> sa.DateTime:
    # storage.types.UTCDateTime's implementation type; kept literal here so
    # this migration never changes when the Python type does.
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rubric_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rubric_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rubric_versions")),
        sa.UniqueConstraint(
            "rubric_id", "digest", name=op.f("uq_rubric_versions_rubric_id_digest")
        ),
    )

    op.create_table(
        "interviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=True),
        sa.Column("candidate", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=200), nullable=False),
        sa.Column("rubric_id", sa.String(length=64), nullable=False),
        sa.Column("rubric_version", sa.String(length=64), nullable=False),
        sa.Column("rubric_version_id", sa.Integer(), nullable=False),
        sa.Column("target_level", sa.String(length=32), nullable=False),
        sa.Column("starts_at", _utc(), nullable=False),
        sa.Column("ends_at", _utc(), nullable=False),
        sa.Column("hiring_channel", sa.String(length=32), nullable=False),
        sa.Column("recruiter", sa.String(length=32), nullable=False),
        sa.Column("hiring_lead", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interviews")),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_interviews_ends_after_starts")),
        sa.CheckConstraint(
            _in("state", INTERVIEW_STATES), name=op.f("ck_interviews_interview_state")
        ),
        sa.UniqueConstraint("external_id", name=op.f("uq_interviews_external_id")),
        sa.ForeignKeyConstraint(
            ["rubric_version_id"],
            ["rubric_versions.id"],
            name=op.f("fk_interviews_rubric_version_id_rubric_versions"),
        ),
    )
    op.create_index(
        op.f("ix_interviews_candidate_role_starts_at"),
        "interviews",
        ["candidate", "role", "starts_at"],
    )
    op.create_index(op.f("ix_interviews_state"), "interviews", ["state"])

    op.create_table(
        "feedback_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interview_id", sa.Integer(), nullable=False),
        sa.Column("interviewer", sa.String(length=32), nullable=False),
        sa.Column("focus_skills", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("next_action_at", _utc(), nullable=True),
        sa.Column("reminder_count", sa.Integer(), nullable=False),
        sa.Column("dm_channel", sa.String(length=32), nullable=True),
        sa.Column("dm_ts", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_requests")),
        sa.CheckConstraint(
            _in("state", REQUEST_STATES), name=op.f("ck_feedback_requests_request_state")
        ),
        sa.UniqueConstraint(
            "interview_id",
            "interviewer",
            name=op.f("uq_feedback_requests_interview_id_interviewer"),
        ),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interviews.id"],
            name=op.f("fk_feedback_requests_interview_id_interviews"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        op.f("ix_feedback_requests_state_next_action_at"),
        "feedback_requests",
        ["state", "next_action_at"],
    )

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("recommendation", sa.String(length=32), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("submitted_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint("request_id", name=op.f("uq_feedback_request_id")),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["feedback_requests.id"],
            name=op.f("fk_feedback_request_id_feedback_requests"),
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "skill_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("skill_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skill_ratings")),
        sa.UniqueConstraint(
            "feedback_id", "skill_id", name=op.f("uq_skill_ratings_feedback_id_skill_id")
        ),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedback.id"],
            name=op.f("fk_skill_ratings_feedback_id_feedback"),
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"])
    op.create_index(
        op.f("ix_audit_events_entity_entity_id"), "audit_events", ["entity", "entity_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_events_entity_entity_id"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_at"), table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("skill_ratings")
    op.drop_table("feedback")
    op.drop_index(op.f("ix_feedback_requests_state_next_action_at"), table_name="feedback_requests")
    op.drop_table("feedback_requests")
    op.drop_index(op.f("ix_interviews_state"), table_name="interviews")
    op.drop_index(op.f("ix_interviews_candidate_role_starts_at"), table_name="interviews")
    op.drop_table("interviews")
    op.drop_table("rubric_versions")
