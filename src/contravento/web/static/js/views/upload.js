// The upload zone of a trip: many files at once (input or drop), each with its own progress
// bar and a cancel button, at most PARALLEL in flight; a zip answers 202 with an import whose
// progress (GET /imports/{id}) lists the stages it created and the files it skipped.

import { api, uploadFile } from "../api.js";
import { h } from "../dom.js";
import * as fmt from "../format.js";
import { announce } from "../shell.js";

export const PARALLEL = 3;
export const ACCEPT = ".gpx,.fit,.tcx,.gz,.zip";
const ACCEPTED = /\.(gpx|fit|tcx|zip|gz)$/i;
const IMPORT_DONE = new Set(["completed", "failed", "done"]);

// Keep the browser from opening a file dropped outside the drop zone.
for (const type of ["dragover", "drop"]) {
  window.addEventListener(type, (event) => {
    if (event.dataTransfer && [...event.dataTransfer.types].includes("Files")) {
      event.preventDefault();
    }
  });
}

// uploadPanel({ tripId, onUploaded(body, batchSize), onSettled() }) -> { element, open(), destroy() }
export function uploadPanel({ tripId, onUploaded, onSettled }) {
  let destroyed = false;
  let seq = 0;
  const queue = [];
  const running = new Set();
  const timers = new Set();

  const input = h("input", {
    type: "file",
    id: "gpx-input",
    name: "file",
    multiple: true,
    accept: ACCEPT,
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
      h("strong", {}, "Elige tus archivos"),
      h("span", {}, " o suéltalos aquí"),
    ),
    h(
      "small",
      { id: "gpx-ayuda", class: "hint" },
      "GPX, FIT o TCX (también comprimidos en .gz), o un .zip con muchas actividades: la " +
        "exportación de Strava o Garmin Connect tal cual.",
    ),
  );
  const list = h("ul", { class: "upload-list", id: "subidas", "aria-label": "Subidas" });
  const element = h("div", { class: "upload-panel" }, dropzone, list);

  function addItems(files) {
    const batch = [...files];
    for (const file of batch) {
      const item = makeItem(file, batch.length);
      list.append(item.li);
      if (!ACCEPTED.test(file.name)) {
        item.fail(
          `«${file.name}» no es un archivo de actividad: sube archivos .gpx, .fit, .tcx, .gz o .zip.`,
        );
        continue;
      }
      if (file.size === 0) {
        item.fail(`«${file.name}» está vacío. Vuelve a exportarlo.`);
        continue;
      }
      queue.push(item);
    }
    if (batch.length > 1) announce(`${batch.length} archivos en cola.`);
    pump();
  }

  function pump() {
    while (!destroyed && running.size < PARALLEL && queue.length) {
      const item = queue.shift();
      running.add(item);
      item.start().finally(() => {
        running.delete(item);
        pump();
        if (!running.size && !queue.length && !destroyed) onSettled();
      });
    }
    list.dataset.running = String(running.size);
  }

  function makeItem(file, batchSize) {
    const n = ++seq;
    const progress = h("progress", { max: file.size || 1, value: 0, "aria-labelledby": `subida-${n}-texto` });
    const text = h("span", { class: "upload-text", id: `subida-${n}-texto` }, `«${file.name}»: en cola`);
    const cancel = h(
      "button",
      { type: "button", class: "btn btn-link upload-cancel", "aria-label": `Cancelar la subida de «${file.name}»` },
      "Cancelar",
    );
    const detail = h("div", { class: "upload-detail" });
    const li = h(
      "li",
      { class: "upload-item", id: `subida-${n}`, dataset: { state: "queued", events: "0", name: file.name } },
      h("div", { class: "upload-row" }, text, cancel),
      progress,
      detail,
    );
    let abort = null;
    const setState = (state) => {
      li.dataset.state = state;
      cancel.hidden = !(state === "queued" || state === "uploading");
    };
    const item = {
      li,
      fail(message) {
        setState("error");
        progress.hidden = true;
        text.textContent = message;
        text.setAttribute("role", "alert");
      },
      async start() {
        setState("uploading");
        text.textContent = `Subiendo «${file.name}»: 0${fmt.NBSP}%`;
        const upload = uploadFile(tripId, file, (sent, total) => {
          progress.max = total;
          progress.value = sent;
          li.dataset.events = String(Number(li.dataset.events) + 1);
          const pct = Math.floor((sent / total) * 100);
          text.textContent =
            `Subiendo «${file.name}»: ${pct}${fmt.NBSP}% (${fmt.bytes(sent)} de ${fmt.bytes(total)})`;
        });
        abort = upload.abort;
        let answer;
        try {
          answer = await upload.promise;
        } catch (err) {
          if (destroyed) return;
          if (err.code === "ABORTED") {
            setState("cancelled");
            text.textContent = `Cancelada la subida de «${file.name}».`;
            announce(`Cancelada la subida de ${file.name}.`);
            return;
          }
          item.fail(
            err.code === "NETWORK_ERROR"
              ? `Se ha cortado la subida de «${file.name}». Comprueba tu conexión y vuelve a ` +
                  "intentarlo; si el archivo es muy grande, puede que supere el tamaño máximo."
              : `«${file.name}»: ${err.message}`,
          );
          return;
        }
        if (destroyed) return;
        progress.value = progress.max;
        setState("done");
        const { status, body } = answer;
        if (status === 202 && body.import_id) {
          text.textContent = `Subido «${file.name}» (${fmt.bytes(file.size)}): abriendo el archivo comprimido…`;
          li.dataset.importId = body.import_id;
          await followImport(body.import_id, file, text, detail);
          return;
        }
        text.textContent = body.duplicate
          ? `«${file.name}» ya estaba en el viaje: te mostramos el que ya tenías.`
          : `Subido «${file.name}» (${fmt.bytes(file.size)}).`;
        li.dataset.fileId = body.gpx_file_id;
        announce(`Subido ${file.name}.`);
        onUploaded(body, batchSize);
      },
    };
    cancel.addEventListener("click", () => {
      if (li.dataset.state === "queued") {
        queue.splice(queue.indexOf(item), 1);
        setState("cancelled");
        progress.hidden = true;
        text.textContent = `Cancelada la subida de «${file.name}».`;
        pump();
        if (!running.size && !queue.length) onSettled();
      } else if (abort) {
        abort();
      }
    });
    setState("queued");
    return item;
  }

  // GET /imports/{id} until the archive is expanded: created stages and skipped files.
  async function followImport(importId, file, text, detail) {
    for (let round = 0; !destroyed; round += 1) {
      let report;
      try {
        report = await api.get(`/imports/${encodeURIComponent(importId)}`);
      } catch (err) {
        if (destroyed) return;
        text.textContent = `«${file.name}»: ${err.message}`;
        return;
      }
      if (destroyed) return;
      showImport(report, file, text, detail);
      if (IMPORT_DONE.has(report.status)) {
        onSettled();
        return;
      }
      await new Promise((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, round < 20 ? 700 : 2000);
        timers.add(t);
      });
    }
  }

  function showImport(report, file, text, detail) {
    const created = report.created || [];
    const skipped = report.skipped || [];
    const found = report.members_found ?? created.length + skipped.length;
    const done = IMPORT_DONE.has(report.status);
    text.textContent =
      `«${file.name}»: ${found} ${found === 1 ? "archivo" : "archivos"} dentro; ` +
      `${created.length} ${created.length === 1 ? "etapa creada" : "etapas creadas"}` +
      (skipped.length ? `, ${skipped.length} ${skipped.length === 1 ? "omitido" : "omitidos"}` : "") +
      (done ? "." : "…");
    const parts = [
      created.length
        ? h(
            "ul",
            { class: "import-created" },
            created.map((c) =>
              h("li", { "data-file-id": c.gpx_file_id }, h("a", { href: `#/viajes/${tripId}/archivos/${c.gpx_file_id}`, class: "file-name" }, c.name)),
            ),
          )
        : null,
      skipped.length
        ? h(
            "details",
            { class: "import-skipped", open: done && skipped.length <= 5 },
            h("summary", {}, `Omitidos (${skipped.length})`),
            h(
              "ul",
              {},
              skipped.map((x) =>
                h("li", { "data-reason": x.reason_code }, h("span", { class: "file-name" }, x.name), `: ${x.reason}`),
              ),
            ),
          )
        : null,
    ];
    detail.replaceChildren(...parts.filter(Boolean));
    if (done) announce(text.textContent);
  }

  input.addEventListener("change", () => {
    addItems(input.files);
    input.value = "";
  });
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
    addItems(event.dataTransfer.files);
  });

  return {
    element,
    open() {
      input.focus();
      input.click();
    },
    destroy() {
      destroyed = true;
      // uploads in flight finish on their own; only this panel stops showing them
      for (const t of timers) clearTimeout(t);
    },
  };
}
