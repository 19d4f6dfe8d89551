// The map page's proposed closures: accept one (with the kind chosen) or dismiss it with a
// reason, through POST /api/closures/proposals/{incident}/accept and .../dismiss.
import { errorText, messages, post } from "/static/api.js";

const text = messages();
const status = document.getElementById("proposal-status");

function decide(selector, action, body, done) {
  document.querySelectorAll(selector).forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const { incident } = form.dataset;
      const item = document.getElementById(`proposal-${incident}`);
      const buttons = item.querySelectorAll("button");
      buttons.forEach((b) => { b.disabled = true; });
      const response = await post(`/api/closures/proposals/${incident}/${action}`, body(form));
      if (response.ok) {
        item.remove();
        status.textContent = done;
        status.dataset.state = action;
      } else {
        status.textContent = text.failed.replace("{reason}", await errorText(response));
        status.dataset.state = "error";
        buttons.forEach((b) => { b.disabled = false; });
      }
    });
  });
}

decide("form.proposal-accept", "accept", (form) => ({ kind: form.elements.kind.value }), text.accepted);
decide("form.proposal-dismiss", "dismiss", (form) => ({ reason: form.elements.reason.value }), text.dismissed);
