// One trip: its title and description (editable), its totals, every stage on one map with a
// legend, the stages in ride order, the upload zone, and the selected stage (views/stage.js).

import { api } from "../api.js";
import { h } from "../dom.js";
import * as fmt from "../format.js";
import { renderTripMap, STAGE_COLOURS, trackLines } from "../map.js";
import { announce, badge, errorBox, main, navigate, setBusy, setTitle, showError } from "../shell.js";
import { renderStage } from "./stage.js";
import { uploadPanel } from "./upload.js";

const DONE = new Set(["completed", "failed"]);

// Stages in the order they were ridden (upload order for those without a time).
function rideOrder(files) {
  const at = (f) => Date.parse(f.start_time || f.created_at);
  return [...files].sort((a, b) => at(a) - at(b) || Date.parse(a.created_at) - Date.parse(b.created_at));
}

function totalsBlock(totals) {
  const items = [];
  const add = (key, label, value, format) => {
    if (value === null || value === undefined) return;
    items.push(
      h(
        "div",
        { class: `stat total-${key}`, "data-total": key, "data-value": value },
        h("dt", {}, label),
        h("dd", {}, format(value)),
      ),
    );
  };
  add("stage_count", "Etapas", totals.stage_count, fmt.integer);
  add("distance_km", "Distancia", totals.distance_km, fmt.km);
  add("elevation_gain_m", "Desnivel positivo", totals.elevation_gain_m, fmt.gain);
  add("elevation_loss_m", "Desnivel negativo", totals.elevation_loss_m, fmt.loss);
  add("moving_time_s", "En movimiento", totals.moving_time_s, fmt.duration);
  add("elapsed_time_s", "Tiempo total", totals.elapsed_time_s, fmt.duration);
  if (totals.first_ride_at) {
    const first = fmt.day(totals.first_ride_at);
    const last = totals.last_ride_at ? fmt.day(totals.last_ride_at) : first;
    items.push(
      h(
        "div",
        { class: "stat stat-wide total-dates", "data-total": "dates" },
        h("dt", {}, "Fechas"),
        h("dd", {}, first === last ? first : `${first} – ${last}`),
      ),
    );
  }
  return h("dl", { class: "stats totals" }, items);
}

export function tripView(route) {
  const tripId = route.tripId;
  let destroyed = false;
  let trip = null;
  let files = [];
  let selected = null;
  let stage = null; // the shown stage (renderStage)
  let overview = null; // the trip map
  let overviewKey = null;
  let listTimer = null;
  let totalsTimer = null;
  const tracks = new Map(); // file id -> GeoJSON feature (the trip map's lines)

  setTitle("Viaje");
  const heading = h("h1", { tabindex: -1, id: "titulo-viaje" }, "Cargando viaje…");
  const description = h("p", { class: "trip-description", id: "descripcion-viaje", hidden: true });
  const edit = h("button", { type: "button", class: "btn btn-link", id: "editar-viaje", hidden: true }, "Editar");
  const titleBlock = h("div", { class: "trip-title-block" }, h("div", { class: "trip-title-row" }, heading, edit), description);
  const deleteTrip = h(
    "button",
    { type: "button", class: "btn btn-danger-link", hidden: true },
    "Eliminar viaje",
  );
  const totals = h("section", { class: "card trip-totals", id: "totales", "aria-label": "Totales del viaje", hidden: true });
  const upload = uploadPanel({
    tripId,
    onUploaded(body, batchSize) {
      refreshFiles();
      if (batchSize === 1) navigate(`#/viajes/${tripId}/archivos/${body.gpx_file_id}`);
    },
    onSettled() {
      refreshFiles();
    },
  });
  const message = h("p", { class: "upload-message", role: "alert", hidden: true });
  const fileList = h("ol", { class: "file-list", id: "lista-archivos" });
  const filesEmpty = h(
    "p",
    { class: "muted" },
    "Todavía no hay archivos. Sube el GPX, FIT o TCX de una etapa para ver su ruta.",
  );
  const detail = h("section", { class: "file-detail", id: "detalle", "aria-live": "off" });

  main.append(
    h(
      "div",
      { class: "trip-page" },
      h("p", { class: "back" }, h("a", { href: "#/viajes" }, "← Mis viajes")),
      h("div", { class: "trip-header" }, titleBlock, deleteTrip),
      h(
        "div",
        { class: "trip-grid" },
        h("div", { class: "trip-main" }, totals, detail),
        h(
          "section",
          { class: "card trip-files", "aria-labelledby": "titulo-archivos" },
          h("h2", { id: "titulo-archivos" }, "Etapas"),
          upload.element,
          message,
          filesEmpty,
          fileList,
        ),
      ),
    ),
  );

  function showMessage(text, isError) {
    message.textContent = text;
    message.classList.toggle("is-error", Boolean(isError));
    message.hidden = false;
  }

  // ---- trip: title, description, totals
  function showTrip() {
    heading.textContent = trip.title;
    setTitle(trip.title);
    description.textContent = trip.description || "";
    description.hidden = !trip.description;
    edit.hidden = false;
    edit.setAttribute("aria-label", `Editar el título y la descripción de «${trip.title}»`);
    deleteTrip.hidden = false;
    totals.replaceChildren(h("h2", { class: "visually-hidden" }, "Totales del viaje"), totalsBlock(trip.totals));
    totals.hidden = false;
  }

  async function loadTrip() {
    try {
      trip = await api.get(`/trips/${encodeURIComponent(tripId)}`);
    } catch (err) {
      if (destroyed) return;
      heading.textContent = err.status === 404 ? "No encontramos este viaje" : "Error";
      main.querySelector(".trip-grid").replaceChildren(
        h("p", { class: "card" }, err.message, " ", h("a", { href: "#/viajes" }, "Volver a mis viajes")),
      );
      return;
    }
    if (destroyed) return;
    showTrip();
    await refreshFiles();
    if (!destroyed) select(route.fileId);
  }

  // the totals again, once the stages have settled (debounced)
  function refreshTotals() {
    clearTimeout(totalsTimer);
    totalsTimer = setTimeout(async () => {
      try {
        const fresh = await api.get(`/trips/${encodeURIComponent(tripId)}`);
        if (destroyed) return;
        trip = fresh;
        showTrip();
      } catch {
        // the totals stay as they were; the next change tries again
      }
    }, 200);
  }

  edit.addEventListener("click", () => {
    const title = h("input", { type: "text", id: "editar-titulo", name: "title", required: true, maxlength: 200, value: trip.title });
    const desc = h("textarea", { id: "editar-descripcion", name: "description", rows: 3, maxlength: 5000 });
    desc.value = trip.description || "";
    const error = errorBox();
    const form = h(
      "form",
      { class: "card form trip-edit", id: "formulario-viaje" },
      h("div", { class: "field" }, h("label", { for: "editar-titulo" }, "Título"), title),
      h("div", { class: "field" }, h("label", { for: "editar-descripcion" }, "Descripción"), desc),
      error,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", class: "btn btn-primary" }, "Guardar"),
        h("button", { type: "button", class: "btn", onclick: () => { form.replaceWith(titleBlock); edit.focus(); } }, "Cancelar"),
      ),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      setBusy(form, true);
      try {
        trip = await api.patch(`/trips/${encodeURIComponent(tripId)}`, {
          title: title.value.trim(),
          description: desc.value.trim() || null,
        });
      } catch (err) {
        setBusy(form, false);
        showError(error, err);
        return;
      }
      form.replaceWith(titleBlock);
      showTrip();
      announce("Viaje guardado.");
      heading.focus();
    });
    titleBlock.replaceWith(form);
    title.focus();
  });

  deleteTrip.addEventListener("click", async () => {
    if (!window.confirm(`¿Eliminar el viaje «${trip.title}» y todos sus archivos?`)) return;
    try {
      await api.del(`/trips/${encodeURIComponent(tripId)}`);
      announce("Viaje eliminado.");
      navigate("#/viajes");
    } catch (err) {
      showMessage(err.message, true);
    }
  });

  // ---- stage list
  const colourOf = (fileId) => {
    const i = files.findIndex((f) => f.gpx_file_id === fileId);
    return STAGE_COLOURS[(i < 0 ? 0 : i) % STAGE_COLOURS.length];
  };

  async function refreshFiles() {
    clearTimeout(listTimer);
    let fresh;
    try {
      fresh = await api.get(`/trips/${encodeURIComponent(tripId)}/gpx`);
    } catch (err) {
      if (!destroyed) showMessage(err.message, true);
      return;
    }
    if (destroyed) return;
    const settledBefore = files.filter((f) => DONE.has(f.processing_status)).length;
    files = rideOrder(fresh);
    fileList.replaceChildren(...files.map(fileItem));
    filesEmpty.hidden = files.length > 0;
    markSelected();
    if (files.filter((f) => DONE.has(f.processing_status)).length !== settledBefore) refreshTotals();
    const busy = files.some((f) => f.gpx_file_id !== selected && !DONE.has(f.processing_status));
    if (busy) listTimer = setTimeout(refreshFiles, 3000);
    if (!selected && trip) showOverview();
  }

  function fileItem(file) {
    const meta = [];
    const start = fmt.rideStartText(file);
    meta.push(start ? h("span", { class: "nowrap file-ride" }, start) : h("span", { class: "nowrap" }, `Subido el ${fmt.dateTime(file.created_at)}`));
    if (file.distance_km !== null && file.distance_km !== undefined) meta.push(h("span", { class: "nowrap" }, fmt.km(file.distance_km)));
    const title = file.title || file.original_filename;
    return h(
      "li",
      { class: "file-item", "data-file-id": file.gpx_file_id, "data-start": file.start_time || "" },
      h(
        "a",
        { href: `#/viajes/${tripId}/archivos/${file.gpx_file_id}`, class: "file-link" },
        h("span", { class: "swatch", style: `--swatch: ${colourOf(file.gpx_file_id)}`, "aria-hidden": "true" }),
        h("span", { class: "file-name" }, title),
        title !== file.original_filename ? h("span", { class: "file-original file-name" }, file.original_filename) : null,
        h("span", { class: "file-meta" }, meta.flatMap((m, i) => (i ? [" · ", m] : [m]))),
        badge(file.processing_status),
      ),
    );
  }

  function markSelected() {
    for (const item of fileList.children) {
      const link = item.querySelector("a");
      if (item.dataset.fileId === selected) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    }
  }

  function updateBadge(fileId, state) {
    const item = fileList.querySelector(`[data-file-id="${CSS.escape(fileId)}"] .badge`);
    if (item && item.dataset.status !== state) item.replaceWith(badge(state));
  }

  // ---- the trip map: every completed stage
  async function showOverview() {
    const done = files.filter((f) => f.processing_status === "completed");
    const key = done.map((f) => `${f.gpx_file_id}:${f.title}`).join(",");
    if (overview && key === overviewKey && detail.querySelector("#mapa-viaje")) return;
    overviewKey = key;
    if (!done.length) {
      clearOverview();
      detail.replaceChildren(
        h(
          "div",
          { class: "card empty-detail" },
          h("h2", {}, "Tus etapas aparecerán aquí"),
          h("p", {}, "Sube los archivos de tus etapas y verás todas sus rutas en un mapa, con los totales del viaje."),
        ),
      );
      return;
    }
    await Promise.all(
      done
        .filter((f) => !tracks.has(f.gpx_file_id))
        .map((f) =>
          api
            .get(`/gpx/${encodeURIComponent(f.gpx_file_id)}/track`)
            .then((t) => tracks.set(f.gpx_file_id, t))
            .catch(() => tracks.set(f.gpx_file_id, null)),
        ),
    );
    if (destroyed || selected || key !== overviewKey) return;
    clearOverview();
    const stages = done.map((f) => ({
      id: f.gpx_file_id,
      title: f.title || f.original_filename,
      colour: colourOf(f.gpx_file_id),
      feature: tracks.get(f.gpx_file_id),
      file: f,
    }));
    const drawable = stages.filter((s) => trackLines(s.feature).length);
    const mapEl = h("div", {
      class: "map map-trip",
      id: "mapa-viaje",
      role: "region",
      "aria-label": "Mapa con todas las etapas del viaje. La leyenda enlaza cada etapa.",
    });
    const note = h("p", { class: "map-note", hidden: true });
    const legend = h(
      "ol",
      { class: "legend", id: "leyenda", "aria-label": "Leyenda: etapas del mapa" },
      stages.map((s) =>
        h(
          "li",
          { "data-file-id": s.id },
          h(
            "a",
            { href: `#/viajes/${tripId}/archivos/${s.id}` },
            h("span", { class: "swatch swatch-line", style: `--swatch: ${s.colour}`, "aria-hidden": "true" }),
            h("span", { class: "file-name" }, s.title),
            s.file.distance_km != null ? h("span", { class: "legend-km nowrap" }, fmt.km(s.file.distance_km)) : null,
            trackLines(s.feature).length ? null : h("span", { class: "muted" }, " (sin mapa)"),
          ),
        ),
      ),
    );
    detail.replaceChildren(
      h(
        "section",
        { class: "card result-map", "aria-labelledby": "titulo-mapa-viaje" },
        h("h2", { id: "titulo-mapa-viaje" }, "Todas las etapas"),
        drawable.length ? mapEl : null,
        note,
        legend,
      ),
    );
    if (drawable.length) {
      overview = renderTripMap(mapEl, drawable, {
        online: navigator.onLine,
        onOffline: () => {
          note.textContent = "Sin conexión con los mapas de OpenStreetMap: las rutas se muestran sobre un fondo liso.";
          note.hidden = false;
        },
        onSelect: (id) => navigate(`#/viajes/${tripId}/archivos/${id}`),
      });
    }
  }

  function clearOverview() {
    if (overview) overview.destroy();
    overview = null;
  }

  // ---- the selected stage
  function select(fileId) {
    if (destroyed || !trip) return;
    if (fileId && fileId === selected && stage) return;
    if (stage) stage.destroy();
    stage = null;
    selected = fileId || null;
    markSelected();
    if (!selected) {
      overviewKey = null;
      showOverview();
      return;
    }
    clearOverview();
    stage = renderStage(detail, selected, {
      onState(id, state) {
        updateBadge(id, state);
        if (DONE.has(state)) refreshFiles();
      },
      onRenamed: () => refreshFiles(),
      onDeleted() {
        tracks.delete(selected);
        history.replaceState(null, "", `#/viajes/${tripId}`);
        select(null);
        refreshFiles();
      },
      onUploadAnother: () => upload.open(),
      onMessage: showMessage,
    });
  }

  let resizeTimer = null;
  const resizeListener = () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => stage && stage.resize(), 150);
  };
  window.addEventListener("resize", resizeListener);

  loadTrip();

  return {
    name: "viaje",
    tripId,
    select(fileId) {
      route.fileId = fileId; // remembered if the trip is still loading
      select(fileId);
    },
    destroy() {
      destroyed = true;
      if (stage) stage.destroy();
      clearOverview();
      upload.destroy();
      clearTimeout(listTimer);
      clearTimeout(totalsTimer);
      clearTimeout(resizeTimer);
      window.removeEventListener("resize", resizeListener);
    },
  };
}
