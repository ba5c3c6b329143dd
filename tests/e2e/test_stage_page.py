"""A stage in a real browser: live states over Server-Sent Events (status polling blocked),
the polling fallback (the stream blocked), the profile's axes, the figures' craft (ride-local
start, unusable times, indoor rides, the device's totals), loops, the dark scheme, a phone."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import PHONE, Watched
from tests.e2e.rides import climb, loop
from tests.e2e.test_web import wait_status
from tests.live import Client

NBSP = "\u00a0"
MINUS = "\u2212"


def open_trip(open_page: Any, api_client: Client, **kw: Any) -> tuple[Watched, dict[str, str], str]:
    headers = api_client.signup()
    trip_id = api_client.trip(headers)
    w: Watched = open_page(token=headers["Authorization"].removeprefix("Bearer "), **kw)
    w.page.goto(f"{w.base_url}/#/viajes/{trip_id}")
    w.page.get_by_role("heading", name="Viaje", level=1).wait_for()
    return w, headers, trip_id


def upload(page: Any, tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    page.set_input_files("#gpx-input", str(path))


def test_states_pushed_over_sse_with_polling_blocked(
    open_page: Any, api_client: Client, tmp_path: Path
) -> None:
    w, _, _ = open_trip(open_page, api_client)
    page = w.page
    polled: list[str] = []
    streamed: list[str] = []

    def no_polling(route: Any) -> None:
        polled.append(route.request.url)
        route.abort()

    page.route(re.compile(r".*/gpx/[^/]+/status$"), no_polling)
    page.on("request", lambda r: streamed.append(r.url) if r.url.endswith("/events") else None)
    upload(page, tmp_path, "sse.gpx", climb(3))
    wait_status(w, "Completado")
    seen = page.evaluate("window.__estados")
    assert seen[-2:] == ["Procesando", "Completado"], seen
    assert page.get_attribute("#detalle", "data-live") == "sse"
    assert polled == []  # every state came over the stream
    assert len(streamed) >= 1
    page.locator('#cifras [data-stat="distance_km"]').wait_for()


def test_retrying_then_reconnect_with_last_event_id(
    open_page: Any, api_client: Client, tmp_path: Path
) -> None:
    """A stream that ends after `retrying` (the server's bounded lifetime) is opened again
    after its `retry:`, naming the last event it saw; the states it then sends are shown."""
    w, _, _ = open_trip(open_page, api_client)
    page = w.page
    asked: list[str | None] = []

    def stream(route: Any) -> None:
        asked.append(route.request.headers.get("last-event-id"))
        status_url = route.request.url.removesuffix("/events") + "/status"
        real = route.fetch(url=status_url).json()
        while len(asked) > 1 and real["processing_status"] != "completed":
            time.sleep(0.1)  # the second stream tells the real outcome, once there is one
            real = route.fetch(url=status_url).json()
        if len(asked) == 1:
            body = {**real, "processing_status": "pending", "attempts": 1, "stats": None}
            body["next_attempt_at"] = "2030-01-01T10:00:00Z"
            text = f"retry: 100\n\nevent: retrying\nid: 41\ndata: {json.dumps(body)}\n\n"
        else:
            text = f"event: completed\nid: 42\ndata: {json.dumps(real)}\n\n"
        route.fulfill(status=200, content_type="text/event-stream", body=text)

    page.route(re.compile(r".*/gpx/[^/]+/events$"), stream)
    upload(page, tmp_path, "reintento.gpx", climb(3))
    wait_status(w, "Completado")
    seen = page.evaluate("window.__estados")
    assert seen[-2:] == ["Reintentando", "Completado"], seen
    assert asked[:2] == [None, "41"]
    assert page.get_attribute("#detalle", "data-live") == "sse"


def test_polling_fallback_when_the_stream_is_blocked(
    open_page: Any, api_client: Client, tmp_path: Path
) -> None:
    w, _, _ = open_trip(open_page, api_client)
    page = w.page
    blocked: list[str] = []

    def no_stream(route: Any) -> None:
        blocked.append(route.request.url)
        route.abort()

    page.route(re.compile(r".*/gpx/[^/]+/events$"), no_stream)
    upload(page, tmp_path, "sondeo.gpx", climb(3))
    wait_status(w, "Completado")
    seen = page.evaluate("window.__estados")
    assert seen[-2:] == ["Procesando", "Completado"], seen
    assert page.get_attribute("#detalle", "data-live") == "polling"
    assert blocked, "the page never tried the stream"
    # the blocked stream's own console line is expected; nothing else may be
    w.console_errors[:] = [m for m in w.console_errors if "net::ERR_FAILED" not in m]


def test_profile_ticks_on_a_two_and_a_half_km_step(
    open_page: Any, api_client: Client, tmp_path: Path
) -> None:
    w, _, _ = open_trip(open_page, api_client)
    page = w.page
    # 11 km from 9 m below sea level to 325 m, with heart rate and cadence
    upload(
        page,
        tmp_path,
        "subida-al-puerto-de-la-pena-negra-desde-piedrahita.gpx",
        climb(11, low=-9, hr=True),
    )
    wait_status(w, "Completado")
    svg = page.locator("#perfil svg")
    svg.wait_for()
    assert svg.get_attribute("data-x-step") == "2.5"
    xs = page.eval_on_selector_all("#perfil .perfil-eje-x", "els => els.map((e) => e.textContent)")
    assert xs == [f"{v}{NBSP}km" for v in ("0", "2,5", "5", "7,5", "10")]
    ys = page.eval_on_selector_all("#perfil .perfil-eje-y", "els => els.map((e) => e.textContent)")
    assert len(ys) >= 5, ys  # enough height labels to read a 334 m climb
    assert all(y.endswith(f"{NBSP}m") for y in ys)
    assert not any(y.startswith(("-", MINUS + "0")) for y in ys), ys
    # one minus sign throughout: the lowest point is "−9 m", never a hyphen
    low = page.locator('#cifras [data-stat="min_elevation_m"] dd').inner_text()
    assert re.fullmatch(rf"{MINUS}[1-9]{NBSP}m", low), low  # smoothed like the gain: −9 or so
    assert not re.search(r"(?<![\w])-\d", page.inner_text("main"))

    # hovering reads distance, height and slope (3,0 %: 334 m over 11 km)
    svg.scroll_into_view_if_needed()
    box = svg.bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    text = page.inner_text("#perfil .perfil-lectura")
    assert re.fullmatch(rf"km \d+,\d\d · \d+{NBSP}m · pendiente 3,0{NBSP}%", text), text
    page.locator("#mapa path.cv-cursor").wait_for()

    # heart rate and cadence as optional lines
    assert page.locator("#perfil .perfil-extra").count() == 0
    assert page.locator("#perfil-power").count() == 0  # no power in this file
    page.get_by_label("Pulso").check()
    page.locator('#perfil .perfil-extra[data-serie="hr"] polyline').wait_for()
    svg.scroll_into_view_if_needed()
    box = svg.bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    assert re.search(rf"· \d+{NBSP}ppm$", page.inner_text("#perfil .perfil-lectura"))
    assert_accessible(page, "profile with heart rate")


def test_loop_shows_both_markers(open_page: Any, api_client: Client, tmp_path: Path) -> None:
    w, _, _ = open_trip(open_page, api_client)
    page = w.page
    upload(page, tmp_path, "vuelta.gpx", loop())
    wait_status(w, "Completado")
    page.locator("#mapa path.cv-llegada").wait_for()
    assert page.get_attribute("#mapa", "data-loop") == "true"
    page.locator("#perfil svg").wait_for()  # the layout settled: the map refits no more
    page.wait_for_timeout(300)
    # both boxes in one frame (a refit between two separate reads would move one of them)
    start, end = page.evaluate(
        """() => ["cv-salida", "cv-llegada"].map((c) => {
            const r = document.querySelector(`#mapa path.${c}`).getBoundingClientRect();
            return { x: r.x, y: r.y, width: r.width, height: r.height };
        })"""
    )
    # the end is a wider ring under the start: it shows around it on all sides
    assert end["width"] > start["width"] + 6
    assert end["x"] < start["x"] and end["x"] + end["width"] > start["x"] + start["width"]
    assert end["y"] < start["y"] and end["y"] + end["height"] > start["y"] + start["height"]


def _serve_status(page: Any, stats_patch: dict[str, Any]) -> None:
    """The events stream answered with the real status body, its stats patched (fields other
    parts of the service add: the ride's zone, time quality, indoor, the device's totals)."""
    real: dict[str, Any] = {}

    def handler(route: Any) -> None:
        if not real:
            resp = route.fetch(url=route.request.url.removesuffix("/events") + "/status")
            real.update(resp.json())
        body = {**real, "stats": {**(real.get("stats") or {}), **stats_patch}}
        route.fulfill(
            status=200,
            content_type="text/event-stream",
            body=f"event: completed\nid: 1\ndata: {json.dumps(body)}\n\n",
        )

    page.route(re.compile(r".*/gpx/[^/]+/events$"), handler)


def test_figures_ride_local_time_unusable_times_indoor_device(
    open_page: Any, api_client: Client, tmp_path: Path
) -> None:
    w, _, trip_id = open_trip(open_page, api_client)
    page = w.page
    upload(page, tmp_path, "manana.gpx", climb(4, start=datetime(2024, 6, 1, 11, 5, tzinfo=UTC)))
    wait_status(w, "Completado")
    file_id = page.url.rsplit("/", 1)[-1]
    stage_url = f"{w.base_url}/#/viajes/{trip_id}/archivos/{file_id}"

    # the service found the ride's zone from its start (the ride is in Spain: CEST, UTC+2)
    assert page.inner_text('#cifras [data-stat="start_time"] dd') == "1 jun 2024, 13:05"

    def reopen(patch: dict[str, Any]) -> None:
        page.unroute(re.compile(r".*/gpx/[^/]+/events$"))
        _serve_status(page, patch)
        page.goto(f"{w.base_url}/#/viajes/{trip_id}")
        page.locator("#mapa-viaje").wait_for()
        page.goto(stage_url)
        wait_status(w, "Completado")
        page.locator("#cifras").wait_for()

    # no zone known (a file processed before zones existed): the start in UTC, and said so
    reopen({"timezone": None, "start_time_local": None})
    assert page.inner_text('#cifras [data-stat="start_time"] dd') == f"1 jun 2024, 11:05{NBSP}UTC"

    # the ride's own zone (the browser is in Madrid; the ride was in New York)
    device = {"distance_km": 4.02, "timer_time_s": 1000, "ascent_m": 331, "max_speed_kmh": 31.5}
    reopen({"timezone": "America/New_York", "time_quality": "ok", "device": device})
    assert page.inner_text('#cifras [data-stat="start_time"] dd') == "1 jun 2024, 07:05"
    block = page.locator("#cifras-dispositivo")
    assert block.locator('[data-stat="distance_km"] dd').inner_text() == f"4,02{NBSP}km"
    assert block.locator('[data-stat="timer_time_s"] dd').inner_text() == f"16{NBSP}min 40{NBSP}s"
    assert block.locator('[data-stat="ascent_m"] dd').inner_text() == f"+331{NBSP}m"
    assert page.locator("#aviso-tiempos").count() == 0
    # the figures beside the map: no value wraps ("58 min 31 s" never leaves the "s" alone)
    for dd in page.locator("#cifras .stat dd").all():
        box = dd.bounding_box()
        line = float(dd.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
        assert box and box["height"] < line * 1.5, dd.inner_text()
    assert_accessible(page, "figures with device totals")

    # times that cannot be trusted: a notice, and no times or speeds
    reopen({"time_quality": "constant"})
    page.locator("#aviso-tiempos").get_by_text(
        "Los tiempos de este archivo no son fiables"
    ).wait_for()
    for key in ("moving_time_s", "duration_s", "avg_speed_kmh", "start_time"):
        assert page.locator(f'#cifras [data-stat="{key}"]').count() == 0, key
    assert page.locator('#cifras [data-stat="distance_km"]').count() == 1

    # an indoor ride: no map, and the page says why
    reopen({"indoor": True})
    page.locator("#sin-mapa").wait_for()
    assert "interior" in page.inner_text("#sin-mapa") and "GPS" in page.inner_text("#sin-mapa")
    assert page.locator("#mapa").count() == 0
    assert_accessible(page, "indoor ride")


def test_phone_layout_and_dark_scheme(open_page: Any, api_client: Client, tmp_path: Path) -> None:
    w, _, _ = open_trip(open_page, api_client, viewport=PHONE, color_scheme="dark")
    page = w.page
    upload(
        page,
        tmp_path,
        "2024-06-01_garmin-edge-530_vuelta-larga-por-la-sierra-de-gredos.gpx",
        climb(6),
    )
    wait_status(w, "Completado")
    page.locator("#mapa path.cv-ruta").wait_for(state="attached")

    # one-row header: the brand and the menu side by side
    brand = page.locator(".brand").bounding_box()
    nav = page.locator("#nav").bounding_box()
    bar = page.locator(".topbar").bounding_box()
    assert brand and nav and bar
    assert bar["height"] < 64, bar
    assert abs((brand["y"] + brand["height"] / 2) - (nav["y"] + nav["height"] / 2)) < 8
    # the map first after the title: above the totals and the upload zone
    title = page.locator("h1").bounding_box()
    map_box = page.locator("#mapa").bounding_box()
    zone = page.locator("#zona-subida").bounding_box()
    totals = page.locator("#totales").bounding_box()
    assert title and map_box and zone and totals
    assert title["y"] < map_box["y"] < zone["y"]
    assert map_box["y"] < totals["y"]
    assert map_box["y"] < PHONE["height"] * 0.6, "the map starts below the first screen"
    # nothing wider than the phone; the long file name wraps inside its box
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    name = page.locator("#titulo-detalle").bounding_box()
    assert name and name["x"] + name["width"] <= PHONE["width"]

    # dark: a dark page with light text
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    ink = page.evaluate("getComputedStyle(document.body).color")

    def luminance(css: str) -> float:
        r, g, b = (int(x) for x in re.findall(r"\d+", css)[:3])
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    assert luminance(bg) < 60 < 180 < luminance(ink), (bg, ink)
    assert "null" not in page.inner_text("main")
    assert_accessible(page, "phone, dark")
