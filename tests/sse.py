"""Reading a Server-Sent Events stream over real HTTP, as a fetch-based client would (the
Authorization header), field by field as the HTML standard parses them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Message:
    """One dispatched block: an event (with data), a bare `retry:`, or comments alone."""

    event: str | None = None
    id: str | None = None
    data: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def body(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.data or "null")
        return value


def messages(response: httpx.Response) -> Iterator[Message]:
    """The stream's blocks until the server closes it."""
    current, data = Message(), []
    for line in response.iter_lines():
        if line == "":
            if data:
                current.data = "\n".join(data)
            if current.data is not None or current.retry is not None or current.comments:
                yield current
            current, data = Message(), []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "":
            current.comments.append(value)
        elif name == "event":
            current.event = value
        elif name == "id":
            current.id = value
        elif name == "data":
            data.append(value)
        elif name == "retry" and value.isdigit():
            current.retry = int(value)


@dataclass
class Recorded:
    status_code: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    closed_by_server: bool = False
    error: BaseException | None = None

    @property
    def events(self) -> list[Message]:
        return [m for m in self.messages if m.event is not None]

    @property
    def pings(self) -> int:
        return sum(m.comments.count("ping") for m in self.messages)


def record(
    url: str,
    headers: dict[str, str],
    *,
    timeout: float = 60.0,
    started: threading.Event | None = None,
) -> Recorded:
    """Read the stream to its end (the server closing it); `timeout` bounds each read."""
    out = Recorded()
    try:
        with (
            httpx.Client(timeout=timeout) as client,
            client.stream("GET", url, headers=headers) as r,
        ):
            out.status_code, out.headers = r.status_code, dict(r.headers)
            if r.status_code != 200:
                r.read()
                out.messages.append(Message(data=r.text))
                return out
            for message in messages(r):
                out.messages.append(message)
                if started is not None and message.event is not None:
                    started.set()
            out.closed_by_server = True
    except BaseException as exc:  # recorded for the test thread to raise
        out.error = exc
    finally:
        if started is not None:
            started.set()
    return out


class Follower(threading.Thread):
    """A stream read in the background while the test drives the job."""

    def __init__(self, url: str, headers: dict[str, str], timeout: float = 60.0) -> None:
        super().__init__(daemon=True)
        self.url, self.headers, self.timeout = url, headers, timeout
        self.first_event = threading.Event()
        self.result = Recorded()

    def run(self) -> None:
        self.result = record(self.url, self.headers, timeout=self.timeout, started=self.first_event)

    def finish(self, timeout: float = 90.0) -> Recorded:
        self.join(timeout)
        assert not self.is_alive(), "the stream did not end"
        if self.result.error is not None:
            raise self.result.error
        return self.result
