// The outbox: reports saved on the device (IndexedDB) until the server has them, each sent once.
//
// A report is stored before any network use, with its client-made UUID; sending it
// again is harmless (the server keeps one report per UUID, one evidence file per
// uploader, incident and hash). Photos are kept as bytes with their SHA-256, made
// on the device, and checked against the hash the server answers.
import { LoginNeeded, errorText, post } from "/static/api.js";

const DB_NAME = "haven-outbox";
const STORE = "reports";

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "id" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function withStore(mode, work) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const result = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(result.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

export const all = () => withStore("readonly", (store) => store.getAll());
export const put = (item) => withStore("readwrite", (store) => store.put(item));

export async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

// Keep a report (and its photos, hashed here) on the device; returns the stored item.
export async function add(report, files) {
  const photos = [];
  for (const file of files) {
    const bytes = await file.arrayBuffer();
    photos.push({ name: file.name, type: file.type || "application/octet-stream", bytes, sha256: await sha256Hex(bytes), evidence_id: null });
  }
  const item = { id: report.id, report, photos, state: "waiting", created: Date.now(), incident_id: null, error: null };
  await put(item);
  return item;
}

class Rejected extends Error {}

async function sendOne(item) {
  if (!item.incident_id) {
    const response = await post("/api/reports", item.report);
    if (response.status >= 400 && response.status < 500 && response.status !== 429) {
      throw new Rejected(await errorText(response));
    }
    if (!response.ok) throw new Error(await errorText(response));
    item.incident_id = (await response.json()).incident_id;
    await put(item);
  }
  for (const photo of item.photos) {
    if (photo.evidence_id) continue;
    const query = new URLSearchParams({ filename: photo.name, report_id: item.id });
    const response = await post(`/api/incidents/${item.incident_id}/evidence?${query}`, photo.bytes, {
      raw: true,
      headers: { "Content-Type": photo.type },
    });
    if (!response.ok) throw new Error(await errorText(response));
    const stored = await response.json();
    if (stored.sha256 !== photo.sha256) throw new Rejected("hash_mismatch");
    photo.evidence_id = stored.id;
    photo.bytes = null; // the server has it, checked: free the space
    await put(item);
  }
  item.state = "sent";
  item.error = null;
  await put(item);
}

async function sendAll(onChange) {
  for (const item of await all()) {
    if (item.state === "sent" || item.state === "rejected") continue;
    if (!navigator.onLine) return;
    item.state = "sending";
    onChange(item);
    try {
      await sendOne(item);
    } catch (error) {
      item.state = error instanceof Rejected ? "rejected" : "waiting";
      item.error = error instanceof LoginNeeded ? "login" : String(error.message || error);
      await put(item);
      onChange(item);
      if (!(error instanceof Rejected)) return; // the network or the session: try again later
      continue;
    }
    onChange(item);
  }
}

let running = null;

// Send what waits, one sender at a time (in this page, and across tabs with Web Locks).
export function flush(onChange = () => {}) {
  if (!running) {
    const work = () => sendAll(onChange);
    const job = navigator.locks ? navigator.locks.request("haven-outbox", work) : work();
    running = job.finally(() => {
      running = null;
    });
  }
  return running;
}
