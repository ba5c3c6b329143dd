"""FIT decoders side by side: speed, peak memory, and what each does with broken files.

Run: ``python -m bench.fit_libs [--repeat N]``. Candidates: fitdecode (default processors,
and bare: no processor, no CRC check), garmin-fit-sdk (all its conversions, and the options
our parser uses: no datetime conversion, no sub-field/component expansion, no heart-rate
merge), and fitfast (a Rust decoder, columnar). Each timing is the median of ``--repeat``
runs in a fresh subprocess; peak memory is ru_maxrss at the end minus the RSS after imports.
Files: a 2 MB FIT of bench/fitgen.py and the largest real sample (1 MB). Then every damaged
sample of tests/data/fit: records each library returns and what it says. No assertions.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from bench.fitgen import ensure_fit

FIT_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "fit"
DAMAGED = (
    "activity-filecrc.fit",
    "activity-unexpected-eof.fit",
    "activity-settings-corruptheader.fit",
    "nick.fit",
    "strava-android-app-201.10-b1218918.fit",
    "compressed-speed-distance.fit",
    "sample-activity-indoor-trainer.fit",  # not damaged: a header CRC of 0 ("not computed")
)
LIBS = ("fitdecode", "fitdecode-bare", "sdk", "sdk-lean", "fitfast")


def _records(lib: str, data: bytes) -> tuple[int, str | None]:
    """Decode every message; return how many record messages came out and the error."""
    if lib.startswith("fitdecode"):
        import fitdecode

        kwargs: dict[str, Any] = {}
        if lib == "fitdecode-bare":
            kwargs = {"processor": None, "check_crc": fitdecode.CrcCheck.DISABLED}
        n = 0
        try:
            with fitdecode.FitReader(io.BytesIO(data), **kwargs) as reader:
                for frame in reader:
                    if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "record":
                        n += 1
        except Exception as exc:
            return n, f"{type(exc).__name__}: {str(exc)[:60]}"
        return n, None
    if lib.startswith("sdk"):
        from garmin_fit_sdk import Decoder, Stream

        options: dict[str, Any] = {}
        if lib == "sdk-lean":
            options = {
                "convert_datetimes_to_dates": False, "expand_sub_fields": False,
                "expand_components": False, "merge_heart_rates": False,
            }  # fmt: skip
        messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read(**options)
        error = f"{str(errors[0])[:60]}" if errors else None
        return len(messages.get("record_mesgs", [])), error
    import fitfast

    try:
        return len(fitfast.records(data).get("timestamp", [])), None
    except Exception as exc:
        return 0, f"{type(exc).__name__}: {str(exc)[:60]}"


def _case(lib: str, path: str, repeat: int) -> dict[str, Any]:
    data = Path(path).read_bytes()
    _records(lib, (FIT_DIR / "Activity.fit").read_bytes())  # imports and warm-up
    base = psutil.Process().memory_info().rss
    times = []
    n, error = 0, None
    for _ in range(repeat):
        start = time.perf_counter()
        n, error = _records(lib, data)
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    return {"s": statistics.median(times), "peak_mib": peak / 2**20, "records": n, "error": error}


def _run(lib: str, path: Path, repeat: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.fit_libs", "--case", lib, str(path), str(repeat)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size-mb", type=float, default=2.0)
    parser.add_argument("--case", nargs=3, metavar=("LIB", "PATH", "REPEAT"))
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(_case(args.case[0], args.case[1], int(args.case[2]))))
        return
    files = [ensure_fit(args.size_mb), FIT_DIR / "activity-large-fenxi2-multisport.fit"]
    print("speed and memory (median of", args.repeat, "runs, fresh process per case)")
    print(f"{'file':44} {'library':15} {'time s':>8} {'MB/s':>6} {'peak MiB':>9} {'records':>8}")
    for path in files:
        size_mb = path.stat().st_size / 1e6
        for lib in LIBS:
            r = _run(lib, path, args.repeat)
            print(
                f"{path.name[:44]:44} {lib:15} {r['s']:8.2f} {size_mb / r['s']:6.1f}"
                f" {r['peak_mib']:9.0f} {r['records']:8}"
                + (f"  {r['error']}" if r["error"] else "")
            )
    print("\nbroken and odd files: records read, error reported")
    for name in DAMAGED:
        print(name)
        for lib in LIBS:
            r = _run(lib, FIT_DIR / name, 1)
            print(f"    {lib:15} {r['records']:6}  {r['error'] or '-'}")


if __name__ == "__main__":
    main()
