"""Hostile XML payloads, shared by the end-to-end tests and bench/hostile.py."""

from __future__ import annotations

from pathlib import Path

GPX_OPEN = '<gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1">'
PT = '<trkpt lat="40.{i:06d}" lon="-3.7"><time>2024-05-01T10:00:00Z</time></trkpt>'


def billion_laughs() -> bytes:
    ents = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ]
    return (
        f'<?xml version="1.0"?><!DOCTYPE gpx [{"".join(ents)}]>'
        f"{GPX_OPEN}<trk><name>&lol9;</name><trkseg>{PT.format(i=1)}</trkseg></trk></gpx>"
    ).encode()


def quadratic_blowup() -> bytes:
    big = "A" * 50_000
    refs = "&a;" * 5_000
    return (
        f'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "{big}">]>'
        f"{GPX_OPEN}<trk><name>{refs}</name><trkseg>{PT.format(i=1)}</trkseg></trk></gpx>"
    ).encode()


def xxe_file(secret: Path) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY x SYSTEM "file://{secret}">]>'
        f"{GPX_OPEN}<trk><name>&x;</name><trkseg>{PT.format(i=1)}{PT.format(i=2)}</trkseg></trk></gpx>"
    ).encode()


def xxe_http() -> bytes:
    return (
        '<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY x SYSTEM "http://127.0.0.1:9/steal">]>'
        f"{GPX_OPEN}<trk><name>&x;</name><trkseg>{PT.format(i=1)}</trkseg></trk></gpx>"
    ).encode()


def external_dtd() -> bytes:
    return (
        '<?xml version="1.0"?><!DOCTYPE gpx SYSTEM "http://127.0.0.1:9/evil.dtd">'
        f"{GPX_OPEN}<trk><trkseg>{PT.format(i=1)}</trkseg></trk></gpx>"
    ).encode()


def xinclude(secret: Path) -> bytes:
    return (
        f'<?xml version="1.0"?>{GPX_OPEN[:-1]} xmlns:xi="http://www.w3.org/2001/XInclude">'
        f'<trk><name><xi:include href="file://{secret}" parse="text"/></name>'
        f"<trkseg>{PT.format(i=1)}{PT.format(i=2)}</trkseg></trk></gpx>"
    ).encode()


def deep_nesting(depth: int = 10_000) -> bytes:
    return (
        f"{GPX_OPEN}<trk><trkseg>" + "<a>" * depth + "</a>" * depth + "</trkseg></trk></gpx>"
    ).encode()


def single_line(size_mb: float = 45) -> bytes:
    """A valid GPX with every point on one line of ``size_mb`` MB."""
    point = (
        '<trkpt lat="40.{i:06d}" lon="-3.700000"><ele>650.0</ele>'
        "<time>2024-05-{d:02d}T{h:02d}:{m:02d}:{s:02d}Z</time></trkpt>"
    )
    parts = [GPX_OPEN, "<trk><trkseg>"]
    size, i = 0, 0
    target = int(size_mb * 1_000_000)
    while size < target:
        t = i % 86400
        p = point.format(i=i % 1_000_000, d=1 + i // 86400, h=t // 3600, m=t // 60 % 60, s=t % 60)
        parts.append(p)
        size += len(p)
        i += 1
    parts.append("</trkseg></trk></gpx>")
    return "".join(parts).encode()


def many_points(count: int = 2_000_000) -> bytes:
    """2 million minimal points: 52 MB, just under the 50 MiB upload limit."""
    body = "".join(f'<trkpt lat="1.{i % 10}" lon="2"/>' for i in range(count))
    return f"{GPX_OPEN}<trk><trkseg>{body}</trkseg></trk></gpx>".encode()


def nul_bytes() -> bytes:
    return f"{GPX_OPEN}<trk><trkseg>{PT.format(i=1)}\x00\x00{PT.format(i=2)}</trkseg></trk></gpx>".encode()


def invalid_utf8() -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{GPX_OPEN}<trk><name>'.encode()
        + b"\xff\xfe\xc3\x28"
        + f"</name><trkseg>{PT.format(i=1)}</trkseg></trk></gpx>".encode()
    )


def utf16_bom() -> bytes:
    text = (
        '<?xml version="1.0" encoding="UTF-16"?>'
        f"{GPX_OPEN}<trk><name>Ruta ñandú</name><trkseg>{PT.format(i=1)}{PT.format(i=2)}</trkseg></trk></gpx>"
    )
    return b"\xff\xfe" + text.encode("utf-16-le")
