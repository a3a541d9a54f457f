/* Training page: show the settings of the chosen method, and follow running trainings live
 * (stage, epoch, loss, progress) by polling the model version every second; cancel without leaving. */
(function () {
  "use strict";

  const App = window.App;
  const FINISHED = ["trained", "failed", "cancelled"];

  function showMethodParameters() {
    const method = document.querySelector("#training-form [name=method]");
    if (!method) return;
    document.querySelectorAll("#training-form [data-parameter]").forEach(function (wrapper) {
      const used = wrapper.dataset.methods.split(" ").indexOf(method.value) >= 0;
      wrapper.hidden = !used;
      wrapper.querySelectorAll("input, select").forEach(function (control) { control.disabled = !used; });
    });
  }

  function drawLoss(element, losses) {
    const svg = element.querySelector("[data-loss-chart]");
    if (!svg || !window.Charts) return;
    const values = (losses || []).filter(function (value) { return value !== null && Number.isFinite(value); });
    // An <svg> has no `hidden` property; the attribute is what hides it.
    svg.toggleAttribute("hidden", values.length < 1);
    if (!values.length) return;
    const points = values.map(function (value, index) { return [index + 1, value]; });
    const high = Math.max.apply(null, values);
    const low = Math.min.apply(null, values);
    const pad = (high - low) * 0.1 || high * 0.1 || 1;
    window.Charts.lineChart(svg, {
      width: 360, height: 150, xDomain: [1, Math.max(2, values.length)], yDomain: [Math.max(0, low - pad), high + pad],
      xLabel: "epoch", yLabel: "loss", series: [{ points: points, dots: true }], xTicks: Math.min(6, values.length),
    });
    svg.setAttribute("aria-label", "Training loss per epoch: " + values.map(function (value) { return App.number(value); }).join(", "));
  }

  function render(element, version) {
    const job = version.job || {};
    const progress = version.progress || {};
    element.dataset.status = version.status;
    const percent = version.status === "trained" ? 100 : (job.progress || 0);
    const bar = element.querySelector("progress");
    bar.value = percent;
    bar.textContent = percent + " %";
    element.querySelector("[data-training-percent]").textContent = percent + " %";
    const state = element.querySelector("[data-training-state]");
    state.textContent = version.status;
    state.className = "badge badge-" + version.status;
    const stage = progress.stage === "done" ? "finished" : progress.stage || (version.status === "queued" ? "waiting for a worker" : job.stage || "–");
    element.querySelector("[data-training-stage]").textContent = stage;
    element.querySelector("[data-training-epoch]").textContent = progress.epoch ? progress.epoch + " of " + progress.epochs : "–";
    element.querySelector("[data-training-loss]").textContent = progress.loss !== null && progress.loss !== undefined ? App.number(progress.loss) : "–";
    element.querySelector("[data-training-text]").textContent = job.message || "";
    const error = element.querySelector("[data-training-error]");
    error.textContent = version.error || job.error || "";
    error.hidden = !error.textContent;
    const cancel = element.querySelector("[data-training-cancel]");
    if (cancel) cancel.hidden = FINISHED.indexOf(version.status) >= 0;
    if (cancel && job.cancel_requested) {
      cancel.disabled = true;
      cancel.textContent = "Cancelling…";
    }
    element.querySelector("[data-training-done]").hidden = version.status !== "trained";
    drawLoss(element, progress.losses);
  }

  function watch(element) {
    if (element._watching) return;
    element._watching = true;
    const form = element.querySelector("[data-training-cancel-form]");
    if (form) {
      form.addEventListener("submit", async function (event) {
        event.preventDefault();
        const button = form.querySelector("button");
        button.disabled = true;
        try {
          render(element, await App.api(element.dataset.cancelUrl, { method: "POST" }));
        } catch (error) {
          App.showError(element, error.message);
          button.disabled = false;
        }
      });
    }
    let failures = 0;
    async function poll() {
      let version;
      try {
        version = await App.api(element.dataset.url);
        failures = 0;
      } catch (error) {
        failures += 1;
        if (failures >= 3) App.showError(element, "Progress cannot be read: " + error.message);
        window.setTimeout(poll, Math.min(10000, 1000 * failures));
        return;
      }
      App.showError(element, "");
      render(element, version);
      if (FINISHED.indexOf(version.status) >= 0) {
        element._watching = false;
        App.refreshParts(["#version-history"]);
        return;
      }
      window.setTimeout(poll, 1000);
    }
    poll();
  }

  document.addEventListener("DOMContentLoaded", function () {
    const method = document.querySelector("#training-form [name=method]");
    if (method) method.addEventListener("change", showMethodParameters);
    showMethodParameters();
    document.querySelectorAll("[data-training]").forEach(function (element) {
      if (FINISHED.indexOf(element.dataset.status) < 0) watch(element);
    });
  });
})();
