"""Hostile and broken inputs: every one is refused with a typed error, a code and Spanish text."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from gpx_factory import NS11, gpx, line

from contravento.domain import (
    ALL_GPX_ERRORS,
    GPXError,
    GPXMalformedError,
    GPXNotGPXError,
    GPXUnsafeXMLError,
    parse_gpx,
    summarize,
)

GOOD = gpx([line(30)])
POINT = '<trk><trkseg><trkpt lat="43.0" lon="-2.0"><name>{}</name></trkpt></trkseg></trk>'


def _gpx_with_doctype(doctype: str, name: str) -> bytes:
    return (
        f'<?xml version="1.0"?>\n{doctype}\n<gpx version="1.1" xmlns="{NS11}">'
        + POINT.format(name)
        + "</gpx>"
    ).encode()


def _refused(data: bytes, error: type[GPXError]) -> GPXError:
    started = time.perf_counter()
    with pytest.raises(error) as info:
        parse_gpx(data)
    assert time.perf_counter() - started < 2.0  # refused quickly, not after expanding
    return info.value


BILLION_LAUGHS = "\n".join(
    ["<!DOCTYPE gpx [", '  <!ENTITY lol "lol">']
    + [
        f'  <!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    ]
    + ["]>"]
)


def test_billion_laughs() -> None:
    err = _refused(_gpx_with_doctype(BILLION_LAUGHS, "&lol9;"), GPXUnsafeXMLError)
    assert err.code == "GPX_UNSAFE_XML"


def test_classic_billion_laughs_with_its_own_root() -> None:
    doc = BILLION_LAUGHS.replace("DOCTYPE gpx", "DOCTYPE lolz") + "\n<lolz>&lol9;</lolz>"
    _refused(doc.encode(), GPXUnsafeXMLError)


def test_quadratic_blowup() -> None:
    doctype = f'<!DOCTYPE gpx [<!ENTITY a "{"x" * 50_000}">]>'
    _refused(_gpx_with_doctype(doctype, "&a;" * 50_000), GPXUnsafeXMLError)


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE gpx [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE gpx [<!ENTITY xxe SYSTEM "/etc/passwd">]>',
        '<!DOCTYPE gpx [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
        '<!DOCTYPE gpx [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/evil">]>',
    ],
)
def test_external_entity_to_a_local_file(doctype: str) -> None:
    data = _gpx_with_doctype(doctype, "&xxe;")
    with pytest.raises(GPXError) as info:
        summarize(data)
    err = info.value
    assert isinstance(err, GPXUnsafeXMLError)
    passwd = Path("/etc/passwd").read_text() if Path("/etc/passwd").exists() else "root:x:0:0"
    first_line = passwd.splitlines()[0]
    for text in (str(err), err.message, err.detail or "", repr(err)):
        assert first_line not in text
        assert "root:" not in text


def test_external_dtd() -> None:
    doctype = '<!DOCTYPE gpx SYSTEM "http://www.topografix.com/GPX/1/1/gpx.dtd">'
    _refused(_gpx_with_doctype(doctype, "x"), GPXUnsafeXMLError)
    doctype = '<!DOCTYPE gpx PUBLIC "-//X//DTD GPX//EN" "file:///etc/passwd">'
    _refused(_gpx_with_doctype(doctype, "x"), GPXUnsafeXMLError)


def test_even_a_harmless_doctype_on_gpx_is_refused() -> None:
    _refused(_gpx_with_doctype("<!DOCTYPE gpx>", "x"), GPXUnsafeXMLError)


@pytest.mark.parametrize("where", ["root", "extensions"])
def test_ten_thousand_deep_nesting(where: str) -> None:
    deep = "<a>" * 10_000 + "</a>" * 10_000
    if where == "root":
        body = f'<gpx version="1.1" xmlns="{NS11}">{deep}{POINT.format("x")}</gpx>'
    else:
        body = (
            f'<gpx version="1.1" xmlns="{NS11}"><trk><trkseg><trkpt lat="1" lon="1">'
            f"<extensions>{deep}</extensions></trkpt></trkseg></trk></gpx>"
        )
    err = _refused(body.encode(), GPXUnsafeXMLError)
    assert err.code == "GPX_UNSAFE_XML"


@pytest.mark.parametrize(
    "data",
    [b"", b"   \n\t", b"\xef\xbb\xbf", b"\x00" * 64],
    ids=["zero-bytes", "whitespace", "bom-only", "nul-bytes"],
)
def test_empty_inputs(data: bytes) -> None:
    assert _refused(data, GPXMalformedError).code == "GPX_MALFORMED"


def test_binary_garbage() -> None:
    rng = random.Random(20240501)
    for _ in range(20):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4096)))
        with pytest.raises(GPXError):
            parse_gpx(data)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    _refused(png, GPXMalformedError)
    _refused(b"PK\x03\x04" + bytes(200), GPXMalformedError)  # a zip / .fit.gz-ish upload


@pytest.mark.parametrize("cut", [1, 10, 100, len(GOOD) // 2, len(GOOD) - 10, len(GOOD) - 2])
def test_truncated(cut: int) -> None:
    assert _refused(GOOD[:cut], GPXMalformedError).code == "GPX_MALFORMED"


def test_trailing_garbage_is_malformed() -> None:
    _refused(GOOD + b"<gpx>", GPXMalformedError)


@pytest.mark.parametrize(
    "data",
    [
        b"<html><head><title>Strava</title></head><body><p>Log in</p></body></html>",
        b"<!DOCTYPE html>\n<html><head><title>Login</title></head><body></body></html>",
        b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
        b'"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
        b'<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
    ],
    ids=["html", "html5-doctype", "xhtml-doctype"],
)
def test_html_is_not_gpx(data: bytes) -> None:
    assert _refused(data, GPXNotGPXError).code == "GPX_NOT_GPX"


def test_kml_is_not_gpx() -> None:
    kml = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><LineString>'
        b"<coordinates>-2.0,43.0,0 -2.1,43.1,0</coordinates></LineString></Placemark>"
        b"</Document></kml>"
    )
    _refused(kml, GPXNotGPXError)


def test_tcx_is_not_gpx() -> None:
    tcx = (
        b'<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/'
        b'TrainingCenterDatabase/v2"><Activities/></TrainingCenterDatabase>'
    )
    _refused(tcx, GPXNotGPXError)


def test_undefined_entity_is_refused() -> None:
    with pytest.raises(GPXError):
        parse_gpx(GOOD.replace(b"<trkseg>", b"<trkseg>&nbsp;", 1))


@pytest.mark.parametrize("error", ALL_GPX_ERRORS)
def test_every_error_has_a_stable_code_and_a_spanish_message(error: type[GPXError]) -> None:
    assert error.code.startswith(("GPX_", "GZIP_", "FILE_", "FIT_", "TCX_"))
    assert error.code.isupper()
    assert error.code != GPXError.code
    msg = error.message
    assert msg.endswith(".") and len(msg) > 20
    spanish = ("archivo", "GPX", "puntos", "XML", "actividad")
    assert any(word in msg for word in spanish)
    assert not any(word in msg.lower() for word in (" the ", " file ", " invalid "))
    err = error("technical detail")
    assert err.detail == "technical detail"
    assert err.code == error.code
    assert isinstance(err, GPXError)


def test_codes_are_distinct() -> None:
    codes = [e.code for e in ALL_GPX_ERRORS]
    assert len(set(codes)) == len(codes)
    assert set(codes) >= {
        "GPX_MALFORMED",
        "GPX_NOT_GPX",
        "GPX_NO_TRACKPOINTS",
        "GPX_INVALID_COORDINATES",
        "GPX_UNSAFE_XML",
        "GPX_TOO_MANY_POINTS",
    }


def test_too_many_points_is_refused_early() -> None:
    from contravento.domain import GPXTooManyPointsError

    points = "".join(f'<trkpt lat="1.{i:05d}" lon="2"/>' for i in range(1200))
    data = f'<gpx version="1.1"><trk><trkseg>{points}</trkseg></trk></gpx>'.encode()
    assert parse_gpx(data, max_points=1200).point_count == 1200
    with pytest.raises(GPXTooManyPointsError) as info:
        parse_gpx(data, max_points=1000)
    assert info.value.code == "GPX_TOO_MANY_POINTS" and "millón" in info.value.message
