/* Dataset page: multi-select with bulk actions, and uploads by drag and drop with a progress bar.
 * Without JavaScript the same forms still work (plain form posts, no progress bar). */
(function () {
  "use strict";

  const App = window.App;

  /* --- Selection and bulk actions ------------------------------------------ */

  function checkboxes() {
    return Array.prototype.slice.call(document.querySelectorAll("#image-grid .tile-check"));
  }

  function updateSelection() {
    const boxes = checkboxes();
    const selected = boxes.filter(function (box) { return box.checked; }).length;
    const count = document.querySelector("[data-selected-count]");
    if (count) {
      count.textContent = selected ? selected + " of " + boxes.length + " selected" : "Select images to change them";
    }
    boxes.forEach(function (box) { box.closest(".tile").classList.toggle("tile-selected", box.checked); });
    const submit = document.querySelector("[data-bulk-submit]");
    if (submit) submit.disabled = selected === 0;
  }

  function showActionFields() {
    const action = document.querySelector("[data-bulk-action]");
    if (!action) return;
    document.querySelectorAll("[data-for-action]").forEach(function (element) {
      element.hidden = element.dataset.forAction !== action.value;
    });
    const submit = document.querySelector("[data-bulk-submit]");
    if (submit) {
      submit.classList.toggle("button-danger", action.value === "delete");
      submit.textContent = action.value === "delete" ? "Delete selected…" : "Apply to selected";
    }
  }

  let lastClicked = null;

  function bindSelection() {
    const grid = document.getElementById("image-grid");
    if (!grid || grid._bound) return;
    grid._bound = true;
    grid.addEventListener("click", function (event) {
      const box = event.target.closest(".tile-check");
      if (!box) return;
      // Shift-click selects the range from the previously clicked image.
      const boxes = checkboxes();
      if (event.shiftKey && lastClicked && boxes.indexOf(lastClicked) >= 0) {
        const from = boxes.indexOf(lastClicked);
        const to = boxes.indexOf(box);
        boxes.slice(Math.min(from, to), Math.max(from, to) + 1).forEach(function (other) { other.checked = box.checked; });
      }
      lastClicked = box;
    });
    grid.addEventListener("change", updateSelection);
    updateSelection();
  }

  function bindBulkBar() {
    const all = document.querySelector("[data-select-page]");
    const none = document.querySelector("[data-select-none]");
    const action = document.querySelector("[data-bulk-action]");
    if (all) all.addEventListener("click", function () { checkboxes().forEach(function (box) { box.checked = true; }); updateSelection(); });
    if (none) none.addEventListener("click", function () { checkboxes().forEach(function (box) { box.checked = false; }); updateSelection(); });
    if (action) action.addEventListener("change", showActionFields);
    showActionFields();
  }

  /* --- Upload with progress -------------------------------------------------- */

  function sendBatch(url, files, fields, onProgress) {
    return new Promise(function (resolve, reject) {
      const data = new FormData();
      files.forEach(function (file) { data.append("files", file, file.name); });
      Object.keys(fields).forEach(function (name) { if (fields[name]) data.append(name, fields[name]); });
      const request = new XMLHttpRequest();
      request.open("POST", url);
      request.setRequestHeader("X-CSRFToken", App.csrfToken());
      request.setRequestHeader("Accept", "application/json");
      request.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) onProgress(event.loaded, event.total);
      });
      request.addEventListener("load", function () {
        let body = null;
        try { body = JSON.parse(request.responseText); } catch (error) { body = null; }
        // 400 and 409 still carry a report naming each refused file.
        if (request.status < 300 || ((request.status === 400 || request.status === 409) && body && body.created !== undefined)) {
          resolve(body);
        } else {
          reject(new App.ApiError(App.errorWords(body, request.status), request.status, body));
        }
      });
      request.addEventListener("error", function () {
        reject(new App.ApiError("The upload was interrupted; check the network connection and try again.", 0, null));
      });
      request.send(data);
    });
  }

  function listItem(text, className) {
    const item = document.createElement("li");
    item.textContent = text;
    if (className) item.className = className;
    return item;
  }

  function renderReport(container, totals, lastJob, jobUrl) {
    container.innerHTML = "";
    const summary = document.createElement("p");
    summary.className = totals.created ? "message message-success" : "message message-warning";
    summary.textContent = totals.created + " stored, " + totals.duplicates.length + " already stored, " +
      totals.invalid.length + " refused, " + totals.skipped.length + " skipped.";
    container.appendChild(summary);
    if (totals.errors.length || totals.invalid.length) {
      const list = document.createElement("ul");
      list.className = "report-list";
      totals.errors.forEach(function (text) { list.appendChild(listItem(text, "text-bad")); });
      totals.invalid.slice(0, 50).forEach(function (entry) { list.appendChild(listItem(entry.name + ": " + entry.reason, "text-bad")); });
      if (totals.invalid.length > 50) list.appendChild(listItem("… and " + (totals.invalid.length - 50) + " more refused files."));
      container.appendChild(list);
    }
    if (totals.duplicates.length) {
      const details = document.createElement("details");
      const title = document.createElement("summary");
      title.textContent = totals.duplicates.length + " files were already stored";
      details.appendChild(title);
      const list = document.createElement("ul");
      totals.duplicates.slice(0, 100).forEach(function (entry) {
        list.appendChild(listItem(entry.name + " is image " + entry.existing_image_id));
      });
      details.appendChild(list);
      container.appendChild(details);
    }
    // The job's own partial follows it; when it ends, the grid and the counts ask for theirs.
    if (lastJob) App.showJob(container, App.jobUrl(jobUrl, lastJob.id), "Aligning the new images");
  }

  function bindUpload() {
    const form = document.getElementById("upload-form");
    if (!form) return;
    const input = form.querySelector('input[type="file"]');
    const zone = form.querySelector("[data-dropzone]");
    const chosen = form.querySelector("[data-chosen]");
    const progress = form.querySelector("[data-upload-progress]");
    const bar = progress.querySelector("progress");
    const percent = progress.querySelector("[data-upload-percent]");
    const text = progress.querySelector("[data-upload-text]");
    const report = form.querySelector("[data-upload-report]");
    let dropped = null;

    function describe(files) {
      const bytes = files.reduce(function (sum, file) { return sum + file.size; }, 0);
      chosen.textContent = files.length + " file" + (files.length === 1 ? "" : "s") + " chosen (" +
        (bytes / 1048576).toFixed(1) + " MB).";
    }

    input.addEventListener("change", function () { dropped = null; describe(Array.from(input.files)); });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("dropzone-active"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.remove("dropzone-active"); });
    });
    zone.addEventListener("drop", function (event) {
      dropped = Array.from(event.dataTransfer.files || []);
      describe(dropped);
    });

    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const files = dropped || Array.from(input.files);
      if (!files.length) {
        App.showError(report, "Choose or drop some images or zip archives first.");
        return;
      }
      const fields = {
        label: form.elements.label.value,
        split: form.elements.split.value,
        defect_type: form.elements.defect_type.value.trim(),
      };
      const batchSize = parseInt(form.dataset.batchSize, 10) || 100;
      // Batches stay under the server's per-request limits; a zip always travels alone.
      const batches = [];
      let current = [];
      files.forEach(function (file) {
        if (/\.zip$/i.test(file.name)) { batches.push([file]); return; }
        current.push(file);
        if (current.length >= batchSize) { batches.push(current); current = []; }
      });
      if (current.length) batches.push(current);
      const totalBytes = files.reduce(function (sum, file) { return sum + file.size; }, 0) || 1;
      let sentBytes = 0;
      const totals = { created: 0, duplicates: [], invalid: [], skipped: [], errors: [] };
      let lastJob = null;
      const submit = form.querySelector('button[type="submit"]');
      submit.disabled = true;
      report.innerHTML = "";
      progress.hidden = false;
      for (let index = 0; index < batches.length; index += 1) {
        const batch = batches[index];
        const batchBytes = batch.reduce(function (sum, file) { return sum + file.size; }, 0);
        text.textContent = "Sending batch " + (index + 1) + " of " + batches.length + " (" + batch.length + " files)…";
        try {
          const body = await sendBatch(form.dataset.apiUrl, batch, fields, function (loaded, total) {
            const share = Math.min(1, loaded / total);
            const value = Math.round(((sentBytes + share * batchBytes) / totalBytes) * 100);
            bar.value = value;
            bar.textContent = percent.textContent = value + " %";
          });
          totals.created += body.created_count || 0;
          totals.duplicates = totals.duplicates.concat(body.duplicates || []);
          totals.invalid = totals.invalid.concat(body.invalid || []);
          totals.skipped = totals.skipped.concat(body.skipped || []);
          if (body.job) lastJob = body.job;
        } catch (error) {
          const names = batch.length === 1 ? batch[0].name : batch.length + " files starting with " + batch[0].name;
          totals.errors.push(names + ": " + error.message);
        }
        sentBytes += batchBytes;
      }
      bar.value = 100;
      bar.textContent = percent.textContent = "100 %";
      text.textContent = "Upload finished.";
      submit.disabled = false;
      dropped = null;
      input.value = "";
      chosen.textContent = "Drop or choose more files to add them too.";
      renderReport(report, totals, lastJob, form.dataset.jobUrl);
      // The image grid and the counts are server-rendered partials that ask for themselves on this event.
      if (totals.created) window.htmx.trigger(document.body, "images-added");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    bindSelection();
    bindBulkBar();
    bindUpload();
  });
  // A refreshed image grid is a new element: bind its checkboxes again.
  document.addEventListener("htmx:load", function () { bindSelection(); });
})();
