"""Two alternatives to one row per kept point (gpx_trackpoints), for bench/capacity.py only.

Nothing here is part of the product's schema: the tables are created in the benchmark's own
database. Both keep one row per file, written in the job's final transaction next to the
statistics, exactly where today's COPY of the points happens:

- ``packed``: the simplified track as little-endian arrays in one ``bytea`` (TOAST compresses
  it, lz4 where the server has it). Values are stored at the precision the API answers with
  (track_geojson rounds to 7 decimals of a degree, 0.1 m of elevation, 0.1 m of distance), so
  integers carry them exactly: lat/lon int32 x 1e7, elevation int32 dm, along-route distance
  int32 dm, time int64 microseconds since the epoch; hr/cadence/power float32 (stored as
  today, not served). Reading it back builds the same GeoJSON as track_geojson.
- ``geojson``: the response itself, rendered once at processing time, gzip-compressed; the
  read returns these bytes as they are (``Content-Encoding: gzip``) without building anything.
"""

from __future__ import annotations

import gzip
import itertools
import json
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from contravento.db.models import GPXFile
from contravento.domain import SimplifiedTrack

PACKED_TABLE = "bench_packed_tracks"
GEOJSON_TABLE = "bench_geojson_tracks"
_NO_INT32 = np.iinfo(np.int32).min  # a missing elevation
_NO_TIME = np.iinfo(np.int64).min  # a point without a time
_INT_COLUMNS = ("lat_e7", "lon_e7", "ele_dm", "dist_dm")
_SENSORS = ("hr", "cadence", "power")


def ddl(compression: str) -> list[str]:
    """CREATE TABLE statements; `compression` is pglz or lz4 (PostgreSQL 14+ with lz4)."""
    return [
        f"CREATE TABLE {PACKED_TABLE} ("
        " gpx_file_id uuid PRIMARY KEY REFERENCES gpx_files(id) ON DELETE CASCADE,"
        " point_count integer NOT NULL,"
        " segment_starts bytea NOT NULL,"
        f" points bytea COMPRESSION {compression} NOT NULL)",
        f"CREATE TABLE {GEOJSON_TABLE} ("
        " gpx_file_id uuid PRIMARY KEY REFERENCES gpx_files(id) ON DELETE CASCADE,"
        " body bytea NOT NULL)",
    ]


@dataclass(frozen=True)
class Packed:
    point_count: int
    segment_starts: bytes
    points: bytes


def _scaled(values: np.ndarray, digits: int) -> np.ndarray:
    """round(v, digits) as track_geojson answers it (Python's correctly rounded round, not
    numpy's multiply-and-rint, which differs on ties), as an exact integer x 10**digits."""
    out = np.full(values.shape, _NO_INT32, dtype="<i4")
    ok = ~np.isnan(values)
    rounded = np.array([round(v, digits) for v in values[ok].tolist()], dtype=float)
    out[ok] = np.rint(rounded * 10**digits).astype("<i4")
    return out


def pack(track: SimplifiedTrack) -> Packed:
    """The kept points of every segment, column after column."""
    segments = [s for s in track.segments if len(s)]
    along = [d for s, d in zip(track.segments, track.distance_km, strict=True) if len(s)]
    lengths = [len(s) for s in segments]
    starts = np.cumsum([0, *lengths[:-1]]).astype("<i4")

    def cat(get: Any) -> np.ndarray:
        return np.concatenate([np.asarray(get(s), dtype=float) for s in segments])

    n = sum(lengths)
    lat, lon, ele = cat(lambda s: s.lat), cat(lambda s: s.lon), cat(lambda s: s.ele)
    dist = np.concatenate([np.asarray(d, dtype=float) for d in along])
    times = np.concatenate([s.time.astype("datetime64[us]") for s in segments])
    time_us = times.astype(np.int64).astype("<i8")
    time_us[np.isnat(times)] = _NO_TIME
    parts = [_scaled(lat, 7), _scaled(lon, 7), _scaled(ele, 1), _scaled(dist, 4), time_us]
    for name in _SENSORS:
        values = [s.sensors.get(name, np.full(len(s), np.nan)) for s in segments]
        parts.append(np.concatenate(values).astype("<f4"))
    return Packed(n, starts.tobytes(), b"".join(p.tobytes() for p in parts))


def _columns(packed: Packed) -> dict[str, np.ndarray]:
    n, raw, offset = packed.point_count, memoryview(packed.points), 0
    out: dict[str, np.ndarray] = {}
    for name, dtype in [*((c, "<i4") for c in _INT_COLUMNS), ("time_us", "<i8")]:
        width = np.dtype(dtype).itemsize * n
        out[name] = np.frombuffer(raw[offset : offset + width], dtype=dtype)
        offset += width
    return out


def _iso(time_us: np.ndarray) -> list[str | None]:
    """As track_geojson writes them: datetime.isoformat() with Z, microseconds only if any."""
    text_us = np.datetime_as_string(time_us.astype("datetime64[us]"), unit="us")
    whole = time_us % 1_000_000 == 0
    out: list[str | None] = []
    rows = zip(time_us.tolist(), text_us.tolist(), whole.tolist(), strict=True)
    for value, stamp, is_whole in rows:
        if value == _NO_TIME:
            out.append(None)
        else:
            out.append((stamp[:-7] if is_whole else stamp) + "Z")
    return out


def geojson(row: GPXFile, stats: dict[str, Any], packed: Packed) -> dict[str, Any]:
    """The body of GET /gpx/{id}/track, from the packed arrays (same shape as track_geojson);
    `stats` is the statistics row's `data`."""
    cols = _columns(packed)
    n = packed.point_count
    starts = [*np.frombuffer(packed.segment_starts, dtype="<i4").tolist(), n]
    lon = (cols["lon_e7"] / 1e7).tolist()
    lat = (cols["lat_e7"] / 1e7).tolist()
    has_ele = (cols["ele_dm"] != _NO_INT32).tolist()
    ele = (cols["ele_dm"] / 10).tolist()
    dist = (cols["dist_dm"] / 1e4).tolist()
    stamps = _iso(cols["time_us"])
    lines: list[list[list[float]]] = []
    times: list[list[str | None]] = []
    profile: list[list[float]] = []
    for begin, end in itertools.pairwise(starts):
        line: list[list[float]] = []
        for i in range(begin, end):
            if has_ele[i]:
                line.append([lon[i], lat[i], ele[i]])
                profile.append([dist[i], ele[i]])
            else:
                line.append([lon[i], lat[i]])
        lines.append(line)
        times.append(stamps[begin:end])
    geometry: dict[str, Any]
    coord_times: list[Any]
    if len(lines) == 1:
        geometry, coord_times = {"type": "LineString", "coordinates": lines[0]}, times[0]
    else:
        geometry, coord_times = {"type": "MultiLineString", "coordinates": lines}, times
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "gpx_file_id": str(row.id),
            "trip_id": str(row.trip_id),
            "name": row.original_filename,
            "point_count": n,
            "coordTimes": coord_times,
            "distance_km": stats.get("distance_km"),
            "bbox": [
                stats.get("min_lon"),
                stats.get("min_lat"),
                stats.get("max_lon"),
                stats.get("max_lat"),
            ],
        },
        "profile": profile,
    }


def render(body: dict[str, Any]) -> bytes:
    """The response bytes as the API would send them, gzip-compressed once."""
    return gzip.compress(json.dumps(body, separators=(",", ":")).encode(), compresslevel=6)


async def write_packed(session: AsyncSession, file_id: uuid.UUID, packed: Packed) -> None:
    await session.execute(
        text(f"DELETE FROM {PACKED_TABLE} WHERE gpx_file_id = :id"), {"id": file_id}
    )
    await session.execute(
        text(
            f"INSERT INTO {PACKED_TABLE} (gpx_file_id, point_count, segment_starts, points)"
            " VALUES (:id, :n, :starts, :points)"
        ),
        {"id": file_id, "n": packed.point_count, "starts": packed.segment_starts,
         "points": packed.points},
    )  # fmt: skip


async def read_packed(session: AsyncSession, file_id: uuid.UUID) -> Packed:
    row = (
        await session.execute(
            text(
                f"SELECT point_count, segment_starts, points FROM {PACKED_TABLE}"
                " WHERE gpx_file_id = :id"
            ),
            {"id": file_id},
        )
    ).one()
    return Packed(int(row[0]), bytes(row[1]), bytes(row[2]))


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
