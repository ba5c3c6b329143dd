// Elevation profile (distance vs elevation) as a hand-drawn SVG, sized to its container, from
// GET /gpx/{id}/profile (at most ~1,000 samples of the full-resolution points).
// Axis ticks sit on "nice" steps (1, 2, 2.5, 5 × 10^n) and carry the decimals the step needs
// (0; 2,5; 5; 7,5 km). Pointer and keyboard (arrows, Home, End) move a cursor that reads
// distance, height and slope aloud; heart rate, cadence and power are optional lines.

import { h, s } from "./dom.js";
import * as fmt from "./format.js";

const minOf = (xs) => xs.reduce((a, b) => (b < a ? b : a), Infinity);
const maxOf = (xs) => xs.reduce((a, b) => (b > a ? b : a), -Infinity);
const NICE = [1, 2, 2.5, 5];

// The nice steps around a span, largest first.
function niceSteps(span) {
  const top = 10 ** Math.ceil(Math.log10(span || 1));
  const out = [];
  for (let p = top; p >= top / 1e4; p /= 10) {
    for (const m of [...NICE].reverse()) out.push(m * p);
  }
  return out;
}

const decimalsOf = (step) => {
  for (let d = 0; d < 6; d += 1) if (Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) < 1e-6) return d;
  return 6;
};

// Ticks between min and max: the largest nice step giving at least `least` of them.
export function ticks(min, max, least) {
  let chosen = null;
  for (const step of niceSteps(max - min)) {
    const first = Math.ceil(min / step - 1e-9);
    const last = Math.floor(max / step + 1e-9);
    chosen = { step, first, last };
    if (last - first + 1 >= least) break;
  }
  const { step, first, last } = chosen;
  const decimals = decimalsOf(step);
  const values = [];
  for (let i = first; i <= last; i += 1) values.push(Number((i * step).toFixed(decimals)));
  return { step, decimals, values };
}

// A tick's text: the step's decimals at most, no trailing zeros ("2,5", "5"), no "−0".
const tickLabels = new Map();
export function tickText(value, decimals) {
  if (!tickLabels.has(decimals)) {
    tickLabels.set(
      decimals,
      new Intl.NumberFormat("es-ES", { maximumFractionDigits: decimals, signDisplay: "never" }),
    );
  }
  const text = tickLabels.get(decimals).format(value);
  return value < 0 && text !== "0" ? `${fmt.MINUS}${text}` : text;
}

const EXTRAS = [
  { key: "hr", label: "Pulso", unit: "ppm", className: "perfil-pulso" },
  { key: "cadence", label: "Cadencia", unit: "rpm", className: "perfil-cadencia" },
  { key: "power", label: "Potencia", unit: "W", className: "perfil-potencia" },
];

// The samples with a height: [{ d, e, hr, cadence, power }]
function samplesOf(series) {
  const out = [];
  const n = series.distance_km.length;
  for (let i = 0; i < n; i += 1) {
    const e = series.elevation_m[i];
    if (e === null || e === undefined) continue;
    out.push({
      d: series.distance_km[i],
      e,
      hr: series.hr ? series.hr[i] : null,
      cadence: series.cadence ? series.cadence[i] : null,
      power: series.power ? series.power[i] : null,
    });
  }
  return out;
}

// The slope (%) around sample i, over about 100 m either way.
function slopeAt(samples, i) {
  const d = samples[i].d;
  let a = i;
  let b = i;
  while (a > 0 && d - samples[a - 1].d <= 0.05) a -= 1;
  while (b < samples.length - 1 && samples[b + 1].d - d <= 0.05) b += 1;
  if (a === b) {
    a = Math.max(0, i - 1);
    b = Math.min(samples.length - 1, i + 1);
  }
  const run = (samples[b].d - samples[a].d) * 1000;
  return run > 0 ? ((samples[b].e - samples[a].e) / run) * 100 : 0;
}

export function renderProfile(container, series, { onCursor } = {}) {
  container.replaceChildren();
  const samples = samplesOf(series);
  container.dataset.pointCount = String(samples.length);
  if (samples.length === 0) {
    container.append(
      h("p", { class: "muted" }, "Este archivo no tiene datos de altitud: no hay perfil que dibujar."),
    );
    return { redraw() {} };
  }
  const extras = EXTRAS.filter((x) => samples.some((p) => p[x.key] !== null && p[x.key] !== undefined));
  const shown = new Set();
  let cursorIndex = null;

  const toggles = extras.length
    ? h(
        "fieldset",
        { class: "perfil-capas" },
        h("legend", {}, "Mostrar también"),
        extras.map((x) => {
          const box = h("input", { type: "checkbox", id: `perfil-${x.key}`, "data-serie": x.key });
          box.addEventListener("change", () => {
            if (box.checked) shown.add(x.key);
            else shown.delete(x.key);
            draw();
          });
          return h("label", { class: `perfil-capa ${x.className}` }, box, ` ${x.label}`);
        }),
      )
    : null;
  const chart = h("div", { class: "perfil-grafico" });
  const readout = h("p", { class: "perfil-lectura", "aria-live": "polite" }, " ");
  container.append(...[chart, readout, toggles].filter(Boolean));

  function draw() {
    chart.replaceChildren();
    const width = Math.max(chart.clientWidth || container.clientWidth, 280);
    const height = width < 520 ? 190 : 240;
    const m = { left: 58, right: shown.size ? 44 : 14, top: 14, bottom: 30 };
    const plotW = width - m.left - m.right;
    const plotH = height - m.top - m.bottom;
    const dists = samples.map((p) => p.d);
    const eles = samples.map((p) => p.e);
    const xMin = Math.min(0, minOf(dists));
    const xMax = Math.max(maxOf(dists), xMin + 0.001);
    const eMin = minOf(eles);
    const eMax = maxOf(eles);
    const pad = Math.max((eMax - eMin) * 0.08, 5);
    let yMin = eMin - pad;
    let yMax = eMax + pad;
    if (eMin >= 0 && yMin < 0) yMin = 0; // no axis below sea level for a ride above it
    const yTicks = ticks(yMin, yMax, Math.max(4, Math.floor(plotH / 36)));
    yMin = Math.min(yMin, yTicks.values[0]);
    yMax = Math.max(yMax, yTicks.values[yTicks.values.length - 1]);
    const xTicks = ticks(xMin, xMax, width < 520 ? 4 : 5);
    const sx = (d) => m.left + ((d - xMin) / (xMax - xMin)) * plotW;
    const sy = (e) => m.top + (1 - (e - yMin) / (yMax - yMin)) * plotH;
    const base = m.top + plotH;
    const points = samples.map((p) => `${sx(p.d).toFixed(1)},${sy(p.e).toFixed(1)}`);
    const first = samples[0];
    const last = samples[samples.length - 1];
    const area = `M${sx(first.d).toFixed(1)},${base} L${points.join(" L")} L${sx(last.d).toFixed(1)},${base} Z`;

    const extraLines = extras
      .filter((x) => shown.has(x.key))
      .map((x) => {
        const values = samples.map((p) => p[x.key]).filter((v) => v !== null && v !== undefined);
        const lo = minOf(values);
        const hi = Math.max(maxOf(values), lo + 1);
        const sv = (v) => m.top + (1 - (v - lo) / (hi - lo)) * plotH;
        const pts = samples
          .filter((p) => p[x.key] !== null && p[x.key] !== undefined)
          .map((p) => `${sx(p.d).toFixed(1)},${sv(p[x.key]).toFixed(1)}`);
        return s(
          "g",
          { class: `perfil-extra ${x.className}`, "data-serie": x.key },
          s("polyline", { points: pts.join(" ") }),
          s("text", { x: width - m.right + 4, y: sv(hi) + 4 }, `${fmt.integer(hi)}`),
          s("text", { x: width - m.right + 4, y: sv(lo) }, `${fmt.integer(lo)}`),
        );
      });

    const desc =
      `Perfil de altitud a lo largo de ${fmt.km(xMax)}: ` +
      `mínima ${fmt.meters(eMin)}, máxima ${fmt.meters(eMax)}. ` +
      "Usa las flechas para recorrerlo.";
    const cursorLine = s("line", { class: "perfil-cursor", y1: m.top, y2: base, visibility: "hidden" });
    const cursorDot = s("circle", { class: "perfil-cursor-punto", r: 4, visibility: "hidden" });
    const svg = s(
      "svg",
      {
        class: "perfil-svg",
        width,
        height,
        viewBox: `0 0 ${width} ${height}`,
        role: "img",
        tabindex: 0,
        "aria-label": desc,
        "data-x-step": xTicks.step,
        "data-y-step": yTicks.step,
      },
      s("title", {}, "Perfil de altitud"),
      yTicks.values.map((v) =>
        s(
          "g",
          { class: "perfil-eje" },
          s("line", { x1: m.left, x2: width - m.right, y1: sy(v), y2: sy(v) }),
          s(
            "text",
            { class: "perfil-eje-y", x: m.left - 6, y: sy(v) + 4, "text-anchor": "end" },
            `${tickText(v, yTicks.decimals)}${fmt.NBSP}m`,
          ),
        ),
      ),
      xTicks.values.map((v) =>
        s(
          "text",
          { class: "perfil-eje-x", x: sx(v), y: height - 8, "text-anchor": "middle" },
          `${tickText(v, xTicks.decimals)}${fmt.NBSP}km`,
        ),
      ),
      s("path", { class: "perfil-area", d: area }),
      s("polyline", {
        class: "perfil-linea",
        points: points.join(" "),
        "data-point-count": samples.length,
      }),
      extraLines,
      cursorLine,
      cursorDot,
    );
    const place = (index) => {
      cursorIndex = Math.max(0, Math.min(samples.length - 1, index));
      const p = samples[cursorIndex];
      for (const el of [cursorLine, cursorDot]) el.setAttribute("visibility", "visible");
      cursorLine.setAttribute("x1", sx(p.d));
      cursorLine.setAttribute("x2", sx(p.d));
      cursorDot.setAttribute("cx", sx(p.d));
      cursorDot.setAttribute("cy", sy(p.e));
      const parts = [
        `km ${fmt.decimal(p.d, 2)}`,
        fmt.meters(p.e),
        `pendiente ${fmt.percent(slopeAt(samples, cursorIndex))}`,
      ];
      for (const x of extras) {
        if (shown.has(x.key) && p[x.key] !== null && p[x.key] !== undefined) {
          parts.push(fmt.withUnit(p[x.key], 0, x.unit));
        }
      }
      readout.textContent = parts.join(" · ");
      if (onCursor) onCursor(p.d);
    };
    const nearest = (d) => {
      let lo = 0;
      let hi = dists.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (dists[mid] < d) lo = mid + 1;
        else hi = mid;
      }
      return lo > 0 && d - dists[lo - 1] < dists[lo] - d ? lo - 1 : lo;
    };
    svg.addEventListener("pointermove", (event) => {
      const rect = svg.getBoundingClientRect();
      const x = ((event.clientX - rect.left) / rect.width) * width;
      place(nearest(xMin + ((x - m.left) / plotW) * (xMax - xMin)));
    });
    svg.addEventListener("keydown", (event) => {
      const step = Math.max(1, Math.round(samples.length / 50));
      const at = cursorIndex ?? -1;
      const moves = {
        ArrowRight: at + step,
        ArrowLeft: at < 0 ? 0 : at - step,
        Home: 0,
        End: samples.length - 1,
      };
      if (event.key in moves) {
        event.preventDefault();
        place(moves[event.key]);
      }
    });
    chart.append(svg);
    if (cursorIndex !== null) place(cursorIndex);
  }
  draw();
  return { redraw: draw };
}
