"""CPU time of processes, for unit costs: ours (``time.process_time``), a subprocess tree
(psutil) and the PostgreSQL backends serving one database (``/proc/<pid>/stat``).

CPU seconds, not wall time: a unit cost that holds whatever else runs on the machine (other
processes take wall time, not our CPU time). Linux accounts CPU in clock ticks (10 ms with
the usual ``SC_CLK_TCK`` = 100), so the other processes' figures are only meaningful summed
over many operations; the benchmarks divide a batch's total by its count.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def pid_cpu_s(pid: int) -> float:
    """user + system CPU seconds of one process (0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": field 3 is fields[0]
    return (int(fields[11]) + int(fields[12])) * TICK_S  # utime (14), stime (15)


def tree_pids(pid: int) -> list[int]:
    """A process and all its descendants (a uvicorn API, a Celery worker and its pool)."""
    try:
        root = psutil.Process(pid)
        return [pid, *(child.pid for child in root.children(recursive=True))]
    except psutil.Error:
        return []


def backend_pids(database: str) -> list[int]:
    """The PostgreSQL backends connected to `database`, found by their process titles
    (``postgres: <cluster>: <user> <database> <client> <state>``; update_process_title is on
    by default on Linux). Needs to see the server's processes: same host and PID namespace."""
    pids = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        title = " ".join(cmdline)
        if title.startswith("postgres:") and f" {database} " in f"{title} ":
            pids.append(proc.pid)
    return pids


@dataclass
class CpuSnapshot:
    """CPU seconds per pid at one moment."""

    cpu: dict[int, float] = field(default_factory=dict)


def snapshot(pids: list[int]) -> CpuSnapshot:
    return CpuSnapshot({pid: pid_cpu_s(pid) for pid in pids})


def spent(before: CpuSnapshot, after: CpuSnapshot) -> float:
    """CPU spent between two snapshots; a pid born in between counts whole (its life fell in
    the window), one that died in between is lost (keep pools warm across a measurement)."""
    return sum(cpu - before.cpu.get(pid, 0.0) for pid, cpu in after.cpu.items())


Group = Callable[[], list[int]]


def tree(pid: int) -> Group:
    return lambda: tree_pids(pid)


def backends(database: str) -> Group:
    return lambda: backend_pids(database)


@dataclass(frozen=True)
class Reading:
    own_s: float
    others: dict[str, CpuSnapshot]


class Meter:
    """CPU of this process (``process_time``: all its threads) as ``self``, and of named
    groups of other processes (their pids looked up again at each reading)."""

    def __init__(self, **groups: Group) -> None:
        self.groups = groups

    def start(self) -> Reading:
        others = {name: snapshot(group()) for name, group in self.groups.items()}
        return Reading(time.process_time(), others)

    def stop(self, started: Reading) -> dict[str, float]:
        """CPU seconds since `started`: ``self`` and one entry per group."""
        own = time.process_time() - started.own_s
        out = {"self": own}
        for name, group in self.groups.items():
            out[name] = spent(started.others[name], snapshot(group()))
        return out
