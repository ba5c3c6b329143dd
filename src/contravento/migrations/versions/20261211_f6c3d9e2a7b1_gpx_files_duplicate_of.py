"""gpx_files.duplicate_of_id: the completed file of the same ride (another format, other bytes)

A job whose ride is already in the trip (domain/same_ride.py) fails with DUPLICATE_RIDE and
points here at the file that holds it; deleting that file clears the pointer (SET NULL).

Revision ID: f6c3d9e2a7b1
Revises: e5a8b2c7d1f3
Create Date: 2026-12-11 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f6c3d9e2a7b1"
down_revision: str | None = "e5a8b2c7d1f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ADD COLUMN ... REFERENCES in place on both databases: SQLite allows a nullable column
    # with a foreign key that way, and batch mode (a copy of gpx_files) would cascade-delete
    # every file's stats and track on SQLite with foreign keys on
    op.add_column(
        "gpx_files",
        sa.Column(
            "duplicate_of_id",
            sa.Uuid(),
            sa.ForeignKey("gpx_files.id", ondelete="SET NULL"),
            nullable=True,
        ),
        inline_references=True,
    )


def downgrade() -> None:
    op.execute("ALTER TABLE gpx_files DROP COLUMN duplicate_of_id")
