"""Offline IANA zone lookup: timezonefinder against tzfpy, each in a fresh interpreter.

Run from the repository root: ``python -m bench.timezone_lookup [--python PATH]``.
``--python`` names an interpreter that has the library not in the project (the project
installs one; the other can go in a throw-away venv: ``uv venv /tmp/tz && uv pip install
--python /tmp/tz timezonefinder tzfpy``). A library that cannot be imported is reported as such.

Per library, in its own process so the figures do not mix: wall time of the import and of the
first lookup (what a worker pays once), peak RSS growth over the bare interpreter, the mean
time of one lookup over many points spread over land, and on the same points how often the two
libraries name the same zone. No assertions.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

# One process per library: import, first lookup, then many lookups; prints one JSON line.
_PROBE = r"""
import json, random, resource, sys, time
import numpy  # the worker has it loaded already: count only what the library adds
name = sys.argv[1]
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
if name == "timezonefinder":
    from timezonefinder import TimezoneFinder
    finder = TimezoneFinder(in_memory=True)
    lookup = lambda lat, lon: finder.timezone_at(lng=lon, lat=lat)
elif name == "timezonefinder-mmap":
    from timezonefinder import TimezoneFinder
    finder = TimezoneFinder()
    lookup = lambda lat, lon: finder.timezone_at(lng=lon, lat=lat)
else:
    import tzfpy
    lookup = lambda lat, lon: tzfpy.get_tz(lon, lat)
t1 = time.perf_counter()
first = lookup(42.8125, -1.6458)  # Pamplona
t2 = time.perf_counter()
rng = random.Random(7)
# land-ish boxes: Europe, North America, South America, Africa, Asia, Oceania
boxes = [(36, 60, -10, 30), (25, 50, -125, -70), (-40, 0, -75, -40), (-30, 30, -15, 45),
         (10, 50, 70, 140), (-40, -12, 115, 153)]
points = []
for i in range(4000):
    a, b, c, d = boxes[i % len(boxes)]
    points.append((rng.uniform(a, b), rng.uniform(c, d)))
t3 = time.perf_counter()
zones = [lookup(lat, lon) for lat, lon in points]
t4 = time.perf_counter()
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"import_s": t1 - t0, "first_s": t2 - t1,
                  "lookup_us": (t4 - t3) / len(points) * 1e6,
                  "rss_mb": (rss1 - rss0) / 1024, "first": first, "zones": zones}))
"""


def _run(python: str, name: str) -> dict[str, object] | None:
    done = subprocess.run([python, "-c", _PROBE, name], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    names = ("tzfpy", "timezonefinder", "timezonefinder-mmap")
    results = {name: _run(args.python, name) for name in names}
    print(f"{'library':22} {'import ms':>10} {'1st ms':>8} {'lookup µs':>10} {'RSS MB':>8}  zone")
    for name, r in results.items():
        if r is None:
            print(f"{name:22} not importable with {args.python}")
            continue
        print(
            f"{name:22} {float(r['import_s']) * 1e3:10.1f} {float(r['first_s']) * 1e3:8.1f}"  # type: ignore[arg-type]
            f" {float(r['lookup_us']):10.1f} {float(r['rss_mb']):8.1f}  {r['first']}"  # type: ignore[arg-type]
        )
    a, b = results["tzfpy"], results["timezonefinder"]
    if a and b:
        za, zb = a["zones"], b["zones"]
        assert isinstance(za, list) and isinstance(zb, list)
        same = sum(x == y for x, y in zip(za, zb, strict=True))
        print(f"same zone on {same}/{len(za)} points; differing examples:")
        for x, y in [(x, y) for x, y in zip(za, zb, strict=True) if x != y][:8]:
            print(f"  tzfpy {x!s:32} timezonefinder {y}")


if __name__ == "__main__":
    main()
