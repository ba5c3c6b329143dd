"""GET /gpx/{id}/events: the job's state as Server-Sent Events (sse-starlette).

Events `pending`, `processing`, `retrying`, `completed`, `failed`; each one's data is the body
of GET /gpx/{id}/status plus `next_attempt_at`, its `id:` the row's version. The current state
at once (unless Last-Event-ID already names it), then each change; the server ends the stream
after `completed` or `failed`, or after SSE_MAX_STREAM_S (the client reconnects after the
`retry:` it was sent). A ": ping" comment every SSE_HEARTBEAT_S keeps proxies from closing it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from ..db.models import GPXFile
from ..db.types import utcnow
from ..schemas.gpx import JobEventOut
from ..services.jobs import watch
from ..services.jobs.machine import public_state
from .deps import CtxDep, WatchedFile
from .job_status import status_out

router = APIRouter(tags=["gpx"])

_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
        "description": "Events pending | processing | retrying | completed | failed, each with "
        "a JobEventOut as JSON data",
    }
}


def _event(row: GPXFile) -> ServerSentEvent:
    body = JobEventOut(**status_out(row).model_dump(), next_attempt_at=row.next_attempt_at)
    state = public_state(row.processing_status, row.attempts, row.next_attempt_at, utcnow())
    return ServerSentEvent(data=body.model_dump_json(), event=state, id=watch.version(row))


def _ping() -> ServerSentEvent:
    return ServerSentEvent(comment="ping")


@router.get("/gpx/{gpx_file_id}/events", response_class=EventSourceResponse, responses=_STREAM_DOC)
async def gpx_events(
    request: Request,
    watched: WatchedFile,
    ctx: CtxDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    """The job's state, live (Server-Sent Events; send `Authorization: Bearer`)."""
    settings = ctx.settings
    user, row = watched
    listener = request.app.state.job_listener

    async def events() -> AsyncIterator[ServerSentEvent]:
        yield ServerSentEvent(retry=settings.sse_retry_ms)
        sent: tuple[str | None, str | None] | None = None
        async for changed in watch.follow(ctx, listener, owner=user, first=row, seen=last_event_id):
            event = _event(changed)
            if (event.event, event.data) != sent:  # a new version with nothing new to tell
                sent = (event.event, event.data)
                yield event

    return EventSourceResponse(
        events(),
        ping=settings.sse_heartbeat_s,
        ping_message_factory=_ping,
        sep="\n",
        send_timeout=max(settings.sse_heartbeat_s * 2, 10.0),
    )
