// The report form: saves to the outbox first, then sends; position from the phone or a map.
import { messages } from "/static/api.js";
import { add, all, flush } from "/static/outbox.js";

const form = document.getElementById("report-form");
const list = document.getElementById("outbox");
const netStatus = document.getElementById("net-status");
const formError = document.getElementById("form-error");
const text = messages();

function uuid4() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const count = (name) => Math.max(0, parseInt(form[name].value || "0", 10) || 0);
const checked = (name) => Array.from(form.querySelectorAll(`input[name=${name}]:checked`), (i) => i.value);

function buildReport() {
  const lat = parseFloat(form.lat.value);
  const lon = parseFloat(form.lon.value);
  const located = Number.isFinite(lat) && Number.isFinite(lon);
  const photos = form.photos.files.length;
  const when = new Date(form.occurred_at.value); // typed in the phone's own time
  return {
    id: uuid4(),
    occurred_at: Number.isNaN(when.getTime()) ? "" : when.toISOString(),
    date_precision: form.date_precision.value,
    country: form.country.value,
    location: located ? { lon, lat } : null,
    location_name: form.location_name.value.trim() || null,
    facility_type: form.facility_type.value || null,
    attack_types: checked("attack_type"),
    resources: checked("resource"),
    casualties: {
      health_workers: { killed: count("hw_killed"), injured: count("hw_injured") },
      patients: { killed: count("pt_killed"), injured: count("pt_injured") },
    },
    narrative: form.narrative.value.trim(),
    source: { name: form.source_name.value.trim() || "Haven field form", kind: "form" },
    source_type: form.source_type.value,
    evidence_kinds: photos ? ["photo"] : [],
    exercise: form.exercise.checked,
  };
}

function label(item) {
  if (item.state === "sent") return text.sent;
  if (item.state === "sending") return text.sending;
  if (item.error === "login") return text.login;
  if (item.state === "rejected") {
    const reason = item.error === "hash_mismatch" ? text.hash_mismatch : item.error;
    return text.failed.replace("{reason}", reason);
  }
  return text.waiting;
}

async function render() {
  const items = (await all()).sort((a, b) => b.created - a.created);
  list.replaceChildren(...items.map((item) => {
    const li = document.createElement("li");
    li.dataset.state = item.state;
    li.dataset.id = item.id;
    const when = new Date(item.report.occurred_at).toLocaleString(document.documentElement.lang);
    const state = document.createElement("strong");
    state.textContent = label(item);
    li.append(state, ` · ${when} · ${item.report.country} · ${item.photos.length} ${text.photos}`);
    return li;
  }));
}

function showNetwork() {
  netStatus.textContent = navigator.onLine ? text.online : text.offline;
  netStatus.dataset.online = String(navigator.onLine);
}

const send = () => flush(render).then(render);

// The phone's local time now, as a datetime-local input writes it.
function setNow() {
  const now = new Date();
  const local = new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  form.occurred_at.value = local;
  form.occurred_at.max = local;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  formError.textContent = "";
  const report = buildReport();
  if (!report.attack_types.length) {
    formError.textContent = text.need_type;
    form.querySelector("input[name=attack_type]").focus();
    return;
  }
  if (!report.occurred_at) {
    form.occurred_at.focus();
    return;
  }
  if (!report.country) {
    formError.textContent = text.need_country;
    form.country.focus();
    return;
  }
  await add(report, Array.from(form.photos.files));
  const keep = { country: form.country.value, source: form.source_name.value };
  form.reset();
  form.country.value = keep.country;
  form.source_name.value = keep.source;
  setNow();
  netStatus.textContent = text.saved;
  await render();
  send();
});

document.getElementById("locate").addEventListener("click", () => {
  if (!navigator.geolocation) {
    formError.textContent = text.no_position;
    return;
  }
  navigator.geolocation.getCurrentPosition(
    (position) => {
      form.lat.value = position.coords.latitude.toFixed(6);
      form.lon.value = position.coords.longitude.toFixed(6);
    },
    () => { formError.textContent = text.no_position; },
    { enableHighAccuracy: true, timeout: 15000 },
  );
});

document.getElementById("pick").addEventListener("click", async () => {
  const box = document.getElementById("picker");
  box.hidden = false;
  try {
    const { openPicker } = await import("/static/picker.js");
    await openPicker(box, form.lat, form.lon);
  } catch {
    box.hidden = true;
    formError.textContent = text.no_map;
  }
});

window.addEventListener("online", () => { showNetwork(); send(); });
window.addEventListener("offline", showNetwork);
setNow();
showNetwork();
render().then(send);
