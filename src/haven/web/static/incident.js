// The incident page: evidence images load only when asked for (each view is a custody act).
const button = document.getElementById("show-images");
if (button) {
  button.addEventListener("click", () => {
    document.querySelectorAll("img[data-src]").forEach((img) => {
      img.src = img.dataset.src;
      img.hidden = false;
    });
    button.hidden = true;
  });
}
