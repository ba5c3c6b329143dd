"""Domain benchmark: our summarize() against gpxpy on the same generated GPX bytes.

Run from the repository root: ``python -m bench.domain`` (``make bench`` does). For each size
(1, 5, 10, 50 MB by default; see ``bench/gpxgen.py``) it prints, side by side:

- ours: ``parse_gpx`` alone and ``summarize`` (parse + glitch removal + statistics +
  Douglas-Peucker), median wall time of ``--repeat`` runs, and peak memory;
- gpxpy: ``gpxpy.parse`` alone and parse + ``length_2d`` + ``get_uphill_downhill`` +
  ``get_moving_data``, median wall time and peak memory;
- the lxml floor: the same bytes parsed into a whole tree by lxml with the parser settings
  ``parse_gpx`` uses (``etree.fromstring``, nothing read from it), timed in the same process
  as ours, alternating with it, and the ratio ours summarize / floor (issue 14: at most 2x);
- the ratios gpxpy / ours.

Each case runs in a fresh subprocess. Peak memory is ``ru_maxrss`` at the end of the case
minus the RSS measured (with psutil) after the imports and a warm-up on a tiny file, before
the file is read: it
therefore includes the input bytes (and, for gpxpy, their decoded str), which a real upload
holds too. tracemalloc is not used because it misses libxml2's allocations. No assertions:
figures only.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.gpxgen import DEFAULT_SIZES_MB, ensure_file, generate_gpx

MIB = 1024 * 1024


def _timed(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        gc.collect()
    return statistics.median(times)


def _alternating(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median times of several functions run in turns, so load on a shared machine hits all."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
            gc.collect()
    return {name: statistics.median(values) for name, values in times.items()}


def _worker(case: str, path: str, repeat: int) -> dict[str, Any]:
    """One case in this (fresh) process; returns times in s and peak memory in MiB."""
    import psutil

    if case == "ours":
        from contravento.domain import parse_gpx, summarize
    else:
        import gpxpy
    # warm up on a tiny ride (lazy imports, caches) so the baseline holds the fixed costs
    tiny = generate_gpx(0.01)
    if case == "ours":
        summarize(tiny)
    else:
        gpxpy.parse(tiny.decode("utf-8")).get_moving_data()
    del tiny
    gc.collect()
    baseline = psutil.Process().memory_info().rss
    data = Path(path).read_bytes()
    out: dict[str, Any] = {"case": case}
    if case == "ours":
        from lxml import etree

        from contravento.domain.gpx import _HARDENED

        points = summarize(data).track.point_count
        parse_gpx(data)
        # the peak is ours alone: read before the floor builds whole trees in this process
        out["peak_mib"] = _peak_over(baseline)
        medians = _alternating(
            {
                "total_s": lambda: summarize(data),
                "parse_s": lambda: parse_gpx(data),
                "floor_s": lambda: etree.fromstring(data, etree.XMLParser(**_HARDENED)),
            },
            repeat,
        )
        out.update(medians)
    else:

        def parse() -> Any:
            return gpxpy.parse(data.decode("utf-8"))

        def full() -> Any:
            gpx = parse()
            gpx.length_2d()
            gpx.get_uphill_downhill()
            gpx.get_moving_data()
            return gpx

        points = parse().get_track_points_no()
        gc.collect()
        out["total_s"] = _timed(full, repeat)
        out["parse_s"] = _timed(parse, repeat)
    out["points"] = points
    out.setdefault("peak_mib", _peak_over(baseline))
    return out


def _peak_over(baseline: int) -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return max(0, peak - baseline) / MIB


def _run_case(case: str, path: Path, repeat: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.domain", "--worker", case, str(path), str(repeat)]
    result = subprocess.run(cmd, check=True, capture_output=True, text=True)
    parsed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def machine() -> str:
    import lxml.etree
    import numpy
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = psutil.virtual_memory().total / 1024**3
    lxml_version = ".".join(map(str, lxml.etree.LXML_VERSION[:3]))
    libxml = ".".join(map(str, lxml.etree.LIBXML_VERSION))
    return (
        f"{cpu}, {os.cpu_count()} cores, {ram:.1f} GiB RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, lxml {lxml_version} "
        f"(libxml2 {libxml}), numpy {numpy.__version__}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", nargs="*", type=float, default=list(DEFAULT_SIZES_MB))
    parser.add_argument("--repeat", type=int, default=5, help="runs per case for ours")
    parser.add_argument("--gpxpy-repeat", type=int, default=3, help="runs per case for gpxpy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", nargs=3, metavar=("CASE", "PATH", "REPEAT"), help="internal")
    args = parser.parse_args(argv)
    if args.worker:
        case, path, repeat = args.worker
        print(json.dumps(_worker(case, path, int(repeat))))
        return

    print(f"Machine: {machine()}")
    print(
        f"Input: bench/gpxgen.py rides (GPX 1.1, Garmin extensions, 1 point/s), seed {args.seed}."
    )
    print(
        f"Times: median of {args.repeat} runs (ours) / {args.gpxpy_repeat} runs (gpxpy; 1 at "
        "50 MB and over). Peak: ru_maxrss - RSS after imports and warm-up, fresh process per "
        "case (includes the input bytes)."
    )
    print()
    header = (
        "| size | points | lxml tree s | ours parse s | ours summarize s "
        "| ours summarize / lxml tree | ours peak MiB "
        "| gpxpy parse s | gpxpy parse+stats s | gpxpy peak MiB "
        "| gpxpy parse / ours summarize | gpxpy total / ours summarize | ours peak / file |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for size in args.sizes:
        path = ensure_file(size, args.seed)
        file_mib = path.stat().st_size / MIB
        ours = _run_case("ours", path, args.repeat)
        theirs = _run_case("gpxpy", path, args.gpxpy_repeat if size < 50 else 1)
        print(
            f"| {size:g} MB | {ours['points']:,} | {ours['floor_s']:.3f} | {ours['parse_s']:.3f} "
            f"| {ours['total_s']:.3f} | {ours['total_s'] / ours['floor_s']:.1f}x "
            f"| {ours['peak_mib']:.0f} | {theirs['parse_s']:.2f} | {theirs['total_s']:.2f} "
            f"| {theirs['peak_mib']:.0f} | {theirs['parse_s'] / ours['total_s']:.1f}x "
            f"| {theirs['total_s'] / ours['total_s']:.1f}x | {ours['peak_mib'] / file_mib:.1f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
