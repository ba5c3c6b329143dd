"""Real processes for tests: a uvicorn API and celery workers, on real Redis/PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_env(**values: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GPX_", "CELERY_", "REDIS_"))}
    env.update({"APP_ENV": "development", "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"})
    # every test signs up from 127.0.0.1; tests/security/test_auth_rate_limit.py sets its own
    env["AUTH_IP_RATE_LIMIT"] = "100000/minute"
    env.update({k.upper(): str(v) for k, v in values.items()})
    return env


class Proc:
    """A service process in its own session. `prefix` runs it through another command (e.g.
    `ip netns exec NAME`, which execs it: the pid stays the service's); `cwd` is where it runs."""

    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        log: Path,
        *,
        prefix: tuple[str, ...] = (),
        cwd: Path = ROOT,
    ) -> None:
        # tests/harness is imported by module name, from any working directory
        env = {
            **env,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        }
        self.args, self.env, self.log_path = args, env, log
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [*prefix, *args],
            env=env,
            cwd=cwd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM to the main process only: a warm shutdown (Celery finishes running tasks)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=timeout)
        self.kill()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


class ApiServer(Proc):
    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        prefix: tuple[str, ...] = (),
        cwd: Path = ROOT,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://{host}:{self.port}"
        # the product's API with the tests' fault injection (tests/harness), over real HTTP
        args = [sys.executable, "-m", "tests.harness.api", "--host", host, "--port", str(self.port)]
        super().__init__(args, env, log, prefix=prefix, cwd=cwd)
        self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"API exited early:\n{self.output()[-3000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"API not ready:\n{self.output()[-3000:]}")


class Worker(Proc):
    """A real `celery worker` (prefork). `extra` adds arguments (e.g. `-I module`), `nice`
    lowers its priority; with a quiet log level readiness is judged by its forked pool."""

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        name: str,
        concurrency: int = 1,
        *,
        loglevel: str = "INFO",
        nice: int = 0,
        extra: tuple[str, ...] = (),
        prefix: tuple[str, ...] = (),
        cwd: Path = ROOT,
    ) -> None:
        self.name = name
        self.hostname = f"{name}@%h"
        self.quiet = loglevel.upper() != "INFO"
        args = ["nice", "-n", str(nice)] if nice else []
        args += [
            sys.executable, "-m", "tests.harness.worker", "--loglevel", loglevel,
            "-P", "prefork", "-c", str(concurrency), "-n", self.hostname,
            "-Q", env.get("CELERY_QUEUE", "gpx"), "--without-mingle", "--without-gossip", *extra,
        ]  # fmt: skip
        super().__init__(args, env, log)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.output()[-3000:]}")
            if " ready." in self.output():
                return
            if self.quiet and self.pool_pids():
                time.sleep(1.0)  # forked; give the consumer a moment to connect
                return
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready:\n{self.output()[-3000:]}")

    def pool_pids(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True, check=False
        ).stdout
        return [int(p) for p in out.split()]


class Client:
    """A synchronous HTTP client for a live server, with the usual steps."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=60)

    def signup(self) -> dict[str, str]:
        email = f"u{time.time_ns()}@example.com"
        creds = {"email": email, "password": "pedales-123"}
        r = self.http.post("/auth/register", json={**creds, "display_name": "Ana"})
        assert r.status_code == 201, r.text
        token = self.http.post("/auth/login", json=creds).json()["access_token"]
        return {"Authorization": f"Bearer {token}"}

    def trip(self, headers: dict[str, str]) -> str:
        r = self.http.post("/trips", json={"title": "Viaje"}, headers=headers)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def upload(
        self, headers: dict[str, str], trip_id: str, data: bytes, name: str = "r.gpx"
    ) -> httpx.Response:
        return self.http.post(
            f"/trips/{trip_id}/gpx", files={"file": (name, data)}, headers=headers
        )

    def status(self, headers: dict[str, str], file_id: str) -> dict[str, Any]:
        r = self.http.get(f"/gpx/{file_id}/status", headers=headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def wait_done(
        self, headers: dict[str, str], file_id: str, timeout: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body = self.status(headers, file_id)
            if body["processing_status"] in ("completed", "failed"):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"not finished in {timeout}s: {body}")
            time.sleep(0.1)
