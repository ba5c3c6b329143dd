"""A network namespace standing for another host: its own loopback, one veth link to this host.

`Host.create(name, subnet)` makes namespace NAME with a veth pair on 10.<a>.<b>.0/24: the host
side is .1, the namespace side .2, default route via .1. Services of this host that listen on
127.0.0.1 only (PostgreSQL, Redis, the S3 endpoint) are reached from inside through relays that
listen on the host side's address (`expose`). Nothing persists: `close()` removes the relays and
the namespace (which takes its veth pair with it). `Host.plain(name)` is the fallback where
namespaces cannot be made: plain processes on this host's network.
"""

from __future__ import annotations

import contextlib
import subprocess

from tests.forwarder import Forwarder


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=10)


class Host:
    def __init__(self, name: str, subnet: str | None) -> None:
        self.name = name
        self.namespaced = subnet is not None
        self.gateway = f"{subnet}.1" if subnet else "127.0.0.1"  # this host, seen from inside
        self.address = f"{subnet}.2" if subnet else "127.0.0.1"  # the namespace's own address
        self.prefix: tuple[str, ...] = ("ip", "netns", "exec", name) if subnet else ()
        self._relays: list[Forwarder] = []
        self._link = f"cv{name[-8:]}"  # interface names: at most 15 characters

    @classmethod
    def create(cls, name: str, subnet: str) -> Host:
        host = cls(name, subnet)
        try:
            host._setup()
        except BaseException:
            host.close()
            raise
        return host

    @classmethod
    def plain(cls, name: str) -> Host:
        """The fallback where namespaces cannot be made: this host's own network."""
        return cls(name, None)

    def _setup(self) -> None:
        outside, inside = f"{self._link}h", f"{self._link}n"
        _ip("netns", "add", self.name)
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", self.name)
        _ip("addr", "add", f"{self.gateway}/24", "dev", outside)
        _ip("link", "set", outside, "up")
        inns = ("netns", "exec", self.name, "ip")
        _ip(*inns, "addr", "add", f"{self.address}/24", "dev", inside)
        _ip(*inns, "link", "set", inside, "up")
        _ip(*inns, "link", "set", "lo", "up")
        _ip(*inns, "route", "add", "default", "via", self.gateway)

    def expose(self, port: int) -> int:
        """Relay gateway:<new port> -> 127.0.0.1:port; returns the port to use from inside."""
        if not self.namespaced:
            return port
        relay = Forwarder((self.gateway, 0), ("127.0.0.1", port))
        self._relays.append(relay)
        return relay.port

    def close(self) -> None:
        if not self.namespaced:
            return
        for relay in self._relays:
            relay.close()
        self._relays.clear()
        with contextlib.suppress(subprocess.CalledProcessError, OSError):
            _ip("link", "del", f"{self._link}h")  # gone already if the namespace took its peer
        with contextlib.suppress(subprocess.CalledProcessError, OSError):
            _ip("netns", "del", self.name)
