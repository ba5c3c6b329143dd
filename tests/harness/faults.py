"""Faults on demand for real processes: wraps the job's read of its original.

FAULT_DIR/<gpx_file_id or trip_id> holding an integer N makes the next N attempts of that file
fail with a transient error (an OSError, as a storage or network failure would); "crash" makes
every attempt fail with an unexpected error. PROCESSING_DELAY_S makes every attempt sleep
first (in the job's thread, as a slow parse would), so a test can kill a process mid-job.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from contravento.services.context import AppContext
from contravento.services.jobs import process


def _fault(key_names: tuple[str, ...]) -> None:
    delay = float(os.environ.get("PROCESSING_DELAY_S", "0") or 0)
    if delay > 0:
        time.sleep(delay)
    fault_dir = os.environ.get("FAULT_DIR")
    if not fault_dir:
        return
    path = next((Path(fault_dir) / k for k in key_names if (Path(fault_dir) / k).is_file()), None)
    if path is None:
        return
    text = path.read_text().strip()
    if text == "crash":
        raise RuntimeError("injected non-transient crash")
    try:
        remaining = int(text or "0")
    except ValueError:
        return
    if remaining <= 0:
        return
    path.write_text(str(remaining - 1))
    raise ConnectionError(f"injected transient fault ({remaining - 1} left)")


def install() -> None:
    """Replace the job's read of its original by one that meets the configured faults."""
    original = process.read_original

    def read_original(ctx: AppContext, key: str) -> bytes:
        # keys look like gpx_files/yyyy/mm/<trip_id>/<gpx_file_id>.gpx
        parts = key.rsplit("/", 2)
        _fault((parts[-1].split(".")[0], parts[-2]) if len(parts) == 3 else ())
        return original(ctx, key)

    process.read_original = read_original  # type: ignore[assignment]
