"""Realistic, deterministic GPX files for benchmarks.

A simulated road ride recorded at 1 point per second, written as a pretty-printed GPX 1.1
file (one-space indent, like Strava's exports): ``<ele>``, ``<time>``, ``<power>`` and a Garmin
``TrackPointExtension`` with ``atemp``, ``hr`` and ``cad``. The route is built so that the
statistics are plausible: smooth curves (the heading turns at a bounded, smoothly varying
rate), rolling terrain with longer climbs and descents, a speed between about 15 and 45 km/h
that follows the slope with some inertia, a couple of stops (more on very long rides), and
correlated GPS noise of a couple of metres in position and under a metre in elevation.

``generate_gpx(size_mb, seed)`` returns the bytes (1 MB = 1,000,000 bytes; the file is cut
at the first whole point that reaches the size, so it is a few hundred bytes over). The same
size and seed always give the same bytes. As a script it writes files to ``bench/data/``::

    python -m bench.gpxgen            # 1, 5, 10 and 50 MB
    python -m bench.gpxgen 2.5 --seed 3
"""

from __future__ import annotations

import argparse
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_SIZES_MB: tuple[float, ...] = (1.0, 5.0, 10.0, 50.0)
BYTES_PER_MB = 1_000_000

_START = datetime(2024, 5, 12, 7, 30, 0, tzinfo=UTC)
_START_LAT, _START_LON = 40.6351, -4.0123  # Sierra de Guadarrama
_EARTH_RADIUS_M = 6_371_008.8
_APPROX_POINT_BYTES = 340  # a little more than a real point, so one pass is enough

_HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<gpx creator="contravento-bench gpxgen" version="1.1"'
    ' xmlns="http://www.topografix.com/GPX/1/1"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' xsi:schemaLocation="http://www.topografix.com/GPX/1/1'
    " http://www.topografix.com/GPX/1/1/gpx.xsd"
    " http://www.garmin.com/xmlschemas/TrackPointExtension/v1"
    ' http://www.garmin.com/xmlschemas/TrackPointExtensionv1.xsd"'
    ' xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">\n'
    " <metadata>\n"
    "  <time>{start}</time>\n"
    " </metadata>\n"
    " <trk>\n"
    "  <name>Ruta sintética {seed}</name>\n"
    "  <type>cycling</type>\n"
    "  <trkseg>\n"
)
_FOOTER = "  </trkseg>\n </trk>\n</gpx>\n"
_POINT = (
    '   <trkpt lat="{lat:.7f}" lon="{lon:.7f}">\n'
    "    <ele>{ele:.1f}</ele>\n"
    "    <time>{time}</time>\n"
    "    <extensions>\n"
    "     <power>{power}</power>\n"
    "     <gpxtpx:TrackPointExtension>\n"
    "      <gpxtpx:atemp>{atemp:.1f}</gpxtpx:atemp>\n"
    "      <gpxtpx:hr>{hr}</gpxtpx:hr>\n"
    "      <gpxtpx:cad>{cad}</gpxtpx:cad>\n"
    "     </gpxtpx:TrackPointExtension>\n"
    "    </extensions>\n"
    "   </trkpt>\n"
)


def _ar1(rng: np.random.Generator, n: int, sigma: float, tau_s: float) -> np.ndarray:
    """Correlated noise (first-order autoregressive) with std ``sigma`` and time scale tau."""
    phi = math.exp(-1.0 / tau_s)
    shocks = rng.normal(0.0, sigma * math.sqrt(1.0 - phi * phi), n)
    out = np.empty(n)
    value = rng.normal(0.0, sigma)
    for i in range(n):
        value = phi * value + shocks[i]
        out[i] = value
    return out


def _terrain(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Elevation as a sum of waves over distance: (wavelengths m, amplitudes m, phases)."""
    wavelengths = np.array([40_000.0, 15_000.0, 6_000.0, 2_500.0, 900.0])
    wavelengths *= rng.uniform(0.7, 1.3, len(wavelengths))
    amplitudes = np.array([180.0, 90.0, 35.0, 12.0, 3.0]) * rng.uniform(0.7, 1.3, 5)
    phases = rng.uniform(0.0, 2.0 * math.pi, len(wavelengths))
    return wavelengths, amplitudes, phases


def _stops(rng: np.random.Generator, n: int) -> list[tuple[int, int]]:
    """(start second, duration s) of the stops: at least two, one every ~1.5 h on average."""
    count = max(2, round(n / 5400))
    centres = np.sort(rng.uniform(0.15, 0.9, count)) * n
    durations = rng.integers(45, 420, count)
    return [(int(c), int(d)) for c, d in zip(centres, durations, strict=True)]


def _simulate(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-second lat, lon, ele, power, hr, cad, atemp arrays of a ride of ``n`` seconds."""
    wavelengths, amplitudes, phases = _terrain(rng)
    k = 2.0 * math.pi / wavelengths
    base_ele = 850.0
    turn_noise = _ar1(rng, n, sigma=1.2, tau_s=40.0)  # deg/s of heading change, smooth
    speed_noise = _ar1(rng, n, sigma=1.2, tau_s=25.0)  # km/h
    stops = _stops(rng, n)
    stop_at = {start: duration for start, duration in stops}

    x = y = dist = 0.0
    heading = rng.uniform(0.0, 360.0)
    v = 0.0  # m/s
    remaining_stop = 0
    east = np.empty(n)
    north = np.empty(n)
    ele = np.empty(n)
    power = np.empty(n)
    moving = np.ones(n, dtype=bool)
    mass, crr, cda, rho, g = 85.0, 0.005, 0.32, 1.1, 9.81
    for i in range(n):
        z = base_ele + float(np.dot(amplitudes, np.sin(k * dist + phases)))
        slope = float(np.dot(amplitudes * k, np.cos(k * dist + phases)))  # dz/dx
        if i in stop_at:
            remaining_stop = stop_at[i]
        # drop to a crawl just before a stop, stand still, then set off again
        if remaining_stop > 0:
            target = 0.0
            v = max(0.0, v - 1.5)
            remaining_stop -= 1
            moving[i] = v > 0.0
        else:
            target_kmh = min(45.0, max(15.0, 28.0 - 260.0 * slope + speed_noise[i]))
            target = target_kmh / 3.6
            v += max(-1.0, min(0.6, 0.08 * (target - v)))
        step = v
        dist += step
        # sharper turns at low speed, gentle sweeping curves at speed
        heading += turn_noise[i] * (1.0 if v < 6.0 else 0.6)
        rad = math.radians(heading)
        x += step * math.sin(rad)
        y += step * math.cos(rad)
        east[i], north[i], ele[i] = x, y, z
        watts = (mass * g * (slope + crr) * v + 0.5 * rho * cda * v**3) / 0.97
        power[i] = max(0.0, watts) if v > 0.5 else 0.0

    gps_e = _ar1(rng, n, sigma=1.8, tau_s=30.0)
    gps_n = _ar1(rng, n, sigma=1.8, tau_s=30.0)
    ele_noise = _ar1(rng, n, sigma=0.6, tau_s=20.0)
    lat0 = math.radians(_START_LAT)
    lat = _START_LAT + np.degrees((north + gps_n) / _EARTH_RADIUS_M)
    lon = _START_LON + np.degrees((east + gps_e) / (_EARTH_RADIUS_M * math.cos(lat0)))

    power = np.round(power * rng.uniform(0.85, 1.15, n))
    effort = np.convolve(power, np.ones(30) / 30.0, mode="full")[:n]  # hr lags effort
    hr = np.clip(np.round(92.0 + 0.28 * effort + _ar1(rng, n, 2.0, 60.0)), 70, 188)
    cad = np.where(power > 0, np.round(84.0 + _ar1(rng, n, 4.0, 15.0)), 0.0)
    cad[~moving] = 0.0
    hours = np.arange(n) / 3600.0
    atemp = 14.0 + 6.0 * np.sin(np.minimum(hours, 10.0) / 10.0 * math.pi) - (ele - base_ele) / 150
    return {
        "lat": lat,
        "lon": lon,
        "ele": ele + ele_noise,
        "power": power.astype(np.int64),
        "hr": hr.astype(np.int64),
        "cad": cad.astype(np.int64),
        "atemp": atemp,
    }


def generate_gpx(size_mb: float, seed: int = 0) -> bytes:
    """A GPX 1.1 ride of about ``size_mb`` MB (1 MB = 10**6 bytes), deterministic per seed."""
    if size_mb <= 0:
        raise ValueError("size_mb must be positive")
    target = int(size_mb * BYTES_PER_MB)
    rng = np.random.default_rng(seed)
    n = max(10, target // _APPROX_POINT_BYTES + 10)
    while True:
        cols = _simulate(n, rng)
        header = _HEADER.format(start=_START.strftime("%Y-%m-%dT%H:%M:%SZ"), seed=seed)
        parts = [header]
        size = len(header.encode()) + len(_FOOTER)
        point = _POINT.format
        for i in range(n):
            when = (_START + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            text = point(
                lat=cols["lat"][i],
                lon=cols["lon"][i],
                ele=cols["ele"][i],
                time=when,
                power=cols["power"][i],
                atemp=cols["atemp"][i],
                hr=cols["hr"][i],
                cad=cols["cad"][i],
            )
            parts.append(text)
            size += len(text)
            if size >= target:
                parts.append(_FOOTER)
                return "".join(parts).encode("utf-8")
        n = int(n * 1.5)  # not enough points (never with the default estimate): longer ride
        rng = np.random.default_rng(seed)


def data_path(size_mb: float, seed: int = 0) -> Path:
    """Where the script (and the benchmarks' cache) keeps the file for this size and seed."""
    return DATA_DIR / f"ride-{size_mb:g}mb-seed{seed}.gpx"


def ensure_file(size_mb: float, seed: int = 0) -> Path:
    """Generate the file into ``bench/data/`` unless it is already there; return its path."""
    path = data_path(size_mb, seed)
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(generate_gpx(size_mb, seed))
        tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write realistic GPX rides to bench/data/.")
    parser.add_argument("sizes", nargs="*", type=float, help="sizes in MB (default 1 5 10 50)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for size in args.sizes or DEFAULT_SIZES_MB:
        path = data_path(size, args.seed)
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_bytes(generate_gpx(size, args.seed))
        print(f"{path}  {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
