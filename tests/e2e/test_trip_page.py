"""The trip page in a real browser: several files at once (progress each, at most three in
flight, cancel), every stage on one map, totals that are the sum of the API's stages, ride
order and ride dates, title, description and stage names edited in place."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import Watched
from tests.e2e.rides import climb
from tests.e2e.test_web import WAIT_MS, api_get, km_es
from tests.live import Client

DROP = """([files]) => {
    const dt = new DataTransfer();
    for (const [name, b64] of files) {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        dt.items.add(new File([bytes], name, { type: "application/gpx+xml" }));
    }
    const zone = document.getElementById("zona-subida");
    for (const type of ["dragenter", "dragover", "drop"]) {
        zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }
}"""


def drop(page: Any, files: list[tuple[str, bytes]]) -> None:
    """Drop several files on the drop zone at once, as a person dragging them would."""
    page.evaluate(DROP, [[[name, base64.b64encode(data).decode()] for name, data in files]])


def open_trip(open_page: Any, api_client: Client) -> tuple[Watched, dict[str, str], str]:
    headers = api_client.signup()
    trip_id = api_client.trip(headers)
    w: Watched = open_page(token=headers["Authorization"].removeprefix("Bearer "))
    w.page.goto(f"{w.base_url}/#/viajes/{trip_id}")
    w.page.get_by_role("heading", name="Viaje", level=1).wait_for()
    return w, headers, trip_id


def wait_until(predicate: Any, page: Any, what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(50)


# Three stages ridden on 1, 2 and 3 June, dropped in another order, in three places.
STAGES = [
    ("etapa-3-piedrahita-barco.gpx", climb(10.5, start=datetime(2024, 6, 3, 6, 30, tzinfo=UTC), lon=-3.50)),
    ("etapa-1-avila-villatoro.gpx", climb(12.0, start=datetime(2024, 6, 1, 7, 0, tzinfo=UTC), lon=-3.70)),
    ("etapa-2-villatoro-piedrahita.gpx", climb(8.0, start=datetime(2024, 6, 2, 8, 15, tzinfo=UTC), lon=-3.60)),
]


def test_several_files_at_once_one_map_totals_and_edits(
    open_page: Any, api_client: Client, tmp_path: Path
) -> None:
    w, headers, trip_id = open_trip(open_page, api_client)
    page = w.page
    drop(page, STAGES)

    # one progress bar each, every one of them filled by its own upload events
    items = page.locator("#subidas li")
    assert items.count() == 3
    page.locator('#subidas li[data-state="done"]').nth(2).wait_for(timeout=WAIT_MS)
    for i in range(3):
        item = items.nth(i)
        assert int(item.get_attribute("data-events") or 0) >= 1
        value, maximum = item.locator("progress").evaluate("p => [p.value, p.max]")
        assert value == maximum > len(STAGES[i][1])
        assert f"Subido «{STAGES[i][0]}»" in item.inner_text()
    assert "/archivos/" not in page.url  # several files: the page stays on the whole trip

    # every stage completes, and the list is in the order they were ridden, with ride dates
    page.locator("#lista-archivos .badge", has_text="Completado").nth(2).wait_for(timeout=WAIT_MS)
    files = api_get(w, f"/trips/{trip_id}/gpx")
    assert len(files) == 3
    names = [li.inner_text().split("\n")[0] for li in page.locator("#lista-archivos li .file-name").all()]
    assert names == [STAGES[1][0], STAGES[2][0], STAGES[0][0]]
    first = page.locator("#lista-archivos li").first.inner_text()
    assert "1 jun 2024" in first  # the ride's date, not the upload's

    # one map with every stage's line, each its own colour, and a legend naming them
    page.locator("#mapa-viaje path.cv-etapa").nth(2).wait_for(state="attached", timeout=WAIT_MS)
    lines = page.locator("#mapa-viaje path.cv-etapa")
    assert lines.count() == 3
    colours = {lines.nth(i).get_attribute("stroke") for i in range(3)}
    assert len(colours) == 3
    legend = page.locator("#leyenda li")
    assert [li.inner_text().split("\n")[0].split("\xa0")[0] for li in legend.all()][0].startswith(
        STAGES[1][0]
    )
    assert legend.count() == 3

    # the totals are the API's, and the API's are the sum of its stages
    trip = api_get(w, f"/trips/{trip_id}")
    stats = [api_get(w, f"/gpx/{f['gpx_file_id']}/status")["stats"] for f in files]
    total_km = sum(s["distance_km"] for s in stats)
    assert abs(trip["totals"]["distance_km"] - total_km) < 0.011
    assert trip["totals"]["stage_count"] == 3
    shown = page.locator('#totales [data-total="distance_km"]')
    page.wait_for_function(
        "n => document.querySelector('#totales [data-total=stage_count]')?.dataset.value === n",
        arg="3",
        timeout=WAIT_MS,
    )
    assert float(shown.get_attribute("data-value") or 0) == trip["totals"]["distance_km"]
    assert shown.locator("dd").inner_text() == km_es(trip["totals"]["distance_km"])
    gain = page.locator('#totales [data-total="elevation_gain_m"]')
    assert float(gain.get_attribute("data-value") or 0) == trip["totals"]["elevation_gain_m"]
    assert "1 jun 2024" in page.inner_text("#totales")
    assert_accessible(page, "trip with three stages")

    # a click on a stage's line opens that stage
    target = next(f for f in files if f["original_filename"] == STAGES[2][0])
    line = page.locator(f'#mapa-viaje path.cv-etapa[data-file-id="{target["gpx_file_id"]}"]')
    box = line.bounding_box()
    assert box
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(f"**/archivos/{target['gpx_file_id']}", timeout=WAIT_MS)
    page.locator("#titulo-detalle", has_text=STAGES[2][0]).wait_for()

    # the stage gets a name of its own; the original file name stays beside it
    page.get_by_role("button", name=f"Renombrar la etapa «{STAGES[2][0]}»").click()
    page.get_by_label("Nombre de la etapa").fill("Villatoro – Piedrahíta")
    page.locator("#renombrar-etapa").get_by_role("button", name="Guardar").click()
    page.locator("#titulo-detalle", has_text="Villatoro – Piedrahíta").wait_for()
    assert api_get(w, f"/gpx/{target['gpx_file_id']}/status")["title"] == "Villatoro – Piedrahíta"
    item = page.locator(f'#lista-archivos li[data-file-id="{target["gpx_file_id"]}"]')
    item.get_by_text("Villatoro – Piedrahíta").wait_for()
    assert STAGES[2][0] in item.inner_text()

    # the trip's title and description, edited in place
    page.get_by_role("button", name="Editar el título y la descripción de «Viaje»").click()
    page.get_by_label("Título").fill("Vuelta a Gredos")
    page.get_by_label("Descripción").fill("Tres etapas por la sierra.")
    page.locator("#formulario-viaje").get_by_role("button", name="Guardar").click()
    page.get_by_role("heading", name="Vuelta a Gredos", level=1).wait_for()
    assert page.inner_text("#descripcion-viaje") == "Tres etapas por la sierra."
    body = api_get(w, f"/trips/{trip_id}")
    assert (body["title"], body["description"]) == ("Vuelta a Gredos", "Tres etapas por la sierra.")


def test_three_uploads_in_flight_at_most_and_cancel(open_page: Any, api_client: Client) -> None:
    w, headers, trip_id = open_trip(open_page, api_client)
    page = w.page
    held: list[Any] = []
    page.route(f"**/trips/{trip_id}/gpx", lambda r: held.append(r) if r.request.method == "POST" else r.continue_())

    rides = [(f"salida-{i}.gpx", climb(2 + i, lon=-3.7 + i / 10)) for i in range(5)]
    drop(page, rides)
    wait_until(lambda: len(held) == 3, page, "three uploads in flight")
    page.wait_for_timeout(300)
    assert len(held) == 3  # the other two wait their turn
    states = page.eval_on_selector_all("#subidas li", "els => els.map((e) => e.dataset.state)")
    assert states == ["uploading", "uploading", "uploading", "queued", "queued"]

    # cancel one in flight (its request is aborted) and one still queued
    page.get_by_role("button", name="Cancelar la subida de «salida-1.gpx»").click()
    page.get_by_role("button", name="Cancelar la subida de «salida-4.gpx»").click()
    page.locator("#subidas li", has_text="Cancelada la subida de «salida-1.gpx»").wait_for()
    page.locator("#subidas li", has_text="Cancelada la subida de «salida-4.gpx»").wait_for()
    wait_until(lambda: len(held) == 4, page, "the queued upload taking the free place")
    page.wait_for_timeout(300)
    assert len(held) == 4  # salida-4 was cancelled before it started: never sent

    for route in held:
        try:
            route.continue_()
        except Exception:  # noqa: BLE001 - the cancelled upload's request is gone already
            pass
    page.locator('#subidas li[data-state="done"]').nth(2).wait_for(timeout=WAIT_MS)
    states = page.eval_on_selector_all("#subidas li", "els => els.map((e) => e.dataset.state)")
    assert states == ["done", "cancelled", "done", "done", "cancelled"]
    page.wait_for_timeout(500)
    names = sorted(f["original_filename"] for f in api_get(w, f"/trips/{trip_id}/gpx"))
    assert names == ["salida-0.gpx", "salida-2.gpx", "salida-3.gpx"]
    assert_accessible(page, "upload list")
