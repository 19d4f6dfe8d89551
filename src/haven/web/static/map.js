// The dashboard map: clustered incidents coloured by attack type (paler when less certain),
// facilities coloured by status, and a slider that shows incidents up to a month; hotspots,
// next month's forecast, corridors, road closures and a route tool (GET /api/route) below it.
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

// Corridors coloured by status (GET /api/corridors) and road closures (GET /api/closures),
// each fetched only when switched on; the route tool draws GET /api/route and also works
// without the map library (the summary is text). Names come from users: set as text only.
const tool = document.getElementById("route-tool");
const result = document.getElementById("route-result");
const words = tool.dataset;
const CORRIDOR = { open: "#1a7f37", restricted: "#b35900", closed: "#b2182b" };
const CLOSURE = { closure: "#b2182b", no_go: "#762a83", checkpoint: "#e08214" };
let drawRoute = () => {};

function textNode(text) {
  return Object.assign(document.createElement("span"), { textContent: text });
}

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error?.message || response.statusText);
  return body;
}

function lazy(map, layer, load) {
  let loaded = false;
  map.on("overlayadd", async (event) => {
    if (event.layer !== layer || loaded) return;
    loaded = true;
    try {
      await load();
    } catch {
      loaded = false; // e.g. no road network yet: try again when switched on next time
    }
  });
}

function addRoutingLayers(L, map, layers) {
  const corridors = L.geoJSON(null, {
    style: (f) => ({
      color: CORRIDOR[f.properties.status] || "#4d4d4d", weight: 6, opacity: 0.85,
      dashArray: f.properties.exercise ? "10 8" : null,
    }),
    onEachFeature: (f, layer) => layer.bindPopup(() => textNode(
      `${f.properties.name} · ${f.properties.status}${f.properties.reason ? ` · ${f.properties.reason}` : ""}`,
    )),
  });
  lazy(map, corridors, async () => {
    for (const c of await getJSON("/api/corridors")) {
      corridors.addData({
        type: "Feature", geometry: c.geometry,
        properties: { name: c.name, status: c.status, reason: c.status_reason, exercise: c.exercise },
      });
    }
  });
  const closures = L.layerGroup();
  lazy(map, closures, async () => {
    for (const c of await getJSON("/api/closures")) {
      const style = { color: CLOSURE[c.kind] || "#4d4d4d", weight: 2, fillOpacity: 0.35 };
      const shape = c.geometry.type === "Point"
        ? L.circle([c.geometry.coordinates[1], c.geometry.coordinates[0]], { ...style, radius: Math.max(c.radius_m, 15) })
        : L.geoJSON(c.geometry, { style: () => style });
      shape.bindPopup(() => textNode(`${c.name} · ${c.kind}`));
      closures.addLayer(shape);
    }
  });
  const route = L.geoJSON(null, { style: () => ({ color: "#2166ac", weight: 6, opacity: 0.9 }) });
  layers.addOverlay(corridors, words.corridors);
  layers.addOverlay(closures, words.closures);
  layers.addOverlay(route, words.route);
  drawRoute = (found) => {
    route.clearLayers();
    route.addData(found.geometry);
    route.addTo(map);
    map.fitBounds(route.getBounds(), { maxZoom: 16, padding: [20, 20] });
  };
  let next = "from"; // clicks on the map fill From, then To
  map.on("click", (event) => {
    const field = document.getElementById(next === "from" ? "r-from" : "r-to");
    field.value = `${event.latlng.lat.toFixed(5)},${event.latlng.lng.toFixed(5)}`;
    next = next === "from" ? "to" : "from";
  });
}

// Next month's early warning (GET /api/forecast/units), fetched only when switched on: H3 cells
// coloured by the chance of at least one attack on health care, on ColorBrewer's YlOrRd scale
// (sequential, colour-blind safe), with a legend naming the month and the method served. Like
// the hotspots, real incidents only (the API never mixes in exercise data). With an Until date
// the forecast is for that date's month, made from what was recorded before it; the country
// filter picks the cells shown. Texts from the server are set as text only.
const FORECAST = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"];
const FORECAST_BREAKS = [0.05, 0.15, 0.3, 0.5];
const forecastClass = (probability) => FORECAST_BREAKS.filter((b) => probability >= b).length;

function paragraphs(...texts) {
  const div = document.createElement("div");
  for (const text of texts) div.append(Object.assign(document.createElement("p"), { textContent: text }));
  return div;
}

function addForecastLayer(L, map, layers) {
  const say = JSON.parse(document.getElementById("forecast-words").textContent);
  const lang = document.documentElement.lang;
  const percent = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 });
  const number = new Intl.NumberFormat(lang, { maximumFractionDigits: 2 });
  const longMonth = new Intl.DateTimeFormat(lang, { year: "numeric", month: "long", timeZone: "UTC" });
  const country = document.getElementById("f-country").value;
  const until = document.getElementById("f-until").value;
  const methodName = (method) => say.methods[method] || method;
  let about = null; // the answer's "forecast" member: month, method, method_reason...
  map.createPane("forecast"); // under the incidents and facilities (app.css), so they stay clickable
  const cells = L.geoJSON(null, {
    pane: "forecast",
    filter: (f) => Boolean(f.geometry) && (!country || f.properties.country === country),
    style: (f) => { // outlined in its own colour, so that cells read even when zoomed far out
      const colour = FORECAST[forecastClass(f.properties.probability)];
      return { className: "forecast-cell", color: colour, weight: 2, fillOpacity: 0.65, fillColor: colour };
    },
    onEachFeature: (f, layer) => layer.bindPopup(() => paragraphs(
      say.probability.replace("{probability}", percent.format(f.properties.probability)),
      say.expected.replace("{count}", number.format(f.properties.expected_count)),
      say.recent.replace("{count}", number.format(f.properties.last_12_months)),
      say.method.replace("{method}", methodName(about.method)),
      say.why.replace("{reason}", about.method_reason),
    )),
  });
  const panel = Object.assign(document.createElement("div"), { className: "forecast-legend" });
  panel.setAttribute("role", "status");
  const legend = L.control({ position: "bottomright" });
  legend.onAdd = () => panel;
  const showLegend = () => {
    const month = longMonth.format(new Date(`${about.month}T00:00:00Z`));
    const title = say.title.replace("{month}", month);
    if (!about.method || about.method === "none") {
      panel.replaceChildren(paragraphs(title, say.unavailable.replace("{reason}", about.method_reason)));
      panel.dataset.state = "empty";
      return;
    }
    const list = document.createElement("ul");
    FORECAST.forEach((_colour, i) => {
      const low = FORECAST_BREAKS[i - 1];
      const high = FORECAST_BREAKS[i];
      const range = low === undefined ? `< ${percent.format(high)}`
        : high === undefined ? `≥ ${percent.format(low)}`
          : `${percent.format(low)}–${percent.format(high)}`;
      const item = document.createElement("li");
      item.append(Object.assign(document.createElement("span"), { className: `swatch fc-${i}` }), range);
      list.append(item);
    });
    panel.replaceChildren(paragraphs(title), list, paragraphs(say.method.replace("{method}", methodName(about.method)), say.realOnly));
    panel.dataset.state = "drawn";
  };
  lazy(map, cells, async () => {
    const params = new URLSearchParams({ unit: "h3" });
    if (until) params.set("month", until.slice(0, 7));
    panel.replaceChildren(paragraphs("…"));
    delete panel.dataset.state;
    let answer;
    try {
      answer = await getJSON(`/api/forecast/units?${params}`);
    } catch (error) { // e.g. not allowed, or no history before that month: the map carries on
      panel.replaceChildren(paragraphs(say.unavailable.replace("{reason}", error.message)));
      panel.dataset.state = "error";
      throw error;
    }
    about = answer.forecast;
    cells.addData(answer);
    showLegend();
  });
  map.on("overlayadd", (event) => { if (event.layer === cells) legend.addTo(map); });
  map.on("overlayremove", (event) => { if (event.layer === cells) legend.remove(); });
  layers.addOverlay(cells, say.layer);
}

tool.addEventListener("submit", async (event) => {
  event.preventDefault();
  const params = new URLSearchParams(new FormData(tool));
  result.textContent = "…";
  try {
    const answer = await getJSON(`/api/route?${params}`);
    const found = answer.routes[0];
    result.textContent = words.summary
      .replace("{minutes}", (found.travel_time_s / 60).toFixed(1))
      .replace("{km}", (found.length_m / 1000).toFixed(2))
      .replace("{risk}", found.risk_exposure.toFixed(0))
      + (found.crosses_closure ? ` · ${words.crosses}` : "");
    result.dataset.state = "found";
    drawRoute(found);
  } catch (error) {
    result.textContent = error.message;
    result.dataset.state = "error";
  }
});

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
  const layers = L.control.layers(null, { Incidents: cluster, Facilities: sites, "Hotspots (Gi*)": hotspots }).addTo(map);
  addForecastLayer(L, map, layers);
  addRoutingLayers(L, map, layers);
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

