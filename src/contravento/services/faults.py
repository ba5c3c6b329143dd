"""Test-only fault injection: lets real workers meet a transient error on demand.

Active only when APP_ENV=testing. A file FAULT_DIR/<gpx_file_id or trip_id> holding an
integer N makes the next N processing attempts of that file fail with a transient error;
"crash" makes every attempt fail with an unexpected error. PROCESSING_DELAY_S makes every
attempt pause first, so a test can kill a process while a job is in flight.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from ..config import Settings
from .errors import TransientProcessingError


async def maybe_inject_fault(settings: Settings, *keys: str) -> None:
    if settings.app_env != "testing":
        return
    delay = float(os.environ.get("PROCESSING_DELAY_S", "0") or 0)
    if delay > 0:
        await asyncio.sleep(delay)
    fault_dir = os.environ.get("FAULT_DIR")
    if not fault_dir:
        return
    path = next((Path(fault_dir) / k for k in keys if (Path(fault_dir) / k).is_file()), None)
    if path is None:
        return
    if path.read_text().strip() == "crash":
        raise RuntimeError("injected non-transient crash")
    try:
        remaining = int(path.read_text().strip() or "0")
    except (OSError, ValueError):
        return
    if remaining <= 0:
        return
    path.write_text(str(remaining - 1))
    raise TransientProcessingError(f"injected transient fault ({remaining - 1} left)")
