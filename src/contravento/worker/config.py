"""Celery configuration derived from Settings (documented in docs/operations.md)."""

from __future__ import annotations

from typing import Any

from ..config import Settings


def max_retries(settings: Settings) -> int:
    """Retries after the first try: MAX_ATTEMPTS (default 4) tries in all, one cap for both
    the Celery retries and the claim, which also counts redeliveries after a crash."""
    return max(settings.max_attempts - 1, 0)


def max_countdown_s(settings: Settings) -> float:
    retries = max(max_retries(settings), 1)
    return float(settings.retry_base_s * 2.0 ** (retries - 1) + settings.retry_jitter_s)


def visibility_timeout_s(settings: Settings) -> int:
    """Longer than the longest countdown plus the hard time limit, with a margin.

    Redis redelivers a message not acked within this window; a shorter value would run a task
    that is merely waiting out its retry countdown, or still running, a second time.
    """
    return int(max_countdown_s(settings) + settings.task_time_limit_s + 600)


def celery_config(settings: Settings) -> dict[str, Any]:
    transport = {
        "visibility_timeout": visibility_timeout_s(settings),
        "socket_connect_timeout": settings.redis_connect_timeout_s,
        "socket_timeout": max(settings.redis_connect_timeout_s, 5.0),
        "retry_on_timeout": True,
        "max_connections": 20,
    }
    return {
        "broker_url": settings.redis_url,
        "result_backend": settings.redis_url,
        "broker_transport_options": transport,
        "result_backend_transport_options": {"visibility_timeout": transport["visibility_timeout"]},
        "visibility_timeout": transport["visibility_timeout"],
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": settings.redis_connect_timeout_s,
        "redis_socket_connect_timeout": settings.redis_connect_timeout_s,
        "redis_socket_timeout": 5.0,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_default_queue": settings.celery_queue,
        "task_time_limit": settings.task_time_limit_s,
        "task_soft_time_limit": settings.task_soft_time_limit_s,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # With acks_late, a prefetched message waits behind a running task on the same process;
        # 1 means each process reserves only the task it is about to run, so a 50 MB file
        # never strands small ones behind it while other workers are idle.
        "worker_prefetch_multiplier": 1,
        "worker_max_tasks_per_child": 100,
        # a pool process that grew past 400 MiB (a 50 MB file peaks near 260) is replaced after
        # its task: glibc keeps freed arenas, so without this a worker stays at its high-water mark
        "worker_max_memory_per_child": 400_000,  # KiB
        "result_expires": 3600,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "task_track_started": True,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_hijack_root_logger": False,
        "timezone": "UTC",
        "enable_utc": True,
    }
