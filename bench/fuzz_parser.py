"""Bounded-time mutation fuzzing of parse_gpx/summarize on the real GPX samples.

Run: ``python -m bench.fuzz_parser [--seconds 120] [--seed 1]``. Each round takes a real export
(or a hand-made seed), applies 1-8 random mutations (byte flips, truncation, splicing two
files, duplicating or deleting spans, inserting XML constructs: DOCTYPE, entities, CDATA,
comments, huge numbers, NaN, odd encodings) and runs ``summarize``. It reports how many
inputs ran, how each ended (completed or which GPXError code), the slowest input, and any
exception that is not a GPXError (a bug: the input is saved under bench/data/fuzz-crashes).
Exits 1 if such a crash was found; prints figures otherwise.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import time
from pathlib import Path

from contravento.domain import GPXError, summarize

SAMPLES = Path(__file__).resolve().parents[1] / "tests" / "data" / "samples"
CRASHES = Path(__file__).resolve().parent / "data" / "fuzz-crashes"
SNIPPETS = [
    b'<!DOCTYPE gpx [<!ENTITY a "aaaa">]>',
    b"&a;",
    b"<![CDATA[<trkpt>]]>",
    b"<!-- -- -->",
    b'<trkpt lat="1e309" lon="-1e309"/>',
    b'<trkpt lat="nan" lon="inf"><time>9999-99-99T99:99:99Z</time></trkpt>',
    b"<ele>-1e400</ele>",
    b"<time>2024-02-30T25:61:61+99:99</time>",
    b"</trkseg><trkseg>",
    b"<trk><trkseg>",
    b"\x00",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b'<?xml version="1.0" encoding="UTF-16"?>',
    b'<gpxtpx:hr xmlns:gpxtpx="x">999999999999999999999</gpxtpx:hr>',
    b'<rtept lat="0" lon="0"/>',
    b"<wpt lat='1' lon='2'/>",
]


def mutate(rng: random.Random, data: bytes, corpus: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if not buf:
            buf += rng.choice(corpus)[:1000]
        op = rng.randrange(7)
        pos = rng.randrange(len(buf))
        if op == 0:
            buf[pos] = rng.randrange(256)
        elif op == 1:
            del buf[rng.randrange(len(buf)) :]
        elif op == 2:
            other = rng.choice(corpus)
            start = rng.randrange(len(other))
            buf[pos:pos] = other[start : start + rng.randint(1, 4000)]
        elif op == 3:
            end = min(len(buf), pos + rng.randint(1, 2000))
            buf[pos:pos] = buf[pos:end] * rng.randint(1, 5)
        elif op == 4:
            del buf[pos : pos + rng.randint(1, 2000)]
        elif op == 5:
            buf[pos:pos] = rng.choice(SNIPPETS)
        else:
            head = bytes(buf[:pos]).rfind(b"<")
            if head >= 0:
                buf[head:head] = rng.choice(SNIPPETS)
    return bytes(buf)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    corpus = [p.read_bytes() for p in sorted(SAMPLES.glob("*.gpx")) if p.stat().st_size < 400_000]
    rng = random.Random(args.seed)
    outcomes: collections.Counter[str] = collections.Counter()
    slowest = (0.0, 0)
    crashes = 0
    deadline = time.monotonic() + args.seconds
    runs = 0
    while time.monotonic() < deadline:
        data = mutate(rng, rng.choice(corpus), corpus)
        started = time.perf_counter()
        try:
            summarize(data)
            outcomes["completed"] += 1
        except GPXError as exc:
            outcomes[exc.code] += 1
        except Exception as exc:  # a bug: anything else must never escape the domain
            crashes += 1
            CRASHES.mkdir(parents=True, exist_ok=True)
            (CRASHES / f"crash-{args.seed}-{runs}.gpx").write_bytes(data)
            print(f"CRASH {type(exc).__name__}: {exc}", file=sys.stderr)
        took = time.perf_counter() - started
        if took > slowest[0]:
            slowest = (took, len(data))
        runs += 1
    print(f"inputs: {runs} in {args.seconds:.0f} s (seed {args.seed})")
    for name, count in outcomes.most_common():
        print(f"  {name:<26} {count:>7}")
    print(f"slowest input: {slowest[0] * 1000:.1f} ms ({slowest[1]} bytes)")
    print(f"non-domain exceptions: {crashes}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
