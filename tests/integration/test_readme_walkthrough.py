"""The README's curl walk-through runs as pasted: its block, unchanged, in bash against a live
API (real HTTP, uvicorn, SQLite), in a scratch directory that sees the repository's tests/."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.live import ROOT, ApiServer, service_env


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Walk-through with curl", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None
    return block.group(1)


def test_readme_walkthrough_runs_as_pasted(tmp_path: Path) -> None:
    script = walkthrough()
    assert "<id>" not in script and "../" not in script
    env = service_env(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'walk.db'}",
        storage_dir=tmp_path / "storage",
        celery_enabled="false",
        reconcile_interval_s=0,
        log_level="WARNING",
    )
    server = ApiServer(env, tmp_path / "api.log")
    try:
        work = tmp_path / "work"
        work.mkdir()
        (work / "tests").symlink_to(ROOT / "tests")
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=work,
            env={"PATH": "/usr/bin:/bin", "B": server.url},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.stop(timeout=10)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "}304\n" in out and out.rstrip().endswith("original intacto"), out
    profile = json.loads((work / "profile.json").read_text())
    assert profile["resolution"] == "full" and profile["sample_count"] == 314
    assert json.loads((work / "track.json").read_text())["type"] == "Feature"
    assert '"title":"Etapa 1: Richmond"' in out and '"stage_count":1' in out
