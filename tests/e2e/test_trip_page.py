"""The trip page in a real browser: several files at once (progress each, at most three in
flight, cancel), every stage on one map, totals that are the sum of the API's stages, ride
order and ride dates, title, description and stage names edited in place."""

from __future__ import annotations

import base64
import contextlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import Watched
from tests.e2e.rides import climb
from tests.e2e.test_web import WAIT_MS, api_get, full_page_screenshot, km_es, screenshot_dir
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
    (
        "etapa-3-piedrahita-barco.gpx",
        climb(10.5, start=datetime(2024, 6, 3, 6, 30, tzinfo=UTC), lon=-3.50),
    ),
    (
        "etapa-1-avila-villatoro.gpx",
        climb(12.0, start=datetime(2024, 6, 1, 7, 0, tzinfo=UTC), lon=-3.70),
    ),
    (
        "etapa-2-villatoro-piedrahita.gpx",
        climb(8.0, start=datetime(2024, 6, 2, 8, 15, tzinfo=UTC), lon=-3.60),
    ),
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
    names = [
        li.inner_text().split("\n")[0] for li in page.locator("#lista-archivos li .file-name").all()
    ]
    assert names == [STAGES[1][0], STAGES[2][0], STAGES[0][0]]
    # long hyphenated names wrap where a line is full, not at every hyphen: two lines at most
    for name in page.locator("#lista-archivos .file-name").all():
        lines = name.evaluate(
            "e => e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight)"
        )
        assert lines < 2.5, (name.inner_text(), lines)
    first = page.locator("#lista-archivos li").first.inner_text()
    assert "1 jun 2024" in first  # the ride's date, not the upload's

    # one map with every stage's line, each its own colour, and a legend naming them
    page.locator("#mapa-viaje path.cv-etapa").nth(2).wait_for(state="attached", timeout=WAIT_MS)
    lines = page.locator("#mapa-viaje path.cv-etapa")
    assert lines.count() == 3
    colours = {lines.nth(i).get_attribute("stroke") for i in range(3)}
    assert len(colours) == 3
    legend = page.locator("#leyenda li")
    assert legend.count() == 3
    titles = [li.locator(".file-name").inner_text() for li in legend.all()]
    assert titles == [STAGES[1][0], STAGES[2][0], STAGES[0][0]]

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
    out = screenshot_dir(tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    full_page_screenshot(page, out / "trip-overview.png")
    page.set_viewport_size({"width": 1280, "height": 900})

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

    # a blank title is refused by the API, and its Spanish sentence is shown as it is
    page.get_by_role("button", name="Editar el título y la descripción de «Viaje»").click()
    page.get_by_label("Título").fill("   ")
    page.locator("#formulario-viaje").get_by_role("button", name="Guardar").click()
    refused = api_client.http.patch(
        f"/trips/{trip_id}", json={"title": "", "description": None}, headers=headers
    )
    assert refused.status_code == 422
    error = page.locator("#formulario-viaje .form-error")
    error.wait_for()
    assert error.inner_text() == refused.json()["error"]["message"]
    assert "título" in error.inner_text()
    page.locator("#formulario-viaje").get_by_role("button", name="Cancelar").click()
    expected = [m for m in w.console_errors if "status of 422" in m]
    assert len(expected) == 1  # the refused PATCH's own console line, nothing else
    w.console_errors.remove(expected[0])

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
    w, _, trip_id = open_trip(open_page, api_client)
    page = w.page
    held: list[Any] = []
    page.route(
        f"**/trips/{trip_id}/gpx",
        lambda r: held.append(r) if r.request.method == "POST" else r.continue_(),
    )

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
        with contextlib.suppress(Exception):  # the cancelled upload's request is gone already
            route.continue_()
    page.locator('#subidas li[data-state="done"]').nth(2).wait_for(timeout=WAIT_MS)
    states = page.eval_on_selector_all("#subidas li", "els => els.map((e) => e.dataset.state)")
    assert states == ["done", "cancelled", "done", "done", "cancelled"]
    page.wait_for_timeout(500)
    names = sorted(f["original_filename"] for f in api_get(w, f"/trips/{trip_id}/gpx"))
    assert names == ["salida-0.gpx", "salida-2.gpx", "salida-3.gpx"]
    assert_accessible(page, "upload list")


def test_file_input_takes_every_format_and_a_zip_import(
    open_page: Any, api_client: Client, tmp_path: Path
) -> None:
    w, headers, trip_id = open_trip(open_page, api_client)
    page = w.page
    accept = page.get_attribute("#gpx-input", "accept") or ""
    assert set(accept.split(",")) >= {".gpx", ".fit", ".tcx", ".gz", ".zip"}
    assert page.eval_on_selector("#gpx-input", "i => i.multiple") is True

    # A zip answers 202 with an import; GET /imports/{id} reports it (the contract of the
    # bulk-import endpoint, answered here by the test so the page's side is checked alone).
    created = api_client.upload(headers, trip_id, climb(3), "de-la-exportacion.gpx").json()
    reports = [
        {"status": "processing", "members_found": 3, "created": [], "skipped": []},
        {
            "status": "completed",
            "members_found": 3,
            "created": [{"gpx_file_id": created["gpx_file_id"], "name": "activities/123.gpx"}],
            "skipped": [
                {
                    "name": "activities/ajustes.fit",
                    "reason_code": "FIT_NOT_ACTIVITY",
                    "reason": "no es una actividad",
                },
                {
                    "name": "README.txt",
                    "reason_code": "NOT_ACTIVITY_FILE",
                    "reason": "no es un archivo de actividad",
                },
            ],
        },
    ]
    asked: list[str] = []

    def post(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        route.fulfill(
            status=202,
            content_type="application/json",
            body=json.dumps({"import_id": "imp-1", "trip_id": trip_id, "status": "pending"}),
        )

    def report(route: Any) -> None:
        asked.append(route.request.url)
        body = reports[min(len(asked) - 1, 1)]
        route.fulfill(
            status=200,
            content_type="application/json",
            body=json.dumps({"id": "imp-1", "trip_id": trip_id, **body}),
        )

    page.route(f"**/trips/{trip_id}/gpx", post)
    page.route("**/imports/imp-1", report)
    archive = tmp_path / "export_strava.zip"
    archive.write_bytes(b"PK\x05\x06" + bytes(18))
    page.set_input_files("#gpx-input", str(archive))
    item = page.locator("#subidas li", has_text="export_strava.zip")
    item.get_by_text("3 archivos dentro; 0 etapas creadas…").wait_for(timeout=WAIT_MS)
    assert "null" not in item.inner_text()
    item.get_by_text("3 archivos dentro; 1 etapa creada, 2 omitidos.").wait_for(timeout=WAIT_MS)
    assert len(asked) >= 2
    link = item.locator(f'.import-created [data-file-id="{created["gpx_file_id"]}"] a')
    assert link.inner_text() == "activities/123.gpx"
    skipped = item.locator(".import-skipped li")
    assert skipped.count() == 2
    assert "ajustes.fit: no es una actividad" in skipped.first.inner_text()
    assert_accessible(page, "zip import report")
