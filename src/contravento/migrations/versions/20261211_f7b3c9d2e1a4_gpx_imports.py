"""gpx_imports: the report of a bulk import (a zip expanded by its own job)

One row per archive (a gpx_files row of format "zip"): how many members it had, which became
files of the trip and which were skipped, and why. Self-contained: one new table, dropped on
downgrade.

Revision ID: f7b3c9d2e1a4
Revises: e5a8b2c7d1f3
Create Date: 2026-12-11 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f7b3c9d2e1a4"
down_revision: str | None = "f6c3d9e2a7b1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gpx_imports",
        sa.Column("gpx_file_id", sa.Uuid(), nullable=False),
        sa.Column("members_found", sa.Integer(), nullable=False),
        sa.Column("created", sa.JSON(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["gpx_file_id"], ["gpx_files.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("gpx_file_id"),
    )


def downgrade() -> None:
    op.drop_table("gpx_imports")
