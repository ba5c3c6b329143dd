"""trackpoint segment index is an integer (files with more than 32,767 segments exist)

Revision ID: b7e2c4d1a9f0
Revises: 9188ebcc08bf
Create Date: 2026-11-28 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7e2c4d1a9f0"
down_revision: str | None = "9188ebcc08bf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gpx_trackpoints") as batch_op:
        batch_op.alter_column(
            "segment", existing_type=sa.SmallInteger(), type_=sa.Integer(), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("gpx_trackpoints") as batch_op:
        batch_op.alter_column(
            "segment", existing_type=sa.Integer(), type_=sa.SmallInteger(), existing_nullable=False
        )
