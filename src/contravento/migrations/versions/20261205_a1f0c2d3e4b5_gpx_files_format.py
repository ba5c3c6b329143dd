"""gpx_files.format and .compression: what each original is, decided by its content

Revision ID: a1f0c2d3e4b5
Revises: 55bc2e2472aa
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1f0c2d3e4b5"
down_revision: str | None = "55bc2e2472aa"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gpx_files") as batch:
        batch.add_column(sa.Column("format", sa.String(8), nullable=False, server_default="gpx"))
        batch.add_column(sa.Column("compression", sa.String(8), nullable=True))


def downgrade() -> None:
    # in place, not batch mode: on SQLite a batch copies gpx_files and drops the old table,
    # which with foreign keys on cascades to every file's stats and track (SQLite 3.35+)
    op.execute("ALTER TABLE gpx_files DROP COLUMN compression")
    op.execute("ALTER TABLE gpx_files DROP COLUMN format")
