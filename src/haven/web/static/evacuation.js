// The evacuation plan map: each leg drawn from its stored road geometry (solid) or, when the
// plan has none, a straight origin→destination line (dashed: not a road), coloured by urgency,
// thicker for more patients. Facility names come from users: popups are set as text only.
const data = JSON.parse(document.getElementById("plan-data").textContent);
const box = document.getElementById("evacuation-map");
const URGENCY = { red: "#b2182b", yellow: "#b35900", green: "#1a7f37" };

for (const [urgency, colour] of Object.entries(URGENCY)) {
  for (const swatch of document.querySelectorAll(`.legend .u-${urgency}`)) swatch.style.background = colour;
}

function textNode(text) {
  return Object.assign(document.createElement("span"), { textContent: text });
}

if (!box) {
  // no leg to draw: the page says so in its tables
} else if (!window.L) {
  box.hidden = true; // the tables below list the same legs
} else {
  const L = window.L;
  const map = L.map(box, { maxZoom: 18 });
  const tiles = document.body.dataset.tiles;
  if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
  const legs = L.featureGroup().addTo(map);
  for (const leg of data.legs) {
    const colour = URGENCY[leg.urgency] || "#4d4d4d";
    const line = L.geoJSON(leg.geometry, {
      style: () => ({
        color: colour, weight: Math.min(3 + leg.count, 10), opacity: 0.85,
        dashArray: leg.road ? null : "8 8",
      }),
    });
    line.bindPopup(() => textNode(
      `${leg.number}. ${leg.origin} → ${leg.destination} · ${leg.count} · ${leg.minutes} min`,
    ));
    legs.addLayer(line);
    const coords = leg.geometry.coordinates;
    for (const [lon, lat] of [coords[0], coords[coords.length - 1]]) {
      legs.addLayer(L.circleMarker([lat, lon], { radius: 6, color: "#2166ac", weight: 2, fillOpacity: 0.6 }));
    }
  }
  map.fitBounds(legs.getBounds(), { maxZoom: 16, padding: [20, 20] });
  box.dataset.legs = String(data.legs.length);
}
