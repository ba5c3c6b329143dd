"""axe-core (vendored from the npm registry, tests/e2e/vendor) run on the page under test:
no `serious` or `critical` violation on any screen."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

AXE = Path(__file__).parent / "vendor" / "axe-core-4.10.3" / "axe.min.js"


@cache
def _source() -> str:
    return AXE.read_text()


def violations(page: Any) -> list[dict[str, Any]]:
    """axe's serious and critical violations of the page as it is now (WCAG 2.x A/AA rules).
    Evaluated through the DevTools protocol, so the page's CSP (script-src 'self') holds."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_source() + "\n;undefined")
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const r = await axe.run(document, {
                runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
                resultTypes: ["violations"],
            });
            return r.violations
                .filter((v) => v.impact === "serious" || v.impact === "critical")
                .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                               nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(" ")}: ${n.html.slice(0, 120)} ${n.failureSummary || ""}`) }));
        }"""
    )
    return found


def assert_accessible(page: Any, screen: str) -> None:
    found = violations(page)
    assert not found, f"{screen}: " + json.dumps(found, ensure_ascii=False, indent=1)
