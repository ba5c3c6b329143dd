"""index gpx_files.finished_at: /metrics reads the jobs finished in its window by range

Revision ID: c4f1a7e2d9b3
Revises: c3d9a7e1f2b4
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c4f1a7e2d9b3"
down_revision: str | None = "c3d9a7e1f2b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_gpx_files_finished_at", "gpx_files", ["finished_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_gpx_files_finished_at", table_name="gpx_files")
