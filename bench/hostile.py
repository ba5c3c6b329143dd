"""Hostile inputs through the processing path: outcome, time and peak memory per case.

Run from the repository root: ``python -m bench.hostile``. Each payload is written to a temp
file and processed by ``summarize`` (what a worker runs on a job) in a fresh subprocess with
the service's default limits; peak memory is the child's VmHWM minus its RSS after imports and
a warm-up (so it counts the input bytes too). Prints a table; asserts nothing.
"""

from __future__ import annotations

import contextlib
import json
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.security import attacks

MARKER = "TOP-SECRET-7f3a"

_CHILD = r"""
import json, sys, time
import psutil
from contravento.domain import GPXError, summarize
tiny = b'<gpx version="1.1"><trk><trkseg><trkpt lat="1" lon="2"/><trkpt lat="1.1" lon="2"/>'
summarize(tiny + b'</trkseg></trk></gpx>')
def hwm():  # VmHWM is reset by exec, unlike ru_maxrss which a child inherits
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
base = psutil.Process().memory_info().rss
data = open(sys.argv[1], "rb").read()
started = time.perf_counter()
try:
    s = summarize(data)
    outcome = {"result": "completed", "points": s.stats.point_count, "name": s.track.name}
except GPXError as exc:
    outcome = {"result": "failed", "code": exc.code, "message": exc.message}
outcome["seconds"] = time.perf_counter() - started
outcome["peak_mib"] = (hwm() - base) / 2**20
print(json.dumps(outcome))
"""


def cases(secret: Path) -> dict[str, Callable[[], bytes]]:
    return {
        "billion laughs": attacks.billion_laughs,
        "quadratic blowup": attacks.quadratic_blowup,
        "external entity (file)": lambda: attacks.xxe_file(secret),
        "external entity (http)": attacks.xxe_http,
        "external DTD": attacks.external_dtd,
        "XInclude of a local file": lambda: attacks.xinclude(secret),
        "10,000-deep nesting": attacks.deep_nesting,
        "45 MB single-line GPX": lambda: attacks.single_line(45),
        "2,000,000 points (52 MB)": attacks.many_points,
        "NUL bytes": attacks.nul_bytes,
        "invalid UTF-8": attacks.invalid_utf8,
        "UTF-16 with BOM": attacks.utf16_bom,
    }


def domain_table() -> None:
    print(f"{'case':<28} {'size':>9} {'outcome':<26} {'time s':>7} {'peak MiB':>9}  leak?")
    with tempfile.TemporaryDirectory() as tmp:
        secret = Path(tmp) / "secret.txt"
        secret.write_text(MARKER)
        for name, build in cases(secret).items():
            payload = Path(tmp) / "payload.gpx"
            data = build()
            payload.write_bytes(data)
            del data
            run = subprocess.run(
                [sys.executable, "-c", _CHILD, str(payload)],
                capture_output=True,
                text=True,
                timeout=600,
            )
            if run.returncode != 0:
                print(f"{name:<28} crashed: {run.stderr[-300:]}")
                continue
            out = json.loads(run.stdout.strip().splitlines()[-1])
            size = payload.stat().st_size
            outcome = out.get("code") or f"completed ({out.get('points')} pts)"
            leak = "YES" if MARKER in run.stdout else "no"
            print(
                f"{name:<28} {size / 1e6:>7.2f}MB {outcome:<26} {out['seconds']:>7.2f} "
                f"{out['peak_mib']:>9.1f}  {leak}"
            )


def e2e_table() -> None:
    """The same payloads uploaded over HTTP to a live API with a real Celery worker."""
    import threading
    import time

    import psutil

    from tests.live import ApiServer, Client, Worker, service_env

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        secret = root / "secret.txt"
        secret.write_text(MARKER)
        env = service_env(
            database_url=f"sqlite+aiosqlite:///{root / 'db.sqlite'}",
            storage_dir=root / "storage",
            redis_url="redis://127.0.0.1:6379/14",
            celery_enabled="true",
            celery_force="true",
            celery_queue="gpx_hostile",
            reconcile_interval_s=0,
        )
        worker = Worker(env, root / "worker.log", "hostile", concurrency=1)
        try:
            worker.wait_ready()
            api = ApiServer(env, root / "api.log")
        except BaseException:
            worker.kill()
            raise
        peak = {"rss": 0}
        stop = threading.Event()

        def sample_rss() -> None:
            while not stop.is_set():
                for child in psutil.Process(worker.pid).children():
                    with contextlib.suppress(psutil.Error):
                        peak["rss"] = max(peak["rss"], child.memory_info().rss)
                time.sleep(0.02)

        threading.Thread(target=sample_rss, daemon=True).start()
        try:
            client = Client(api.url)
            headers = client.signup()
            trip = client.trip(headers)
            idle = max(c.memory_info().rss for c in psutil.Process(worker.pid).children())
            print(
                f"\nend to end: POST /trips/{{id}}/gpx -> Celery worker (pool process idle RSS "
                f"{idle / 2**20:.0f} MiB)"
            )
            head = f"{'case':<28} {'HTTP':>5} {'job':<10} {'error_code':<22}"
            print(f"{head} {'worker peak RSS MiB':>20}  leak?")
            for name, build in cases(secret).items():
                peak["rss"] = 0
                r = client.upload(headers, trip, build(), "ataque.gpx")
                if r.status_code != 202:
                    print(
                        f"{name:<28} {r.status_code:>5} {'-':<10} {r.json()['error']['code']:<22}"
                    )
                    continue
                status = client.wait_done(headers, r.json()["gpx_file_id"], timeout=300)
                leak = "YES" if MARKER in json.dumps(status) else "no"
                print(
                    f"{name:<28} {r.status_code:>5} {status['processing_status']:<10} "
                    f"{status['error_code'] or '-':<22} {peak['rss'] / 2**20:>20.0f}  {leak}"
                )
        finally:
            stop.set()
            api.kill()
            worker.kill()


def main() -> None:
    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    domain_table()
    if "--no-e2e" not in sys.argv:
        e2e_table()


if __name__ == "__main__":
    main()
