"""A real Redis Sentinel set on loopback: a master, a replica and three sentinels, each a
`redis-server` process (sentinels are the same binary with --sentinel) in a tmp directory."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import redis

from tests.live import Proc, free_port
from tests.support import unavailable

MASTER_NAME = "cv-master"
PASSWORD = "redis-pw"  # the master's and replica's (requirepass / masterauth)
SENTINEL_PASSWORD = "sentinel-pw"  # the sentinels' own (requirepass / sentinel-pass)
QUORUM = 2
DOWN_AFTER_MS = 1000


def redis_server() -> str:
    found = shutil.which("redis-server")
    if found is None:
        unavailable("redis-server (Debian package redis-server)", FileNotFoundError("redis-server"))
    assert found is not None
    return found


class SentinelSet:
    def __init__(self, tmp: Path, down_after_ms: int = DOWN_AFTER_MS) -> None:
        self.down_after_ms = down_after_ms
        self.binary = redis_server()
        self.tmp = tmp / "redis"
        self.tmp.mkdir()
        self.master_port, self.replica_port = free_port(), free_port()
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.procs: list[Proc] = []
        self.master = self._server("master", self.master_port)
        self.replica = self._server(
            "replica", self.replica_port, "--replicaof", "127.0.0.1", str(self.master_port)
        )
        self.sentinels = [self._sentinel(i, port) for i, port in enumerate(self.sentinel_ports)]

    @property
    def url(self) -> str:
        """REDIS_URL as the deploy files write it: the password in each, the database once."""
        hosts = [f"sentinel://:{PASSWORD}@127.0.0.1:{port}" for port in self.sentinel_ports]
        return ";".join(hosts) + "/0"

    def _start(self, name: str, args: list[str]) -> Proc:
        proc = Proc([self.binary, *args], {"PATH": "/usr/bin:/bin"}, self.tmp / f"{name}.log")
        self.procs.append(proc)
        return proc

    def _server(self, name: str, port: int, *extra: str) -> Proc:
        data = self.tmp / name
        data.mkdir()
        args = [
            "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
            "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
            "--requirepass", PASSWORD, "--masterauth", PASSWORD, *extra,
        ]  # fmt: skip
        return self._start(name, args)

    def _sentinel(self, index: int, port: int) -> Proc:
        data = self.tmp / f"sentinel{index}"
        data.mkdir()
        conf = data / "sentinel.conf"  # a sentinel rewrites its config file: one each, writable
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {data}\n"
            f"requirepass {SENTINEL_PASSWORD}\nsentinel sentinel-pass {SENTINEL_PASSWORD}\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.master_port} {QUORUM}\n"
            f"sentinel auth-pass {MASTER_NAME} {PASSWORD}\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} {self.down_after_ms}\n"
            f"sentinel failover-timeout {MASTER_NAME} 5000\n"
            f"sentinel parallel-syncs {MASTER_NAME} 1\n"
        )
        return self._start(f"sentinel{index}", [str(conf), "--sentinel"])

    def sentinel(self, port: int) -> redis.Redis:
        return redis.Redis(
            port=port, password=SENTINEL_PASSWORD, socket_timeout=1, decode_responses=True
        )

    def master_port_seen(self) -> set[int]:
        """The master's port as each sentinel that answers names it."""
        ports = set()
        for port in self.sentinel_ports:
            try:
                addr = self.sentinel(port).sentinel_get_master_addr_by_name(MASTER_NAME)
            except (redis.RedisError, OSError):
                continue
            if addr:
                ports.add(int(addr[1]))
        return ports

    def wait_ready(self, timeout: float = 60) -> None:
        """Until every sentinel sees the master, its replica in sync and the two other
        sentinels (so that a quorum can agree and one of them be elected)."""
        deadline = time.monotonic() + timeout
        state: object = None
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.proc.poll() is not None:
                    raise RuntimeError(f"{proc.log_path.name} exited:\n{proc.output()[-2000:]}")
            try:
                state = [self.sentinel(p).sentinel_master(MASTER_NAME) for p in self.sentinel_ports]
                replicas = [
                    self.sentinel(p).sentinel_slaves(MASTER_NAME) for p in self.sentinel_ports
                ]
                if all(
                    m["num-other-sentinels"] == 2 and m["num-slaves"] == 1 for m in state
                ) and all(
                    r and r[0]["master-link-status"] == "ok" and not r[0]["is_sdown"]
                    for r in replicas
                ):
                    return
            except (redis.RedisError, OSError) as exc:
                state = exc
            time.sleep(0.2)
        raise RuntimeError(f"sentinels not ready: {state!r}")

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
