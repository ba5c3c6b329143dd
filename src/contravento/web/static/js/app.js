// ContraVento web app: hash routes, sign up / sign in, trips, GPX upload and processing state,
// and the processed route (map, profile, numbers). Plain ES modules, no build step.

import {
  api,
  auth,
  downloadOriginal,
  login,
  onUnauthorized,
  uploadGpx,
} from "./api.js";
import { field, h } from "./dom.js";
import * as fmt from "./format.js";
import { renderMap, trackLines } from "./map.js";
import { renderProfile } from "./profile.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const announcer = document.getElementById("announcer");

const STATUS_LABELS = {
  pending: "Pendiente",
  processing: "Procesando",
  completed: "Completado",
  failed: "Error",
};
const MODE_LABELS = { background: "en segundo plano", celery: "en un worker" };

// What a cyclist can do about each processing failure.
const ADVICE = {
  GPX_MALFORMED:
    "Vuelve a exportar la actividad desde tu dispositivo o aplicación (Garmin Connect, Strava, " +
    "Komoot, Wahoo…) y sube el archivo nuevo. Si lo copiaste a mano, puede haberse cortado.",
  GPX_NOT_GPX:
    "Exporta la actividad en formato GPX (no FIT, TCX ni KML) y súbela de nuevo.",
  GPX_NO_TRACKPOINTS:
    "Comprueba que has exportado la actividad grabada (el track) y no solo los puntos de interés.",
  GPX_INVALID_COORDINATES:
    "Abre el archivo en la aplicación con la que lo grabaste y expórtalo de nuevo.",
  GPX_UNSAFE_XML:
    "Exporta de nuevo el archivo desde la aplicación original, sin editarlo a mano.",
  GPX_TOO_MANY_POINTS:
    "Divide la grabación en varias etapas y súbelas por separado, o expórtala con menos puntos.",
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

let me = null;
let view = null;
let renderSeq = 0;

function announce(text) {
  announcer.textContent = text;
}

function setTitle(text) {
  document.title = text ? `${text} · ContraVento` : "ContraVento";
}

function focusHeading() {
  const heading = main.querySelector("h1");
  if (heading) heading.focus({ preventScroll: false });
}

function navigate(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function errorBox(attrs = {}) {
  return h("p", { class: "form-error", role: "alert", hidden: true, ...attrs });
}

function showError(box, error) {
  box.textContent = error && error.message ? error.message : "Ha ocurrido un error inesperado.";
  box.hidden = false;
}

function setBusy(form, busy) {
  for (const el of form.querySelectorAll("button, input, textarea")) el.disabled = busy;
  form.setAttribute("aria-busy", busy ? "true" : "false");
}

function badge(status) {
  return h(
    "span",
    { class: `badge badge-${status}`, "data-status": status },
    STATUS_LABELS[status] || status,
  );
}

// ---------------------------------------------------------------- routing

function parseRoute() {
  const parts = location.hash
    .replace(/^#\/?/, "")
    .split("/")
    .filter(Boolean)
    .map(decodeURIComponent);
  if (parts[0] === "registro") return { name: "registro" };
  if (parts[0] === "entrar") return { name: "entrar" };
  if (parts[0] === "viajes" && parts[1]) {
    return { name: "viaje", tripId: parts[1], fileId: parts[2] === "archivos" ? parts[3] : null };
  }
  return { name: auth.token ? "viajes" : "entrar" };
}

async function render() {
  const seq = ++renderSeq;
  const route = parseRoute();
  const needsAuth = route.name === "viajes" || route.name === "viaje";
  if (needsAuth && !auth.token) {
    location.replace("#/entrar");
    return;
  }
  if (!needsAuth && auth.token) {
    location.replace("#/viajes");
    return;
  }
  if (auth.token && !me) {
    try {
      me = await api.get("/auth/me");
    } catch (error) {
      if (seq !== renderSeq) return;
      if (!auth.token) return; // the 401 handler already sent us to the sign-in page
      showFatal(error);
      return;
    }
    if (seq !== renderSeq) return;
  }
  renderNav();
  if (view && view.name === "viaje" && route.name === "viaje" && view.tripId === route.tripId) {
    view.select(route.fileId);
    return;
  }
  if (view) view.destroy();
  view = null;
  main.replaceChildren();
  const make = { entrar: loginView, registro: registerView, viajes: tripsView, viaje: tripView };
  view = make[route.name](route);
  focusHeading();
}

function showFatal(error) {
  if (view) view.destroy();
  view = null;
  main.replaceChildren(
    h(
      "section",
      { class: "card" },
      h("h1", { tabindex: -1 }, "No podemos cargar la página"),
      h("p", {}, error.message),
      h("button", { type: "button", class: "btn", onclick: () => render() }, "Reintentar"),
    ),
  );
}

function renderNav() {
  if (auth.token && me) {
    nav.replaceChildren(
      h("a", { href: "#/viajes" }, "Mis viajes"),
      h("span", { class: "nav-user" }, me.display_name),
      h("button", { type: "button", class: "btn btn-link", onclick: logout }, "Salir"),
    );
  } else {
    nav.replaceChildren(
      h("a", { href: "#/entrar" }, "Entrar"),
      h("a", { href: "#/registro" }, "Crear cuenta"),
    );
  }
}

function logout() {
  auth.clear();
  me = null;
  announce("Has cerrado la sesión.");
  navigate("#/entrar");
}

onUnauthorized(() => {
  auth.clear();
  me = null;
  sessionStorage.setItem("contravento.notice", "Tu sesión ha caducado. Vuelve a entrar.");
  navigate("#/entrar");
});

// ---------------------------------------------------------------- sign in / sign up

function authLayout(title, lead, form, footer) {
  const notice = sessionStorage.getItem("contravento.notice");
  sessionStorage.removeItem("contravento.notice");
  main.append(
    h(
      "section",
      { class: "auth" },
      h("h1", { tabindex: -1 }, title),
      h("p", { class: "lead" }, lead),
      notice ? h("p", { class: "notice", role: "status" }, notice) : null,
      form,
      h("p", { class: "auth-switch" }, footer),
    ),
  );
}

function loginView() {
  setTitle("Entrar");
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const password = h("input", {
    type: "password",
    name: "password",
    autocomplete: "current-password",
    required: true,
  });
  const error = errorBox();
  const form = h(
    "form",
    { class: "card form" },
    field("Correo electrónico", email),
    field("Contraseña", password),
    error,
    h("button", { type: "submit", class: "btn btn-primary" }, "Entrar"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    setBusy(form, true);
    try {
      await login(email.value.trim(), password.value);
      me = null;
      navigate("#/viajes");
    } catch (err) {
      setBusy(form, false);
      showError(error, err);
      password.focus();
    }
  });
  authLayout(
    "Entrar",
    "Tu diario de viajes en bici: sube el GPX de cada etapa y mira la ruta, el perfil y las cifras.",
    form,
    ["¿Aún no tienes cuenta? ", h("a", { href: "#/registro" }, "Crea una")],
  );
  return { name: "entrar", destroy() {} };
}

function registerView() {
  setTitle("Crear cuenta");
  const name = h("input", {
    type: "text",
    name: "display_name",
    autocomplete: "nickname",
    required: true,
    maxlength: 100,
  });
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const password = h("input", {
    type: "password",
    name: "password",
    autocomplete: "new-password",
    required: true,
    minlength: 8,
    maxlength: 128,
  });
  const error = errorBox();
  const form = h(
    "form",
    { class: "card form" },
    field("Nombre", name, "Así te verán en tus viajes."),
    field("Correo electrónico", email),
    field("Contraseña", password, "Al menos 8 caracteres."),
    error,
    h("button", { type: "submit", class: "btn btn-primary" }, "Crear cuenta"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    setBusy(form, true);
    try {
      await api.post("/auth/register", {
        email: email.value.trim(),
        password: password.value,
        display_name: name.value.trim(),
      });
      await login(email.value.trim(), password.value);
      me = null;
      announce("Cuenta creada. ¡Bienvenida, bienvenido!");
      navigate("#/viajes");
    } catch (err) {
      setBusy(form, false);
      showError(error, err);
    }
  });
  authLayout(
    "Crear cuenta",
    "Guarda tus rutas en bici, etapa a etapa, con su mapa, su perfil y sus cifras.",
    form,
    ["¿Ya tienes cuenta? ", h("a", { href: "#/entrar" }, "Entra")],
  );
  return { name: "registro", destroy() {} };
}

// ---------------------------------------------------------------- my trips

function tripsView() {
  setTitle("Mis viajes");
  let destroyed = false;
  const PAGE = 50;
  let loaded = 0;
  const list = h("ul", { class: "trip-list", id: "lista-viajes", "aria-busy": "true" });
  const status = h("p", { class: "muted", role: "status" }, "Cargando tus viajes…");
  const more = h("button", { type: "button", class: "btn", hidden: true }, "Ver más viajes");
  const title = h("input", { type: "text", name: "title", required: true, maxlength: 200 });
  const description = h("textarea", { name: "description", rows: 3, maxlength: 5000 });
  const error = errorBox();
  const form = h(
    "form",
    { class: "card form", "aria-labelledby": "nuevo-viaje" },
    h("h2", { id: "nuevo-viaje" }, "Nuevo viaje"),
    field("Título", title, "Por ejemplo: «Vuelta a Gredos» o «Camino de Santiago, 2024»."),
    field("Descripción (opcional)", description),
    error,
    h("button", { type: "submit", class: "btn btn-primary" }, "Crear viaje"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    setBusy(form, true);
    try {
      const trip = await api.post("/trips", {
        title: title.value.trim(),
        description: description.value.trim() || null,
      });
      announce(`Viaje «${trip.title}» creado.`);
      navigate(`#/viajes/${trip.id}`);
    } catch (err) {
      setBusy(form, false);
      showError(error, err);
    }
  });

  async function load() {
    try {
      const page = await api.get(`/trips?limit=${PAGE}&offset=${loaded}`);
      if (destroyed) return;
      for (const trip of page.items) list.append(tripItem(trip));
      loaded += page.items.length;
      list.setAttribute("aria-busy", "false");
      status.textContent =
        page.total === 0
          ? "Aún no tienes viajes. Crea el primero y sube el GPX de tu ruta."
          : `${page.total} ${page.total === 1 ? "viaje" : "viajes"}`;
      more.hidden = loaded >= page.total;
    } catch (err) {
      if (!destroyed) status.textContent = err.message;
    }
  }
  more.addEventListener("click", load);

  main.append(
    h(
      "div",
      { class: "trips-layout" },
      h(
        "section",
        { class: "trips-main", "aria-labelledby": "mis-viajes" },
        h("h1", { id: "mis-viajes", tabindex: -1 }, "Mis viajes"),
        status,
        list,
        more,
      ),
      h("aside", { class: "trips-aside" }, form),
    ),
  );
  load();
  return {
    name: "viajes",
    destroy() {
      destroyed = true;
    },
  };
}

function tripItem(trip) {
  return h(
    "li",
    { class: "trip-item" },
    h(
      "a",
      { href: `#/viajes/${trip.id}`, class: "trip-link" },
      h("span", { class: "trip-title" }, trip.title),
      trip.description ? h("span", { class: "trip-desc" }, trip.description) : null,
      h("span", { class: "trip-date" }, `Creado el ${fmt.date(trip.created_at)}`),
    ),
  );
}

// ---------------------------------------------------------------- one trip

// Keep the browser from opening a file dropped outside the drop zone.
for (const type of ["dragover", "drop"]) {
  window.addEventListener(type, (event) => {
    if (event.dataTransfer && [...event.dataTransfer.types].includes("Files")) {
      event.preventDefault();
    }
  });
}

function tripView(route) {
  const tripId = route.tripId;
  let destroyed = false;
  let trip = null;
  let files = [];
  let selected = null;
  let result = null; // { map, profile } of the shown file
  let listTimer = null;
  let statusTimer = null;
  let lastStatus = null;

  setTitle("Viaje");
  const heading = h("h1", { tabindex: -1 }, "Cargando viaje…");
  const description = h("p", { class: "trip-description", hidden: true });
  const deleteTrip = h(
    "button",
    { type: "button", class: "btn btn-danger-link", hidden: true },
    "Eliminar viaje",
  );

  // upload zone
  const input = h("input", {
    type: "file",
    id: "gpx-input",
    name: "file",
    accept: ".gpx,application/gpx+xml",
    class: "file-input",
    "aria-describedby": "gpx-ayuda",
  });
  const dropzone = h(
    "div",
    { class: "dropzone", id: "zona-subida" },
    input,
    h(
      "label",
      { for: "gpx-input", class: "dropzone-label" },
      h("span", { class: "dropzone-icon", "aria-hidden": "true" }, "⤒"),
      h("strong", {}, "Elige un archivo .gpx"),
      h("span", {}, " o suéltalo aquí"),
    ),
    h(
      "small",
      { id: "gpx-ayuda", class: "hint" },
      "Exporta la actividad desde tu GPS o aplicación (Garmin, Strava, Komoot, Wahoo…).",
    ),
  );
  const progress = h("progress", {
    id: "progreso-subida",
    max: 100,
    value: 0,
    "aria-labelledby": "progreso-texto",
  });
  const progressText = h("span", { id: "progreso-texto" }, "");
  const progressBox = h(
    "div",
    { class: "upload-progress", id: "subida", hidden: true, dataset: { state: "idle" } },
    progressText,
    progress,
  );
  const uploadMessage = h("p", { class: "upload-message", role: "alert", hidden: true });

  const fileList = h("ul", { class: "file-list", id: "lista-archivos" });
  const filesEmpty = h(
    "p",
    { class: "muted" },
    "Todavía no hay archivos. Sube el GPX de una etapa para ver su ruta.",
  );
  const detail = h("section", { class: "file-detail", id: "detalle", "aria-live": "off" });

  main.append(
    h(
      "div",
      { class: "trip-page" },
      h("p", { class: "back" }, h("a", { href: "#/viajes" }, "← Mis viajes")),
      h("div", { class: "trip-header" }, h("div", {}, heading, description), deleteTrip),
      h(
        "div",
        { class: "trip-grid" },
        h(
          "section",
          { class: "card trip-files", "aria-labelledby": "titulo-archivos" },
          h("h2", { id: "titulo-archivos" }, "Archivos GPX"),
          dropzone,
          progressBox,
          uploadMessage,
          filesEmpty,
          fileList,
        ),
        detail,
      ),
    ),
  );

  // ---- trip
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
    heading.textContent = trip.title;
    setTitle(trip.title);
    if (trip.description) {
      description.textContent = trip.description;
      description.hidden = false;
    }
    deleteTrip.hidden = false;
    await refreshFiles();
    if (!destroyed) select(route.fileId);
  }

  deleteTrip.addEventListener("click", async () => {
    if (!window.confirm(`¿Eliminar el viaje «${trip.title}» y todos sus archivos?`)) return;
    try {
      await api.del(`/trips/${encodeURIComponent(tripId)}`);
      announce("Viaje eliminado.");
      navigate("#/viajes");
    } catch (err) {
      showUploadMessage(err.message, true);
    }
  });

  // ---- file list
  async function refreshFiles() {
    clearTimeout(listTimer);
    try {
      files = await api.get(`/trips/${encodeURIComponent(tripId)}/gpx`);
    } catch (err) {
      if (!destroyed) showUploadMessage(err.message, true);
      return;
    }
    if (destroyed) return;
    fileList.replaceChildren(...files.map(fileItem));
    filesEmpty.hidden = files.length > 0;
    markSelected();
    const busy = files.some(
      (f) => f.gpx_file_id !== selected && !["completed", "failed"].includes(f.processing_status),
    );
    if (busy) listTimer = setTimeout(refreshFiles, 3000);
  }

  function fileItem(file) {
    const meta = [fmt.bytes(file.size_bytes), fmt.dateTime(file.created_at)];
    if (file.distance_km !== null && file.distance_km !== undefined) meta.push(fmt.km(file.distance_km));
    return h(
      "li",
      { class: "file-item", "data-file-id": file.gpx_file_id },
      h(
        "a",
        { href: `#/viajes/${tripId}/archivos/${file.gpx_file_id}`, class: "file-link" },
        h("span", { class: "file-name" }, file.original_filename),
        h("span", { class: "file-meta" }, meta.join(" · ")),
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

  // ---- upload
  function showUploadMessage(text, isError) {
    uploadMessage.textContent = text;
    uploadMessage.classList.toggle("is-error", Boolean(isError));
    uploadMessage.hidden = false;
  }

  async function startUpload(file) {
    if (!file) return;
    uploadMessage.hidden = true;
    if (!/\.gpx$/i.test(file.name)) {
      showUploadMessage(
        `«${file.name}» no es un archivo .gpx. Exporta la actividad en formato GPX y vuelve a intentarlo.`,
        true,
      );
      return;
    }
    if (file.size === 0) {
      showUploadMessage(`«${file.name}» está vacío. Vuelve a exportarlo.`, true);
      return;
    }
    input.disabled = true;
    dropzone.classList.add("is-busy");
    progressBox.hidden = false;
    progressBox.dataset.state = "uploading";
    progressBox.dataset.events = "0";
    progress.max = file.size;
    progress.value = 0;
    progressText.textContent = `Subiendo «${file.name}»: 0 %`;
    announce(`Subiendo ${file.name}`);
    try {
      const body = await uploadGpx(tripId, file, (sent, total) => {
        progress.max = total;
        progress.value = sent;
        progressBox.dataset.events = String(Number(progressBox.dataset.events) + 1);
        const pct = Math.floor((sent / total) * 100);
        progressText.textContent =
          `Subiendo «${file.name}»: ${pct} % (${fmt.bytes(sent)} de ${fmt.bytes(total)})`;
      });
      if (destroyed) return;
      progress.value = progress.max;
      progressBox.dataset.state = "done";
      progressText.textContent = `Subido «${file.name}» (${fmt.bytes(file.size)}).`;
      if (body.duplicate) {
        showUploadMessage(
          "Este mismo archivo ya estaba en el viaje: te mostramos el que ya tenías.",
          false,
        );
      }
      announce(`Archivo subido. Estado: ${STATUS_LABELS[body.processing_status]}.`);
      await refreshFiles();
      navigate(`#/viajes/${tripId}/archivos/${body.gpx_file_id}`);
    } catch (err) {
      if (destroyed) return;
      progressBox.dataset.state = "error";
      progressText.textContent = `No se ha podido subir «${file.name}».`;
      showUploadMessage(
        err.code === "NETWORK_ERROR"
          ? "Se ha cortado la subida. Comprueba tu conexión y vuelve a intentarlo; si el " +
              "archivo es muy grande, puede que supere el tamaño máximo permitido."
          : err.message,
        true,
      );
    } finally {
      input.disabled = false;
      input.value = "";
      dropzone.classList.remove("is-busy");
    }
  }

  input.addEventListener("change", () => startUpload(input.files[0]));
  dropzone.addEventListener("dragenter", (event) => {
    event.preventDefault();
    dropzone.classList.add("is-over");
  });
  dropzone.addEventListener("dragover", (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    dropzone.classList.add("is-over");
  });
  dropzone.addEventListener("dragleave", (event) => {
    if (!dropzone.contains(event.relatedTarget)) dropzone.classList.remove("is-over");
  });
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropzone.classList.remove("is-over");
    if (input.disabled) return;
    startUpload(event.dataTransfer.files[0]);
  });

  // ---- selected file: status polling, then the result
  function clearResult() {
    clearTimeout(statusTimer);
    if (result && result.map) result.map.destroy();
    result = null;
    lastStatus = null;
  }

  function select(fileId) {
    if (destroyed || !trip) return;
    if (!fileId && files.length) {
      fileId = files[files.length - 1].gpx_file_id;
      history.replaceState(null, "", `#/viajes/${tripId}/archivos/${fileId}`);
    }
    if (fileId === selected && result) return;
    clearResult();
    selected = fileId || null;
    markSelected();
    if (!selected) {
      detail.replaceChildren(
        h(
          "div",
          { class: "card empty-detail" },
          h("h2", {}, "Tu ruta aparecerá aquí"),
          h("p", {}, "Sube un GPX y verás el mapa, el perfil de altitud y las cifras de la etapa."),
        ),
      );
      return;
    }
    detail.replaceChildren(h("div", { class: "card" }, h("p", { class: "muted" }, "Cargando…")));
    pollStatus(selected, 0);
  }

  async function pollStatus(fileId, round) {
    let status;
    try {
      status = await api.get(`/gpx/${encodeURIComponent(fileId)}/status`);
    } catch (err) {
      if (destroyed || selected !== fileId) return;
      if (err.status === 404) {
        detail.replaceChildren(h("div", { class: "card" }, h("p", {}, err.message)));
        return;
      }
      detail.replaceChildren(
        h("div", { class: "card" }, h("p", { role: "alert" }, err.message, " Reintentando…")),
      );
      statusTimer = setTimeout(() => pollStatus(fileId, round + 1), 3000);
      return;
    }
    if (destroyed || selected !== fileId) return;
    const state = status.processing_status;
    if (state !== lastStatus) {
      lastStatus = state;
      renderDetail(status);
      updateListBadge(fileId, state);
    }
    if (state === "pending" || state === "processing") {
      const delay = round < 20 ? 700 : round < 60 ? 1500 : 3000;
      statusTimer = setTimeout(() => pollStatus(fileId, round + 1), delay);
    } else {
      refreshFiles();
    }
  }

  function updateListBadge(fileId, state) {
    const item = fileList.querySelector(`[data-file-id="${CSS.escape(fileId)}"] .badge`);
    if (item) item.replaceWith(badge(state));
  }

  function statusHeader(status) {
    const state = status.processing_status;
    const steps = [
      ["pending", "Subido"],
      ["processing", "Procesando"],
      ["completed", state === "failed" ? "Error" : "Listo"],
    ];
    const order = { pending: 0, processing: 1, completed: 2, failed: 2 };
    return h(
      "header",
      { class: "detail-header" },
      h("h2", { id: "titulo-detalle" }, status.original_filename),
      h(
        "p",
        { class: "status-line" },
        h("span", { class: "visually-hidden" }, "Estado: "),
        h(
          "span",
          { id: "estado-archivo", "data-status": state, class: `badge badge-${state}` },
          STATUS_LABELS[state],
        ),
        h(
          "span",
          { class: "mode", id: "modo-proceso", title: "Cómo se procesa este archivo" },
          `${state === "pending" || state === "processing" ? "Se procesa" : "Procesado"} ` +
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

  function renderDetail(status) {
    const state = status.processing_status;
    const header = statusHeader(status);
    if (state === "pending" || state === "processing") {
      detail.replaceChildren(
        h(
          "div",
          { class: "card" },
          header,
          h(
            "p",
            { class: "working" },
            h("span", { class: "spinner", "aria-hidden": "true" }),
            state === "pending"
              ? "En cola: empezará en unos segundos."
              : "Calculando la ruta, el perfil de altitud y las cifras…",
          ),
        ),
      );
      announce(`${status.original_filename}: ${STATUS_LABELS[state]}.`);
      return;
    }
    if (state === "failed") {
      renderFailed(status, header);
      return;
    }
    renderCompleted(status, header);
  }

  function actionButtons(status, { danger }) {
    const download = h(
      "button",
      { type: "button", class: "btn", id: "descargar-original" },
      "Descargar el GPX original",
    );
    download.addEventListener("click", async () => {
      download.disabled = true;
      try {
        await downloadOriginal(status.gpx_file_id, status.original_filename);
      } catch (err) {
        showUploadMessage(err.message, true);
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
        showUploadMessage(err.message, true);
        return;
      }
      announce("Archivo eliminado.");
      clearResult();
      selected = null;
      await refreshFiles();
      history.replaceState(null, "", `#/viajes/${tripId}`);
      select(null);
    });
    return h("div", { class: "actions" }, download, remove);
  }

  function renderFailed(status, header) {
    const another = h("button", { type: "button", class: "btn btn-primary" }, "Subir otro archivo");
    another.addEventListener("click", () => {
      input.focus();
      input.click();
    });
    detail.replaceChildren(
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
                  { href: `#/viajes/${tripId}/archivos/${encodeURIComponent(status.duplicate_of)}` },
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
    const mapEl = h("div", {
      class: "map",
      id: "mapa",
      role: "region",
      "aria-label": "Mapa de la ruta. Usa las flechas para moverte y + o - para acercar.",
    });
    const mapNote = h("p", { class: "map-note", hidden: true });
    const profileEl = h("div", { class: "profile", id: "perfil" });
    const statsCard = statsBlock(status.stats || {});
    detail.replaceChildren(
      h(
        "div",
        { class: "result" },
        h("div", { class: "card result-head" }, header, actionButtons(status, { danger: false })),
        h(
          "section",
          { class: "card result-map", "aria-labelledby": "titulo-mapa" },
          h("h3", { id: "titulo-mapa" }, "Ruta"),
          mapEl,
          mapNote,
        ),
        statsCard,
        h(
          "section",
          { class: "card result-profile", "aria-labelledby": "titulo-perfil" },
          h("h3", { id: "titulo-perfil" }, "Perfil de altitud"),
          profileEl,
        ),
      ),
    );
    const fileId = status.gpx_file_id;
    let track;
    try {
      track = await api.get(`/gpx/${encodeURIComponent(fileId)}/track`);
    } catch (err) {
      if (!destroyed && selected === fileId) mapNote.textContent = err.message;
      mapNote.hidden = false;
      return;
    }
    if (destroyed || selected !== fileId) return;
    const withElevation = trackLines(track)
      .flat()
      .filter((c) => c.length > 2);
    const online = navigator.onLine;
    const showPlainNote = () => {
      mapNote.textContent =
        "Sin conexión con los mapas de OpenStreetMap: la ruta se muestra sobre un fondo liso.";
      mapNote.hidden = false;
    };
    const map = renderMap(mapEl, track, { online, onOffline: showPlainNote });
    const profile = renderProfile(profileEl, track.profile, {
      onCursor: (i) => {
        const c = withElevation[i];
        if (c) map.showCursor(c[0], c[1]);
      },
    });
    result = { map, profile };
    announce(
      `${status.original_filename}: Completado.` +
        (status.stats && status.stats.distance_km != null
          ? ` ${fmt.km(status.stats.distance_km)}.`
          : ""),
    );
  }

  function statsBlock(st) {
    const rows = [];
    const add = (key, label, value, format) => {
      if (value === null || value === undefined) return;
      rows.push(
        h(
          "div",
          { class: `stat stat-${key}`, "data-stat": key, "data-value": value },
          h("dt", {}, label),
          h("dd", {}, format(value)),
        ),
      );
    };
    add("distance_km", "Distancia", st.distance_km, fmt.km);
    add("elevation_gain_m", "Desnivel positivo", st.elevation_gain_m, (v) => `+${fmt.meters(v)}`);
    add("elevation_loss_m", "Desnivel negativo", st.elevation_loss_m, (v) => `−${fmt.meters(v)}`);
    add("moving_time_s", "Tiempo en movimiento", st.moving_time_s, fmt.duration);
    add("duration_s", "Tiempo total", st.duration_s, fmt.duration);
    add("avg_speed_kmh", "Velocidad media", st.avg_speed_kmh, fmt.speed);
    add("max_speed_kmh", "Velocidad máxima", st.max_speed_kmh, fmt.speed);
    add("min_elevation_m", "Altitud mínima", st.min_elevation_m, fmt.meters);
    add("max_elevation_m", "Altitud máxima", st.max_elevation_m, fmt.meters);
    add("avg_hr", "Pulso medio", st.avg_hr, (v) => `${fmt.integer(v)} ppm`);
    add("max_hr", "Pulso máximo", st.max_hr, (v) => `${fmt.integer(v)} ppm`);
    add("avg_cadence", "Cadencia media", st.avg_cadence, (v) => `${fmt.integer(v)} rpm`);
    add("avg_power", "Potencia media", st.avg_power, (v) => `${fmt.integer(v)} W`);
    add("max_power", "Potencia máxima", st.max_power, (v) => `${fmt.integer(v)} W`);
    add("start_time", "Salida", st.start_time, fmt.dateTime);
    return h(
      "section",
      { class: "card result-stats", id: "cifras", "aria-labelledby": "titulo-cifras" },
      h("h3", { id: "titulo-cifras" }, "Cifras"),
      rows.length
        ? h("dl", { class: "stats" }, rows)
        : h("p", { class: "muted" }, "Sin cifras para este archivo."),
    );
  }

  function onResize() {
    if (result && result.profile) result.profile.redraw();
  }
  let resizeTimer = null;
  const resizeListener = () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(onResize, 150);
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
      clearResult();
      clearTimeout(listTimer);
      clearTimeout(resizeTimer);
      window.removeEventListener("resize", resizeListener);
    },
  };
}

// ---------------------------------------------------------------- start

document.getElementById("skip-link").addEventListener("click", () => {
  const target = main.querySelector("h1") || main;
  target.focus();
});
window.addEventListener("hashchange", render);
render();
