// Every page: the service worker (offline report form) and the log-out button.
import { post } from "/static/api.js";

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}

const logout = document.getElementById("logout");
if (logout) {
  logout.addEventListener("click", async () => {
    try {
      await post("/api/logout", {});
    } finally {
      window.location.assign("/login");
    }
  });
}
