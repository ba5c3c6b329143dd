// The JSON API of this same origin: bearer token, Spanish error bodies, XHR upload with
// progress and cancel.

const TOKEN_KEY = "contravento.token";

export class ApiError extends Error {
  constructor(status, code, message, fields = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

const NETWORK_ERROR = () =>
  new ApiError(
    0,
    "NETWORK_ERROR",
    "No hay conexión con el servidor. Comprueba tu conexión a internet e inténtalo de nuevo.",
  );

export function errorFrom(status, text) {
  try {
    const body = JSON.parse(text);
    if (body && body.error && body.error.message) {
      const { code, message } = body.error;
      // the server's Spanish sentence names the field and the rule: shown as it is
      const fields = Array.isArray(body.error.fields) ? body.error.fields : [];
      return new ApiError(status, code, message, fields);
    }
  } catch {
    // not JSON: fall through to a generic message
  }
  return new ApiError(
    status,
    `HTTP_${status}`,
    `El servidor ha respondido con un error (${status}). Inténtalo de nuevo en un momento.`,
  );
}

export const auth = {
  get token() {
    return localStorage.getItem(TOKEN_KEY);
  },
  set(token) {
    localStorage.setItem(TOKEN_KEY, token);
  },
  clear() {
    localStorage.removeItem(TOKEN_KEY);
  },
};

let unauthorized = () => {};

// Called when a request made with a token answers 401: the session expired.
export function onUnauthorized(handler) {
  unauthorized = handler;
}

// For requests made outside request() (the event stream): a 401 ends the session the same way.
export function reportUnauthorized(error) {
  unauthorized(error);
}

export function authHeaders() {
  const token = auth.token;
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function request(method, path, body) {
  const headers = { Accept: "application/json", ...authHeaders() };
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw NETWORK_ERROR();
  }
  const text = response.status === 204 ? "" : await response.text();
  if (!response.ok) {
    const error = errorFrom(response.status, text);
    if (response.status === 401 && headers.Authorization) unauthorized(error);
    throw error;
  }
  return text ? JSON.parse(text) : null;
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, body) => request("POST", path, body),
  patch: (path, body) => request("PATCH", path, body),
  del: (path) => request("DELETE", path),
};

export async function login(email, password) {
  auth.clear();
  const body = await api.post("/auth/login", { email, password });
  auth.set(body.access_token);
}

// POST /trips/{id}/gpx as multipart `file`, reporting bytes sent as they leave the browser.
// { promise, abort }: abort() cancels the upload in flight (the promise rejects with ABORTED).
export function uploadFile(tripId, file, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open("POST", `/trips/${encodeURIComponent(tripId)}/gpx`);
    xhr.setRequestHeader("Accept", "application/json");
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener("progress", (event) => {
      onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve({ status: xhr.status, body: JSON.parse(xhr.responseText) });
        return;
      }
      const error = errorFrom(xhr.status, xhr.responseText);
      if (xhr.status === 401) unauthorized(error);
      reject(error);
    });
    xhr.addEventListener("error", () => reject(NETWORK_ERROR()));
    xhr.addEventListener("abort", () =>
      reject(new ApiError(0, "ABORTED", "Has cancelado la subida.")),
    );
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

// The original file needs the bearer token, so fetch it and hand the browser a blob to save.
export async function downloadOriginal(fileId, filename) {
  let response;
  try {
    response = await fetch(`/gpx/${encodeURIComponent(fileId)}/download`, {
      headers: authHeaders(),
    });
  } catch {
    throw NETWORK_ERROR();
  }
  if (!response.ok) throw errorFrom(response.status, await response.text());
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}
