// My trips: the list (distance and stage count of each) and the form for a new one.

import { api } from "../api.js";
import { field, h } from "../dom.js";
import * as fmt from "../format.js";
import { announce, errorBox, main, navigate, setBusy, setTitle, showError } from "../shell.js";

export function tripsView() {
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
      h(
        "span",
        { class: "trip-date" },
        trip.stage_count
          ? `${trip.stage_count} ${trip.stage_count === 1 ? "etapa" : "etapas"} · ${fmt.km(trip.distance_km)}`
          : `Sin etapas · creado el ${fmt.date(trip.created_at)}`,
      ),
    ),
  );
}

