"""The web app in a real browser: sign up, trip, upload, processing, map, profile, numbers."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Any

import gpxpy

from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import PHONE, Watched
from tests.live import Client
from tests.support import SAMPLES

ROOT = Path(__file__).resolve().parents[2]
RIDE = SAMPLES / "strava-ride-power-hr-cad.gpx"
TWO_SEGMENTS = SAMPLES / "garmin-gpsmap64s-hike-two-segments.gpx"
WAIT_MS = 30_000


def screenshot_dir(tmp_path: Path) -> Path:
    """docs/img when UPDATE_SCREENSHOTS=1 (`make screenshots`), else the test's tmp dir."""
    return ROOT / "docs" / "img" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path


def full_page_screenshot(page: Any, path: Path) -> None:
    """Grow the viewport to the whole page first, so the map refits before the picture."""
    width = page.viewport_size["width"]
    height = page.evaluate("document.documentElement.scrollHeight")
    page.mouse.move(0, 0)
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_timeout(400)  # Leaflet's resize (next frame) and the profile's (150 ms)
    page.screenshot(path=str(path), full_page=True)


def km_es(value: float) -> str:
    """The page's distance: es-ES digits, a no-break space before the unit."""
    return f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".") + "\u00a0km"


def path_vertices(d: str) -> tuple[int, int]:
    """(subpaths, vertices) of a Leaflet SVG path: 'M x yL x yL …' per line."""
    return d.count("M"), len(re.findall(r"[ML]", d))


def track_counts(track: dict[str, Any]) -> tuple[int, int]:
    geometry = track["geometry"]
    lines = (
        [geometry["coordinates"]] if geometry["type"] == "LineString" else geometry["coordinates"]
    )
    return len(lines), sum(len(line) for line in lines)


def api_get(w: Watched, path: str) -> Any:
    token = w.page.evaluate("localStorage.getItem('contravento.token')")
    client = Client(w.base_url)
    try:
        r = client.http.get(path, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        return r.json()
    finally:
        client.http.close()


def wait_status(w: Watched, text: str) -> None:
    w.page.locator("#estado-archivo").get_by_text(text, exact=True).wait_for(timeout=WAIT_MS)


def check_route_drawn(w: Watched, file_id: str) -> dict[str, Any]:
    """Map polyline and profile carry every point the API returned; stats match the API."""
    page = w.page
    track = api_get(w, f"/gpx/{file_id}/track")
    status = api_get(w, f"/gpx/{file_id}/status")
    segments, points = track_counts(track)
    assert points == track["properties"]["point_count"]

    page.locator("#mapa path.cv-ruta").wait_for(timeout=WAIT_MS)
    assert page.get_attribute("#mapa", "data-point-count") == str(points)
    d = page.get_attribute("#mapa path.cv-ruta", "d") or ""
    assert path_vertices(d) == (segments, points)
    # the whole route, start and end markers included, is inside the map
    box = page.locator("#mapa").bounding_box()
    for sel in ("#mapa path.cv-ruta", "#mapa path.cv-salida", "#mapa path.cv-llegada"):
        assert page.locator(sel).count() == 1, sel
        inner = page.locator(sel).bounding_box()
        assert box and inner, sel
        left, top = inner["x"] - box["x"], inner["y"] - box["y"]
        assert left >= 0 and left + inner["width"] <= box["width"], sel
        assert top >= 0 and top + inner["height"] <= box["height"], sel

    # the profile is drawn from the profile series (full resolution), every sample with a height
    series = api_get(w, f"/gpx/{file_id}/profile")
    heights = [e for e in series["elevation_m"] if e is not None]
    assert len(heights) > len(track["profile"]) or len(heights) == series["source_point_count"]
    line = page.locator("#perfil polyline.perfil-linea")
    line.wait_for(timeout=WAIT_MS)
    assert line.get_attribute("data-point-count") == str(len(heights))
    assert len((line.get_attribute("points") or "").split()) == len(heights)

    stats = status["stats"]
    distance = page.locator('#cifras [data-stat="distance_km"]')
    assert distance.get_attribute("data-value") == str(stats["distance_km"])
    assert distance.locator("dd").inner_text() == km_es(stats["distance_km"])
    return status


def test_signup_trip_upload_completed_route(open_page: Any, tmp_path: Path) -> None:
    w: Watched = open_page()
    page = w.page
    page.goto(w.base_url + "/")
    page.get_by_role("heading", name="Entrar", level=1).wait_for()
    assert_accessible(page, "sign in")

    page.get_by_role("link", name="Crea una").click()
    page.get_by_role("heading", name="Crear cuenta", level=1).wait_for()
    assert_accessible(page, "sign up")
    page.get_by_label("Nombre").fill("Ana Ciclista")
    page.get_by_label("Correo electrónico").fill(f"ana{os.getpid()}{id(page)}@example.com")
    page.get_by_label("Contraseña").fill("pedales-123")
    page.get_by_role("button", name="Crear cuenta").click()

    page.get_by_role("heading", name="Mis viajes", level=1).wait_for()
    page.get_by_text("Aún no tienes viajes").wait_for()
    assert_accessible(page, "my trips")
    page.get_by_label("Título").fill("Vuelta a Richmond")
    page.get_by_label("Descripción (opcional)").fill("Primera etapa, con potencia y pulso.")
    page.get_by_role("button", name="Crear viaje").click()
    page.get_by_role("heading", name="Vuelta a Richmond", level=1).wait_for()
    page.get_by_text("Todavía no hay archivos").wait_for()
    assert_accessible(page, "empty trip")

    page.set_input_files("#gpx-input", str(RIDE))
    wait_status(w, "Completado")
    seen = page.evaluate("window.__estados")
    assert seen[-2:] == ["Procesando", "Completado"], seen
    assert seen in (["Pendiente", "Procesando", "Completado"], ["Procesando", "Completado"])

    # the upload went through XHR and reported its bytes
    item = page.locator("#subidas li")
    assert item.count() == 1
    assert item.get_attribute("data-state") == "done"
    assert int(item.get_attribute("data-events") or 0) >= 1
    value, maximum = item.locator("progress").evaluate("p => [p.value, p.max]")
    assert value == maximum > RIDE.stat().st_size
    assert "Subido «strava-ride-power-hr-cad.gpx»" in item.inner_text()
    assert page.inner_text("#modo-proceso") == "Procesado en segundo plano"

    file_id = page.get_attribute("#lista-archivos li", "data-file-id") or ""
    assert page.url.endswith(f"/archivos/{file_id}")
    status = check_route_drawn(w, file_id)
    stats = status["stats"]
    assert status["processing_mode"] == "background"
    for key in ("avg_hr", "max_hr", "avg_cadence", "avg_power", "max_power", "moving_time_s"):
        assert page.locator(f'#cifras [data-stat="{key}"]').count() == 1, key
    assert page.locator('#cifras [data-stat="avg_power"] dd').inner_text() == (
        f"{round(stats['avg_power'])}\u00a0W"
    )
    assert page.locator("#lista-archivos .badge").inner_text() == "Completado"
    assert_accessible(page, "completed stage")

    # online: OpenStreetMap tiles were asked for (and answered by the stub)
    assert page.get_attribute("#mapa", "data-tiles") == "osm"
    assert w.tile_requests, "no OpenStreetMap tile was requested"

    # the original comes back byte for byte
    with page.expect_download() as info:
        page.get_by_role("button", name="Descargar el archivo original").click()
    download = info.value
    assert download.suggested_filename == RIDE.name
    assert Path(download.path()).read_bytes() == RIDE.read_bytes()

    out = screenshot_dir(tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    full_page_screenshot(page, out / "trip-desktop.png")

    # the same trip on a phone: nothing wider than the screen, route and profile drawn
    phone: Watched = open_page(
        PHONE, token=page.evaluate("localStorage.getItem('contravento.token')")
    )
    phone.page.goto(page.url)
    wait_status(phone, "Completado")
    check_route_drawn(phone, file_id)
    width = phone.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px phone"
    full_page_screenshot(phone.page, out / "trip-phone.png")


def test_broken_file_shows_spanish_error(
    open_page: Any, api_client: Client, tmp_path: Path
) -> None:
    headers = api_client.signup()
    trip_id = api_client.trip(headers)
    w: Watched = open_page(token=headers["Authorization"].removeprefix("Bearer "))
    page = w.page
    page.goto(f"{w.base_url}/#/viajes/{trip_id}")
    page.get_by_role("heading", name="Viaje", level=1).wait_for()

    # not an activity file: refused in the browser, nothing is sent
    notes = tmp_path / "notas.txt"
    notes.write_text("hola")
    page.set_input_files("#gpx-input", str(notes))
    page.get_by_text("«notas.txt» no es un archivo de actividad").wait_for()
    assert api_get(w, f"/trips/{trip_id}/gpx") == []

    # a GPX cut in half: accepted, then the job fails with a Spanish message and advice
    broken = tmp_path / "etapa-cortada.gpx"
    data = RIDE.read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    page.set_input_files("#gpx-input", str(broken))
    wait_status(page_w := w, "Error")
    assert page.evaluate("window.__estados")[-2:] == ["Procesando", "Error"]
    file_id = page.get_attribute("#lista-archivos li", "data-file-id") or ""
    status = api_get(page_w, f"/gpx/{file_id}/status")
    assert status["processing_status"] == "failed"
    assert status["error_code"] == "GPX_MALFORMED"
    panel = page.locator("#error-proceso")
    assert panel.get_attribute("role") == "alert"
    assert panel.locator(".error-message").inner_text() == status["error_message"]
    assert "no es un XML bien formado" in status["error_message"]
    assert "Qué puedes hacer:" in panel.inner_text()
    assert "Código: GPX_MALFORMED" in panel.inner_text()
    assert page.locator("#mapa").count() == 0
    page.locator("#lista-archivos .badge").get_by_text("Error").wait_for()
    page.get_by_role("button", name="Subir otro archivo").wait_for()
    assert_accessible(page, "failed stage")


def test_the_same_ride_again_says_so_and_links_the_first(
    open_page: Any, api_client: Client, tmp_path: Path
) -> None:
    """Another export of a ride already in the trip: the page says it was already there (not
    that the file could not be read) and links to the stage that holds it."""

    headers = api_client.signup()
    trip_id = api_client.trip(headers)
    first = api_client.upload(headers, trip_id, RIDE.read_bytes(), name="salida.gpx").json()
    assert api_client.wait_done(headers, first["gpx_file_id"])["processing_status"] == "completed"
    w: Watched = open_page(token=headers["Authorization"].removeprefix("Bearer "))
    page = w.page
    page.goto(f"{w.base_url}/#/viajes/{trip_id}")
    page.get_by_role("heading", name="Viaje", level=1).wait_for()
    copy = tmp_path / "salida-exportada.gpx"
    copy.write_text(gpxpy.parse(RIDE.read_text()).to_xml())
    page.set_input_files("#gpx-input", str(copy))
    wait_status(w, "Error")
    panel = page.locator("#error-proceso")
    panel.get_by_role("heading", name="Esta actividad ya estaba en el viaje").wait_for()
    assert "«salida.gpx»" in panel.locator(".error-message").inner_text()
    assert "Código: DUPLICATE_RIDE" in panel.inner_text()
    link = panel.get_by_role("link", name="Ver la actividad que ya estaba")
    assert link.get_attribute("href") == f"#/viajes/{trip_id}/archivos/{first['gpx_file_id']}"


def test_offline_two_segments_dropped_keyboard(open_page: Any, api_client: Client) -> None:
    headers = api_client.signup()
    trip_id = api_client.trip(headers)
    w: Watched = open_page(offline=True, token=headers["Authorization"].removeprefix("Bearer "))
    page = w.page
    page.goto(f"{w.base_url}/#/viajes/{trip_id}")
    page.get_by_role("heading", name="Viaje", level=1).wait_for()

    # the file input is reachable with the keyboard alone
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "gpx-input":
            break
    else:
        raise AssertionError("the file input is not reachable with Tab")

    # drop the file on the drop zone, as a person dragging it from the desktop would
    payload = base64.b64encode(TWO_SEGMENTS.read_bytes()).decode()
    page.evaluate(
        """([name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, { type: "application/gpx+xml" }));
            const zone = document.getElementById("zona-subida");
            for (const type of ["dragenter", "dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
            }
        }""",
        [TWO_SEGMENTS.name, payload],
    )
    wait_status(w, "Completado")
    file_id = page.get_attribute("#lista-archivos li", "data-file-id") or ""
    check_route_drawn(w, file_id)
    d = page.get_attribute("#mapa path.cv-ruta", "d") or ""
    assert d.count("M") == 2  # MultiLineString: two segments, two subpaths

    # offline: no tile is tried, the route is on a plain background and the page says so
    assert w.tile_requests == []
    assert page.get_attribute("#mapa", "data-tiles") == "none"
    assert "mapa-sin-fondo" in (page.get_attribute("#mapa", "class") or "")
    page.get_by_text("la ruta se muestra sobre un fondo liso").wait_for()

    # the profile answers the keyboard
    page.focus("#perfil svg")
    page.keyboard.press("End")
    assert page.inner_text("#perfil .perfil-lectura").startswith("km ")
