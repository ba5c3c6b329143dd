"""How long a SIGKILLed worker's job waits before another worker completes it.

    python -m bench.recovery [--runs 3]

Each run: a worker takes a job whose attempt sleeps for a minute (tests/harness delay), a
second worker is up, and the first is SIGKILLed, whole (main process and pool), at a different
point of its lease renewal cycle; timed until the job is `completed` by the survivor. Side by
side: the shipped lease settings and the short ones the real-process tests use. The reference
is the figure measured before leases (issue 13): 601 s, until PROCESSING_TIMEOUT_S.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import uuid

from bench.stack import BenchStack, versions
from tests.live import Client, Worker
from tests.support import tiny_gpx

BEFORE_LEASES_S = 601.0  # issue 13, measured before leases: PROCESSING_TIMEOUT_S took them
SETTINGS = {
    "shipped defaults": {"lease_s": 20.0, "lease_renew_s": 5.0, "reconcile_interval_s": 5.0},
    "tests (short)": {"lease_s": 4.0, "lease_renew_s": 1.0, "reconcile_interval_s": 1.0},
}


def _wait_status(client: Client, headers: dict[str, str], file_id: str, want: str) -> str:
    deadline = time.monotonic() + 60
    while True:
        body = client.status(headers, file_id)
        if body["processing_status"] == want:
            return str(body["processed_by"])
        if time.monotonic() > deadline:
            raise RuntimeError(f"job never {want}: {body}")
        time.sleep(0.05)


def measure(label: str, values: dict[str, float], runs: int) -> list[float]:
    stack = BenchStack("recovery")
    try:
        overrides = {**values, "celery_force": "true", "max_pending_jobs_per_user": 1000}
        env = {**stack.env, **{k.upper(): str(v) for k, v in overrides.items()}}
        client = stack.start_api(**overrides)
        survivor = Worker(env, stack.tmp / "survivor.log", "survivor", loglevel="WARNING")
        survivor.wait_ready()
        headers = client.signup()
        trip = client.trip(headers)
        figures = []
        for run in range(runs):
            doomed = Worker(
                {**env, "PROCESSING_DELAY_S": "60"},
                stack.tmp / f"doomed{run}.log",
                f"doomed{run}",
                loglevel="WARNING",
            )
            doomed.wait_ready()
            survivor.kill()  # only the doomed worker may take the job first
            data = tiny_gpx(40, seed=f"recovery-{uuid.uuid4().hex}")
            file_id = client.upload(headers, trip, data).json()["gpx_file_id"]
            if not _wait_status(client, headers, file_id, "processing").startswith("doomed"):
                raise RuntimeError("the job went to the wrong worker")
            survivor = Worker(env, stack.tmp / "survivor.log", "survivor", loglevel="WARNING")
            survivor.wait_ready()
            time.sleep(values["lease_renew_s"] * run / runs)  # another point of the cycle
            killed = time.monotonic()
            doomed.kill()
            client.wait_done(headers, file_id, timeout=300)
            figures.append(time.monotonic() - killed)
            print(f"  {label}: run {run + 1}: {figures[-1]:.1f} s", flush=True)
        survivor.kill()
        return figures
    finally:
        stack.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {versions()}")
    results = {label: measure(label, values, args.runs) for label, values in SETTINGS.items()}
    print(
        "\n| settings | LEASE_S | LEASE_RENEW_S | RECONCILE_INTERVAL_S | runs |"
        " SIGKILL -> completed: min / median / max |"
    )
    print("|---|---|---|---|---|---|")
    print(f"| before leases (issue 13) | - | - | - | 1 | {BEFORE_LEASES_S:.0f} s |")
    for label, figures in results.items():
        v = SETTINGS[label]
        print(
            f"| {label} | {v['lease_s']:g} | {v['lease_renew_s']:g} |"
            f" {v['reconcile_interval_s']:g} | {len(figures)} |"
            f" {min(figures):.1f} / {statistics.median(figures):.1f} / {max(figures):.1f} s |"
        )


if __name__ == "__main__":
    main()
