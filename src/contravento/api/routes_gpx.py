from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse

from ..db.models import GPXFile
from ..domain.archive import ARCHIVE_FORMAT
from ..schemas.gpx import (
    GPXFilePatch,
    GPXFileSummary,
    ProfileOut,
    StatusOut,
    TrackOut,
    UploadOut,
)
from ..services import gpx_files, uploads
from .conditional import none_match_hits
from .deps import AutocommitSessionDep, CtxDep, OwnedFile, OwnedTrip, SessionDep, UserAndTrip
from .job_status import file_fields, status_out
from .upload_stream import stage_upload

router = APIRouter(tags=["gpx"])

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


def _status_url(row: GPXFile) -> str:
    if row.format == ARCHIVE_FORMAT:
        return f"/imports/{row.id}"
    return f"/gpx/{row.id}/status"


@router.post(
    "/trips/{trip_id}/gpx",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=UploadOut,
    openapi_extra=_UPLOAD_BODY,
    responses={
        200: {
            "model": UploadOut,
            "description": "The same bytes were already uploaded (`duplicate_of`: the file "
            "holding the ride)",
        }
    },
)
async def upload_gpx(
    request: Request,
    user_trip: UserAndTrip,
    ctx: CtxDep,
    session: AutocommitSessionDep,
    background: BackgroundTasks,
) -> JSONResponse:
    """Upload an activity (GPX, FIT, TCX, maybe gzipped) or a zip of them (a bulk import, see
    GET /imports/{id}), multipart field `file`. 202 with the job; 200 if the bytes are a
    duplicate."""
    settings = ctx.settings
    metrics = request.app.state.metrics
    dispatcher = request.app.state.dispatcher
    user, trip = user_trip
    # The dependencies' reads are done: give the pooled connection back so it is not held
    # while the body streams in (100 slow uploads would otherwise queue on a pool of 20).
    # expire_on_commit=False keeps `user` and `trip` loaded; register_upload checks out anew.
    await session.commit()
    try:
        with dispatcher.ingesting():
            staged = await stage_upload(
                request,
                ctx.storage,
                trip_id=trip.id,
                limit=settings.max_upload_bytes,
                limit_mb=settings.gpx_max_upload_mb,
                idle_timeout_s=settings.upload_idle_timeout_s,
                max_inflated_mb=settings.gpx_max_inflated_mb,
                archive_limit=settings.max_archive_upload_bytes,
                archive_limit_mb=settings.archive_max_upload_mb,
            )
        row, created = await uploads.register_upload(
            session,
            ctx.storage,
            transactions=ctx.sessions,
            owner=user,
            trip=trip,
            staged=staged,
            max_active=settings.max_pending_jobs_per_user,
            request_id=getattr(request.state, "request_id", None),
            prepare=dispatcher.assign,
        )
    except Exception:
        metrics.record_upload(mode="none", result="rejected")
        raise
    if created:
        await dispatcher.schedule(row, background)
    metrics.record_upload(mode=row.processing_mode, result="accepted" if created else "duplicate")
    body = UploadOut(
        gpx_file_id=row.id,
        trip_id=row.trip_id,
        processing_status=row.processing_status,  # type: ignore[arg-type]
        processing_mode=row.processing_mode,  # type: ignore[arg-type]
        status_url=_status_url(row),
        task_id=row.celery_task_id,
        duplicate=not created,
        duplicate_of=None if created else (row.duplicate_of_id or row.id),
        import_id=row.id if row.format == ARCHIVE_FORMAT else None,
    )
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=202 if created else 200,
        headers={"Location": _status_url(row)},
    )


@router.get("/trips/{trip_id}/gpx", response_model=list[GPXFileSummary])
async def list_gpx(trip: OwnedTrip, session: SessionDep) -> list[GPXFileSummary]:
    return [
        GPXFileSummary(
            **file_fields(row),
            distance_km=stats.distance_km if stats else None,
            elevation_gain_m=stats.elevation_gain_m if stats else None,
            moving_time_s=stats.moving_time_s if stats else None,
            start_time=stats.start_time if stats else None,
            start_time_local=stats.data.get("start_time_local") if stats else None,
            timezone=stats.data.get("timezone") if stats else None,
            time_quality=stats.data.get("time_quality") if stats else None,
        )
        for row, stats in await gpx_files.list_trip_files(session, trip=trip)
    ]


@router.get("/gpx/{gpx_file_id}/status", response_model=StatusOut)
async def gpx_status(row: OwnedFile) -> StatusOut:
    return status_out(row)


@router.patch("/gpx/{gpx_file_id}", response_model=StatusOut)
async def gpx_rename(body: GPXFilePatch, row: OwnedFile, session: SessionDep) -> StatusOut:
    """Rename a stage (`title`); null or empty gives it back its file name."""
    return status_out(await gpx_files.rename_file(session, row=row, title=body.title))


@router.get(
    "/gpx/{gpx_file_id}/track",
    response_model=TrackOut,
    responses={304: {"description": "Not modified: the If-None-Match ETag is current"}},
)
async def gpx_track(
    row: OwnedFile, session: SessionDep, request: Request, response: Response
) -> Any:
    """The route as GeoJSON. A completed track never changes until the file is processed
    again: a strong ETag, and 304 for a client that already has it (no points read)."""
    etag = gpx_files.track_etag(row)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if none_match_hits(request.headers.get("if-none-match"), etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    response.headers.update(headers)
    return await gpx_files.track_geojson(session, row=row)


@router.get(
    "/gpx/{gpx_file_id}/profile",
    response_model=ProfileOut,
    responses={304: {"description": "Not modified: the If-None-Match ETag is current"}},
)
async def gpx_profile(
    row: OwnedFile, session: SessionDep, request: Request, response: Response
) -> Any:
    """The profile for drawing (at most 1,000 samples of the full-resolution points), with
    the same ETag/304 rule as the track."""
    etag = gpx_files.track_etag(row, kind="profile")
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if none_match_hits(request.headers.get("if-none-match"), etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    response.headers.update(headers)
    return await gpx_files.profile_series(session, row=row)


_MEDIA_TYPES: dict[tuple[str, str | None], str] = {
    ("gpx", None): "application/gpx+xml",
    ("tcx", None): "application/vnd.garmin.tcx+xml",
    ("fit", None): "application/vnd.ant.fit",
    ("zip", None): "application/zip",
}


def _attachment(filename: str) -> str:
    """Content-Disposition for a download (RFC 6266; non-ASCII names as filename*)."""
    quoted = quote(filename)
    if quoted != filename:
        return f"attachment; filename*=utf-8''{quoted}"
    return f'attachment; filename="{filename}"'


@router.get(
    "/gpx/{gpx_file_id}/download",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/gpx+xml": {}}, "description": "The original file"}},
)
async def gpx_download(row: OwnedFile, ctx: CtxDep) -> StreamingResponse:
    """The original exactly as uploaded, streamed from the store in chunks (never whole in
    the API's memory)."""
    reader = await gpx_files.open_original(ctx.storage, row=row)
    return StreamingResponse(
        reader,  # a blocking iterator: Starlette reads each chunk in a worker thread
        media_type=_MEDIA_TYPES.get((row.format, row.compression), "application/octet-stream"),
        headers={
            "Content-Length": str(reader.size),
            "Content-Disposition": _attachment(row.original_filename),
        },
    )


@router.delete("/gpx/{gpx_file_id}", status_code=status.HTTP_204_NO_CONTENT)
async def gpx_delete(row: OwnedFile, ctx: CtxDep, session: SessionDep) -> Response:
    await gpx_files.delete_file(session, ctx.storage, row=row)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
