"""FIT activities (Garmin, Wahoo, Coros, Hammerhead...) into the one track model.

Decoded by ``fitfast`` (a Rust decoder, columnar: no Python object per record) in pieces: a
valid file is cut by domain/fit_split into small valid FIT files (file_id and sessions in one,
records in chunks of about CHUNK_BYTES), so the file is decoded once, with the memory of one
chunk. A file the walk does not cut goes to fitfast whole (up to FAST_MAX_BYTES); a damaged
one is cut up to its damage (``split(salvage=True)``: what Garmin's SDK would keep, the same
warnings), and whatever that cannot read is decoded by Garmin's official ``garmin-fit-sdk``,
which keeps what it can read before the damage and says what went wrong. All give the same
track (a test holds them to it); the choice and its measurements are in docs/domain.md,
bench/fit_libs.py and bench/fit_e2e.py.
Rules:

- only activity files: a file whose ``file_id`` says settings, workout, weight, monitoring...
  fails at once (FIT_NOT_AN_ACTIVITY); so does an activity file with neither a positioned
  record nor a session total (nothing was recorded);
- ``record`` messages become points: positions from semicircles to degrees,
  ``enhanced_altitude`` or else ``altitude``, timestamps UTC (datetime64[ms]), sensors
  hr/cadence/power/temperature. Records without a position (an indoor trainer, a treadmill,
  a GPS not yet fixed) carry no point: their figures come from the device's session totals;
- ``session`` messages become DeviceSession (what the device said). In a multisport file the
  records inside a ``transition`` session are not part of the ride: each other session's
  records are their own segment;
- a damaged file keeps what the library could read before the damage when that is an
  activity: a file CRC that does not match adds FIT_CRC_MISMATCH, a file cut short (or
  unreadable past some point) FIT_TRUNCATED to ``parse_warnings``; a file of which nothing
  can be read fails with FIT_CORRUPT.

On the SDK path records are gathered into arrays as the decoder emits them (its own list of
record dicts is emptied as it goes), so memory holds columns of floats, not a dict per point.
"""

from __future__ import annotations

import array
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import fitfast
import numpy as np
from garmin_fit_sdk import Decoder, Profile, Stream

from .errors import (
    FITCorruptError,
    FITNotAnActivityError,
    GPXTooManyPointsError,
    ProcessingCancelled,
)
from .fit_split import CRC, CUT, Split, Unsplittable, split
from .track import DeviceSession, ParsedTrack, Segment

FIT_EPOCH_S = 631_065_600  # 1989-12-31T00:00:00Z, FIT's time zero, in Unix seconds
_SEMICIRCLE_DEG = 180.0 / 2**31
_MESG = Profile["mesg_num"]
_RECORD, _SESSION, _FILE_ID = _MESG["RECORD"], _MESG["SESSION"], _MESG["FILE_ID"]
_CHECK_EVERY = 4096
# fitfast's decode peaks near 19x what it is given: 12 MB of FIT -> about 230 MiB. Larger files
# that fit_split does not cut (damaged ones) stream through the SDK into arrays, slower,
# bounded memory.
FAST_MAX_BYTES = 12_000_000
CHUNK_BYTES = 1_000_000  # fit_split's pieces: fitfast holds about 20 MB decoding one
TRANSITION = "transition"

FIT_TRUNCATED = "FIT_TRUNCATED"
FIT_CRC_MISMATCH = "FIT_CRC_MISMATCH"
_DAMAGE = {CUT: FIT_TRUNCATED, CRC: FIT_CRC_MISMATCH}

# record field -> our column (the sensors keep track.SENSOR_FIELDS' names)
_SENSOR_SOURCES = {
    "hr": "heart_rate",
    "cadence": "cadence",
    "power": "power",
    "temperature": "temperature",
}


_TYPES = Profile["types"]


@dataclass
class _Decoded:
    """What either decoder read: positioned records as columns (times in Unix seconds),
    the file_id types, session messages (SDK keys; times in Unix seconds), warnings."""

    lat: np.ndarray
    lon: np.ndarray
    ele: np.ndarray
    seconds: np.ndarray
    sensors: dict[str, np.ndarray]
    kinds: list[str]
    sessions: list[dict[Any, Any]]
    manufacturer: str | None
    warnings: tuple[str, ...] = ()


def _enum(kind: str, value: float) -> str | None:
    if np.isnan(value):
        return None
    return str(_TYPES[kind].get(int(value), int(value)))


def _head(source: bytes) -> tuple[list[str], dict[str, np.ndarray]]:
    """The file types and the file_id columns."""
    file_id = fitfast.records(source, message="file_id")
    return [str(_enum("file", v)) for v in file_id.get("type", ())], file_id


def _sessions(source: bytes) -> list[dict[Any, Any]]:
    columns = fitfast.records(source, message="session")
    sessions = []
    for i in range(len(columns.get("timestamp", columns.get("start_time", ())))):
        mesg: dict[Any, Any] = {k: float(v[i]) for k, v in columns.items() if not np.isnan(v[i])}
        if "sport" in mesg:
            mesg["sport"] = _enum("sport", mesg["sport"])
        for key in ("avg_speed", "max_speed"):  # fitfast expands components, rounding them
            if key in mesg:  # (16.098 -> 16.097 m/s): the field as written, as the SDK path
                mesg.pop(f"enhanced_{key}", None)
        sessions.append(mesg)
    return sessions


def _maker(file_id: dict[str, np.ndarray]) -> str | None:
    maker = file_id.get("manufacturer")
    return _enum("manufacturer", maker[0]) if maker is not None and len(maker) else None


class _Filled:
    """Positioned records of fitfast's columns, piece by piece, into columns allocated once
    for every record of the file (NaN where a record lacks a value)."""

    def __init__(self, records: int, max_points: int) -> None:
        records = min(records, max_points)  # never more kept: past it the file is refused
        self.cols = {k: np.empty(records) for k in ("lat", "lon", "ele", "seconds")}
        self.sensors: dict[str, np.ndarray] = {}
        self.records, self.max_points, self.n = records, max_points, 0

    def add(self, rec: dict[str, np.ndarray]) -> None:
        size = len(rec.get("timestamp", ()))
        missing = np.full(size, np.nan)
        lat, lon = rec.get("position_lat", missing), rec.get("position_long", missing)
        keep = np.flatnonzero(~(np.isnan(lat) | np.isnan(lon)))
        start, end = self.n, self.n + len(keep)
        if end > self.max_points:
            raise GPXTooManyPointsError(f"more than {self.max_points} points")
        ele = rec.get("enhanced_altitude", missing)
        ele = np.where(np.isnan(ele), rec.get("altitude", missing), ele)
        values = {"lat": lat, "lon": lon, "ele": ele, "seconds": rec.get("timestamp", missing)}
        for key, column in values.items():
            np.take(column, keep, out=self.cols[key][start:end])
        for key, src in _SENSOR_SOURCES.items():
            if src in rec:
                if key not in self.sensors:
                    self.sensors[key] = np.full(self.records, np.nan)
                np.take(rec[src], keep, out=self.sensors[key][start:end])
        self.n = end

    def decoded(
        self, kinds: list[str], sessions: list[dict[Any, Any]], maker: str | None
    ) -> _Decoded:
        n = self.n
        return _Decoded(
            lat=self.cols["lat"][:n],
            lon=self.cols["lon"][:n],
            ele=self.cols["ele"][:n],
            seconds=self.cols["seconds"][:n],
            sensors={k: v[:n] for k, v in self.sensors.items()},
            kinds=kinds,
            sessions=sessions,
            manufacturer=maker,
        )


def _decode_pieces(
    parts: Split, max_points: int, should_stop: Callable[[], bool] | None
) -> _Decoded:
    """fitfast over the pieces of fit_split: file_id and sessions from the small file of
    those, records chunk by chunk (memory of one chunk, not of the file)."""
    kinds, file_id = _head(parts.others)
    if "activity" not in kinds:
        return _Decoded(*(np.empty(0),) * 4, {}, kinds, [], None)  # type: ignore[arg-type]
    filled = _Filled(parts.records, max_points)
    for chunk in parts.chunks:
        if should_stop is not None and should_stop():
            raise ProcessingCancelled()
        filled.add(fitfast.records(chunk))
    return filled.decoded(kinds, _sessions(parts.others), _maker(file_id))


def _decode_fast(data: bytes, max_points: int) -> _Decoded:
    """fitfast on the whole file (one pass per message kind), all or nothing: raises
    fitfast.FitDecodeError on any damage. For the files fit_split does not cut."""
    kinds, file_id = _head(data)
    if "activity" not in kinds:
        return _Decoded(*(np.empty(0),) * 4, {}, kinds, [], None)  # type: ignore[arg-type]
    rec = fitfast.records(data)
    filled = _Filled(len(rec.get("timestamp", ())), max_points)
    filled.add(rec)
    del rec
    return filled.decoded(kinds, _sessions(data), _maker(file_id))


class _Columns:
    """Record values appended as the decoder emits them (NaN where a record lacks one)."""

    def __init__(self) -> None:
        self.lat = array.array("d")
        self.lon = array.array("d")
        self.ele = array.array("d")
        self.time = array.array("d")
        self.sensors = {key: array.array("d") for key in _SENSOR_SOURCES}
        self.seen = 0  # records, positioned or not

    def add(self, mesg: dict[Any, Any]) -> None:
        self.seen += 1
        lat, lon = mesg.get("position_lat"), mesg.get("position_long")
        if lat is None or lon is None:
            return
        get = mesg.get
        self.lat.append(lat * _SEMICIRCLE_DEG)
        self.lon.append(lon * _SEMICIRCLE_DEG)
        ele = get("enhanced_altitude")
        if ele is None:
            ele = get("altitude")
        self.ele.append(np.nan if ele is None else ele)
        ts = get("timestamp")
        self.time.append(np.nan if ts is None else ts)
        for key, source in _SENSOR_SOURCES.items():
            value = get(source)
            self.sensors[key].append(np.nan if value is None or isinstance(value, list) else value)

    def __len__(self) -> int:
        return len(self.lat)


def _times(seconds: np.ndarray) -> np.ndarray:
    """Unix seconds -> datetime64[ms] UTC, NaT where missing."""
    out = np.full(len(seconds), np.datetime64("NaT"), dtype="datetime64[ms]")
    known = ~np.isnan(seconds)
    out[known] = np.round(seconds[known] * 1000.0).astype(np.int64)
    return out


def _datetime(unix_seconds: Any) -> datetime | None:
    if not isinstance(unix_seconds, int | float):
        return None
    return datetime.fromtimestamp(unix_seconds, tz=UTC)


def _number(mesg: dict[Any, Any], *keys: str, scale: float = 1.0) -> float | None:
    for key in keys:
        value = mesg.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value) * scale
    return None


def _session(mesg: dict[Any, Any]) -> DeviceSession:
    sport = mesg.get("sport")
    return DeviceSession(
        sport=str(sport).lower() if sport is not None else None,
        start_time=_datetime(mesg.get("start_time")),
        distance_km=_number(mesg, "total_distance", scale=0.001),
        timer_time_s=_number(mesg, "total_timer_time"),
        elapsed_time_s=_number(mesg, "total_elapsed_time"),
        ascent_m=_number(mesg, "total_ascent"),
        descent_m=_number(mesg, "total_descent"),
        max_speed_kmh=_number(mesg, "enhanced_max_speed", "max_speed", scale=3.6),
        avg_speed_kmh=_number(mesg, "enhanced_avg_speed", "avg_speed", scale=3.6),
        avg_hr=_number(mesg, "avg_heart_rate"),
        max_hr=_number(mesg, "max_heart_rate"),
        avg_cadence=_number(mesg, "avg_cadence"),
        avg_power=_number(mesg, "avg_power"),
        max_power=_number(mesg, "max_power"),
        calories_kcal=_number(mesg, "total_calories"),
    )


def _warning(error: Exception) -> str:
    return FIT_CRC_MISMATCH if "CRC Error" in str(error) else FIT_TRUNCATED


def _segments(found: _Decoded) -> list[Segment]:
    """Positioned records as segments: one per non-transition session when there are several
    sessions (multisport), records inside transitions left out; otherwise one segment."""
    seconds, sessions = found.seconds, found.sessions
    whole = Segment(
        lat=found.lat,
        lon=found.lon,
        ele=found.ele,
        time=_times(seconds),
        sensors={k: v for k, v in found.sensors.items() if (~np.isnan(v)).any()},
    )
    if len(whole) == 0:
        return []
    windows = [
        (float(s["start_time"]), float(s["start_time"]) + float(s["total_elapsed_time"]), s)
        for s in sessions
        if isinstance(s.get("start_time"), int | float)
        and isinstance(s.get("total_elapsed_time"), int | float)
    ]
    if len(windows) < 2:
        return [whole]
    out: list[Segment] = []
    taken = np.zeros(len(whole), dtype=bool)
    for start, end, mesg in sorted(windows, key=lambda w: w[0]):
        inside = (seconds >= start) & (seconds <= end) & ~taken
        taken |= inside
        if str(mesg.get("sport", "")).lower() == TRANSITION or not inside.any():
            continue
        out.append(whole.take(np.flatnonzero(inside)))
    return out


def _valid(segment: Segment) -> tuple[Segment, int]:
    ok = (np.abs(segment.lat) <= 90.0) & (np.abs(segment.lon) <= 180.0)
    ok &= ~((segment.lat == 0.0) & (segment.lon == 0.0))  # "no fix" written as 0, 0
    bad = int((~ok).sum())
    return (segment if bad == 0 else segment.take(ok)), bad


HEAD_BYTES = 512  # the file_id message opens a FIT file: within these bytes on every sample


def head_kinds(head: bytes) -> list[str]:
    """The file types that a FIT's first bytes declare (its ``file_id`` messages), decoded
    by the SDK from at most HEAD_BYTES; [] when they do not tell (too short, damaged), and
    then only the whole file can. For an archive's members: a settings or monitoring FIT is
    skipped like any other file that is no activity."""
    decoder: Any = Decoder(Stream.from_byte_array(bytearray(head[:HEAD_BYTES])))
    try:
        messages, _errors = decoder.read(
            convert_datetimes_to_dates=False,
            enable_crc_check=False,
            expand_components=False,
            merge_heart_rates=False,
        )
    except Exception:  # the SDK on a cut header: nothing told, the member's job judges
        return []
    return [str(m.get("type", "")).lower() for m in messages.get("file_id_mesgs", [])]


def _decode_sdk(data: bytes, max_points: int, should_stop: Callable[[], bool] | None) -> _Decoded:
    """garmin-fit-sdk: keeps what it read before any damage, and reports the damage."""
    decoder: Any = Decoder(Stream.from_bytes_io(io.BytesIO(data)))  # shares the bytes
    if not decoder.is_fit():
        raise FITCorruptError("not a FIT header")
    cols = _Columns()

    def listener(mesg_num: int, mesg: dict[Any, Any]) -> None:
        if mesg_num != _RECORD:
            return
        cols.add(mesg)
        decoder._messages["record_mesgs"].pop()  # the arrays hold it now
        if len(cols) > max_points:
            raise GPXTooManyPointsError(f"more than {max_points} points")
        if should_stop is not None and cols.seen % _CHECK_EVERY == 0 and should_stop():
            raise ProcessingCancelled()

    messages, errors = decoder.read(
        apply_scale_and_offset=True,
        convert_datetimes_to_dates=False,
        convert_types_to_strings=True,
        enable_crc_check=True,
        expand_sub_fields=False,
        expand_components=False,
        merge_heart_rates=False,
        mesg_listener=listener,
    )
    for error in errors:
        if isinstance(error, GPXTooManyPointsError | ProcessingCancelled):
            raise error
    file_ids = messages.get("file_id_mesgs", [])
    if not file_ids:
        raise FITCorruptError(str(errors[0]) if errors else "no file_id message")
    sessions: list[dict[Any, Any]] = []
    for session in messages.get("session_mesgs", []):
        mesg: dict[Any, Any] = dict(session)
        for key in ("start_time", "timestamp"):
            if isinstance(mesg.get(key), int | float):
                mesg[key] += FIT_EPOCH_S
        sessions.append(mesg)
    seconds = np.frombuffer(cols.time)
    seconds += FIT_EPOCH_S  # in place: the arrays share the buffers, no copy of the columns
    maker = file_ids[0].get("manufacturer")
    return _Decoded(
        lat=np.frombuffer(cols.lat),
        lon=np.frombuffer(cols.lon),
        ele=np.frombuffer(cols.ele),
        seconds=seconds,
        sensors={k: np.frombuffer(v) for k, v in cols.sensors.items()},
        kinds=[str(m.get("type", "")).lower() for m in file_ids],
        sessions=sessions,
        manufacturer=str(maker) if maker is not None else None,
        warnings=tuple(dict.fromkeys(_warning(e) for e in errors)),
    )


def decode(
    data: bytes, *, max_points: int, should_stop: Callable[[], bool] | None = None
) -> _Decoded:
    """fitfast when it reads the file whole, else the SDK (see the module's docstring).
    Files over FAST_MAX_BYTES go to the SDK: fitfast holds every decoded message before it
    builds its columns (about 19 bytes of memory per byte of file)."""
    try:
        return _decode_pieces(split(data, CHUNK_BYTES), max_points, should_stop)
    except (Unsplittable, fitfast.FitDecodeError):
        pass
    if len(data) <= FAST_MAX_BYTES:
        try:
            return _decode_fast(data, max_points)
        except fitfast.FitDecodeError:
            pass
    try:  # damaged: fitfast on what comes before the damage, as the SDK would keep it
        parts = split(data, CHUNK_BYTES, salvage=True)
        found = _decode_pieces(parts, max_points, should_stop)
    except (Unsplittable, fitfast.FitDecodeError):
        pass
    else:
        if found.kinds:  # else nothing readable: the SDK names the error
            found.warnings = tuple(dict.fromkeys(_DAMAGE[d] for d in parts.damage))
            return found
    return _decode_sdk(data, max_points, should_stop)


def parse_fit(
    data: bytes,
    *,
    max_points: int,
    should_stop: Callable[[], bool] | None = None,
) -> ParsedTrack:
    """A FIT activity as a ParsedTrack; raises GPXError subclasses (FIT_* codes)."""
    return build_track(decode(data, max_points=max_points, should_stop=should_stop))


def build_track(found: _Decoded) -> ParsedTrack:
    if "activity" not in found.kinds:
        raise FITNotAnActivityError(f"file type {found.kinds[0] if found.kinds else 'unknown'}")
    sessions = tuple(_session(m) for m in found.sessions)
    segments: list[Segment] = []
    invalid = 0
    for segment in _segments(found):
        kept, bad = _valid(segment)
        invalid += bad
        if len(kept):
            segments.append(kept)
    if not segments and not any(_has_totals(s) for s in sessions):
        raise FITNotAnActivityError("no positioned record and no session totals")
    return ParsedTrack(
        segments=tuple(segments),
        track_count=len(segments),
        invalid_point_count=invalid,
        creator=found.manufacturer,
        device_sessions=sessions,
        parse_warnings=found.warnings,
    )


def _has_totals(session: DeviceSession) -> bool:
    return bool(session.distance_km) or bool(session.timer_time_s)
