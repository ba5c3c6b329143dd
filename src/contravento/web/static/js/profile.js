// Elevation profile (distance vs elevation) as a hand-drawn SVG, sized to its container.
// Every profile point is one vertex of the line: data-point-count says how many were drawn.
// Pointer and keyboard (arrows, Home, End) move a cursor that reads "km · m" aloud.

import { h, s } from "./dom.js";
import * as fmt from "./format.js";

const minOf = (xs) => xs.reduce((a, b) => (b < a ? b : a), Infinity);
const maxOf = (xs) => xs.reduce((a, b) => (b > a ? b : a), -Infinity);

function niceStep(span, target) {
  const raw = span / Math.max(target, 1);
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * power) return m * power;
  return 10 * power;
}

function ticks(min, max, target) {
  const step = niceStep(max - min, target);
  const out = [];
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-9; v += step) out.push(v);
  return { step, values: out };
}

export function renderProfile(container, profile, { onCursor } = {}) {
  container.replaceChildren();
  container.dataset.pointCount = String(profile.length);
  if (profile.length === 0) {
    container.append(
      h("p", { class: "muted" }, "Este archivo no tiene datos de altitud: no hay perfil que dibujar."),
    );
    return { redraw() {} };
  }
  let cursorIndex = null;
  const draw = () => {
    container.replaceChildren();
    const width = Math.max(container.clientWidth, 280);
    const height = width < 520 ? 170 : 230;
    const m = { left: 52, right: 14, top: 14, bottom: 30 };
    const dists = profile.map((p) => p[0]);
    const eles = profile.map((p) => p[1]);
    const xMin = minOf(dists);
    const xMax = Math.max(maxOf(dists), xMin + 0.001);
    let yMin = minOf(eles);
    let yMax = maxOf(eles);
    const pad = Math.max((yMax - yMin) * 0.1, 5);
    yMin -= pad;
    yMax += pad;
    const yTicks = ticks(yMin, yMax, 4);
    const xTicks = ticks(xMin, xMax, width < 520 ? 4 : 8);
    const plotW = width - m.left - m.right;
    const plotH = height - m.top - m.bottom;
    const sx = (d) => m.left + ((d - xMin) / (xMax - xMin)) * plotW;
    const sy = (e) => m.top + (1 - (e - yMin) / (yMax - yMin)) * plotH;
    const base = m.top + plotH;
    const points = profile.map(([d, e]) => `${sx(d).toFixed(1)},${sy(e).toFixed(1)}`);
    const first = profile[0];
    const last = profile[profile.length - 1];
    const area = `M${sx(first[0]).toFixed(1)},${base} L${points.join(" L")} L${sx(last[0]).toFixed(1)},${base} Z`;

    const desc =
      `Perfil de altitud a lo largo de ${fmt.km(xMax)}: ` +
      `mínima ${fmt.meters(minOf(eles))}, máxima ${fmt.meters(maxOf(eles))}. ` +
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
      },
      s("title", {}, "Perfil de altitud"),
      yTicks.values.map((v) =>
        s(
          "g",
          { class: "perfil-eje" },
          s("line", { x1: m.left, x2: width - m.right, y1: sy(v), y2: sy(v) }),
          s("text", { x: m.left - 6, y: sy(v) + 4, "text-anchor": "end" }, fmt.meters(v)),
        ),
      ),
      xTicks.values.map((v) =>
        s(
          "text",
          { class: "perfil-eje-x", x: sx(v), y: height - 8, "text-anchor": "middle" },
          `${fmt.decimal(v, xTicks.step < 1 ? 1 : 0)} km`,
        ),
      ),
      s("path", { class: "perfil-area", d: area }),
      s("polyline", {
        class: "perfil-linea",
        points: points.join(" "),
        "data-point-count": profile.length,
      }),
      cursorLine,
      cursorDot,
    );
    const readout = h("p", { class: "perfil-lectura", "aria-live": "polite" }, " ");
    const place = (index) => {
      cursorIndex = Math.max(0, Math.min(profile.length - 1, index));
      const [d, e] = profile[cursorIndex];
      for (const el of [cursorLine, cursorDot]) el.setAttribute("visibility", "visible");
      cursorLine.setAttribute("x1", sx(d));
      cursorLine.setAttribute("x2", sx(d));
      cursorDot.setAttribute("cx", sx(d));
      cursorDot.setAttribute("cy", sy(e));
      readout.textContent = `km ${fmt.decimal(d, 2)} · ${fmt.meters(e)}`;
      if (onCursor) onCursor(cursorIndex);
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
      const step = Math.max(1, Math.round(profile.length / 50));
      const at = cursorIndex ?? -1;
      const moves = {
        ArrowRight: at + step,
        ArrowLeft: at < 0 ? 0 : at - step,
        Home: 0,
        End: profile.length - 1,
      };
      if (event.key in moves) {
        event.preventDefault();
        place(moves[event.key]);
      }
    });
    container.append(svg, readout);
    if (cursorIndex !== null) place(cursorIndex);
  };
  draw();
  return { redraw: draw };
}
