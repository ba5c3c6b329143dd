"""An archive's FIT members judged by their first bytes (archive.classify, fit.head_kinds):
on every real sample, plain or gzipped, an activity is never skipped and a file declaring
another type (settings, workout, weight, monitoring) always is; one that declares an activity
but recorded nothing (DeveloperData.fit) is left to its job, which fails it."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from contravento.domain.archive import Skip, classify
from contravento.domain.errors import FITNotAnActivityError, GPXError
from contravento.domain.fit import HEAD_BYTES, head_kinds, parse_fit
from contravento.domain.formats import TrackFormat

FIT = sorted((Path(__file__).resolve().parents[1] / "data" / "fit").glob("*.fit"))


def _whole_file_is_activity(data: bytes) -> bool:
    try:
        parse_fit(data, max_points=5_000_000)
    except FITNotAnActivityError:
        return False
    except GPXError:  # damaged, but declared an activity: its job says how
        return True
    return True


@pytest.mark.parametrize("path", FIT, ids=[p.name for p in FIT])
def test_the_head_says_what_the_whole_file_says(path: Path) -> None:
    data = path.read_bytes()
    activity = _whole_file_is_activity(data)
    for member in (data, gzip.compress(data)):
        kind = classify(member[:1024])
        if activity or "activity" in head_kinds(data):
            assert not isinstance(kind, Skip) and kind.format is TrackFormat.FIT, kind
        else:
            assert isinstance(kind, Skip) and kind.code == "MEMBER_NOT_ACTIVITY", kind
            assert "no una actividad" in kind.reason


def test_what_the_first_bytes_do_not_tell_is_left_to_the_job() -> None:
    settings = next(p for p in FIT if p.name == "Settings.fit").read_bytes()
    assert head_kinds(settings) == ["settings"]
    assert head_kinds(settings[:HEAD_BYTES]) == ["settings"]
    for cut in (settings[:14], settings[:20], b"\x0e\x10" + b"\xff" * 40):
        assert head_kinds(cut) == []
    # a header alone (a FIT with no message): FIT, to be judged by its job
    header_only = bytes([14, 0x20, 0x52, 0x08, 0, 0, 0, 0]) + b".FIT" + b"\x00\x00"
    kind = classify(header_only)
    assert not isinstance(kind, Skip) and kind.format is TrackFormat.FIT
