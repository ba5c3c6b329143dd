"""Test-only fault injection: lets real workers meet a transient error on demand.

Active only when APP_ENV=testing and FAULT_DIR is set. A file FAULT_DIR/<gpx_file_id> holding
an integer N makes the next N processing attempts of that file fail with a transient error.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..config import Settings
from .errors import TransientProcessingError


def maybe_inject_fault(settings: Settings, gpx_file_id: str) -> None:
    fault_dir = os.environ.get("FAULT_DIR")
    if settings.app_env != "testing" or not fault_dir:
        return
    path = Path(fault_dir) / gpx_file_id
    try:
        remaining = int(path.read_text().strip() or "0")
    except (OSError, ValueError):
        return
    if remaining <= 0:
        return
    path.write_text(str(remaining - 1))
    raise TransientProcessingError(f"injected transient fault ({remaining - 1} left)")
