"""Workers give way to the API for the CPU (WORKER_NICE).

Parsing a GPX is batch work; answering an upload or a status poll is interactive. When workers
share cores with the API (a laptop, a single-host deployment), a worker that runs at the same
priority takes as much CPU as the API, and a burst of uploads waits for it. At worker start the
main process raises its nice value (the pool processes it forks inherit it). Linux's autogroup
scheduling weighs sessions, not processes, against each other: a worker that leads its own
session (a service manager, `setsid`, a test harness) also lowers its session's weight, or its
nice value would only count against its own children. Containers are weighed by their cgroup
instead: the compose files give the workers a lower `cpu_shares`.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from typing import Any

import structlog
from celery.signals import worker_init

from ..config import get_settings

log = structlog.get_logger("contravento.worker")
AUTOGROUP = Path("/proc/self/autogroup")


def _lower_autogroup(nice: int) -> bool:
    """Set this session's autogroup nice value; True if it is in force.

    Without CAP_SYS_ADMIN the kernel takes one such write per 100 ms on the whole machine and
    answers EAGAIN to the others (workers started together): retry for up to a second.
    """
    for _ in range(10):
        try:
            AUTOGROUP.write_text(str(nice))
            return True
        except OSError as exc:
            if exc.errno != errno.EAGAIN:
                return False
            time.sleep(0.1)
    return False


def lower_cpu_priority(nice: int) -> tuple[int, bool | None]:
    """Raise this process's nice value to at least `nice` (never lower it).

    Returns the nice value in force and whether the session's autogroup got it too (None when
    this process does not lead its session or the kernel has no autogroups).
    """
    current = os.getpriority(os.PRIO_PROCESS, 0)
    target = max(nice, current)
    if target > current:
        os.setpriority(os.PRIO_PROCESS, 0, target)
    autogroup = None
    if os.getsid(0) == os.getpid() and AUTOGROUP.exists():  # our session is our autogroup
        autogroup = _lower_autogroup(target)
    return target, autogroup


@worker_init.connect
def _on_worker_init(**_: Any) -> None:
    nice = get_settings().worker_nice
    if nice > 0:
        try:
            value, autogroup = lower_cpu_priority(nice)
        except OSError as exc:  # never keep a worker from starting over its priority
            log.warning("worker_priority_failed", error=repr(exc))
            return
        log.info("worker_priority", nice=value, autogroup=autogroup)
