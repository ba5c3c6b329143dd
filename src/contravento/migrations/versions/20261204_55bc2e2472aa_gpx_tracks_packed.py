"""gpx_tracks: each file's simplified track as one row of packed columns (domain/packed_track)

gpx_trackpoints stays, read only for files processed before this revision, until
`contravento backfill-tracks` has converted them (docs/capacity.md, section 4).

Revision ID: 55bc2e2472aa
Revises: c4f1a7e2d9b3
Create Date: 2026-12-04 09:00:00
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa
from alembic import op

import contravento.db.types

if TYPE_CHECKING:
    from contravento.domain.packed_track import TrackColumns

revision: str = "55bc2e2472aa"
down_revision: str | None = "c4f1a7e2d9b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _server_has_lz4() -> bool:
    """PostgreSQL 14+ built with lz4 lists it among default_toast_compression's values."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    found = bind.execute(
        sa.text(
            "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression'"
            " AND 'lz4' = ANY(enumvals)"
        )
    ).scalar()
    return found is not None


def upgrade() -> None:
    op.create_table(
        "gpx_tracks",
        sa.Column("gpx_file_id", sa.Uuid(), nullable=False),
        sa.Column("format", sa.SmallInteger(), nullable=False),
        sa.Column("point_count", sa.Integer(), nullable=False),
        sa.Column("segment_count", sa.Integer(), nullable=False),
        sa.Column("packed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["gpx_file_id"], ["gpx_files.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("gpx_file_id"),
    )
    if _server_has_lz4():
        op.execute("ALTER TABLE gpx_tracks ALTER COLUMN packed SET COMPRESSION lz4")


def downgrade() -> None:
    """Back to one row per point: the packed tracks are written out into gpx_trackpoints
    first (at the served precision, which is what the API answers), so a file processed
    since the upgrade keeps its track under the older code."""
    from contravento.domain.packed_track import PackedTrack, unpack

    bind = op.get_bind()
    tracks = sa.table(
        "gpx_tracks",
        sa.column("gpx_file_id", sa.Uuid()),
        sa.column("format", sa.SmallInteger()),
        sa.column("point_count", sa.Integer()),
        sa.column("segment_count", sa.Integer()),
        sa.column("packed", sa.LargeBinary()),
    )
    for file_id, fmt, count, segments, data in bind.execute(sa.select(tracks)).all():
        columns = unpack(PackedTrack(int(fmt), int(count), int(segments), bytes(data)))
        bind.execute(_POINTS.delete().where(_POINTS.c.gpx_file_id == file_id))
        if count:
            bind.execute(_POINTS.insert(), _point_rows(file_id, columns))
    op.drop_table("gpx_tracks")


_POINTS = sa.table(
    "gpx_trackpoints",
    sa.column("gpx_file_id", sa.Uuid()),
    sa.column("seq", sa.Integer()),
    sa.column("segment", sa.Integer()),
    *(sa.column(name, sa.Float()) for name in ("lat", "lon", "ele", "distance_km")),
    sa.column("time", contravento.db.types.UTCDateTime()),
    *(sa.column(name, sa.Float()) for name in ("hr", "cadence", "power")),
)


def _point_rows(file_id: uuid.UUID, columns: TrackColumns) -> list[dict[str, Any]]:
    n = columns.point_count
    segment = np.zeros(n, dtype=np.int64)
    segment[columns.starts[1:]] = 1
    out: dict[str, list[Any]] = {
        "seq": list(range(n)),
        "segment": np.cumsum(segment).tolist(),
        "lat": columns.lat.tolist(),
        "lon": columns.lon.tolist(),
        "distance_km": columns.distance_km.tolist(),
        "time": [t.replace(tzinfo=UTC) if t is not None else None for t in columns.time.tolist()],
    }
    nullable = {"ele": columns.ele, **columns.sensors}
    for name, values in nullable.items():
        out[name] = [None if v != v else v for v in values.tolist()]  # NaN -> NULL
    return [
        {"gpx_file_id": file_id, **dict(zip(out, row, strict=True))}
        for row in zip(*out.values(), strict=True)
    ]
