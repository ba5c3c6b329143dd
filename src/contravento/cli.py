"""`contravento ...` commands: gpx-info, run, serve, migrate [--check], reconcile, worker,
sweep-orphans, backfill-tracks, flower."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .domain import GPXError, TrackSummary, summarize


def _summary_dict(path: str, summary: TrackSummary) -> dict[str, Any]:
    out: dict[str, Any] = {"file": path}
    out.update(summary.stats_document())  # the API's figures: headline values, device block
    out["simplified_point_count"] = summary.simplified.point_count
    out["name"] = summary.track.name
    out["creator"] = summary.track.creator
    out["gpx_version"] = summary.track.gpx_version
    return out


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def _print_text(info: dict[str, Any]) -> None:
    rows = [
        ("Nombre", info["name"]),
        (
            "Puntos",
            f"{info['point_count']} ({info['segment_count']} segmentos, "
            f"{info['simplified_point_count']} tras simplificar)",
        ),
        ("Distancia", _fmt(info["distance_km"], " km", 2)),
        ("Distancia 3D", _fmt(info["distance_3d_km"], " km", 2)),
        (
            "Desnivel +/-",
            f"{_fmt(info['elevation_gain_m'], ' m', 0)} / "
            f"{_fmt(info['elevation_loss_m'], ' m', 0)}",
        ),
        (
            "Altitud mín/máx",
            f"{_fmt(info['min_elevation_m'], ' m', 0)} / {_fmt(info['max_elevation_m'], ' m', 0)}",
        ),
        ("Inicio", info["start_time"] or "—"),
        ("Hora local", f"{info['start_time_local'] or '—'} ({info['timezone'] or '—'})"),
        ("Fin", info["end_time"] or "—"),
        ("Duración", _fmt_duration(info["duration_s"])),
        ("En movimiento", _fmt_duration(info["moving_time_s"])),
        ("Velocidad media", _fmt(info["avg_speed_kmh"], " km/h")),
        ("Velocidad máx", _fmt(info["max_speed_kmh"], " km/h")),
        ("FC media/máx", f"{_fmt(info['avg_hr'], '', 0)} / {_fmt(info['max_hr'], '', 0)}"),
        (
            "Cadencia media/máx",
            f"{_fmt(info['avg_cadence'], '', 0)} / {_fmt(info['max_cadence'], '', 0)}",
        ),
        (
            "Potencia media/máx",
            f"{_fmt(info['avg_power'], ' W', 0)} / {_fmt(info['max_power'], ' W', 0)}",
        ),
        ("Waypoints", info["waypoint_count"]),
        (
            "Puntos descartados",
            f"{info['invalid_point_count']} inválidos, {info['glitch_point_count']} saltos de GPS",
        ),
    ]
    if info["time_quality"] not in ("ok", "absent"):
        rows.append(("Tiempos", f"no fiables ({info['time_quality']}): sin velocidades"))
    print(f"Archivo: {info['file']}")
    for label, value in rows:
        print(f"  {label + ':':<20} {value}")


def gpx_info(files: list[str], as_json: bool) -> int:
    status = 0
    for path in files:
        try:
            data = Path(path).read_bytes()
            info = _summary_dict(path, summarize(data, received_at=datetime.now(UTC)))
        except OSError as exc:
            status = 1
            error = {
                "code": "FILE_UNREADABLE",
                "message": f"No se puede leer el archivo: {exc.strerror}",
            }
            _report_error(path, error, as_json)
            continue
        except GPXError as exc:
            status = 1
            _report_error(path, {"code": exc.code, "message": exc.message}, as_json)
            continue
        if as_json:
            print(json.dumps(info, ensure_ascii=False))
        else:
            _print_text(info)
    return status


def _report_error(path: str, error: dict[str, str], as_json: bool) -> None:
    if as_json:
        print(json.dumps({"file": path, "error": error}, ensure_ascii=False))
    else:
        print(f"{path}: error {error['code']}: {error['message']}", file=sys.stderr)


def migrate_check() -> int:
    """`contravento migrate --check`: 0 when the schema is at head (or newer), 1 otherwise.

    What the Kubernetes pods wait on before they start (deploy/k8s, initContainer)."""
    from sqlalchemy.exc import SQLAlchemyError

    from .config import get_settings
    from .db.migrate import missing_revisions

    try:
        missing = missing_revisions(get_settings().database_url)
    except (OSError, SQLAlchemyError) as exc:
        print(f"No se puede leer la versión del esquema: {exc}", file=sys.stderr)
        return 1
    if missing:
        print(f"Faltan migraciones: {', '.join(missing)}.", file=sys.stderr)
        return 1
    print("Esquema al día.")
    return 0


def sweep_orphans(older_than: float | None) -> int:
    import asyncio

    from .config import get_settings
    from .services.context import AppContext
    from .services.orphans import sweep_orphans as sweep

    settings = get_settings()

    age = settings.orphan_max_age_s if older_than is None else older_than

    async def _go() -> int:
        ctx = AppContext.create(settings)
        try:
            return await sweep(ctx, older_than_s=age)
        finally:
            await ctx.dispose()

    print(f"Originales huérfanos borrados: {asyncio.run(_go())}", flush=True)
    return 0


def backfill_tracks(batch: int) -> int:
    """Convert the per-point rows of files processed before gpx_tracks existed."""
    import asyncio

    from .config import get_settings
    from .db.session import create_engine, session_factory
    from .services.track_backfill import backfill_tracks as backfill

    async def _go() -> str:
        engine = create_engine(get_settings().database_url, null_pool=True)
        try:
            report = await backfill(session_factory(engine), batch=batch)
        finally:
            await engine.dispose()
        return (
            f"Recorridos convertidos: {report.converted} ({report.points} puntos); "
            f"ya convertidos, filas antiguas borradas: {report.cleaned}; "
            f"sin completar, pendientes de su proceso: {report.skipped}."
        )

    print(asyncio.run(_go()), flush=True)
    return 0


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="contravento", description="ContraVento GPX service")
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("gpx-info", help="print the statistics of GPX files")
    info.add_argument("files", nargs="+", metavar="FILE")
    info.add_argument("--json", action="store_true", help="one JSON object per file")
    sub.add_parser("run", help="migrate, start a worker when Redis answers, serve the API")
    sub.add_parser("serve", help="migrate and serve the API only")
    mig = sub.add_parser("migrate", help="apply database migrations")
    mig.add_argument(
        "--check",
        action="store_true",
        help="apply nothing; exit 1 while the database is behind this code's migrations",
    )
    rec = sub.add_parser("reconcile", help="hand out again jobs that nobody holds")
    rec.add_argument(
        "--every", type=float, default=None, metavar="SECONDS", help="keep running, every SECONDS"
    )
    sub.add_parser(
        "worker", help="a Celery worker with a unique name (other arguments go to celery)"
    )
    sweep = sub.add_parser("sweep-orphans", help="delete stored originals that no row points to")
    sweep.add_argument(
        "--older-than", type=float, default=None, help="seconds (default: ORPHAN_MAX_AGE_S)"
    )
    backfill = sub.add_parser(
        "backfill-tracks",
        help="convert per-point rows (gpx_trackpoints) into one gpx_tracks row per file",
    )
    backfill.add_argument(
        "--batch", type=_positive, default=500, metavar="N", help="files per listing query"
    )
    sub.add_parser("flower", help="run Flower against the broker (auth from FLOWER_BASIC_AUTH)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args, extra = build_parser().parse_known_args(argv)
    if extra and args.command != "worker":
        build_parser().parse_args(argv)  # the usual error for unknown arguments
    if args.command == "gpx-info":
        return gpx_info(args.files, args.json)
    if args.command == "migrate" and args.check:
        return migrate_check()
    from . import runner

    if args.command == "run":
        return runner.run(with_worker=True)
    if args.command == "serve":
        return runner.run(with_worker=False)
    if args.command == "migrate":
        return runner.migrate()
    if args.command == "reconcile":
        return runner.reconcile(args.every)
    if args.command == "worker":
        return runner.worker(extra)
    if args.command == "sweep-orphans":
        return sweep_orphans(args.older_than)
    if args.command == "backfill-tracks":
        return backfill_tracks(args.batch)
    if args.command == "flower":
        return runner.flower()
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
