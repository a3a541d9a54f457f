// U undoes the reviewer's last verdict (the form of partials/review_undo.html); keys typed into a field are text.
(function () {
  "use strict";

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.key.toLowerCase() !== "u") return;
    const target = event.target;
    const textual = target && target.tagName === "INPUT" &&
      ["range", "checkbox", "radio", "button", "submit"].indexOf(target.type) < 0;
    if (textual || (target && (target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable))) return;
    const form = document.querySelector("form[data-review-undo]");
    if (!form || form.dataset.sent) return;
    event.preventDefault();
    form.dataset.sent = "true";
    form.submit();
  });
})();
