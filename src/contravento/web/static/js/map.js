// The route on a Leaflet map (vendored, window.L). OpenStreetMap tiles when the browser is
// online; otherwise, or when tiles keep failing, the route alone on a plain background.
// The polyline is drawn unsimplified (smoothFactor 0, noClip): one SVG vertex per track point.

const TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
const ATTRIBUTION =
  '&copy; <a href="https://www.openstreetmap.org/copyright">colaboradores de OpenStreetMap</a>';

export function trackLines(feature) {
  const { type, coordinates } = feature.geometry;
  const lines = type === "LineString" ? [coordinates] : coordinates;
  return lines.filter((line) => line.length > 0);
}

export function renderMap(container, feature, { online, onOffline } = {}) {
  const L = window.L;
  const lines = trackLines(feature);
  const latlngs = lines.map((line) => line.map(([lon, lat]) => [lat, lon]));
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
  const marker = (at, fill, className, label) =>
    L.circleMarker(at, {
      radius: 8,
      color: "#ffffff",
      weight: 3,
      fillColor: fill,
      fillOpacity: 1,
      className,
    })
      .bindTooltip(label, { direction: "top", offset: [0, -8] })
      .addTo(map);
  marker(end, "#b91c1c", "cv-llegada", "Llegada");
  marker(start, "#15803d", "cv-salida", "Salida");

  const cursor = L.circleMarker(start, {
    radius: 6,
    color: "#1e293b",
    weight: 2,
    fillColor: "#facc15",
    fillOpacity: 1,
    className: "cv-cursor",
    interactive: false,
  });

  // Fit the route, and fit it again when the map changes size (phone rotated, window resized)
  // unless the cyclist has moved or zoomed the map by hand.
  let fitting = false;
  let userMoved = false;
  const fit = () => {
    fitting = true;
    map.fitBounds(route.getBounds(), {
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
  container.dataset.pointCount = String(latlngs.reduce((n, line) => n + line.length, 0));
  container.dataset.segmentCount = String(latlngs.length);

  return {
    map,
    showCursor(lon, lat) {
      cursor.setLatLng([lat, lon]);
      if (!map.hasLayer(cursor)) cursor.addTo(map);
    },
    resize: () => map.invalidateSize(),
    get userMoved() {
      return userMoved;
    },
    destroy: () => map.remove(),
  };
}
