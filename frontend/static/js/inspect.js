/* Inspect page: send dropped or chosen images through the API, one (answered at once) or several
 * (a background job); the results table and the job's progress are live server-rendered partials. */
(function () {
  "use strict";

  const App = window.App;

  document.addEventListener("DOMContentLoaded", function () {
    const form = document.getElementById("inspect-form");
    if (!form) return;
    const input = form.querySelector('input[type="file"]');
    const zone = form.querySelector("[data-dropzone]");
    const chosen = form.querySelector("[data-chosen]");
    const status = form.querySelector("[data-inspect-status]");
    let dropped = null;

    function describe(files) { chosen.textContent = files.length + " image" + (files.length === 1 ? "" : "s") + " chosen."; }
    input.addEventListener("change", function () { dropped = null; describe(Array.from(input.files)); });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("dropzone-active"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.remove("dropzone-active"); });
    });
    zone.addEventListener("drop", function (event) { dropped = Array.from(event.dataTransfer.files || []); describe(dropped); });

    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const files = dropped || Array.from(input.files);
      status.innerHTML = "";
      if (!files.length) {
        App.showError(status, "Choose or drop one or more images first.");
        return;
      }
      const submit = form.querySelector('button[type="submit"]');
      submit.disabled = true;
      const body = new FormData();
      if (files.length === 1) body.append("file", files[0], files[0].name);
      else files.forEach(function (file) { body.append("files", file, file.name); });
      const working = document.createElement("p");
      working.textContent = files.length === 1 ? "Inspecting " + files[0].name + "…" : "Sending " + files.length + " images…";
      status.appendChild(working);
      try {
        const answer = await App.api(form.dataset.apiUrl, { method: "POST", body: body });
        // The rows are the server's partial; a batch's pending rows keep asking for it until all are answered.
        if (files.length === 1) {
          working.textContent = answer.original_name + ": " + answer.decision + ". " + (answer.reason || "");
        } else {
          working.textContent = files.length + " images are being inspected.";
          App.showJob(status, App.jobUrl(form.dataset.jobUrl, answer.job.id), "Inspecting " + files.length + " images");
        }
        window.htmx.trigger(document.body, "inspections-added");
      } catch (error) {
        working.remove();
        App.showError(status, error.message);
      } finally {
        submit.disabled = false;
        dropped = null;
        input.value = "";
        chosen.textContent = "Drop or choose more images to inspect them too.";
      }
    });
  });
})();
