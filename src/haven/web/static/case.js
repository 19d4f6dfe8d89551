// The case page's correction form: POST /api/cases/{id}/amend with the changed title and/or
// summary and the reason, then show the page again with the correction in the history.
import { errorText, messages, post } from "/static/api.js";

const text = messages();
const form = document.getElementById("amend-case");
const status = document.getElementById("amend-status");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const { title, summary, reason } = form.elements;
  const body = { reason: reason.value };
  if (title.value.trim() !== form.dataset.title) body.title = title.value;
  if (summary.value.trim() !== form.dataset.summary) body.summary = summary.value;
  if (!("title" in body) && !("summary" in body)) {
    status.textContent = text.unchanged;
    status.dataset.state = "error";
    return;
  }
  const button = form.querySelector("button");
  button.disabled = true;
  const response = await post(`/api/cases/${form.dataset.case}/amend`, body);
  if (response.ok) {
    window.location.reload();
  } else {
    status.textContent = text.failed.replace("{reason}", await errorText(response));
    status.dataset.state = "error";
    button.disabled = false;
  }
});
