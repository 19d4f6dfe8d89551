// Haven's service worker: the report form and what it needs keep working offline.
//
// - the report page (/report): network first, the last good copy when offline;
// - static files: from the cache at once, refreshed in the background;
// - the API: never cached (reports wait in the IndexedDB outbox instead).
const VERSION = "haven-v1";
const PRECACHE = [
  "/static/app.css",
  "/static/api.js",
  "/static/haven.js",
  "/static/outbox.js",
  "/static/report.js",
  "/static/picker.js",
  "/static/manifest.json",
  "/static/icon.svg",
  "/static/leaflet/leaflet.css",
  "/static/leaflet/leaflet.js",
];
const OFFLINE_PAGES = new Set(["/report"]);

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(VERSION).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== VERSION).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

async function page(request, path) {
  const cache = await caches.open(VERSION);
  try {
    const response = await fetch(request);
    if (response.ok && !response.redirected) await cache.put(path, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(path);
    if (cached) return cached;
    throw error;
  }
}

async function asset(request) {
  const cache = await caches.open(VERSION);
  const cached = await cache.match(request);
  const fresh = fetch(request).then((response) => {
    if (response.ok) cache.put(request, response.clone());
    return response;
  });
  if (cached) {
    fresh.catch(() => {});
    return cached;
  }
  return fresh;
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) return;
  if (event.request.mode === "navigate" && OFFLINE_PAGES.has(url.pathname)) {
    event.respondWith(page(event.request, url.pathname));
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(asset(event.request));
  }
});
