"""ISO 8601 timestamps to numpy datetime64[ms] (UTC), vectorised with a per-item fallback."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np

from .track import TimeArray

NAT = np.datetime64("NaT", "ms")
# A GPS timestamp outside these years is a corrupt value, not a date.
_MIN = np.datetime64("1900-01-01", "ms")
_MAX = np.datetime64("2201-01-01", "ms")


def parse_times(values: list[str | None]) -> TimeArray:
    """Parse GPX <time> strings. Missing or unreadable values become NaT.

    Fast path: numpy parses naive ISO strings (we strip a trailing ``Z``). Strings with an
    explicit offset (``+02:00``) or other oddities fall back to ``datetime.fromisoformat``.
    Values outside 1900-2200, and words numpy would read from the clock ("now"), are NaT.
    """
    fast = _parse_utc_seconds(values)
    if fast is not None:
        return fast
    cleaned = [_strip_z(v) for v in values]
    try:
        parsed = np.array(cleaned, dtype="datetime64[ms]")
    except ValueError:
        return np.array([_parse_one(v) for v in values], dtype="datetime64[ms]")
    parsed[(parsed < _MIN) | (parsed >= _MAX)] = NAT  # NaT compares False: stays NaT
    return parsed


# The only shape handed to numpy: naive ISO 8601 with optional fraction. Anything else (offsets,
# "now", stray characters numpy reads as a time zone with a UserWarning) takes the exact path.
_PLAIN_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?", re.ASCII)


# The shape almost every exporter writes, "2024-05-12T07:30:00Z", checked on the code points of
# the whole column at once: where each digit and separator sits (positions 0-18) and the Z.
_SHAPE = "0000-00-00T00:00:00Z"
_DIGITS = np.array([c == "0" for c in _SHAPE[:19]])
_SEPARATORS = np.array([0 if c == "0" else ord(c) for c in _SHAPE[:19]], dtype=np.uint32)


def _parse_utc_seconds(values: list[str | None]) -> TimeArray | None:
    """The column parsed at once if every value has exactly that shape, else None.

    Same answer as the general path (which would strip the Z and hand numpy the same 19
    characters); anything else, even one value, goes that way instead.
    """
    if not values or None in values:
        return None
    column = np.array(values)
    if column.dtype != np.dtype("<U20"):
        return None
    codes = column.view(np.uint32).reshape(len(values), 20)
    head = codes[:, :19]
    digits = head[:, _DIGITS]
    if not (
        ((codes[:, 19] == ord("Z")) | (codes[:, 19] == ord("z"))).all()
        and ((digits >= ord("0")) & (digits <= ord("9"))).all()
        and (head[:, ~_DIGITS] == _SEPARATORS[~_DIGITS]).all()
    ):
        return None
    try:
        parsed = np.ascontiguousarray(head).view("<U19").ravel().astype("datetime64[ms]")
    except ValueError:  # "2024-13-01...": the general path decides, value by value
        return None
    parsed[(parsed < _MIN) | (parsed >= _MAX)] = NAT
    return parsed


def _strip_z(value: str | None) -> str:
    if not value:
        return "NaT"
    value = value.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1]
    return value if _PLAIN_ISO.fullmatch(value) else "offset"


def _parse_one(value: str | None) -> np.datetime64:
    if not value:
        return NAT
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is not None:  # year 1 with an offset overflows here
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return NAT
    if not 1900 <= parsed.year <= 2200:
        return NAT
    return np.datetime64(parsed, "ms")
