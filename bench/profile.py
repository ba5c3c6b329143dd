"""Profile downsampling: LTTB from tsdownsample (what domain/profile.py uses) against a
hand-rolled numpy LTTB (the baseline).

Run from the repository root: ``python -m bench.profile``. For rides of 3,000, 30,000 (a
10 MB GPX) and 300,000 points of a synthetic climb with noise, it prints the median time of
``--repeat`` runs of each implementation choosing 1,000 samples, whether both chose the same
indices, and the whole ``track_profile`` (distances, smoothing,
downsampling, sensor means) on the same points. No assertions: figures only.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from contravento.domain.profile import MAX_SAMPLES, lttb_indices, track_profile
from contravento.domain.track import ParsedTrack, Segment


def lttb_numpy(x: np.ndarray, y: np.ndarray, n_out: int) -> np.ndarray:
    """The textbook LTTB (Steinarsson 2013), one numpy pass per bucket."""
    n = len(x)
    edges = np.linspace(1, n - 1, n_out - 1).astype(np.intp)
    out = np.empty(n_out, dtype=np.intp)
    out[0], out[-1] = 0, n - 1
    a = 0
    for i in range(n_out - 2):
        lo, hi = edges[i], edges[i + 1]
        nxt_lo, nxt_hi = edges[i + 1], edges[i + 2] if i + 2 < len(edges) else n
        cx, cy = x[nxt_lo:nxt_hi].mean(), y[nxt_lo:nxt_hi].mean()
        area = np.abs((x[a] - cx) * (y[lo:hi] - y[a]) - (x[a] - x[lo:hi]) * (cy - y[a]))
        a = lo + int(np.argmax(area))
        out[i + 1] = a
    return out


def _ride(n: int) -> ParsedTrack:
    rng = np.random.default_rng(7)
    t = np.linspace(0, 1, n)
    lat = 40.0 + 0.5 * t + rng.normal(0, 1e-6, n)
    lon = -4.0 + 0.2 * np.sin(6 * t)
    ele = 600 + 900 * np.sin(np.pi * t) ** 2 + 40 * np.sin(60 * t) + rng.normal(0, 2, n)
    time_ = np.datetime64("2026-06-01T08:00:00", "ms") + (t * n * 1000).astype("timedelta64[ms]")
    sensors = {
        "hr": 120 + 30 * t + rng.normal(0, 3, n),
        "power": np.abs(200 + rng.normal(0, 80, n)),
    }
    return ParsedTrack(segments=(Segment(lat, lon, ele, time_, sensors),))


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"# LTTB to {MAX_SAMPLES} samples, median of {args.repeat}; {platform.platform()}")
    print(f"{'points':>8} | numpy (baseline) | tsdownsample | same indices | track_profile")
    for n in (3_000, 30_000, 300_000):
        track = _ride(n)
        x, y = np.linspace(0, 100, n), track.segments[0].ele
        base = _median_ms(partial(lttb_numpy, x, y, MAX_SAMPLES), args.repeat)
        ours = _median_ms(partial(lttb_indices, x, y, MAX_SAMPLES), args.repeat)
        same = np.array_equal(lttb_numpy(x, y, MAX_SAMPLES), lttb_indices(x, y, MAX_SAMPLES))
        whole = _median_ms(partial(track_profile, track), args.repeat)
        print(
            f"{n:>8} | {base:13.2f} ms | {ours:9.2f} ms | {'yes' if same else 'no':>12} |"
            f" {whole:10.2f} ms"
        )


if __name__ == "__main__":
    main()
