// Calls to Haven's JSON API with the login session: the CSRF token comes from GET /api/me.
let csrf = null;

export class LoginNeeded extends Error {}

export async function csrfToken(force = false) {
  if (csrf && !force) return csrf;
  const response = await fetch("/api/me", { credentials: "same-origin", cache: "no-store" });
  if (response.status === 401) throw new LoginNeeded("login");
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  csrf = (await response.json()).csrf_token;
  return csrf;
}

// POST JSON (or, with raw, the body as it is) with the session's CSRF token.
export async function post(path, body, { raw = false, headers = {} } = {}) {
  const send = async (token) => fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRF-Token": token, ...(raw ? {} : { "Content-Type": "application/json" }), ...headers },
    body: raw ? body : JSON.stringify(body),
  });
  let response = await send(await csrfToken());
  if (response.status === 403) response = await send(await csrfToken(true));
  if (response.status === 401) throw new LoginNeeded("login");
  return response;
}

// The error of a JSON error answer as one line: message, then each field's complaint.
export async function errorText(response) {
  try {
    const { error } = await response.json();
    const fields = Object.entries(error.fields || {}).map(([k, v]) => `${k}: ${v}`);
    return [error.message, ...fields].join("; ");
  } catch {
    return `HTTP ${response.status}`;
  }
}

// The page's translated messages (a JSON block rendered by the server).
export function messages() {
  const block = document.getElementById("messages");
  return block ? JSON.parse(block.textContent) : {};
}
