"""A TCP relay for tests: listen on one address, connect each client to a target.

It stands for the network path between hosts: start it late to model a service that comes back,
or listen on a namespace's gateway address to reach a service bound to the host's loopback.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


class Forwarder(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self.target = target
        super().__init__(listen, _Relay)
        self.port = int(self.server_address[1])
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _Relay(socketserver.BaseRequestHandler):
    server: Forwarder

    def handle(self) -> None:
        client: socket.socket = self.request
        with socket.create_connection(self.server.target, timeout=10) as upstream:
            upstream.settimeout(None)
            back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
            back.start()
            _pump(client, upstream)
            back.join()
