"""Every real export in ../shared/gpx-samples parses and yields plausible statistics."""

from __future__ import annotations

from pathlib import Path

import pytest

from contravento.domain import summarize

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
FILES = sorted(SAMPLES.glob("*.gpx"))


def test_samples_are_present() -> None:
    assert len(FILES) == 14, SAMPLES


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_sample_summarizes(path: Path) -> None:
    summary = summarize(path.read_bytes())
    stats = summary.stats
    assert stats.point_count > 0
    assert 0 < stats.distance_km < 200
    assert 2 <= summary.simplified.point_count <= stats.point_count
