"""job leases and retries scheduled in the row: lease_expires_at, next_attempt_at, dispatched_at

Revision ID: c3d9a7e1f2b4
Revises: b7e2c4d1a9f0
Create Date: 2026-12-02 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from contravento.db.types import UTCDateTime

revision: str = "c3d9a7e1f2b4"
down_revision: str | None = "b7e2c4d1a9f0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("lease_expires_at", "next_attempt_at", "dispatched_at")


def upgrade() -> None:
    with op.batch_alter_table("gpx_files") as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, UTCDateTime(), nullable=True))
    # the reconciler's sweep: active rows by status, then their lease or due time
    op.create_index(
        "ix_gpx_files_status_lease", "gpx_files", ["processing_status", "lease_expires_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_gpx_files_status_lease", table_name="gpx_files")
    with op.batch_alter_table("gpx_files") as batch_op:
        for name in COLUMNS:
            batch_op.drop_column(name)
