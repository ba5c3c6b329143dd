"""Request ids as a pure ASGI middleware (no BaseHTTPMiddleware).

Every request gets ``request.state.request_id`` (the client's ``X-Request-ID``, cut to 64
characters, or a new one), bound into the structlog context while it runs and echoed in the
response's ``X-Request-ID`` header. A pure ASGI middleware passes the body through untouched:
``BaseHTTPMiddleware`` wraps every received chunk in anyio streams and tasks, which cost a
measurable share of the event loop while large uploads stream in.
"""

from __future__ import annotations

import uuid

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope.get("headers", ()) if k == HEADER), b"")
        rid = given.decode("latin-1")[:64] or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
