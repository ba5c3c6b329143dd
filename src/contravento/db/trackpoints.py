"""LEGACY reads of gpx_trackpoints: the one-row-per-point track of a file processed before
gpx_tracks existed, packed on the way out so it is served exactly as a packed track is.

Nothing writes these rows any more (db/tracks.py deletes them when their file is processed
again); `contravento backfill-tracks` converts the rest. Once no file has rows here, a
migration drops the table and this module goes.
"""

from __future__ import annotations

import uuid

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain.packed_track import PackedTrack, pack_segments
from ..domain.track import Segment
from .models import Trackpoint

_COLUMNS = (
    Trackpoint.segment, Trackpoint.lat, Trackpoint.lon, Trackpoint.ele, Trackpoint.time,
    Trackpoint.distance_km, Trackpoint.hr, Trackpoint.cadence, Trackpoint.power,
)  # fmt: skip


async def load_legacy_track(session: AsyncSession, gpx_file_id: uuid.UUID) -> PackedTrack:
    """The file's rows in route order, packed (no rows: an empty track)."""
    result = await session.execute(
        select(*_COLUMNS).where(Trackpoint.gpx_file_id == gpx_file_id).order_by(Trackpoint.seq)
    )
    return pack_rows([tuple(row) for row in result.all()])


def pack_rows(rows: list[tuple[object, ...]]) -> PackedTrack:
    """Rows of _COLUMNS in seq order; a new segment starts wherever the index changes (as the
    response always grouped them)."""
    if not rows:
        return pack_segments([], [])
    segment, lat, lon, ele, when, along, hr, cadence, power = zip(*rows, strict=True)
    index = np.asarray(segment, dtype=np.int64)
    cuts = (np.flatnonzero(np.diff(index)) + 1).tolist()
    naive = [t.replace(tzinfo=None) if t is not None else None for t in when]  # type: ignore[attr-defined]

    def floats(values: tuple[object, ...]) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)  # None -> NaN

    columns = {
        "lat": floats(lat), "lon": floats(lon), "ele": floats(ele),
        "hr": floats(hr), "cadence": floats(cadence), "power": floats(power),
    }  # fmt: skip
    times = np.asarray(naive, dtype="datetime64[us]")  # None -> NaT
    distance = np.split(floats(along), cuts)
    parts = {name: np.split(values, cuts) for name, values in columns.items()}
    segments = [
        Segment(
            lat=parts["lat"][i],
            lon=parts["lon"][i],
            ele=parts["ele"][i],
            time=t,
            sensors={name: parts[name][i] for name in ("hr", "cadence", "power")},
        )
        for i, t in enumerate(np.split(times, cuts))
    ]
    return pack_segments(segments, distance)


async def delete_legacy_rows(session: AsyncSession, gpx_file_id: uuid.UUID) -> None:
    await session.execute(delete(Trackpoint).where(Trackpoint.gpx_file_id == gpx_file_id))
