"""The web app's files: pinned Leaflet, integrity attributes, references that resolve, and
`/` plus `/static` mounted without shadowing the API or its docs."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import httpx

from contravento.config import Settings
from contravento.main import create_app
from contravento.web import STATIC_DIR

LEAFLET = STATIC_DIR / "vendor" / "leaflet-1.9.4"
LEAFLET_SHA256 = {
    "leaflet.js": "db49d009c841f5ca34a888c96511ae936fd9f5533e90d8b2c4d57596f4e5641a",
    "leaflet.css": "a7837102824184820dfa198d1ebcd109ff6d0ff9a2672a074b9a1b4d147d04c6",
}


def test_vendored_leaflet_is_the_pinned_release_with_its_licence() -> None:
    for name, digest in LEAFLET_SHA256.items():
        assert hashlib.sha256((LEAFLET / name).read_bytes()).hexdigest() == digest, name
        assert digest in (LEAFLET / "VENDOR.md").read_text()
    licence = (LEAFLET / "LICENSE").read_text()
    assert "BSD 2-Clause" in licence and "Volodymyr Agafonkin" in licence


def test_index_integrity_attributes_match_the_files() -> None:
    html = (STATIC_DIR / "index.html").read_text()
    pinned = re.findall(r'(?:src|href)="/static/([^"]+)"\s+(?:defer\s+)?integrity="([^"]+)"', html)
    assert {p for p, _ in pinned} == {f"vendor/leaflet-1.9.4/{n}" for n in LEAFLET_SHA256}
    for path, integrity in pinned:
        digest = base64.b64encode(hashlib.sha384((STATIC_DIR / path).read_bytes()).digest())
        assert integrity == f"sha384-{digest.decode()}", path


def test_every_reference_resolves_and_nothing_comes_from_elsewhere() -> None:
    html = (STATIC_DIR / "index.html").read_text()
    for ref in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert (STATIC_DIR / ref.removeprefix("/static/")).is_file(), ref
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html), "no asset from another origin"
    modules = sorted((STATIC_DIR / "js").rglob("*.js"))
    assert len(modules) > 1
    for module in modules:
        refs = re.findall(r'from "([^"]+)"', module.read_text())
        for ref in refs:
            assert ref.startswith(("./", "../")), f"{module.name}: {ref} (no bare or remote import)"
            assert (module.parent / ref).resolve().is_file(), f"{module.name}: {ref}"


async def test_app_served_at_root_without_shadowing_the_api(tmp_path: Path) -> None:
    settings = Settings(
        app_env="development",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        storage_dir=tmp_path / "storage",
        celery_enabled=False,
        reconcile_interval_s=0,
    )
    transport = httpx.ASGITransport(app=create_app(settings))  # no lifespan: routing only
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        page = await client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert '<html lang="es">' in page.text
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "connect-src 'self'" in csp
        script = await client.get("/static/js/app.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert (await client.get("/static/nada.js")).status_code == 404
        assert (await client.get("/docs")).status_code == 200
        schema = (await client.get("/openapi.json")).json()
        assert "/" not in schema["paths"] and "/trips" in schema["paths"]
        assert (await client.get("/health")).json() == {"status": "ok"}
