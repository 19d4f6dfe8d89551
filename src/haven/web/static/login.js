// The login form: POST /api/login sets the session cookie, then go where the user was going.
import { messages } from "/static/api.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
const text = messages();

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const body = { username: form.username.value, password: form.password.value };
  let response;
  try {
    response = await fetch("/api/login", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch {
    error.textContent = text.offline;
    return;
  }
  if (response.ok) {
    window.location.assign(form.dataset.next || "/");
  } else {
    error.textContent = text.failed;
    form.password.select();
  }
});
