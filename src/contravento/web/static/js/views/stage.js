// One stage of a trip: its processing state as it changes (live.js), then its map, figures
// and profile; renamed, downloaded or deleted from here.

import { api, downloadOriginal } from "../api.js";
import { h } from "../dom.js";
import * as fmt from "../format.js";
import { followJob } from "../live.js";
import { renderMap } from "../map.js";
import { renderProfile } from "../profile.js";
import { announce, MODE_LABELS, STATUS_LABELS } from "../shell.js";
import { figures, timesUnusable } from "./figures.js";

// What a cyclist can do about each processing failure.
const ADVICE = {
  GPX_MALFORMED:
    "Vuelve a exportar la actividad desde tu dispositivo o aplicación (Garmin Connect, Strava, " +
    "Komoot, Wahoo…) y sube el archivo nuevo. Si lo copiaste a mano, puede haberse cortado.",
  GPX_NOT_GPX: "Exporta la actividad en formato GPX, FIT o TCX y súbela de nuevo.",
  GPX_NO_TRACKPOINTS:
    "Comprueba que has exportado la actividad grabada (el track) y no solo los puntos de interés.",
  GPX_INVALID_COORDINATES:
    "Abre el archivo en la aplicación con la que lo grabaste y expórtalo de nuevo.",
  GPX_UNSAFE_XML: "Exporta de nuevo el archivo desde la aplicación original, sin editarlo a mano.",
  GPX_TOO_MANY_POINTS:
    "Divide la grabación en varias etapas y súbelas por separado, o expórtala con menos puntos.",
  TCX_NOT_AN_ACTIVITY:
    "Sube la actividad que grabaste (en Garmin Connect: Exportar a TCX desde la actividad), " +
    "no la ruta planificada ni el entrenamiento.",
  TCX_NO_TRACKPOINTS:
    "La actividad no tiene puntos grabados (quizá se creó a mano). Exporta la grabación del " +
    "dispositivo, en TCX, FIT o GPX.",
  GZIP_TOO_LARGE:
    "Sube el archivo sin comprimir, o comprueba que es la actividad que querías subir.",
  GZIP_CORRUPT: "Vuelve a comprimir el archivo original (o súbelo sin comprimir).",
  DUPLICATE_RIDE:
    "No hace falta hacer nada: la actividad ya cuenta una vez en el viaje. Puedes eliminar " +
    "este archivo.",
};
const DEFAULT_ADVICE =
  "Elimina este archivo y vuelve a subirlo. Si vuelve a fallar, exporta la actividad de nuevo " +
  "desde tu dispositivo o aplicación.";

const WORKING = new Set(["pending", "processing", "retrying"]);
const timeOnly = new Intl.DateTimeFormat("es-ES", { hour: "2-digit", minute: "2-digit", second: "2-digit" });

// renderStage(container, fileId, hooks) -> { destroy(), resize() }
// hooks: onState(fileId, state), onRenamed(), onDeleted(), onUploadAnother(), onMessage(text, isError)
export function renderStage(container, fileId, hooks) {
  let destroyed = false;
  let result = null; // { map, profile }
  let lastKey = null;

  container.replaceChildren(h("div", { class: "card" }, h("p", { class: "muted" }, "Cargando…")));

  const live = followJob(fileId, {
    onState(state, status, via) {
      if (destroyed) return;
      container.dataset.live = via;
      const key = `${state}|${status.title || ""}`;
      if (key === lastKey) return;
      lastKey = key;
      hooks.onState(fileId, state);
      show(state, status);
    },
    onError(err, { retrying } = {}) {
      if (destroyed) return;
      container.replaceChildren(
        h("div", { class: "card" }, h("p", { role: "alert" }, err.message, retrying ? " Reintentando…" : "")),
      );
    },
  });

  function show(state, status) {
    clearResult();
    const header = statusHeader(state, status);
    if (WORKING.has(state)) {
      const next = status.next_attempt_at ? new Date(status.next_attempt_at) : null;
      const text = {
        pending: "En cola: empezará en unos segundos.",
        processing: "Calculando la ruta, el perfil de altitud y las cifras…",
        retrying: next
          ? `El intento anterior falló; lo intentamos de nuevo a las ${timeOnly.format(next)}.`
          : "El intento anterior falló; lo intentamos de nuevo en unos segundos.",
      }[state];
      container.replaceChildren(
        h(
          "div",
          { class: "card" },
          header,
          h("p", { class: "working" }, h("span", { class: "spinner", "aria-hidden": "true" }), text),
        ),
      );
      announce(`${status.title || status.original_filename}: ${STATUS_LABELS[state]}.`);
      return;
    }
    if (state === "failed") renderFailed(status, header);
    else renderCompleted(status, header);
  }

  function clearResult() {
    if (result && result.map) result.map.destroy();
    result = null;
  }

  function renameForm(status, heading) {
    const input = h("input", {
      type: "text",
      name: "title",
      id: "nombre-etapa",
      maxlength: 200,
      value: status.title || status.original_filename,
    });
    const error = h("p", { class: "form-error", role: "alert", hidden: true });
    const form = h(
      "form",
      { class: "inline-form", id: "renombrar-etapa" },
      h("label", { for: "nombre-etapa" }, "Nombre de la etapa"),
      h("div", { class: "inline-row" }, input,
        h("button", { type: "submit", class: "btn btn-primary" }, "Guardar"),
        h("button", { type: "button", class: "btn", onclick: () => form.replaceWith(heading) }, "Cancelar"),
      ),
      error,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const title = input.value.trim();
      try {
        const body = await api.patch(`/gpx/${encodeURIComponent(fileId)}`, { title: title || null });
        status.title = body.title;
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
        return;
      }
      announce("Etapa renombrada.");
      lastKey = null;
      show(status.processing_status === "completed" ? "completed" : status.processing_status, status);
      hooks.onRenamed();
    });
    return form;
  }

  function statusHeader(state, status) {
    const steps = [
      ["pending", "Subido"],
      ["processing", "Procesando"],
      ["completed", state === "failed" ? "Error" : "Listo"],
    ];
    const order = { pending: 0, retrying: 0, processing: 1, completed: 2, failed: 2 };
    const title = status.title || status.original_filename;
    const rename = h(
      "button",
      { type: "button", class: "btn btn-link", id: "renombrar", "aria-label": `Renombrar la etapa «${title}»` },
      "Renombrar",
    );
    const heading = h(
      "div",
      { class: "detail-title" },
      h("h2", { id: "titulo-detalle", class: "file-name" }, title),
      rename,
    );
    rename.addEventListener("click", () => {
      const form = renameForm(status, heading);
      heading.replaceWith(form);
      form.querySelector("input").focus();
    });
    return h(
      "header",
      { class: "detail-header" },
      heading,
      title !== status.original_filename
        ? h("p", { class: "original-name file-name" }, `Archivo: ${status.original_filename}`)
        : null,
      h(
        "p",
        { class: "status-line" },
        h("span", { class: "visually-hidden" }, "Estado: "),
        h(
          "span",
          { id: "estado-archivo", "data-status": state, class: `badge badge-${state}` },
          STATUS_LABELS[state] || state,
        ),
        h(
          "span",
          { class: "mode", id: "modo-proceso", title: "Cómo se procesa este archivo" },
          `${WORKING.has(state) ? "Se procesa" : "Procesado"} ` +
            (MODE_LABELS[status.processing_mode] || status.processing_mode),
        ),
      ),
      h(
        "ol",
        { class: `steps steps-${state}`, "aria-label": "Progreso del procesado" },
        steps.map(([, label], i) =>
          h(
            "li",
            {
              class: i < order[state] || state === "completed" ? "done" : i === order[state] ? "current" : "",
              "aria-current": i === order[state] && state !== "completed" ? "step" : false,
            },
            label,
          ),
        ),
      ),
    );
  }

  function actionButtons(status, { danger }) {
    const download = h(
      "button",
      { type: "button", class: "btn", id: "descargar-original" },
      "Descargar el archivo original",
    );
    download.addEventListener("click", async () => {
      download.disabled = true;
      try {
        await downloadOriginal(status.gpx_file_id, status.original_filename);
      } catch (err) {
        hooks.onMessage(err.message, true);
      } finally {
        download.disabled = false;
      }
    });
    const remove = h(
      "button",
      { type: "button", class: danger ? "btn btn-danger" : "btn btn-danger-link" },
      "Eliminar este archivo",
    );
    remove.addEventListener("click", async () => {
      if (!window.confirm(`¿Eliminar «${status.original_filename}» de este viaje?`)) return;
      try {
        await api.del(`/gpx/${encodeURIComponent(status.gpx_file_id)}`);
      } catch (err) {
        hooks.onMessage(err.message, true);
        return;
      }
      announce("Archivo eliminado.");
      hooks.onDeleted();
    });
    return h("div", { class: "actions" }, download, remove);
  }

  function renderFailed(status, header) {
    const another = h("button", { type: "button", class: "btn btn-primary" }, "Subir otro archivo");
    another.addEventListener("click", () => hooks.onUploadAnother());
    container.replaceChildren(
      h(
        "div",
        { class: "card" },
        header,
        h(
          "div",
          { class: "error-panel", role: "alert", id: "error-proceso" },
          h(
            "h3",
            {},
            status.error_code === "DUPLICATE_RIDE"
              ? "Esta actividad ya estaba en el viaje"
              : "No hemos podido leer este archivo",
          ),
          h("p", { class: "error-message" }, status.error_message || "Error desconocido."),
          status.duplicate_of
            ? h(
                "p",
                {},
                h(
                  "a",
                  {
                    href: location.hash.replace(/[^/]+$/, encodeURIComponent(status.duplicate_of)),
                  },
                  "Ver la actividad que ya estaba",
                ),
              )
            : null,
          h(
            "p",
            { class: "error-advice" },
            h("strong", {}, "Qué puedes hacer: "),
            ADVICE[status.error_code] || DEFAULT_ADVICE,
          ),
          status.error_code ? h("p", { class: "error-code" }, `Código: ${status.error_code}`) : null,
        ),
        h("div", { class: "actions" }, another),
        actionButtons(status, { danger: true }),
      ),
    );
  }

  async function renderCompleted(status, header) {
    const st = status.stats || {};
    const indoor = st.indoor === true;
    const mapEl = h("div", {
      class: "map",
      id: "mapa",
      role: "region",
      "aria-label": "Mapa de la ruta. Usa las flechas para moverte y + o - para acercar.",
    });
    const mapNote = h("p", { class: "map-note", hidden: true });
    const profileEl = h("div", { class: "profile", id: "perfil" });
    container.replaceChildren(
      h(
        "div",
        { class: "result" },
        h("div", { class: "card result-head" }, header, actionButtons(status, { danger: false })),
        h(
          "section",
          { class: "card result-map", "aria-labelledby": "titulo-mapa" },
          h("h3", { id: "titulo-mapa" }, "Ruta"),
          indoor
            ? h(
                "p",
                { class: "notice", id: "sin-mapa" },
                "Sin mapa: esta actividad se grabó en interior (rodillo o bici estática) y el " +
                  "archivo no tiene posiciones GPS. Las cifras son las del dispositivo.",
              )
            : mapEl,
          mapNote,
        ),
        figures(st),
        h(
          "section",
          { class: "card result-profile", "aria-labelledby": "titulo-perfil" },
          h("h3", { id: "titulo-perfil" }, "Perfil de altitud"),
          profileEl,
        ),
      ),
    );
    const id = encodeURIComponent(fileId);
    const [track, series] = await Promise.all([
      indoor ? Promise.resolve(null) : api.get(`/gpx/${id}/track`).catch((err) => err),
      api.get(`/gpx/${id}/profile`).catch((err) => err),
    ]);
    if (destroyed) return;
    let map = null;
    if (track instanceof Error) {
      mapNote.textContent = track.message;
      mapNote.hidden = false;
    } else if (track) {
      const showPlainNote = () => {
        mapNote.textContent =
          "Sin conexión con los mapas de OpenStreetMap: la ruta se muestra sobre un fondo liso.";
        mapNote.hidden = false;
      };
      map = renderMap(mapEl, track, { online: navigator.onLine, onOffline: showPlainNote });
    }
    let profile = null;
    if (series instanceof Error) {
      profileEl.replaceChildren(h("p", { class: "muted" }, series.message));
    } else {
      profile = renderProfile(profileEl, series, {
        onCursor: (km) => map && map.showCursorAt(km),
      });
    }
    result = { map, profile };
    announce(
      `${status.title || status.original_filename}: Completado.` +
        (st.distance_km != null ? ` ${fmt.km(st.distance_km)}.` : "") +
        (timesUnusable(st) ? " Los tiempos de este archivo no son fiables." : ""),
    );
  }

  return {
    resize() {
      if (result && result.profile) result.profile.redraw();
    },
    destroy() {
      destroyed = true;
      live.stop();
      clearResult();
    },
  };
}
