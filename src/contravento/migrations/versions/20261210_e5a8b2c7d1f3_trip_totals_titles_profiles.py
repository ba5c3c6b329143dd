"""trip totals, stage titles, full-resolution profiles

- gpx_route_stats.elevation_loss_m and .duration_s as real columns (until now only in the
  `data` JSON), backfilled from it, so a trip's totals are one SQL aggregate;
- gpx_files.title: a stage's own name (NULL: the original file name);
- gpx_profiles: each file's drawing profile (domain/profile.py), packed float32 columns.

Revision ID: e5a8b2c7d1f3
Revises: a1f0c2d3e4b5
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5a8b2c7d1f3"
down_revision: str | None = "a1f0c2d3e4b5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FROM_JSON = ("elevation_loss_m", "duration_s")


def upgrade() -> None:
    with op.batch_alter_table("gpx_route_stats") as batch:
        for name in _FROM_JSON:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        sets = ", ".join(f"{n} = (data::jsonb ->> '{n}')::double precision" for n in _FROM_JSON)
    else:
        sets = ", ".join(f"{n} = json_extract(data, '$.{n}')" for n in _FROM_JSON)
    op.execute(f"UPDATE gpx_route_stats SET {sets}")  # JSON null -> SQL NULL on both
    with op.batch_alter_table("gpx_files") as batch:
        batch.add_column(sa.Column("title", sa.String(200), nullable=True))
    op.create_table(
        "gpx_profiles",
        sa.Column("gpx_file_id", sa.Uuid(), nullable=False),
        sa.Column("source_point_count", sa.Integer(), nullable=False),
        sa.Column("sample_count", sa.Integer(), nullable=False),
        sa.Column("columns", sa.SmallInteger(), nullable=False),
        sa.Column("packed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["gpx_file_id"], ["gpx_files.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("gpx_file_id"),
    )


def downgrade() -> None:
    op.drop_table("gpx_profiles")
    # Not batch mode: on SQLite it would copy gpx_files and drop the old table, and with
    # foreign keys on that drop cascades to every file's stats and track. SQLite 3.35+ drops
    # a column in place.
    op.execute("ALTER TABLE gpx_files DROP COLUMN title")
    with op.batch_alter_table("gpx_route_stats") as batch:
        for name in _FROM_JSON:
            batch.drop_column(name)
