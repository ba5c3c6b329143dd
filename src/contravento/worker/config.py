"""Celery configuration derived from Settings (documented in docs/operations.md)."""

from __future__ import annotations

from typing import Any

from ..config import Settings
from ..redis_conn import RedisTarget
from ..services.jobs.machine import RetryPolicy


def visibility_timeout_s(settings: Settings) -> int:
    """Longer than the longest retry countdown plus the hard time limit, with a margin.

    Redis redelivers a message not acked within this window; a shorter value would deliver a
    task that is merely waiting out its retry countdown a second time. A worker that died is
    not waited for: its job's lease expires and the reconciler hands the job out again.
    """
    return int(RetryPolicy(settings).longest_delay_s + settings.task_time_limit_s + 600)


def celery_config(settings: Settings) -> dict[str, Any]:
    redis = RedisTarget.from_settings(settings)
    socket_timeout = max(settings.redis_connect_timeout_s, 5.0)
    # under Sentinel: master_name and bounded connections to the sentinels; {} for redis://
    sentinel = redis.transport_options(
        connect_timeout=settings.redis_connect_timeout_s, timeout=socket_timeout
    )
    transport = {
        "visibility_timeout": visibility_timeout_s(settings),
        "socket_connect_timeout": settings.redis_connect_timeout_s,
        "socket_timeout": socket_timeout,
        "retry_on_timeout": True,
        "max_connections": 20,
        **sentinel,
    }
    return {
        "broker_url": redis.celery_url,
        "result_backend": redis.celery_url,
        "broker_transport_options": transport,
        "result_backend_transport_options": {
            "visibility_timeout": transport["visibility_timeout"],
            **sentinel,
        },
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
        # SIGTERM (a deploy, a scale-in) is a warm shutdown: no new tasks, the running one
        # finishes (terminationGracePeriodSeconds exceeds TASK_TIME_LIMIT_S). If a cold
        # shutdown comes anyway (SIGQUIT, a second signal), it is first a soft one: the task
        # gets this long to finish, then its message goes back to the queue (acks late).
        "worker_soft_shutdown_timeout": float(settings.task_time_limit_s),
        "worker_enable_soft_shutdown_on_idle": True,
        "worker_hijack_root_logger": False,
        "timezone": "UTC",
        "enable_utc": True,
    }
