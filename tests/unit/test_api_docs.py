"""/docs and /redoc from vendored assets: every asset they reference is served by the app,
none comes from another host, and the CSP allows exactly the page's inline script."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import httpx
import pytest

from contravento.config import Settings
from contravento.main import create_app
from contravento.web import STATIC_DIR

VENDORED_SHA256 = {
    "swagger-ui-dist-5.35.0/swagger-ui-bundle.js": (
        "e6a898692f2d768e807c3ba4626068a69a2c5dd960dd6c76f3e4d3a3de180af2"
    ),
    "swagger-ui-dist-5.35.0/swagger-ui.css": (
        "5ed08757e53da3e026d6cbecc61fe5d43585c9560b302d534ad56692519a273d"
    ),
    "redoc-2.5.4/redoc.standalone.js": (
        "dcaf76612bc4a3fbcc923a8966dee2f6146a5f32e5ce1b6f02dd60cbbf89500b"
    ),
}


def test_vendored_docs_assets_are_the_pinned_releases_with_their_licences() -> None:
    for path, digest in VENDORED_SHA256.items():
        file = STATIC_DIR / "vendor" / path
        assert hashlib.sha256(file.read_bytes()).hexdigest() == digest, path
        assert digest in (file.parent / "VENDOR.md").read_text(), path
    swagger = STATIC_DIR / "vendor" / "swagger-ui-dist-5.35.0"
    assert "Apache License" in (swagger / "LICENSE").read_text()
    assert "MIT" in (STATIC_DIR / "vendor" / "redoc-2.5.4" / "LICENSE").read_text()


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_only_local_assets(tmp_path: Path, page: str) -> None:
    settings = Settings(
        app_env="development",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        storage_dir=tmp_path / "storage",
        celery_enabled=False,
        reconcile_interval_s=0,
    )
    transport = httpx.ASGITransport(app=create_app(settings))  # no lifespan: routing only
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        r = await client.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        html = r.text
        assert not re.search(r"https?://", html), "no URL of another host on the page"
        refs = re.findall(r'(?:src|href|spec-url)="([^"]+)"', html)
        refs += re.findall(r"url: '([^']+)'", html)  # Swagger UI's spec
        assert any(ref.endswith(".js") for ref in refs) and "/openapi.json" in refs
        for ref in refs:
            assert ref.startswith("/") and not ref.startswith("//"), ref
            asset = await client.get(ref)
            assert asset.status_code == 200, ref
            if ref.endswith(".js"):
                assert "javascript" in asset.headers["content-type"], ref
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "https:" not in csp
        inline = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
        assert len(inline) == (1 if page == "/docs" else 0)
        for script in inline:
            digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in csp
        assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
