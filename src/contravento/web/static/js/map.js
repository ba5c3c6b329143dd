// Routes on a Leaflet map (vendored, window.L). OpenStreetMap tiles when the browser is
// online; otherwise, or when tiles keep failing, the routes alone on a plain background.
// Polylines are drawn unsimplified (smoothFactor 0, noClip): one SVG vertex per track point.

const TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
const ATTRIBUTION =
  '&copy; <a href="https://www.openstreetmap.org/copyright">colaboradores de OpenStreetMap</a>';

// Stage colours on the trip map: distinct hues, each with at least 3:1 contrast on the tiles.
export const STAGE_COLOURS = [
  "#c2410c",
  "#1d4ed8",
  "#15803d",
  "#7e22ce",
  "#be123c",
  "#0f766e",
  "#a16207",
  "#4338ca",
];

export function trackLines(feature) {
  const geometry = feature && feature.geometry;
  if (!geometry) return [];
  const { type, coordinates } = geometry;
  const lines = type === "LineString" ? [coordinates] : coordinates || [];
  return lines.filter((line) => line.length > 0);
}

function baseMap(container, { online, onOffline }) {
  const L = window.L;
  const map = L.map(container, { scrollWheelZoom: false, zoomSnap: 0.25 });
  map.attributionControl.setPrefix(
    '<a href="https://leafletjs.com" title="Biblioteca de mapas">Leaflet</a>',
  );
  let tiles = null;
  const plain = () => {
    if (tiles) {
      map.removeLayer(tiles);
      tiles = null;
    }
    container.classList.add("mapa-sin-fondo");
    container.dataset.tiles = "none";
    if (onOffline) onOffline();
  };
  if (online) {
    let failures = 0;
    tiles = L.tileLayer(TILE_URL, { maxZoom: 19, attribution: ATTRIBUTION });
    tiles.on("tileerror", () => {
      failures += 1;
      if (failures >= 3 && tiles) plain();
    });
    tiles.addTo(map);
    container.dataset.tiles = "osm";
  } else {
    plain();
  }
  return map;
}

// Fit the bounds, and fit them again when the map changes size (phone rotated, window
// resized) unless the cyclist has moved or zoomed the map by hand.
function keepFitted(map, bounds) {
  let fitting = false;
  let userMoved = false;
  const fit = () => {
    fitting = true;
    map.fitBounds(bounds(), {
      paddingTopLeft: [56, 28], // clear of the zoom buttons
      paddingBottomRight: [28, 28],
      animate: false,
    });
    fitting = false;
  };
  map.on("dragstart", () => {
    userMoved = true;
  });
  map.on("zoomstart", () => {
    if (!fitting) userMoved = true;
  });
  map.on("resize", () => {
    if (!userMoved) fit();
  });
  fit();
  return () => userMoved;
}

const toLatLngs = (lines) => lines.map((line) => line.map(([lon, lat]) => [lat, lon]));

function haversineKm(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * rad;
  const dLon = (b[0] - a[0]) * rad;
  const x =
    Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
  return 12742 * Math.asin(Math.min(1, Math.sqrt(x)));
}

// One stage: its line, a start and an end marker (the end a wider ring under the start, so
// both show on a loop), and a cursor the profile moves by distance.
export function renderMap(container, feature, { online, onOffline } = {}) {
  const L = window.L;
  const lines = trackLines(feature);
  const latlngs = toLatLngs(lines);
  const map = baseMap(container, { online, onOffline });
  const route = L.polyline(latlngs, {
    color: "#c2410c",
    weight: 4,
    opacity: 0.95,
    smoothFactor: 0,
    noClip: true,
    className: "cv-ruta",
    interactive: false,
  }).addTo(map);
  const start = latlngs[0][0];
  const lastLine = latlngs[latlngs.length - 1];
  const end = lastLine[lastLine.length - 1];
  const loop = map.distance(start, end) < 200;
  const marker = (at, radius, fill, className, label) =>
    L.circleMarker(at, {
      radius,
      color: "#ffffff",
      weight: 3,
      fillColor: fill,
      fillOpacity: 1,
      className,
    })
      .bindTooltip(label, { direction: "top", offset: [0, -radius] })
      .addTo(map);
  marker(end, 11, "#b91c1c", "cv-llegada", loop ? "Llegada (ruta circular)" : "Llegada");
  marker(start, 6, "#15803d", "cv-salida", loop ? "Salida (ruta circular)" : "Salida");
  container.dataset.loop = String(loop);

  // cumulative distance of each point, for the profile's cursor
  const flat = lines.flat();
  const cumulative = [0];
  for (let i = 1; i < flat.length; i += 1) {
    cumulative.push(cumulative[i - 1] + haversineKm(flat[i - 1], flat[i]));
  }
  const cursor = L.circleMarker(start, {
    radius: 6,
    color: "#1e293b",
    weight: 2,
    fillColor: "#facc15",
    fillOpacity: 1,
    className: "cv-cursor",
    interactive: false,
  });
  const moved = keepFitted(map, () => route.getBounds());
  container.dataset.pointCount = String(flat.length);
  container.dataset.segmentCount = String(latlngs.length);

  return {
    map,
    showCursorAt(km) {
      if (!flat.length) return;
      let lo = 0;
      let hi = cumulative.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cumulative[mid] < km) lo = mid + 1;
        else hi = mid;
      }
      cursor.setLatLng([flat[lo][1], flat[lo][0]]);
      if (!map.hasLayer(cursor)) cursor.addTo(map);
    },
    resize: () => map.invalidateSize(),
    get userMoved() {
      return moved();
    },
    destroy: () => map.remove(),
  };
}

// Every stage of a trip, one colour each; a click on a line opens that stage.
// stages: [{ id, title, colour, feature }]
export function renderTripMap(container, stages, { online, onOffline, onSelect } = {}) {
  const L = window.L;
  const map = baseMap(container, { online, onOffline });
  const group = L.featureGroup().addTo(map);
  const drawn = [];
  for (const stage of stages) {
    const latlngs = toLatLngs(trackLines(stage.feature));
    if (!latlngs.length) continue;
    const line = L.polyline(latlngs, {
      color: stage.colour,
      weight: 5,
      opacity: 0.95,
      smoothFactor: 0,
      noClip: true,
      className: "cv-etapa",
    })
      .bindTooltip(stage.title, { sticky: true })
      .on("click", () => onSelect && onSelect(stage.id))
      .addTo(group);
    drawn.push([line, stage.id]);
  }
  container.dataset.stageCount = String(drawn.length);
  const moved = keepFitted(map, () => group.getBounds());
  // the paths exist once the map has a view (Leaflet defers them until then)
  for (const [line, id] of drawn) line.getElement().dataset.fileId = id;
  return {
    map,
    resize: () => map.invalidateSize(),
    get userMoved() {
      return moved();
    },
    destroy: () => map.remove(),
  };
}
