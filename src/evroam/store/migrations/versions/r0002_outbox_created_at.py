"""The outbox records when each job was enqueued (``created_at``).

Rows enqueued before this revision get the best the table knows: their ``due_at`` when it has passed (a
job is enqueued at or before it first becomes due, and a retry only moves it later), else the time of
the migration. Their age is thus never overstated.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("evroam_outbox") as batch:
        batch.add_column(sa.Column("created_at", _UTC, nullable=True, comment="when enqueued"))
    if op.get_bind().dialect.name == "sqlite":  # UtcDateTime's fixed-width UTC text
        now = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'"
        op.execute(f"UPDATE evroam_outbox SET created_at = min(due_at, {now})")
    else:
        op.execute("UPDATE evroam_outbox SET created_at = least(due_at, now())")
    with op.batch_alter_table("evroam_outbox") as batch:
        batch.alter_column("created_at", existing_type=_UTC, nullable=False, existing_comment="when enqueued")


def downgrade() -> None:
    with op.batch_alter_table("evroam_outbox") as batch:
        batch.drop_column("created_at")
