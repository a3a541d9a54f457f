/* Comparison page: ROC curves of both versions computed on the same (shared) evaluation images. */
(function () {
  "use strict";

  /* ROC points and AUROC (trapezoids; ties move diagonally) from [score, isDefective] rows. */
  function roc(rows) {
    const sorted = rows.slice().sort(function (a, b) { return b[0] - a[0]; });
    const positives = sorted.filter(function (row) { return row[1] === 1; }).length;
    const negatives = sorted.length - positives;
    if (!positives || !negatives) return null;
    const points = [[0, 0]];
    let tp = 0;
    let fp = 0;
    for (let index = 0; index < sorted.length; index += 1) {
      if (sorted[index][1] === 1) tp += 1; else fp += 1;
      const last = index === sorted.length - 1 || sorted[index + 1][0] !== sorted[index][0];
      if (last) points.push([fp / negatives, tp / positives]);
    }
    let area = 0;
    for (let index = 1; index < points.length; index += 1) {
      area += (points[index][0] - points[index - 1][0]) * (points[index][1] + points[index - 1][1]) / 2;
    }
    return { points: points, auroc: area };
  }

  document.addEventListener("DOMContentLoaded", function () {
    const source = document.getElementById("compare-data");
    const svg = document.getElementById("compare-roc");
    if (!source || !svg || !window.Charts) return;
    const data = JSON.parse(source.textContent);
    const curves = { a: roc(data.a.scores), b: roc(data.b.scores) };
    const series = [];
    if (curves.a) series.push({ points: curves.a.points });
    if (curves.b) series.push({ points: curves.b.points, className: "curve-b" });
    window.Charts.lineChart(svg, { xDomain: [0, 1], yDomain: [0, 1], xLabel: "false-call rate", yLabel: "recall", diagonal: true, series: series });
    ["a", "b"].forEach(function (key) {
      const label = document.querySelector('[data-auroc="' + key + '"]');
      if (label) label.textContent = curves[key] ? "(AUROC " + curves[key].auroc.toFixed(3) + ")" : "(needs normal and defective images)";
    });
    window.CompareRoc = roc;
  });
})();
