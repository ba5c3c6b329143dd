"""GPX rides made for the browser tests: a straight climb of a chosen length (for the
profile's ticks), a loop back to its start (for the markers), each with its own start time."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

GPX_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<gpx version="1.1" creator="contravento-tests" xmlns="http://www.topografix.com/GPX/1/1" '
    'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">\n'
    "<trk><name>{name}</name><trkseg>\n"
)
GPX_TAIL = "</trkseg></trk></gpx>\n"
STEP_S = 12  # seconds between points: about 15 km/h at 50 m


def _gpx(name: str, points: list[tuple[float, float, float]], start: datetime, hr: bool) -> bytes:
    rows = [GPX_HEAD.format(name=name)]
    for i, (lat, lon, ele) in enumerate(points):
        at = (start + timedelta(seconds=i * STEP_S)).strftime("%Y-%m-%dT%H:%M:%SZ")
        ext = (
            "<extensions><gpxtpx:TrackPointExtension>"
            f"<gpxtpx:hr>{110 + i % 40}</gpxtpx:hr><gpxtpx:cad>{80 + i % 10}</gpxtpx:cad>"
            "</gpxtpx:TrackPointExtension></extensions>"
            if hr
            else ""
        )
        rows.append(
            f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"><ele>{ele:.1f}</ele>'
            f"<time>{at}</time>{ext}</trkpt>\n"
        )
    rows.append(GPX_TAIL)
    return "".join(rows).encode()


def climb(
    km: float,
    *,
    low: float = 0.0,
    high: float = 325.0,
    start: datetime = datetime(2024, 6, 1, 7, 0, tzinfo=UTC),
    lon: float = -3.70,
    hr: bool = False,
    name: str = "Subida",
) -> bytes:
    """Due north from 40.4 N, one point each ~50 m, height rising evenly from low to high."""
    n = int(km * 20) + 1
    dlat = km / 111.195 / (n - 1)
    points = [(40.4 + i * dlat, lon, low + (high - low) * i / (n - 1)) for i in range(n)]
    return _gpx(name, points, start, hr)


def loop(
    *, start: datetime = datetime(2024, 6, 2, 8, 0, tzinfo=UTC), radius_km: float = 1.5
) -> bytes:
    """A circle that ends where it began."""
    n = 160
    points = []
    for i in range(n + 1):
        a = 2 * math.pi * i / n
        lat = 40.5 + radius_km / 111.195 * math.sin(a)
        lon = -3.6 + radius_km / (111.195 * math.cos(math.radians(40.5))) * (1 - math.cos(a))
        points.append((lat, lon, 600 + 20 * math.sin(a)))
    return _gpx("Vuelta", points, start, False)
