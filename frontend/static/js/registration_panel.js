/* Dataset page, "Registration" panel: the mode registration chose on the good training pictures, every
 * mode's figures, histograms of rotation and shift, the refused pictures, and the region of interest drawn
 * on the reference image: the one in force (saved, or suggested and not confirmed, with Accept / Edit), dragged,
 * typed, the suggested one, or the whole frame. */
(function () {
  "use strict";

  const App = window.App;
  const BINS = 12;

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
  }

  function range(figure) {
    if (!figure || figure.min === null) return "–";
    return App.number(figure.min, 1) + " … " + App.number(figure.max, 1);
  }

  function histogram(element, values) {
    element.textContent = "";
    if (!values || !values.length) {
      element.textContent = "No registered training picture yet.";
      return;
    }
    const low = Math.min.apply(null, values), high = Math.max.apply(null, values);
    const width = (high - low) / BINS || 1;
    const counts = new Array(BINS).fill(0);
    values.forEach(function (value) { counts[Math.min(BINS - 1, Math.floor((value - low) / width))] += 1; });
    const most = Math.max.apply(null, counts);
    const bars = document.createElement("div");
    bars.className = "histogram";
    bars.setAttribute("role", "img");
    bars.setAttribute("aria-label", values.length + " pictures between " + App.number(low, 1) + " and " + App.number(high, 1));
    counts.forEach(function (count, index) {
      const bar = document.createElement("span");
      bar.style.height = Math.round(100 * count / most) + "%";
      bar.title = count + " between " + App.number(low + index * width, 1) + " and " + App.number(low + (index + 1) * width, 1);
      bars.appendChild(bar);
    });
    const axis = document.createElement("div");
    axis.className = "histogram-axis";
    [low, high].forEach(function (value) {
      const label = document.createElement("span");
      label.textContent = App.number(value, 1);
      axis.appendChild(label);
    });
    element.appendChild(bars);
    element.appendChild(axis);
  }

  function showReport(panel, overview) {
    const choice = panel.querySelector("[data-registration-choice]");
    const report = overview.report;
    if (!report) {
      choice.textContent = "Registration has not chosen yet for this reference and these settings: it does when the images are aligned.";
    } else {
      choice.classList.remove("muted");
      const minimum = report.settings.min_quality;
      choice.textContent = "Mode " + (report.mode === "auto" ? "chosen automatically" : "set in the settings") + ": " +
        report.chosen + " (" + report.why + "). Similarity minimum " + (typeof minimum === "number" ? App.number(minimum, 3) : "the general one") +
        " (" + report.min_quality_source + ").";
      const table = panel.querySelector("[data-registration-candidates]");
      const body = table.querySelector("tbody");
      body.textContent = "";
      report.candidates.forEach(function (figure) {
        const row = document.createElement("tr");
        if (figure.method === report.chosen) row.className = "row-chosen";
        cell(row, figure.method + (figure.method === report.chosen ? " (chosen)" : ""));
        cell(row, String(figure.refused));
        cell(row, figure.median_quality === null ? "–" : App.number(figure.median_quality, 3));
        cell(row, range(figure.rotation));
        cell(row, range(figure.shift_px));
        body.appendChild(row);
      });
      table.hidden = false;
    }
    histogram(panel.querySelector('[data-histogram="rotations"]'), report && report.rotations);
    histogram(panel.querySelector('[data-histogram="shifts"]'), report && report.shifts);
    const list = panel.querySelector("[data-registration-refused]");
    list.textContent = "";
    const refused = overview.refused_pictures.length ? overview.refused_pictures : null;
    (refused || [{ name: "None.", reason: "" }]).forEach(function (picture) {
      const item = document.createElement("li");
      item.textContent = picture.reason ? picture.name + ": " + picture.reason : picture.name;
      list.appendChild(item);
    });
  }

  /* --- Region of interest ------------------------------------------------------------------------- */

  function roiEditor(panel, overview) {
    const form = panel.querySelector("[data-roi-form]");
    const image = panel.querySelector("[data-roi-image]");
    const box = panel.querySelector("[data-roi-box]");
    const message = panel.querySelector("[data-roi-message]");
    const size = overview.reference_size || [image.naturalWidth, image.naturalHeight];
    const fields = ["x", "y", "width", "height"].map(function (name) { return form.elements[name]; });

    function values() { return fields.map(function (field) { return Math.round(Number(field.value)); }); }

    function draw() {
      const roi = values();
      if (!image.clientWidth || roi.some(isNaN)) return;
      const scale = image.clientWidth / size[0];
      box.style.left = roi[0] * scale + "px";
      box.style.top = roi[1] * scale + "px";
      box.style.width = roi[2] * scale + "px";
      box.style.height = roi[3] * scale + "px";
      box.hidden = false;
    }

    function set(roi) {
      fields.forEach(function (field, index) { field.value = roi[index]; });
      draw();
    }

    const region = overview.region;
    const inForce = (region && region.roi) || [0, 0, size[0], size[1]];
    set(inForce);
    showState(region);
    const accept = panel.querySelector("[data-roi-accept]");
    accept.addEventListener("click", function () {
      set(inForce);
      save("Region accepted: every image is being aligned again with it.",
        "Region accepted: the images were already aligned with it and stay as they are.");
    });
    panel.querySelector("[data-roi-edit]").addEventListener("click", function () {
      message.textContent = "Drag on the reference or type the region, then save it.";
      fields[0].focus();
    });
    fields.forEach(function (field) { field.addEventListener("input", draw); });
    image.addEventListener("load", draw);
    window.addEventListener("resize", draw);
    panel.querySelector("[data-roi-suggested]").disabled = !overview.suggested_roi;
    panel.querySelector("[data-roi-suggested]").addEventListener("click", function () { set(overview.suggested_roi); });
    panel.querySelector("[data-roi-frame]").addEventListener("click", function () { set([0, 0, size[0], size[1]]); });

    let start = null;
    function point(event) {
      const bounds = image.getBoundingClientRect();
      const scale = size[0] / bounds.width;
      return [
        Math.max(0, Math.min(size[0], Math.round((event.clientX - bounds.left) * scale))),
        Math.max(0, Math.min(size[1], Math.round((event.clientY - bounds.top) * scale))),
      ];
    }
    const editor = panel.querySelector("[data-roi-editor]");
    editor.addEventListener("pointerdown", function (event) {
      start = point(event);
      editor.setPointerCapture(event.pointerId);
    });
    editor.addEventListener("pointermove", function (event) {
      if (!start) return;
      const end = point(event);
      set([Math.min(start[0], end[0]), Math.min(start[1], end[1]),
        Math.max(1, Math.abs(end[0] - start[0])), Math.max(1, Math.abs(end[1] - start[1]))]);
    });
    editor.addEventListener("pointerup", function () { start = null; });

    // The server aligns every image again only when the alignment changes; `kept` says it did not.
    async function save(realigned, kept) {
      message.textContent = "Saving…";
      const settings = Object.assign({}, overview.settings, { roi: values() });
      try {
        const product = await App.api(panel.dataset.productUrl, {
          method: "PATCH", json: { registration_settings: settings },
        });
        const unchanged = product.registration_revision === overview.revision;
        overview.settings = settings;
        overview.revision = product.registration_revision;
        message.textContent = unchanged ? kept : realigned;
        showState({ roi: settings.roi, source: "saved", why: "as set in the settings", confirmed: true });
      } catch (error) {
        message.textContent = "Not saved: " + error.message;
      }
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      save("Region saved: every image is being aligned again with it.",
        "Region saved: the images were already aligned with it and stay as they are.");
    });

    function showState(shown) {
      const state = panel.querySelector("[data-roi-state]");
      panel.querySelector("[data-roi-unconfirmed]").hidden = !shown || shown.confirmed;
      if (!shown) {
        state.textContent = "No region yet: the whole frame until a reference image is set.";
        return;
      }
      const where = shown.roi ? " (" + shown.roi.join(", ") + ")" : "";
      const kind = shown.whole_frame ? "the whole frame" : "the part";
      state.textContent = shown.source === "saved"
        ? "Region in force: saved" + where + "."
        : shown.source === "suggested"
          ? "Region in force: suggested, not confirmed, " + kind + where + ": " + shown.why + ". Accept it or edit it."
          : "Region in force: the whole frame" + where + ": " + shown.why + ".";
    }
  }

  async function start() {
    const panel = document.getElementById("registration-panel");
    if (!panel) return;
    try {
      const overview = await App.api(panel.dataset.registrationUrl);
      showReport(panel, overview);
      roiEditor(panel, overview);
    } catch (error) {
      panel.querySelector("[data-registration-choice]").textContent = "The registration report cannot be loaded: " + error.message;
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
