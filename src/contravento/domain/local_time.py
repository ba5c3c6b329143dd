"""The ride's own clock: the IANA zone of a position (offline) and an instant written in it.

The zone comes from tzfpy (timezone-boundary-builder polygons compiled into the wheel: no
file is read and nothing is downloaded; the first lookup in a process builds its index, about
0.1-0.3 s); the offset for that instant from the IANA database through ``zoneinfo`` (the
``tzdata`` package where the system has none), so summer time is the one in force that day.
At sea the zone is an ``Etc/GMT±N`` nautical zone. Where boundary polygons overlap (Xinjiang:
Asia/Shanghai and Asia/Urumqi) tzfpy names one of them.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tzfpy


def zone_at(lat: float, lon: float) -> str | None:
    """The IANA name of the zone at a position, or None when it cannot be named."""
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    name = tzfpy.get_tz(lon, lat)
    return name or None


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_iso(instant: datetime, zone: str) -> str | None:
    """``instant`` (aware) on the zone's wall clock, ISO 8601 with its offset; None when the
    zone is unknown to the IANA database installed."""
    info = _zone(zone)
    if info is None:
        return None
    return instant.astimezone(info).isoformat()
