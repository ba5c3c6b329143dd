"""One Settings object from environment variables (documented in .env.example and README)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from limits import parse
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-secret-change-me-never-use-in-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    app_env: Literal["development", "production", "staging"] = "development"
    secret_key: str = DEV_SECRET
    access_token_expire_minutes: int = 60 * 24
    # Sign-in and sign-up limits ("<amount>/<period>", the `limits` library's notation); see
    # services/auth_limits.py. Counters live in Redis (REDIS_URL), or in this process when
    # Redis does not answer (at most AUTH_RATE_LIMIT_FALLBACK_KEYS counters).
    auth_rate_limit: str = "5/minute"  # failed sign-ins, per account from one client address
    auth_account_rate_limit: str = "100/hour"  # failed sign-ins, per account from all addresses
    auth_ip_rate_limit: str = "30/minute"  # sign-in and sign-up requests per client address
    auth_known_address_days: int = Field(default=30, ge=1)
    auth_rate_limit_fallback_keys: int = Field(default=10_000, ge=100)
    # proxies whose X-Forwarded-For is believed (uvicorn's FORWARDED_ALLOW_IPS): the client
    # address of the limits above; "*" only when the API is reachable through the proxy alone
    forwarded_allow_ips: str = "127.0.0.1,::1"

    host: str = "127.0.0.1"
    port: int = 8000
    http_keep_alive_s: int = 75  # idle keep-alive connections; above a proxy's 60 s
    log_level: str = "INFO"
    log_json: bool = True

    database_url: str = "sqlite+aiosqlite:///./var/contravento.db"
    db_pool_size: int = 10
    auto_migrate: bool = True
    storage_dir: Path = Path("./var/storage")
    # originals: the local directory (one host) or an S3-protocol bucket (many hosts)
    storage_backend: Literal["local", "s3"] = "local"
    s3_bucket: str = ""
    s3_endpoint_url: str = ""  # empty for AWS; MinIO, R2, Ceph: their URL (path-style then)
    s3_region: str = "us-east-1"
    s3_prefix: str = ""  # keys go under "<prefix>/gpx_files/..."
    s3_connect_timeout_s: float = Field(default=2.0, gt=0)
    s3_read_timeout_s: float = Field(default=10.0, gt=0)
    s3_max_attempts: int = Field(default=3, ge=1)  # per request, the first one included
    s3_part_size_mb: float = Field(default=8.0, ge=5)  # the memory one upload holds, at most
    orphan_max_age_s: float = Field(default=3600.0, gt=0)  # originals no row points to
    # the reconciler service (`contravento reconcile --every`) sweeps orphans this often (0: never)
    orphan_sweep_interval_s: float = Field(default=3600.0, ge=0)

    gpx_max_upload_mb: float = 50.0
    gpx_async_threshold_mb: float = 5.0
    gpx_simplify_tolerance_m: float = 5.0
    gpx_stop_speed_kmh: float = 2.5
    gpx_max_speed_kmh: float = 150.0
    gpx_max_points: int = 1_000_000
    # a gzip-wrapped recording is refused once it inflates past this (gzip bombs)
    gpx_max_inflated_mb: float = 200.0
    max_pending_jobs_per_user: int = 20
    # bulk imports (a .zip uploaded to the same endpoint, expanded by its own job):
    # the upload limit of an archive, members at most, inflated MB in all and per member, and
    # the compression ratio beyond which a member is refused (zip bombs)
    archive_max_upload_mb: float = Field(default=500.0, gt=0)
    archive_max_members: int = Field(default=2000, ge=1)
    archive_max_total_mb: float = Field(default=2048.0, gt=0)
    archive_max_member_mb: float = Field(default=50.0, gt=0)
    archive_max_ratio: float = Field(default=100.0, gt=1)
    upload_idle_timeout_s: float = 60.0  # a client that stops sending mid-upload is dropped
    # in-process jobs the API runs at once; more would fight the event loop for the GIL
    gpx_in_process_concurrency: int = Field(default=1, ge=1)
    # an in-process job waits (at most this long) while upload bodies are streaming in, so a
    # burst of uploads is answered before the API spends its CPU parsing
    gpx_ingest_priority_s: float = Field(default=1.0, ge=0)

    # A running job holds a lease on its row, renewed every LEASE_RENEW_S; a lease not renewed
    # for LEASE_S (its runner died) is reclaimed by the reconciler, every RECONCILE_INTERVAL_S.
    lease_s: float = Field(default=20.0, gt=0)
    lease_renew_s: float = Field(default=5.0, gt=0)
    reconcile_interval_s: float = 5.0
    # a pending job dispatched this long ago and not found in the queue is dispatched again
    redispatch_after_s: float = Field(default=20.0, gt=0)
    # last resort: a pending job behind a queue too long to search is dispatched again after this
    processing_timeout_s: float = 600.0
    max_attempts: int = 4
    db_statement_timeout_s: float = Field(default=30.0, ge=0)  # 0: no limit

    redis_url: str = "redis://127.0.0.1:6379/0"
    # REDIS_URL=sentinel://[:pw@]host:26379;sentinel://host2:26379;.../0 asks those sentinels
    # for the master of this set (redis_conn.py); the sentinels' own password, if they have one
    redis_sentinel_master: str = Field(default="mymaster", min_length=1)
    redis_sentinel_password: str = ""
    celery_enabled: bool = True
    celery_rollout_percentage: int = Field(default=100, ge=0, le=100)
    celery_queue: str = "gpx"
    celery_force: bool = False  # route every file to Celery whatever its size (tests, bench)
    redis_connect_timeout_s: float = 0.5
    redis_circuit_open_s: float = 30.0
    retry_base_s: float = 60.0
    retry_jitter_s: float = 5.0
    task_soft_time_limit_s: int = 270
    task_time_limit_s: int = 300
    worker_db_pool_size: int = 10
    # workers give way to the API for the CPU on shared cores (0 keeps the inherited priority)
    worker_nice: int = Field(default=10, ge=0, le=19)

    flower_basic_auth: str = ""
    flower_cookie_secret: str = ""
    flower_port: int = 5555
    flower_address: str = "127.0.0.1"  # 0.0.0.0 inside a container
    flower_auth_provider: str = ""  # e.g. flower.views.auth.GithubLoginHandler (OAuth2)
    flower_auth: str = ""  # emails allowed with OAuth2, matched whole: .*@contravento.es

    # GET /gpx/{id}/events, the job's state as Server-Sent Events (services/jobs/watch.py)
    sse_heartbeat_s: float = Field(default=15.0, gt=0)  # a ": ping" comment this often
    sse_max_stream_s: float = Field(default=300.0, gt=0)  # then the server ends the stream
    sse_retry_ms: int = Field(default=3000, ge=0)  # the `retry:` the client reconnects after
    # the row is re-read on each notification (PostgreSQL NOTIFY) and, as a safety net, this
    # often; without notifications (SQLite, or the listen connection down) every SSE_POLL_S
    sse_recheck_s: float = Field(default=10.0, gt=0)
    sse_poll_s: float = Field(default=1.0, gt=0)

    ready_timeout_s: float = 2.0  # bound of each /ready and /metrics dependency check
    worker_ping_timeout_s: float = 1.0  # worker broadcast: how long to wait for replies
    worker_ping_cache_s: float = 5.0  # /ready and /metrics share one broadcast per window
    metrics_window_s: float = 900.0  # jobs finished in this window feed the rate metrics
    # GET /metrics and the details of GET /ready need "Authorization: Bearer <token>";
    # required (32+ characters) outside development, optional (open) inside
    metrics_token: str = ""

    @property
    def is_dev(self) -> bool:
        return self.app_env == "development"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.gpx_max_upload_mb * 1024 * 1024)

    @property
    def max_archive_upload_bytes(self) -> int:
        return int(self.archive_max_upload_mb * 1024 * 1024)

    @property
    def async_threshold_bytes(self) -> int:
        return int(self.gpx_async_threshold_mb * 1024 * 1024)

    @model_validator(mode="after")
    def _lease_outlives_renewals(self) -> Settings:
        if self.lease_renew_s * 2 > self.lease_s:
            raise ValueError("LEASE_S must be at least twice LEASE_RENEW_S")
        return self

    @model_validator(mode="after")
    def _redis_url_parses(self) -> Settings:
        from .redis_conn import RedisTarget

        RedisTarget.from_settings(self)  # a malformed sentinel list fails at start, not later
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if not self.is_dev and (self.secret_key == DEV_SECRET or len(self.secret_key) < 32):
            raise ValueError(
                "SECRET_KEY must be set to a random value of at least 32 characters "
                f"when APP_ENV={self.app_env}"
            )
        if not self.is_dev and len(self.metrics_token) < 32:
            raise ValueError(
                "METRICS_TOKEN must be set to a random value of at least 32 characters "
                f"when APP_ENV={self.app_env} (GET /metrics needs it as a bearer token)"
            )
        for name in ("auth_rate_limit", "auth_account_rate_limit", "auth_ip_rate_limit"):
            try:
                parse(getattr(self, name))
            except ValueError as exc:
                raise ValueError(
                    f"{name.upper()} must look like 5/minute or 100 per hour: {exc}"
                ) from exc
        return self

    @model_validator(mode="after")
    def _refuse_s3_without_bucket(self) -> Settings:
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise ValueError("STORAGE_BACKEND=s3 needs S3_BUCKET")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
