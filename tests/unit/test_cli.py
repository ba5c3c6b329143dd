"""`contravento gpx-info`: text, --json with the API's field names, Spanish errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gpx_factory import API_STAT_FIELDS, gpx, line

from contravento.cli import main
from contravento.domain import GPXNotGPXError

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
STRAVA = str(SAMPLES / "strava-ride-power-hr-cad.gpx")


def test_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gpx-info", STRAVA]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Archivo: {STRAVA}")
    for label in ("Distancia:", "Desnivel +/-:", "En movimiento:", "Velocidad máx:", "Potencia"):
        assert label in out
    assert "5.74 km" in out or "5.75 km" in out


def test_json_output_field_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gpx-info", "--json", STRAVA]) == 0
    info = json.loads(capsys.readouterr().out)
    for key in ("file", *API_STAT_FIELDS, "simplified_point_count", "max_power"):
        assert key in info, key
    assert info["file"] == STRAVA
    assert info["point_count"] == 314
    assert info["max_power"] == 478
    assert info["start_time"].endswith("Z")
    assert 2 <= info["simplified_point_count"] < info["point_count"]


def test_json_one_object_per_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "bueno.gpx"
    good.write_bytes(gpx([line(50, dt_s=None, ele0=None)]))
    bad = tmp_path / "pagina.gpx"
    bad.write_bytes(b"<html><body>no</body></html>")
    assert main(["gpx-info", "--json", str(good), str(bad)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(x) for x in lines)
    assert first["moving_time_s"] is None and first["elevation_gain_m"] is None
    assert second == {
        "file": str(bad),
        "error": {"code": "GPX_NOT_GPX", "message": GPXNotGPXError.message},
    }


def test_bad_file_text_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "roto.gpx"
    bad.write_bytes(gpx([line(20)])[:100])
    assert main(["gpx-info", str(bad)]) != 0
    captured = capsys.readouterr()
    assert "GPX_MALFORMED" in captured.err
    assert "no es un XML bien formado" in captured.err
    assert captured.out == ""


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gpx-info", "--json", str(tmp_path / "no-existe.gpx")]) == 1
    info = json.loads(capsys.readouterr().out)
    assert info["error"]["code"] == "FILE_UNREADABLE"
    assert info["error"]["message"].startswith("No se puede leer")


def test_good_and_bad_files_still_prints_the_good_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "vacio.gpx"
    bad.write_bytes(b"")
    assert main(["gpx-info", STRAVA, str(bad)]) == 1
    captured = capsys.readouterr()
    assert "Archivo:" in captured.out
    assert "GPX_MALFORMED" in captured.err


def test_requires_a_file() -> None:
    with pytest.raises(SystemExit) as info:
        main(["gpx-info"])
    assert info.value.code != 0
