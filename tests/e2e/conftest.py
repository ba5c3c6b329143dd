"""Browser end-to-end tests: a real API (uvicorn, SQLite, in-process processing) and Debian's
Chromium driven by Playwright. No browser is ever downloaded: under CI=true a missing
/usr/bin/chromium fails, on a laptop it is a visible skip (`make test` installs it).

Every page records console errors, page errors and requests that leave 127.0.0.1; a test
fails on any of them. OpenStreetMap tiles are answered with a local stub tile (there is no
internet here), so the online path is exercised without the network.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.live import ApiServer, Client, service_env
from tests.support import unavailable

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TILE_HOST = "https://tile.openstreetmap.org/"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _png(rgb: tuple[int, int, int]) -> bytes:
    """A 1x1 PNG of one colour: the stub map tile."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"\x00" + bytes(rgb)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


TILE_PNG = _png((222, 235, 214))


# Every distinct text the file's status badge shows, in order, in window.__estados.
STATUS_RECORDER = """
window.__estados = [];
new MutationObserver(() => {
  const el = document.getElementById("estado-archivo");
  const text = el ? el.textContent : null;
  if (text && window.__estados[window.__estados.length - 1] !== text) window.__estados.push(text);
}).observe(document, { childList: true, subtree: true, characterData: true });
"""


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).is_file():
        unavailable("Chromium", FileNotFoundError(f"{CHROMIUM} (apt-get install -y chromium)"))
    return CHROMIUM


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    tmp = tmp_path_factory.mktemp("web")
    env = service_env(
        database_url=f"sqlite+aiosqlite:///{tmp / 'web.db'}",
        storage_dir=tmp / "storage",
        celery_enabled="false",
        reconcile_interval_s=0,
        log_level="WARNING",
        processing_delay_s=1,  # testing-only pause after the claim: "Procesando" is seen
    )
    server = ApiServer(env, tmp / "api.log")
    yield server
    server.stop(timeout=10)


# Module scope, not session: sync Playwright keeps its event loop marked as running in this
# thread while it is open, which would break every asyncio test collected after this package.
@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@dataclass
class Watched:
    """A browser page plus everything it did wrong."""

    page: Any
    context: Any
    base_url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    tile_requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return (
            [f"console error: {m}" for m in self.console_errors]
            + [f"page error: {m}" for m in self.page_errors]
            + [f"request outside the app: {u}" for u in self.foreign_requests]
        )


@pytest.fixture
def open_page(browser: Any, web_server: ApiServer) -> Iterator[Callable[..., Watched]]:
    opened: list[Watched] = []

    def open_(
        viewport: dict[str, int] = DESKTOP,
        *,
        offline: bool = False,
        token: str | None = None,
        color_scheme: str = "light",
    ) -> Watched:
        context = browser.new_context(
            viewport=viewport,
            locale="es-ES",
            timezone_id="Europe/Madrid",
            accept_downloads=True,
            color_scheme=color_scheme,
        )
        page = context.new_page()
        w = Watched(page, context, web_server.url)
        page.on("console", lambda m: w.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: w.page_errors.append(str(e)))

        def route(r: Any) -> None:
            url = r.request.url
            if url.startswith(TILE_HOST):
                w.tile_requests.append(url)
                r.fulfill(status=200, content_type="image/png", body=TILE_PNG)
            else:
                w.foreign_requests.append(url)
                r.abort()

        context.route(lambda url: not url.startswith(web_server.url), route)
        scripts = [STATUS_RECORDER]
        if offline:  # the browser says it has no network: no tiles are even tried
            scripts.append(
                "Object.defineProperty(Navigator.prototype, 'onLine', {get: () => false});"
            )
        if token:
            scripts.append(f"localStorage.setItem('contravento.token', {token!r});")
        for script in scripts:
            context.add_init_script(script)
        opened.append(w)
        return w

    yield open_
    problems = [p for w in opened for p in w.problems()]
    for w in opened:
        w.context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def api_client(web_server: ApiServer) -> Iterator[Client]:
    client = Client(web_server.url)
    yield client
    client.http.close()
