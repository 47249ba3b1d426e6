"""Initial schema: objects, settings, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "evroam_objects",
        sa.Column("seq", _SERIAL, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("key_country", sa.String(), nullable=False, comment="country_code.casefold()"),
        sa.Column("key_party", sa.String(), nullable=False, comment="party_id.casefold()"),
        sa.Column("key_id", sa.String(), nullable=False, comment="object_id.casefold()"),
        sa.Column("country_code", sa.String(), nullable=False, comment="spelling given at creation"),
        sa.Column("party_id", sa.String(), nullable=False, comment="spelling given at creation"),
        sa.Column("object_id", sa.String(), nullable=False, comment="spelling given at creation"),
        sa.Column("last_updated", _UTC, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.String(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_evroam_objects"),
        sa.UniqueConstraint(
            "kind",
            "key_country",
            "key_party",
            "key_id",
            name="uq_evroam_objects_kind_key_country_key_party_key_id",
        ),
    )
    op.create_index(
        "ix_evroam_objects_listing",
        "evroam_objects",
        ["kind", "seq", "last_updated", "partner_id", "key_country", "key_party"],
    )
    op.create_index("ix_evroam_objects_kind_last_updated", "evroam_objects", ["kind", "last_updated"])
    op.create_index(
        "ix_evroam_objects_kind_partner_id_last_updated",
        "evroam_objects",
        ["kind", "partner_id", "last_updated"],
    )

    op.create_table(
        "evroam_settings",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_evroam_settings"),
    )

    op.create_table(
        "evroam_outbox",
        sa.Column("id", _SERIAL, primary_key=True, autoincrement=True),
        sa.Column("partner_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("object_key", sa.String(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", _UTC, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_evroam_outbox"),
    )
    op.create_index("ix_evroam_outbox_status_due_at", "evroam_outbox", ["status", "due_at"])
    op.create_index("ix_evroam_outbox_partner_id_status", "evroam_outbox", ["partner_id", "status"])


def downgrade() -> None:
    op.drop_table("evroam_outbox")
    op.drop_table("evroam_settings")
    op.drop_table("evroam_objects")
