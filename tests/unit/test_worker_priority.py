"""contravento.worker.priority in a child process (never renice the test runner itself)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CODE = """
import os
from contravento.worker.priority import lower_cpu_priority
value, autogroup = lower_cpu_priority({want})
group = open("/proc/self/autogroup").read().split()[-1] if autogroup else "-"
print(value, os.getpriority(os.PRIO_PROCESS, 0), autogroup, group)
"""
INHERITED = os.getpriority(os.PRIO_PROCESS, 0)


def _run(want: int, *, nice_first: int = 0, new_session: bool = False) -> list[str]:
    args = [sys.executable, "-c", CODE.format(want=want)]
    if nice_first:
        args = ["nice", "-n", str(nice_first), *args]
    out = subprocess.run(
        args, capture_output=True, text=True, check=True, start_new_session=new_session
    )
    return out.stdout.split()


def test_raises_the_nice_value() -> None:
    want = max(7, INHERITED)
    assert _run(7)[:2] == [str(want), str(want)]


def test_never_raises_the_priority() -> None:
    """A worker already started under `nice -n 15` stays there (nice only goes up)."""
    want = min(19, INHERITED + 15)
    assert _run(7, nice_first=15)[:2] == [str(want), str(want)]


def test_zero_keeps_the_inherited_priority() -> None:
    assert _run(0)[:2] == [str(INHERITED), str(INHERITED)]


def test_not_a_session_leader_leaves_the_autogroup_alone() -> None:
    """Sharing the session (and autogroup) of whoever started it, e.g. the API under
    `make run`: lowering the group would lower them too."""
    assert _run(7)[2:] == ["None", "-"]


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="no autogroups here")
def test_a_session_leader_lowers_its_autogroup_even_if_already_niced() -> None:
    want = min(19, INHERITED + 15)
    assert _run(6, nice_first=15, new_session=True) == [str(want), str(want), "True", str(want)]
    want = max(6, INHERITED)
    assert _run(6, new_session=True) == [str(want), str(want), "True", str(want)]
