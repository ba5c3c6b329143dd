// ContraVento web app: hash routes to one view each (views/*.js). Plain ES modules, no build.

import { api, auth, onUnauthorized } from "./api.js";
import { h } from "./dom.js";
import { announce, main, navigate, session } from "./shell.js";
import { loginView, registerView } from "./views/auth.js";
import { tripView } from "./views/trip.js";
import { tripsView } from "./views/trips.js";

const nav = document.getElementById("nav");
const VIEWS = { entrar: loginView, registro: registerView, viajes: tripsView, viaje: tripView };

let view = null;
let renderSeq = 0;

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
  if (auth.token && !session.me) {
    try {
      session.me = await api.get("/auth/me");
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
  view = VIEWS[route.name](route);
  const heading = main.querySelector("h1");
  if (heading) heading.focus({ preventScroll: false });
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
  if (auth.token && session.me) {
    nav.replaceChildren(
      h("a", { href: "#/viajes" }, "Mis viajes"),
      h("span", { class: "nav-user" }, session.me.display_name),
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
  session.me = null;
  announce("Has cerrado la sesión.");
  navigate("#/entrar");
}

onUnauthorized(() => {
  auth.clear();
  session.me = null;
  sessionStorage.setItem("contravento.notice", "Tu sesión ha caducado. Vuelve a entrar.");
  navigate("#/entrar");
});

document.getElementById("skip-link").addEventListener("click", () => {
  const target = main.querySelector("h1") || main;
  target.focus();
});
window.addEventListener("hashchange", render);
render();
