/* Inspect page: send one image (answered at once) or several (a background job) through the API
 * and show each result as soon as it exists, without reloading the page. */
(function () {
  "use strict";

  const App = window.App;

  function cell(row, content) {
    const td = document.createElement("td");
    if (content instanceof Node) td.appendChild(content); else td.textContent = content;
    row.appendChild(td);
    return td;
  }

  function resultRow(inspection, detailBase) {
    const row = document.createElement("tr");
    row.dataset.inspection = inspection.id;
    const cellWrap = document.createElement("td");
    const part = document.createElement("span");
    part.className = "image-cell";
    const image = document.createElement("img");
    image.src = inspection.source_file;
    image.alt = "";
    image.width = 48;
    image.height = 48;
    const link = document.createElement("a");
    link.href = detailBase.replace(/inspect\/$/, "inspections/" + inspection.id + "/");
    link.textContent = inspection.original_name;
    part.appendChild(image);
    part.appendChild(link);
    cellWrap.appendChild(part);
    row.appendChild(cellWrap);
    const badge = document.createElement("span");
    if (inspection.status === "done") {
      badge.className = "badge badge-" + inspection.decision;
      badge.textContent = inspection.decision;
    } else if (inspection.status === "failed") {
      badge.className = "badge badge-failed";
      badge.textContent = "not inspected";
    } else {
      badge.className = "badge";
      badge.textContent = "waiting";
    }
    cell(row, badge);
    cell(row, inspection.score === null ? "–" : inspection.score.toFixed(4)).className = "num";
    cell(row, inspection.reason || "");
    // When it was inspected (else sent), in the reader's time zone and the site's one format (local_time.js).
    const moment = inspection.inspected_at || inspection.created_at || "";
    const time = document.createElement("time");
    time.setAttribute("datetime", moment);
    time.dataset.localTime = "";
    time.textContent = String(moment).slice(0, 19).replace("T", " ");
    cell(row, time);
    if (window.showLocalTimes) window.showLocalTimes(row);
    return row;
  }

  function show(tbody, inspection, detailBase) {
    const empty = tbody.querySelector("[data-empty]");
    if (empty) empty.remove();
    const fresh = resultRow(inspection, detailBase);
    const existing = tbody.querySelector('[data-inspection="' + inspection.id + '"]');
    if (existing) existing.replaceWith(fresh); else tbody.insertBefore(fresh, tbody.firstChild);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const form = document.getElementById("inspect-form");
    if (!form) return;
    const input = form.querySelector('input[type="file"]');
    const zone = form.querySelector("[data-dropzone]");
    const chosen = form.querySelector("[data-chosen]");
    const status = form.querySelector("[data-inspect-status]");
    const tbody = document.querySelector("[data-results]");
    const detailBase = form.dataset.detailBase;
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
        if (files.length === 1) {
          show(tbody, answer, detailBase);
          working.textContent = answer.original_name + ": " + answer.decision + ". " + (answer.reason || "");
        } else {
          answer.inspections.forEach(function (inspection) { show(tbody, inspection, detailBase); });
          working.textContent = files.length + " images are being inspected.";
          const widget = App.jobWidget(answer.job, "Inspecting " + files.length + " images");
          status.appendChild(widget);
          const refresh = async function () {
            try {
              const page = await App.api(form.dataset.apiUrl + "?job=" + answer.job.id + "&page_size=500");
              page.results.forEach(function (inspection) { show(tbody, inspection, detailBase); });
            } catch (error) {
              App.showError(status, error.message);
            }
          };
          widget.addEventListener("job:update", refresh);
          widget.addEventListener("job:finished", refresh);
        }
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
