/* Training page: show the settings of the chosen method, and draw the loss chart of each training
 * from the numbers its server-rendered progress partial carries (htmx swaps in a new one every second). */
(function () {
  "use strict";

  const App = window.App;

  function showMethodParameters() {
    const method = document.querySelector("#training-form [name=method]");
    if (!method) return;
    document.querySelectorAll("#training-form [data-parameter]").forEach(function (wrapper) {
      const used = wrapper.dataset.methods.split(" ").indexOf(method.value) >= 0;
      wrapper.hidden = !used;
      wrapper.querySelectorAll("input, select").forEach(function (control) { control.disabled = !used; });
    });
  }

  function drawLoss(svg) {
    if (!window.Charts) return;
    let values = [];
    try { values = JSON.parse(svg.dataset.losses || "[]"); } catch (error) { values = []; }
    // An <svg> has no `hidden` property; the attribute is what hides it.
    svg.toggleAttribute("hidden", values.length < 1);
    if (!values.length) return;
    const points = values.map(function (value, index) { return [index + 1, value]; });
    const high = Math.max.apply(null, values);
    const low = Math.min.apply(null, values);
    // A loss falls by orders of magnitude: on a log scale the late epochs stay readable.
    const logarithmic = low > 0;
    const pad = (high - low) * 0.1 || high * 0.1 || 1;
    const domain = logarithmic ? [low / 1.25, high * 1.25] : [Math.max(0, low - pad), high + pad];
    window.Charts.lineChart(svg, {
      width: 360, height: 150, xDomain: [1, Math.max(2, values.length)], yDomain: domain,
      yScale: logarithmic ? "log" : "linear", xIntegers: true,
      xLabel: "epoch", yLabel: logarithmic ? "loss (log scale)" : "loss", series: [{ points: points, dots: true }],
      xTicks: Math.min(6, values.length),
    });
    svg.setAttribute("aria-label", "Training loss per epoch: " + values.map(function (value) { return App.number(value); }).join(", "));
  }

  function drawLosses(root) {
    if (root.matches && root.matches("[data-loss-chart]")) drawLoss(root);
    if (root.querySelectorAll) root.querySelectorAll("[data-loss-chart]").forEach(drawLoss);
  }

  // Every swapped-in progress partial fires htmx:load on its new element.
  document.addEventListener("htmx:load", function (event) { drawLosses(event.target); });

  document.addEventListener("DOMContentLoaded", function () {
    const method = document.querySelector("#training-form [name=method]");
    if (method) method.addEventListener("change", showMethodParameters);
    showMethodParameters();
    drawLosses(document);
  });
})();
