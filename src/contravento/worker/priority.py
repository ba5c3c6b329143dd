"""Workers give way to the API for the CPU (WORKER_NICE).

Parsing a GPX is batch work; answering an upload or a status poll is interactive. When workers
share cores with the API (a laptop, a single-host deployment), a worker that runs at the same
priority takes as much CPU as the API, and a burst of uploads waits for it. At worker start the
main process raises its nice value (the pool processes it forks inherit it). Linux's autogroup
scheduling weighs sessions, not processes, against each other: a worker that leads its own
session (a service manager, `setsid`, a test harness) also lowers its session's weight, or its
nice value would only count against its own children. Containers are weighed by their cgroup
instead: docker-compose.prod.yml gives the workers a lower `cpu_shares`.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import structlog
from celery.signals import worker_init

from ..config import get_settings

log = structlog.get_logger("contravento.worker")
AUTOGROUP = Path("/proc/self/autogroup")


def lower_cpu_priority(nice: int) -> int:
    """Raise this process's nice value to at least `nice`; returns the value now in force."""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if nice <= current:
        return current
    os.setpriority(os.PRIO_PROCESS, 0, nice)
    if os.getsid(0) == os.getpid() and AUTOGROUP.exists():  # our session is our autogroup
        with contextlib.suppress(OSError):
            AUTOGROUP.write_text(str(nice))
    return nice


@worker_init.connect
def _on_worker_init(**_: Any) -> None:
    nice = get_settings().worker_nice
    if nice > 0:
        log.info("worker_priority", nice=lower_cpu_priority(nice))
