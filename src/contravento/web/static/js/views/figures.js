// A stage's figures: what we computed, the device's own totals beside them when the file
// carries them, the ride-local start, and a notice when the file's times are not usable.

import { h } from "../dom.js";
import * as fmt from "../format.js";

// stats.time_quality values that need no notice.
const TIMES_USABLE = new Set(["ok", "absent"]);
const TIMED = new Set(["moving_time_s", "duration_s", "avg_speed_kmh", "max_speed_kmh"]);

const ppm = (v) => fmt.withUnit(v, 0, "ppm");
const rpm = (v) => fmt.withUnit(v, 0, "rpm");
const watts = (v) => fmt.withUnit(v, 0, "W");

const COMPUTED = [
  ["distance_km", "Distancia", fmt.km],
  ["elevation_gain_m", "Desnivel positivo", fmt.gain],
  ["elevation_loss_m", "Desnivel negativo", fmt.loss],
  ["moving_time_s", "Tiempo en movimiento", fmt.duration],
  ["duration_s", "Tiempo total", fmt.duration],
  ["avg_speed_kmh", "Velocidad media", fmt.speed],
  ["max_speed_kmh", "Velocidad máxima", fmt.speed],
  ["min_elevation_m", "Altitud mínima", fmt.meters],
  ["max_elevation_m", "Altitud máxima", fmt.meters],
  ["avg_hr", "Pulso medio", ppm],
  ["max_hr", "Pulso máximo", ppm],
  ["avg_cadence", "Cadencia media", rpm],
  ["avg_power", "Potencia media", watts],
  ["max_power", "Potencia máxima", watts],
];

const DEVICE = [
  ["distance_km", "Distancia", fmt.km],
  ["timer_time_s", "Tiempo en movimiento", fmt.duration],
  ["elapsed_time_s", "Tiempo total", fmt.duration],
  ["ascent_m", "Desnivel positivo", fmt.gain],
  ["descent_m", "Desnivel negativo", fmt.loss],
  ["avg_speed_kmh", "Velocidad media", fmt.speed],
  ["max_speed_kmh", "Velocidad máxima", fmt.speed],
  ["avg_hr", "Pulso medio", ppm],
  ["max_hr", "Pulso máximo", ppm],
  ["avg_power", "Potencia media", watts],
  ["calories_kcal", "Energía", (v) => fmt.withUnit(v, 0, "kcal")],
];

const present = (v) => v !== null && v !== undefined;

export const timesUnusable = (st) => present(st.time_quality) && !TIMES_USABLE.has(st.time_quality);

function rows(source, table, skip = () => false) {
  return table
    .filter(([key]) => present(source[key]) && !skip(key))
    .map(([key, label, format]) =>
      h(
        "div",
        { class: `stat stat-${key}`, "data-stat": key, "data-value": source[key] },
        h("dt", {}, label),
        h("dd", {}, format(source[key])),
      ),
    );
}

export function figures(st) {
  const unusable = timesUnusable(st);
  const computed = rows(st, COMPUTED, (key) => unusable && TIMED.has(key));
  const start = unusable ? null : fmt.rideStart(st);
  const startRow = start
    ? h(
        "div",
        { class: "stat stat-start_time stat-wide", "data-stat": "start_time", "data-value": st.start_time },
        h("dt", {}, "Salida"),
        h(
          "dd",
          {},
          h("span", { class: "nowrap" }, start.date),
          ", ",
          h("span", { class: "nowrap" }, start.time),
          start.local ? null : h("span", { class: "stat-note" }, `${fmt.NBSP}UTC`),
        ),
      )
    : null;
  const device = st.device && typeof st.device === "object" ? st.device : null;
  const deviceRows = device ? rows(device, DEVICE) : [];
  return h(
    "section",
    { class: "card result-stats", id: "cifras", "aria-labelledby": "titulo-cifras" },
    h("h3", { id: "titulo-cifras" }, "Cifras"),
    unusable
      ? h(
          "p",
          { class: "notice notice-warn", id: "aviso-tiempos", role: "note" },
          h("strong", {}, "Los tiempos de este archivo no son fiables"),
          " (el dispositivo grabó horas imposibles o repetidas): la distancia, el desnivel y el " +
            "mapa salen de las posiciones; no mostramos tiempos ni velocidades.",
        )
      : null,
    computed.length || startRow
      ? h("dl", { class: "stats" }, computed, startRow)
      : h("p", { class: "muted" }, "Sin cifras para este archivo."),
    deviceRows.length
      ? h(
          "section",
          { class: "device-totals", id: "cifras-dispositivo", "aria-labelledby": "titulo-dispositivo" },
          h("h4", { id: "titulo-dispositivo" }, "Según el dispositivo"),
          h(
            "p",
            { class: "hint" },
            "Los totales que guardó el propio aparato; las cifras de arriba las calculamos a " +
              "partir de los puntos del recorrido.",
          ),
          h("dl", { class: "stats stats-device" }, deviceRows),
        )
      : null,
  );
}
