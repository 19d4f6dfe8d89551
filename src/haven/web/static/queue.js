// The verification queue: merge a suggested duplicate pair, or keep it apart.
import { errorText, messages, post } from "/static/api.js";

const text = messages();
const status = document.getElementById("queue-status");

document.querySelectorAll("button[data-suggestion]").forEach((button) => {
  button.addEventListener("click", async () => {
    const { suggestion, verdict } = button.dataset;
    const buttons = button.parentElement.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    const response = await post(`/api/duplicates/suggestions/${suggestion}/decision`, { verdict });
    if (response.ok) {
      document.getElementById(`suggestion-${suggestion}`).remove();
      status.textContent = verdict === "accept" ? text.merged : text.kept;
    } else {
      status.textContent = text.failed.replace("{reason}", await errorText(response));
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
});
