// The dashboard map: clustered incidents coloured by attack type (paler when less certain),
// facilities coloured by status, and a slider that shows incidents up to a month.
const data = JSON.parse(document.getElementById("map-data").textContent);
const box = document.getElementById("map");
const slider = document.getElementById("slider");
const sliderValue = document.getElementById("slider-value");

const COLOURS = {
  HW: "#b2182b", IW: "#d6604d", CH: "#762a83", FI: "#e08214", AS: "#8c510a", SX: "#c51b7d",
  TH: "#4d9221", SE: "#01665e", AB: "#2166ac", RM: "#5e3c99", MI: "#404040", OB: "#35978f",
  CR: "#878787", OT: "#1b7837", UN: "#4d4d4d",
};
const OPACITY = { rumour: 0.25, possible: 0.5, probable: 0.75, confirmed: 1 };
const SITE = { operational: "#1a7f37", partially_functioning: "#b35900", not_functioning: "#b2182b", unknown: "#4d4d4d" };

const months = [...new Set(data.incidents.map((i) => i.day.slice(0, 7)))].sort();
const monthName = new Intl.DateTimeFormat(document.documentElement.lang, { year: "numeric", month: "short", timeZone: "UTC" });
slider.max = String(Math.max(0, months.length - 1));
slider.value = slider.max;
slider.disabled = months.length < 2;

function showMonth() {
  const month = months[Number(slider.value)];
  sliderValue.textContent = month ? monthName.format(new Date(`${month}-01T00:00:00Z`)) : "";
  return month;
}

function link(href, textContent) {
  return Object.assign(document.createElement("a"), { href, textContent });
}

if (!window.L) {
  box.hidden = true; // the table below the map lists the same incidents
  showMonth();
} else {
  const L = window.L;
  const map = L.map(box, { worldCopyJump: true, maxZoom: 18 });
  const tiles = document.body.dataset.tiles;
  if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
  const cluster = L.markerClusterGroup ? L.markerClusterGroup({ chunkedLoading: true }) : L.layerGroup();
  const markers = data.incidents.map((i) => {
    const colour = COLOURS[i.type] || "#4d4d4d";
    const marker = L.circleMarker([i.lat, i.lon], {
      radius: 7, color: colour, weight: 2, fillColor: colour, fillOpacity: OPACITY[i.certainty] ?? 0.5,
    });
    marker.bindPopup(() => link(`/incidents/${i.id}`, `${i.day} · ${i.type} · ${i.certainty}`));
    marker.day = i.day;
    return marker;
  });
  const sites = L.layerGroup(data.facilities.map((f) => L.circleMarker([f.lat, f.lon], {
    radius: 5, color: SITE[f.status] || SITE.unknown, weight: 3, fill: false,
  }).bindPopup(() => link(`/facilities/${f.id}`, f.name))));
  cluster.addTo(map);
  sites.addTo(map);
  // Getis-Ord Gi* hot and cold spots (GET /api/hotspots), fetched only when switched on,
  // for the country and start date in the filters.
  const SPOT = { hot: "#b2182b", cold: "#2166ac" };
  const hotspots = L.geoJSON(null, {
    style: (f) => ({
      color: SPOT[f.properties.spot] || "#878787", weight: 1,
      fillColor: SPOT[f.properties.spot] || "#878787",
      fillOpacity: f.properties.spot === "none" ? 0.05 : 0.35,
    }),
    onEachFeature: (f, layer) => layer.bindPopup(
      `${f.properties.spot} · ${f.properties.count} · z ${f.properties.z.toFixed(2)} · q ${f.properties.q.toPrecision(2)}`,
    ),
  });
  let hotspotsLoaded = false;
  map.on("overlayadd", async (event) => {
    if (event.layer !== hotspots || hotspotsLoaded) return;
    hotspotsLoaded = true;
    const params = new URLSearchParams();
    const country = document.getElementById("f-country").value;
    const since = document.getElementById("f-since").value;
    if (country) params.set("country", country);
    if (since) params.set("since", since);
    const response = await fetch(`/api/hotspots?${params}`, { credentials: "same-origin" });
    if (response.ok) hotspots.addData(await response.json());
    else hotspotsLoaded = false; // e.g. a filter too wide for the analysis: try again later
  });
  L.control.layers(null, { Incidents: cluster, Facilities: sites, "Hotspots (Gi*)": hotspots }).addTo(map);
  const points = [...data.incidents, ...data.facilities].map((p) => [p.lat, p.lon]);
  if (points.length) map.fitBounds(points, { maxZoom: 13, padding: [20, 20] });
  else map.setView([20, 20], 2);

  const draw = () => {
    const month = showMonth();
    cluster.clearLayers();
    const upTo = month ? `${month}-31` : "9999";
    cluster.addLayers
      ? cluster.addLayers(markers.filter((m) => m.day <= upTo))
      : markers.filter((m) => m.day <= upTo).forEach((m) => cluster.addLayer(m));
  };
  slider.addEventListener("input", draw);
  draw();
}
