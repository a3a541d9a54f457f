// The production dashboard's chart: parts per hour (or day) by decision, drawn with uPlot
// (vendored under static/vendor/uplot). Drag across it to zoom, double-click to zoom out;
// dashed vertical lines mark version activations.
(function () {
  "use strict";

  const COLOURS = { pass: "#2f855a", review: "#b7791f", reject: "#c53030" };
  const WORDS = { pass: "passed", review: "sent to review", reject: "rejected" };

  // The site's one date format (local_time.js), in the reader's time zone: YYYY-MM-DD HH:MM:SS.
  const localText = window.localText;

  function tickTexts(chart, splits) {
    let previousDay = "";
    return splits.map((seconds) => {
      const date = new Date(seconds * 1000);
      const day = localText(date).slice(0, 10);
      const clock = localText(date).slice(11, 16);
      const text = day !== previousDay ? `${clock}\n${day}` : clock;
      previousDay = day;
      return text;
    });
  }

  function legendTime(chart, seconds) {
    if (seconds == null) return "--";
    const date = new Date(seconds * 1000);
    return localText(date).slice(0, 16);
  }

  function activationMarkers(activations) {
    return {
      hooks: {
        draw: [
          (chart) => {
            const context = chart.ctx;
            const { top, height } = chart.bbox;
            context.save();
            context.strokeStyle = "#2b6cb0";
            context.fillStyle = "#2b6cb0";
            context.lineWidth = 2 * devicePixelRatio;
            context.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
            context.font = `${12 * devicePixelRatio}px sans-serif`;
            activations.forEach((activation) => {
              const x = Math.round(chart.valToPos(activation.time, "x", true));
              if (x < chart.bbox.left || x > chart.bbox.left + chart.bbox.width) return;
              context.beginPath();
              context.moveTo(x, top);
              context.lineTo(x, top + height);
              context.stroke();
              context.fillText(`v${activation.version}`, x + 4 * devicePixelRatio, top + 14 * devicePixelRatio);
            });
            context.restore();
          },
        ],
      },
    };
  }

  function draw(element, data) {
    const series = data.series;
    const width = Math.max(element.clientWidth, 320);
    const options = {
      width,
      height: 320,
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true } },
      axes: [{ values: tickTexts, space: 70 }, { label: "parts" }],
      series: [{ value: legendTime }].concat(["pass", "review", "reject"].map((decision) => ({
        label: WORDS[decision],
        stroke: COLOURS[decision],
        fill: `${COLOURS[decision]}22`,
        width: 2,
        points: { show: series.times.length <= 60 },
      }))),
      plugins: [activationMarkers(data.activations)],
    };
    const chart = new uPlot(options, [series.times, series.pass, series.review, series.reject], element);
    element.dataset.ready = "true";
    window.addEventListener("resize", () => chart.setSize({ width: Math.max(element.clientWidth, 320), height: 320 }));
    return chart;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const element = document.querySelector("[data-dashboard-chart]");
    const source = document.getElementById("dashboard-data");
    if (!element || !source || typeof uPlot === "undefined") return;
    window.dashboardChart = draw(element, JSON.parse(source.textContent));
  });
})();
