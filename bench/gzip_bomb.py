"""A gzip bomb (about 1 MB of gzip, 1 GiB of zeros) against the cap, side by side with zlib.

- **meter**: ``GzipMeter`` (zlib-ng) fed the bomb in 64 KiB pieces until it refuses it, beside
  the same stepwise loop on the standard library's zlib (what the meter was before zlib-ng),
  and the standard zlib inflating up to the cap in one call (every byte kept): wall and CPU.
- **HTTP**: a real uvicorn API (SQLite, in-process jobs) answering the bomb's upload with 413
  GZIP_TOO_LARGE, against the same API answering a plain 1 MB GPX upload's 202: the time from
  the request's start to its answer, and the API's peak RSS growth during each.

``python -m bench.gzip_bomb [--cap-mb 200] [--runs 5]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from contravento.domain.compression import GzipMeter
from contravento.domain.errors import GzipTooLargeError
from tests.live import ApiServer, Client, service_env
from tests.support import tiny_gpx


def bomb(mib: int = 1024) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    return b"".join([*(packer.compress(zeros) for _ in range(mib)), packer.flush()])


def _meter_s(data: bytes, cap: int) -> float:
    meter, t0 = GzipMeter(cap), time.perf_counter()
    try:
        for i in range(0, len(data), 65536):
            meter.feed(data[i : i + 65536])
    except GzipTooLargeError:
        return time.perf_counter() - t0
    raise AssertionError("the bomb was not refused")


def _stdlib_steps_s(data: bytes, cap: int) -> float:
    t0, inflater, total = time.perf_counter(), zlib.decompressobj(16 + zlib.MAX_WBITS), 0
    for i in range(0, len(data), 65536):
        pending = data[i : i + 65536]
        while pending:
            total += len(inflater.decompress(pending, 1 << 20))
            pending = inflater.unconsumed_tail
        if total > cap:
            return time.perf_counter() - t0
    raise AssertionError("the bomb was not refused")


def _stdlib_one_call_s(data: bytes, cap: int) -> float:
    t0 = time.perf_counter()
    out = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, cap + 1)
    assert len(out) == cap + 1
    return time.perf_counter() - t0


def _timed(run: Callable[[bytes, int], float], data: bytes, cap: int, runs: int) -> tuple:  # type: ignore[type-arg]
    walls, cpus = [], []
    for _ in range(runs):
        cpu = time.process_time()
        walls.append(run(data, cap))
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), min(walls), statistics.median(cpus)


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def _http(data: bytes, name: str, client: Client, headers: dict[str, str], pid: int) -> tuple:  # type: ignore[type-arg]
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    before = _peak_rss_mib(pid)
    trip = client.trip(headers)
    t0 = time.perf_counter()
    r = client.upload(headers, trip, data, name=name)
    return time.perf_counter() - t0, r.status_code, _peak_rss_mib(pid) - before


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cap-mb", type=float, default=200.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    cap = int(args.cap_mb * 1024 * 1024)
    data = bomb()
    print(f"bomb: {len(data) / 1e6:.2f} MB of gzip, 1024 MiB inflated; cap {args.cap_mb:g} MiB")
    print(f"{'':34}{'median s':>10}{'min s':>10}{'CPU s':>10}")
    for label, run in (
        ("GzipMeter (zlib-ng), 64 KiB pieces", _meter_s),
        ("stdlib zlib, the same steps", _stdlib_steps_s),
        ("stdlib zlib, one call, kept", _stdlib_one_call_s),
    ):
        median, best, cpu = _timed(run, data, cap, args.runs)
        print(f"{label:34}{median:>10.3f}{best:>10.3f}{cpu:>10.3f}")

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = service_env(
            database_url=f"sqlite+aiosqlite:///{tmp / 'db.sqlite'}",
            storage_dir=tmp / "storage",
            celery_enabled="false",
            gpx_max_inflated_mb=args.cap_mb,
            log_level="WARNING",
        )
        server = ApiServer(env, tmp / "api.log")
        try:
            client = Client(server.url)
            headers = client.signup()
            plain = tiny_gpx(10_000, seed="bench")  # about 1 MB
            _http(plain, "warm.gpx", client, headers, server.pid)
            _http(data, "warm.gpx.gz", client, headers, server.pid)
            rows = {"bomb -> 413": [], "1 MB GPX -> 202": []}  # type: ignore[var-annotated]
            for i in range(args.runs):
                rows["bomb -> 413"].append(_http(data, "b.gpx.gz", client, headers, server.pid))
                rows["1 MB GPX -> 202"].append(
                    _http(tiny_gpx(10_000, seed=f"b{i}"), "p.gpx", client, headers, server.pid)
                )
        finally:
            server.kill()
    head = f"HTTP, {args.runs} runs"
    print(f"\n{head:34}{'median s':>10}{'max s':>10}{'RSS +MiB max':>14}  status")
    for label, runs in rows.items():
        times = [r[0] for r in runs]
        print(
            f"{label:34}{statistics.median(times):>10.3f}{max(times):>10.3f}"
            f"{max(r[2] for r in runs):>14.1f}  {sorted({r[1] for r in runs})}"
        )


if __name__ == "__main__":
    main()
