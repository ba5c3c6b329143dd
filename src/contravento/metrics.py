"""Prometheus metrics of the API (GET /metrics).

Two kinds, named so a reader can tell them apart (docs/operations.md, "Metrics"):

- counted by this API process: `contravento_uploads_total{mode,result}`. Sum them across API
  replicas (`sum by (mode, result) (rate(...))`).
- read at scrape time from the database and Redis, the same for every replica (aggregate them
  with `max`, never `sum`): jobs by status, queue depth, live workers, and over the last
  METRICS_WINDOW_S the jobs finished, failed, retried and their processing time. The database
  row records what every worker did, so these include work done in the worker containers.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from .services.health import QueueDepth
from .services.job_stats import DurationHistogram, JobStats

MODES = ("background", "celery")
STATUSES = ("pending", "processing")  # unfinished; finished jobs: the *_window families


class ApiMetrics:
    """The per-app registry (one per create_app, so tests can build many apps)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.uploads = Counter(
            "contravento_uploads",
            "Uploads answered by this API process, by processing mode and result "
            "(accepted: 202 with a new job; duplicate: 200, same bytes; rejected: an error).",
            ["mode", "result"],
            registry=self.registry,
        )
        for mode in MODES:
            for result in ("accepted", "duplicate"):
                self.uploads.labels(mode=mode, result=result)
        self.uploads.labels(mode="none", result="rejected")

    def record_upload(self, *, mode: str, result: str) -> None:
        self.uploads.labels(mode=mode, result=result).inc()


class _Snapshot(Collector):
    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> Any:
        return iter(self.families)


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


def scrape_families(
    *,
    celery_enabled: bool,
    stats: JobStats | None,
    depth: QueueDepth | None,
    workers: int | None,
    redis_up: bool | None,
    queue: str,
) -> list[Any]:
    families: list[Any] = []
    families.append(
        GaugeMetricFamily(
            "contravento_celery_enabled",
            "1 if large files go to Celery (CELERY_ENABLED), 0 if everything runs in-process.",
            value=1 if celery_enabled else 0,
        )
    )
    if stats is not None:
        families.extend(_job_families(stats))
    families.append(
        GaugeMetricFamily(
            "contravento_scrape_database_ok",
            "1 if the job figures could be read from the database during this scrape.",
            value=0 if stats is None else 1,
        )
    )
    if celery_enabled:
        families.append(
            GaugeMetricFamily(
                "contravento_redis_up", "1 if Redis answered PING.", value=1 if redis_up else 0
            )
        )
        if depth is not None:
            q = _gauge(
                "contravento_queue_depth",
                "Messages in the Celery queue: queued (LLEN) and unacked (delivered to a "
                "worker, running or waiting out a retry countdown).",
                ["queue", "state"],
            )
            q.add_metric([queue, "queued"], depth.queued)
            q.add_metric([queue, "unacked"], depth.unacked)
            families.append(q)
        if workers is not None:
            families.append(
                GaugeMetricFamily(
                    "contravento_workers_alive",
                    "Celery workers consuming the queue that answered a broadcast in this scrape.",
                    value=workers,
                )
            )
    return families


def _job_families(stats: JobStats) -> list[Any]:
    window = f"{stats.window_s:g}s"
    jobs = _gauge(
        "contravento_jobs",
        "Unfinished GPX jobs (pending, processing) in the database by mode and status.",
        ["mode", "status"],
    )
    for mode in MODES:
        for status in STATUSES:
            jobs.add_metric([mode, status], stats.by_mode_status.get((mode, status), 0))
    finished = _gauge(
        "contravento_jobs_finished_window",
        "Jobs that finished (completed or failed) within the window, by mode and status.",
        ["mode", "status", "window"],
    )
    for mode in MODES:
        for status in ("completed", "failed"):
            finished.add_metric([mode, status, window], stats.finished.get((mode, status), 0))
    failed = _gauge(
        "contravento_jobs_failed_window",
        "Jobs that failed within the window, by mode and error code.",
        ["mode", "error_code", "window"],
    )
    for (mode, code), count in sorted(stats.failed_by_code.items()):
        failed.add_metric([mode, code, window], count)
    retries = _gauge(
        "contravento_job_retries_window",
        "Attempts beyond the first (retries and redeliveries) of jobs finished within the window.",
        ["mode", "window"],
    )
    for mode in MODES:
        retries.add_metric([mode, window], stats.retries.get(mode, 0))
    waiting = GaugeMetricFamily(
        "contravento_jobs_waiting_retry",
        "Pending jobs that already had an attempt: a retry is scheduled.",
        value=stats.waiting_retry,
    )
    duration = GaugeHistogramMetricFamily(
        "contravento_processing_duration_seconds",
        "Processing time (claim to commit of the last attempt) of jobs completed within "
        "the window, by mode. A gauge histogram: use histogram_quantile() without rate().",
        labels=["mode", "window"],
    )
    for mode in MODES:
        hist = stats.durations.get(mode) or DurationHistogram()
        duration.add_metric([mode, window], hist.cumulative(), gsum_value=hist.total_s)
    return [jobs, finished, failed, retries, waiting, duration]


def render(metrics: ApiMetrics, families: list[Any]) -> bytes:
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_Snapshot(families))
    return generate_latest(metrics.registry) + generate_latest(scrape)
