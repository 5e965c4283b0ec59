"""Invocations, their tool calls, and the lookup table with its reference entries.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEED = [
    ("celery", "Distributed task queue; the Agent Service runs agents on Celery workers."),
    ("fastapi", "Python web framework serving the Agent Service API."),
    ("postgresql", "Relational database storing every invocation, its steps and tool calls."),
    ("redis", "In-memory store used as the Celery broker, result backend and rate limiter."),
    ("prometheus", "Monitoring system scraping /metrics from the API and the workers."),
    ("helm", "Kubernetes package manager that deploys the Agent Service chart."),
]


def upgrade() -> None:
    op.create_table(
        "invocations",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("input", sa.Text(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("queue", sa.String(32), nullable=False),
        sa.Column("status", sa.Enum("queued", "running", "succeeded", "failed", "timeout",
                                    name="invocation_status", native_enum=False, length=16), nullable=False),
        sa.Column("steps", postgresql.JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("task_id", sa.String(64), nullable=True),
        sa.Column("worker", sa.String(255), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
    )
    op.create_index("ix_invocations_agent", "invocations", ["agent"])
    op.create_index("ix_invocations_status", "invocations", ["status"])
    op.create_index("ix_invocations_created_at", "invocations", ["created_at"])
    op.create_table(
        "tool_calls",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("invocation_id", postgresql.UUID(as_uuid=True),
                  sa.ForeignKey("invocations.id", ondelete="CASCADE"), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("tool", sa.String(64), nullable=False),
        sa.Column("arguments", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("output", postgresql.JSONB(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
    )
    op.create_index("ix_tool_calls_invocation_id", "tool_calls", ["invocation_id"])
    lookup = op.create_table(
        "lookup_entries",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.bulk_insert(lookup, [{"key": k, "value": v} for k, v in SEED])


def downgrade() -> None:
    op.drop_table("lookup_entries")
    op.drop_index("ix_tool_calls_invocation_id", table_name="tool_calls")
    op.drop_table("tool_calls")
    op.drop_index("ix_invocations_created_at", table_name="invocations")
    op.drop_index("ix_invocations_status", table_name="invocations")
    op.drop_index("ix_invocations_agent", table_name="invocations")
    op.drop_table("invocations")
