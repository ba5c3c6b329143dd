"""Job figures read from the database, the one place both API and workers write to.

Workers are separate processes (other containers in production): counting their retries and
failures in process memory would show only what one API replica did itself. The `gpx_files`
rows record, for every job, its mode, status, attempts, error code and start/finish times, so
the API can report what every worker did, after restarts too, by reading them at scrape time:

- unfinished jobs (pending, processing) by mode and status now (a gauge);
- over the last METRICS_WINDOW_S: jobs finished by mode/status/error code, retries spent on
  them (attempts beyond the first) and the distribution of their processing time.

A scrape never reads the whole table: the unfinished jobs are found through the
(processing_status, updated_at) index, the finished ones by a range of the finished_at index,
at most _WINDOW_ROW_LIMIT rows; completed and failed jobs of all time are not counted (their
number only grows; the window figures carry the rates). tests/integration/test_scrape_plans.py
checks the plans on PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, select

from ..db.models import GPXFile
from ..db.types import utcnow
from .context import AppContext
from .jobs.machine import ACTIVE, FINISHED, JobStatus

DURATION_BUCKETS_S: tuple[float, ...] = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_WINDOW_ROW_LIMIT = 100_000


@dataclass
class DurationHistogram:
    buckets: list[int] = field(default_factory=lambda: [0] * (len(DURATION_BUCKETS_S) + 1))
    total_s: float = 0.0

    def observe(self, seconds: float) -> None:
        for i, bound in enumerate(DURATION_BUCKETS_S):
            if seconds <= bound:
                self.buckets[i] += 1
                break
        else:
            self.buckets[-1] += 1
        self.total_s += seconds

    def cumulative(self) -> list[tuple[str, int]]:
        out, running = [], 0
        for bound, count in zip((*DURATION_BUCKETS_S, float("inf")), self.buckets, strict=True):
            running += count
            out.append(("+Inf" if bound == float("inf") else f"{bound:g}", running))
        return out


@dataclass
class JobStats:
    by_mode_status: dict[tuple[str, str], int]  # unfinished jobs only (ACTIVE)
    window_s: float
    finished: Counter[tuple[str, str]]  # (mode, status) finished in the window
    failed_by_code: Counter[tuple[str, str]]  # (mode, error_code) failed in the window
    retries: Counter[str]  # mode -> attempts beyond the first, jobs finished in the window
    durations: dict[str, DurationHistogram]  # mode -> completed jobs in the window
    waiting_retry: int  # pending rows that already had an attempt (a retry is scheduled)


def active_counts() -> Select[str, str, int, Any]:
    """Unfinished jobs by mode and status, and how many of the pending ones wait a retry."""
    waiting = case(
        ((GPXFile.processing_status == JobStatus.PENDING) & (GPXFile.attempts > 0), 1), else_=0
    )
    return (
        select(
            GPXFile.processing_mode,
            GPXFile.processing_status,
            func.count(),
            func.coalesce(func.sum(waiting), 0),
        )
        .where(GPXFile.processing_status.in_(ACTIVE))
        .group_by(GPXFile.processing_mode, GPXFile.processing_status)
    )


def finished_since(
    cutoff: datetime,
) -> Select[str, str, str | None, int, datetime | None, datetime | None]:
    return (
        select(
            GPXFile.processing_mode,
            GPXFile.processing_status,
            GPXFile.error_code,
            GPXFile.attempts,
            GPXFile.started_at,
            GPXFile.finished_at,
        )
        .where(GPXFile.finished_at >= cutoff, GPXFile.processing_status.in_(FINISHED))
        .limit(_WINDOW_ROW_LIMIT)
    )


async def job_stats(ctx: AppContext, *, window_s: float) -> JobStats:
    cutoff = utcnow() - timedelta(seconds=window_s)
    async with ctx.sessions() as session:
        by_mode_status: dict[tuple[str, str], int] = {}
        waiting = 0
        for mode, status, count, retrying in await session.execute(active_counts()):
            by_mode_status[(mode, status)] = int(count)
            waiting += int(retrying)
        rows = await session.execute(finished_since(cutoff))
        stats = JobStats(
            by_mode_status=by_mode_status,
            window_s=window_s,
            finished=Counter(),
            failed_by_code=Counter(),
            retries=Counter(),
            durations={},
            waiting_retry=waiting,
        )
        for mode, status, code, attempts, started, finished in rows:
            stats.finished[(mode, status)] += 1
            stats.retries[mode] += max(int(attempts or 0) - 1, 0)
            if status == JobStatus.FAILED:
                stats.failed_by_code[(mode, code or "UNKNOWN")] += 1
            elif started is not None and finished is not None:
                hist = stats.durations.setdefault(mode, DurationHistogram())
                hist.observe(max((finished - started).total_seconds(), 0.0))
    return stats
