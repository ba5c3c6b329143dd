// What every view shares: the page's <main>, the screen-reader announcer, the title, the
// signed-in user, navigation, form errors and the processing-state badge.

import { h } from "./dom.js";

export const main = document.getElementById("main");
const announcer = document.getElementById("announcer");

// The signed-in user (GET /auth/me), reset when the session changes.
export const session = { me: null };

export const STATUS_LABELS = {
  pending: "Pendiente",
  processing: "Procesando",
  retrying: "Reintentando",
  completed: "Completado",
  failed: "Error",
};
export const MODE_LABELS = { background: "en segundo plano", celery: "en un worker" };

export function announce(text) {
  announcer.textContent = text;
}

export function setTitle(text) {
  document.title = text ? `${text} · ContraVento` : "ContraVento";
}

// Go to a route; the same route again renders it again.
export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

export function errorBox(attrs = {}) {
  return h("p", { class: "form-error", role: "alert", hidden: true, ...attrs });
}

export function showError(box, error) {
  box.textContent = error && error.message ? error.message : "Ha ocurrido un error inesperado.";
  box.hidden = false;
}

export function setBusy(form, busy) {
  for (const el of form.querySelectorAll("button, input, textarea")) el.disabled = busy;
  form.setAttribute("aria-busy", busy ? "true" : "false");
}

export function badge(status) {
  return h(
    "span",
    { class: `badge badge-${status}`, "data-status": status },
    STATUS_LABELS[status] || status,
  );
}
