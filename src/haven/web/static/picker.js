// The map picker: Leaflet, loaded only when asked for; a tap sets the latitude and longitude.
let map = null;

function load(tag, attrs) {
  return new Promise((resolve, reject) => {
    const el = Object.assign(document.createElement(tag), attrs);
    el.onload = resolve;
    el.onerror = reject;
    document.head.append(el);
  });
}

export async function openPicker(box, latInput, lonInput) {
  if (!window.L) {
    await Promise.all([
      load("link", { rel: "stylesheet", href: "/static/leaflet/leaflet.css" }),
      load("script", { src: "/static/leaflet/leaflet.js" }),
    ]);
  }
  if (map) return map;
  const L = window.L;
  const lat = parseFloat(latInput.value);
  const lon = parseFloat(lonInput.value);
  const known = Number.isFinite(lat) && Number.isFinite(lon);
  map = L.map(box, { worldCopyJump: true, maxZoom: 18 }).setView(known ? [lat, lon] : [20, 20], known ? 14 : 2);
  const tiles = document.body.dataset.tiles;
  if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
  let marker = null;
  map.on("click", (event) => {
    const { lat: pickedLat, lng } = event.latlng.wrap();
    latInput.value = pickedLat.toFixed(6);
    lonInput.value = lng.toFixed(6);
    if (marker) marker.setLatLng(event.latlng);
    else marker = L.circleMarker(event.latlng, { radius: 9, color: "#8a1c1c", weight: 3 }).addTo(map);
  });
  return map;
}
