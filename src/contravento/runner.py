"""Process-level commands behind the CLI: run the service, a worker beside it, Flower."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import uuid
from typing import Any

import redis

from .config import Settings, get_settings
from .db.migrate import upgrade
from .redis_conn import RedisTarget


def redis_reachable(settings: Settings) -> bool:
    """Redis (under Sentinel: the master the sentinels name) answers a PING."""
    timeout = settings.redis_connect_timeout_s
    try:
        client = RedisTarget.from_settings(settings).client(
            connect_timeout=timeout, timeout=timeout
        )
        with client:
            return bool(client.ping())
    except (redis.RedisError, OSError, ValueError):
        return False


def migrate() -> int:
    upgrade(get_settings().database_url)
    print("Migraciones aplicadas.")
    return 0


def _worker_command(concurrency: int = 2) -> list[str]:
    return [sys.executable, "-m", "contravento.cli", "worker", "-c", str(concurrency)]


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How the API's HTTP server runs, wherever it is started."""
    return {
        "factory": True,
        "log_config": None,
        "proxy_headers": True,  # X-Forwarded-For of FORWARDED_ALLOW_IPS only: the client address
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        # an idle keep-alive connection outlives a proxy's (60 s on most load balancers): the
        # client side closes first, so no request is ever sent on a socket we are closing
        "timeout_keep_alive": settings.http_keep_alive_s,
    }


def run(*, with_worker: bool) -> int:
    import uvicorn

    settings = get_settings()
    if settings.auto_migrate:  # containers run `contravento migrate` once, before the API
        upgrade(settings.database_url)
    worker: subprocess.Popen[bytes] | None = None
    if with_worker and settings.celery_enabled and redis_reachable(settings):
        worker = subprocess.Popen(_worker_command())
        mode = f"Celery + Redis ({RedisTarget.from_settings(settings).display()}): archivos > "
        mode += f"{settings.gpx_async_threshold_mb:g} MB van a un worker (pid {worker.pid})"
    elif settings.celery_enabled and with_worker:
        mode = "solo en proceso (Redis no responde; todo se procesa dentro de la API)"
    else:
        mode = "API sola (CELERY_ENABLED=false o `serve`)"
    base = f"http://{settings.host}:{settings.port}"
    print(f"ContraVento en {base}  ·  documentación: {base}/docs  ·  modo: {mode}", flush=True)
    try:
        uvicorn.run(
            "contravento.main:create_app", host=settings.host, port=settings.port,
            **uvicorn_options(settings),
        )  # fmt: skip
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
    return 0


async def _reconcile(every_s: float | None) -> int:
    """One pass (every_s None) or the reconciler service's loop, on one context: in-process
    jobs it starts run here, to their end, before a SIGTERM lets it exit. The service also
    sweeps orphaned originals every ORPHAN_SWEEP_INTERVAL_S."""
    import signal

    from .services.context import AppContext
    from .services.jobs.dispatch import Dispatcher
    from .services.jobs.reconcile import reconcile
    from .services.orphans import sweep_orphans
    from .worker.app import app as celery_app
    from .worker.publisher import CeleryPublisher

    settings = get_settings()
    ctx = AppContext.create(settings)
    publisher = CeleryPublisher(celery_app, settings) if settings.celery_enabled else None
    dispatcher = Dispatcher(ctx, publisher)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    total, next_sweep = 0, loop.time()
    try:
        while True:
            try:
                total += await reconcile(ctx, dispatcher)
            except Exception as exc:  # the database or Redis may be down a while: keep going
                print(f"reconcile failed: {exc!r}", file=sys.stderr, flush=True)
            sweeping = every_s is not None and settings.orphan_sweep_interval_s > 0
            if sweeping and loop.time() >= next_sweep:
                next_sweep = loop.time() + settings.orphan_sweep_interval_s
                try:
                    await sweep_orphans(ctx, older_than_s=settings.orphan_max_age_s)
                except Exception as exc:  # the store may be away: next time
                    print(f"orphan sweep failed: {exc!r}", file=sys.stderr, flush=True)
            if every_s is None:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)
            if stop.is_set():
                break
        dispatcher.close()
        await dispatcher.drain()
        return total
    finally:
        await ctx.dispose()


def reconcile(every_s: float | None) -> int:
    """`contravento reconcile` (once) or `contravento reconcile --every 5` (the service)."""
    count = asyncio.run(_reconcile(every_s))
    print(f"Trabajos reprogramados: {count}", flush=True)
    return 0


def worker_name() -> str:
    """A node name of its own for every worker: `make run` and `make worker` on one host
    would otherwise both be celery@<host> (Celery's DuplicateNodenameWarning, one worker in
    /ready, processed_by unable to tell them apart)."""
    return f"contravento-{os.getpid()}-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"


def worker(extra: list[str]) -> int:
    """`contravento worker [celery worker options]`: a Celery worker with a unique name."""
    settings = get_settings()
    celery = shutil.which("celery", path=os.path.dirname(sys.executable)) or "celery"
    cmd = [celery, "-A", "contravento.worker.app", "worker", "--loglevel", settings.log_level,
           "-Q", settings.celery_queue]  # fmt: skip
    if not any(arg in ("-n", "--hostname") or arg.startswith("--hostname=") for arg in extra):
        cmd += ["-n", worker_name()]
    os.execv(cmd[0], cmd + extra)
    return 0  # pragma: no cover


LOOPBACK = "127.0.0.1"


def flower_has_login(settings: Settings) -> bool:
    return bool(settings.flower_basic_auth or settings.flower_auth_provider)


def flower_problems(settings: Settings) -> list[str]:
    """Why Flower must not start with these settings (empty: it may)."""
    problems = []
    if not flower_has_login(settings) and settings.flower_address != LOOPBACK:
        problems.append(
            f"FLOWER_ADDRESS={settings.flower_address} sin FLOWER_BASIC_AUTH ni "
            f"FLOWER_AUTH_PROVIDER: Flower sin login solo escucha en {LOOPBACK}."
        )
    if settings.flower_basic_auth and any(
        ":" not in pair.strip(":") for pair in settings.flower_basic_auth.split(",")
    ):
        problems.append("FLOWER_BASIC_AUTH debe ser usuario:contraseña (separados por comas).")
    if settings.flower_auth_provider and not settings.flower_auth:
        problems.append("FLOWER_AUTH_PROVIDER necesita FLOWER_AUTH (correos permitidos).")
    if not settings.is_dev:
        if not flower_has_login(settings):
            problems.append(
                "FLOWER_BASIC_AUTH (usuario:contraseña) o FLOWER_AUTH_PROVIDER es obligatorio "
                "fuera de desarrollo."
            )
        if len(settings.flower_cookie_secret) < 32:
            problems.append(
                "FLOWER_COOKIE_SECRET (32+ caracteres) es obligatorio fuera de desarrollo."
            )
    return problems


def flower_command(settings: Settings) -> list[str]:
    celery = shutil.which("celery", path=os.path.dirname(sys.executable)) or "celery"
    cmd = [
        celery, "-A", "contravento.worker.app", "flower",
        f"--port={settings.flower_port}", f"--address={settings.flower_address}",
    ]  # fmt: skip
    if settings.flower_basic_auth:
        cmd.append(f"--basic-auth={settings.flower_basic_auth}")
    if settings.flower_auth_provider:
        cmd.append(f"--auth-provider={settings.flower_auth_provider}")
        cmd.append(f"--auth={settings.flower_auth}")
    if settings.flower_cookie_secret:
        cmd.append(f"--cookie-secret={settings.flower_cookie_secret}")
    return cmd


def flower_environment(env: dict[str, str]) -> dict[str, str]:
    """Flower reads FLOWER_* variables itself: an empty one would still count (an empty
    FLOWER_BASIC_AUTH is a list of one empty credential, a login nobody can pass). The
    command line carries every setting; empty variables are dropped."""
    return {k: v for k, v in env.items() if not (k.startswith("FLOWER_") and not v.strip())}


_NO_LOGIN_WARNING = """\
**********************************************************************
WARNING: Flower is starting WITHOUT A LOGIN (FLOWER_BASIC_AUTH is empty).
Anyone who can reach http://127.0.0.1:{port} can read every task and
revoke or terminate them. It listens on 127.0.0.1 only. Set
FLOWER_BASIC_AUTH=user:password (and FLOWER_COOKIE_SECRET) for anything
but a developer's own machine.
**********************************************************************"""


def flower() -> int:
    settings = get_settings()
    problems = flower_problems(settings)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 2
    if not flower_has_login(settings):
        print(_NO_LOGIN_WARNING.format(port=settings.flower_port), file=sys.stderr, flush=True)
    cmd = flower_command(settings)
    os.execve(cmd[0], cmd, flower_environment(dict(os.environ)))
    return 0  # pragma: no cover
