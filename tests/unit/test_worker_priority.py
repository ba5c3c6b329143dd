"""contravento.worker.priority in a child process (never renice the test runner itself)."""

from __future__ import annotations

import os
import subprocess
import sys

CODE = """
import os
from contravento.worker.priority import lower_cpu_priority
print(lower_cpu_priority({want}), os.getpriority(os.PRIO_PROCESS, 0))
"""


def _run(want: int, *, nice_first: int = 0, new_session: bool = False) -> list[str]:
    args = [sys.executable, "-c", CODE.format(want=want)]
    if nice_first:
        args = ["nice", "-n", str(nice_first), *args]
    out = subprocess.run(
        args, capture_output=True, text=True, check=True, start_new_session=new_session
    )
    return out.stdout.split()


def test_raises_the_nice_value() -> None:
    assert _run(7) == ["7", "7"]


def test_never_raises_the_priority() -> None:
    """A worker already started under `nice -n 15` stays there (nice only goes up)."""
    assert _run(7, nice_first=15) == ["15", "15"]


def test_zero_keeps_the_inherited_priority() -> None:
    inherited = str(os.getpriority(os.PRIO_PROCESS, 0))
    assert _run(0) == [inherited, inherited]


def test_a_session_leader_lowers_its_autogroup() -> None:
    code = CODE.format(want=6) + "print(open('/proc/self/autogroup').read().split()[-1])"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        start_new_session=True,
    )  # fmt: skip
    lines = out.stdout.split()
    assert lines[:2] == ["6", "6"]
    if os.path.exists("/proc/self/autogroup"):
        assert lines[2] == "6"
