// Sign in and sign up.

import { api, login } from "../api.js";
import { field, h } from "../dom.js";
import { announce, errorBox, main, navigate, session, setBusy, setTitle, showError } from "../shell.js";

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

export function loginView() {
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
      session.me = null;
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

export function registerView() {
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
      session.me = null;
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

