"""The pre-rendered layout for bench/capacity.py only: the response of GET /gpx/{id}/track
rendered once at processing time and gzip-compressed, one row per file. The read returns
these bytes as they are (``Content-Encoding: gzip``) without building anything.

Nothing here is part of the product's schema: the table is created in the benchmark's own
database. The body is the product's own (services/track_body.feature over the packed track),
so it is the same GeoJSON the API serves. The other two layouts the bench compares are the
product's gpx_tracks (``packed``) and bench/legacy_rows.py (``rows``).
"""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from contravento.db.models import GPXFile
from contravento.domain import SimplifiedTrack
from contravento.domain.packed_track import pack, unpack
from contravento.services.track_body import feature

GEOJSON_TABLE = "bench_geojson_tracks"


def ddl(compression: str) -> list[str]:
    """CREATE TABLE statements; `compression` is pglz or lz4 (PostgreSQL 14+ with lz4)."""
    return [
        f"CREATE TABLE {GEOJSON_TABLE} ("
        " gpx_file_id uuid PRIMARY KEY REFERENCES gpx_files(id) ON DELETE CASCADE,"
        f" body bytea COMPRESSION {compression} NOT NULL)",
    ]


def geojson(row: GPXFile, stats: dict[str, Any], track: SimplifiedTrack) -> dict[str, Any]:
    """The body of GET /gpx/{id}/track as the product builds it; `stats` is the statistics
    row's `data`."""
    return feature(
        unpack(pack(track)),
        gpx_file_id=str(row.id),
        trip_id=str(row.trip_id),
        name=row.original_filename,
        stats=stats,
    )


def render(body: dict[str, Any]) -> bytes:
    """The response bytes as the API would send them, gzip-compressed once."""
    return gzip.compress(json.dumps(body, separators=(",", ":")).encode(), compresslevel=6)


async def write_geojson(session: AsyncSession, file_id: uuid.UUID, body: bytes) -> None:
    await session.execute(
        text(f"DELETE FROM {GEOJSON_TABLE} WHERE gpx_file_id = :id"), {"id": file_id}
    )
    await session.execute(
        text(f"INSERT INTO {GEOJSON_TABLE} (gpx_file_id, body) VALUES (:id, :body)"),
        {"id": file_id, "body": body},
    )


async def read_geojson(session: AsyncSession, file_id: uuid.UUID) -> bytes:
    body = await session.scalar(
        text(f"SELECT body FROM {GEOJSON_TABLE} WHERE gpx_file_id = :id"), {"id": file_id}
    )
    return bytes(body)
