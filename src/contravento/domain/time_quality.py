"""Can a track's times be believed? A verdict, and the times the speed-based rules may use.

Rules (also in docs/domain.md), judged on the whole track, in this order:
- ``absent``: fewer than two points carry a time.
- ``constant``: every timed point carries the same instant (a GPSBabel export with one bogus
  1901 stamp on every point, an app writing the export time everywhere).
- ``impossible_epoch``: at least half of the timed points lie before the GPS epoch (before
  1980-01-07: 1901 from a 32-bit underflow, 1970-01-01 from a clock at zero, 1980-01-06 from a
  receiver at GPS week 0); or the track starts on 2000-01-01 (UTC), a device's unset clock; or,
  given when the file was received, the start lies 1024 or 2048 GPS weeks (19.6 or 39.2
  years) before a date at most 14 days before it: a receiver counting its week number modulo
  1024 (the 1999-08-22 and 2019-04-07 rollovers).
- fewer than half before 1980-01-07: those points lose their time (their positions stay) and
  the rest is judged on.
- ``backwards``: the glitch filter's time-order rule would drop more than 2 % of the timed points
  (at least 3): the time runs backwards over a long stretch (a track reversed in an editor,
  days merged out of order), not one stale fix.
- ``repeated``: at least 10 % of the steps that move (more than 0.5 m, at least 3 of them) take
  zero time (times rounded to the minute, positions written several times per stamp).
- ``ok`` otherwise.

Every class but ``ok`` and ``absent`` is *unusable*: the speed-based rules (glitch filter,
moving time, speeds, duration) see the track as untimed, so distance, elevation and the map
come from the positions alone. The earliest believable instant is kept as the ride's date.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np

from .geo import step_distances_m
from .glitches import MOVED_M, time_order_mask
from .times import NAT
from .track import ParsedTrack, Segment

OK: Final = "ok"
ABSENT: Final = "absent"
CONSTANT: Final = "constant"
IMPOSSIBLE_EPOCH: Final = "impossible_epoch"
BACKWARDS: Final = "backwards"
REPEATED: Final = "repeated"
USABLE: Final = frozenset({OK, ABSENT})

GPS_EPOCH_END = np.datetime64("1980-01-07", "ms")  # the GPS epoch day, 1980-01-06, included
UNSET_CLOCK_DAY = (np.datetime64("2000-01-01", "ms"), np.datetime64("2000-01-02", "ms"))
GPS_WEEKS_ROLLOVER = timedelta(weeks=1024)
ROLLOVER_WINDOW = timedelta(days=14)
MAX_BACKWARDS_SHARE = 0.02
MIN_BACKWARDS_POINTS = 3
MAX_REPEATED_SHARE = 0.10
MIN_REPEATED_STEPS = 3


@dataclass(frozen=True, eq=False)
class TimeJudgement:
    quality: str  # one of the codes above
    track: ParsedTrack  # the positions unchanged; times as the speed rules may use them
    start_time: datetime | None  # the earliest believable instant: the ride's date

    @property
    def usable(self) -> bool:
        return self.quality in USABLE


def _to_datetime(value: np.datetime64) -> datetime:
    ms = int(value.astype("datetime64[ms]").astype(np.int64))
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def _with_times(track: ParsedTrack, times: list[np.ndarray]) -> ParsedTrack:
    segments = tuple(replace(s, time=t) for s, t in zip(track.segments, times, strict=True))
    return replace(track, segments=segments)


def _untimed(track: ParsedTrack) -> ParsedTrack:
    return _with_times(track, [np.full(len(s), NAT) for s in track.segments])


def _is_rollover(start: datetime, received_at: datetime | None) -> bool:
    if received_at is None:
        return False
    for weeks in (1, 2):
        shifted = start + weeks * GPS_WEEKS_ROLLOVER
        if received_at - ROLLOVER_WINDOW <= shifted <= received_at + timedelta(days=1):
            return True
    return False


def believable_instant(instant: datetime, *, received_at: datetime | None = None) -> bool:
    """One instant judged on the epoch rules alone (a device's own start time, say): not
    before the GPS epoch, not a device's unset-clock day, not a GPS week rollover."""
    value = np.datetime64(instant.astimezone(UTC).replace(tzinfo=None), "ms")
    if value < GPS_EPOCH_END or UNSET_CLOCK_DAY[0] <= value < UNSET_CLOCK_DAY[1]:
        return False
    return not _is_rollover(instant, received_at)


def _backwards_drops(segment: Segment) -> int:
    return int((~time_order_mask(segment)).sum())


def _zero_time_moves(segment: Segment) -> tuple[int, int]:
    """(steps that move, of which take zero time) among the segment's timed points."""
    index = segment.timed_index()
    if len(index) < 2:
        return 0, 0
    moved = step_distances_m(segment.lat[index], segment.lon[index]) > MOVED_M
    still = np.diff(segment.seconds()[index]) == 0
    return int(moved.sum()), int((moved & still).sum())


def judge_times(track: ParsedTrack, *, received_at: datetime | None = None) -> TimeJudgement:
    """The verdict on a track's times. ``received_at`` (when the file arrived) enables the GPS
    week-rollover rule; without it a shifted date cannot be told from an old ride."""
    times = [s.time for s in track.segments]
    every = np.concatenate(times) if times else np.empty(0, dtype="datetime64[ms]")
    every = every[~np.isnat(every)]
    if len(every) < 2:
        return TimeJudgement(ABSENT, track, None)
    before_gps = every < GPS_EPOCH_END
    believable = every[~before_gps]
    start = _to_datetime(believable.min()) if len(believable) else None
    impossible = (
        start is None
        or before_gps.sum() * 2 >= len(every)
        or UNSET_CLOCK_DAY[0] <= believable.min() < UNSET_CLOCK_DAY[1]
        or _is_rollover(start, received_at)
    )
    if every.min() == every.max():
        return TimeJudgement(CONSTANT, _untimed(track), None if impossible else start)
    if impossible:
        return TimeJudgement(IMPOSSIBLE_EPOCH, _untimed(track), None)
    if before_gps.any():  # a few impossible stamps: those points become untimed
        track = _with_times(track, [np.where(t < GPS_EPOCH_END, NAT, t) for t in times])
    timed = len(believable)
    drops = sum(_backwards_drops(s) for s in track.segments)
    if drops >= MIN_BACKWARDS_POINTS and drops > MAX_BACKWARDS_SHARE * timed:
        return TimeJudgement(BACKWARDS, _untimed(track), start)
    moves = [_zero_time_moves(s) for s in track.segments]
    moving, still = sum(m for m, _ in moves), sum(z for _, z in moves)
    if still >= MIN_REPEATED_STEPS and still >= MAX_REPEATED_SHARE * moving:
        return TimeJudgement(REPEATED, _untimed(track), start)
    return TimeJudgement(OK, track, start)
