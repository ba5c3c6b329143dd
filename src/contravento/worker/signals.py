"""Structured logs for every task: task_id, gpx_file_id, trip_id, attempt, request_id."""

from __future__ import annotations

import time
from typing import Any

import structlog
from celery.signals import setup_logging, task_failure, task_postrun, task_prerun, task_retry

from ..config import get_settings
from ..logging import configure_logging

log = structlog.get_logger("contravento.worker")
_started: dict[str, float] = {}


@setup_logging.connect
def _setup_logging(**_kwargs: Any) -> None:
    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)


@task_prerun.connect
def _prerun(
    task_id: str, task: Any, args: tuple[Any, ...], kwargs: dict[str, Any], **_: Any
) -> None:
    structlog.contextvars.clear_contextvars()
    params = dict(zip(("gpx_file_id", "trip_id", "request_id"), args, strict=False)) | kwargs
    structlog.contextvars.bind_contextvars(
        task_id=task_id,
        gpx_file_id=params.get("gpx_file_id"),
        trip_id=params.get("trip_id"),
        request_id=params.get("request_id"),
        attempt=int(getattr(task.request, "retries", 0)) + 1,
        worker=getattr(task.request, "hostname", None),
    )
    _started[task_id] = time.perf_counter()
    log.info("task_started")


@task_postrun.connect
def _postrun(task_id: str, retval: Any = None, state: str | None = None, **_: Any) -> None:
    began = _started.pop(task_id, None)
    duration = round((time.perf_counter() - began) * 1000.0, 1) if began else None
    outcome = retval.get("outcome") if isinstance(retval, dict) else None
    log.info("task_finished", status=state, outcome=outcome, duration_ms=duration)
    structlog.contextvars.clear_contextvars()


@task_retry.connect
def _retry(request: Any = None, reason: Any = None, **_: Any) -> None:
    log.warning("task_retry", reason=str(reason))


@task_failure.connect
def _failure(task_id: str, exception: BaseException, **_: Any) -> None:
    log.error("task_failure", error=repr(exception))
