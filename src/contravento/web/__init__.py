"""The Spanish single-page web app, served by the API itself.

`GET /` answers the app shell (index.html) and `/static/...` its assets (plain ES modules, CSS
and the vendored Leaflet). No build step. The app talks to the same JSON API as curl does.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX = STATIC_DIR / "index.html"

# Only our own origin, plus OpenStreetMap tiles as images: no script or style from elsewhere.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # Leaflet positions tiles and panes with style=""
        "img-src 'self' data: blob: https://tile.openstreetmap.org",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    )
)


def install_web(app: FastAPI) -> None:
    """Serve the app at `/` and its assets at `/static` (after the API routes: shadows none)."""

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(
            INDEX,
            media_type="text/html; charset=utf-8",
            headers={
                "Cache-Control": "no-cache",
                "Content-Security-Policy": CONTENT_SECURITY_POLICY,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "same-origin",
            },
        )

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
