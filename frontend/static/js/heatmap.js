/* Anomaly map as a heatmap over the aligned part, on a fixed colour scale.
 *
 * The stored map is a grey PNG where grey level g (0..1) stands for the map
 * value g * scale. Values below `start` get no colour at all, so a good part
 * does not glow; colour and opacity rise up to `end`. The opacity slider
 * fades the whole overlay. */
(function () {
  "use strict";

  // Pale yellow -> orange -> deep red.
  const STOPS = [[0, [255, 237, 160]], [0.5, [253, 141, 60]], [1, [189, 0, 38]]];

  function colour(t) {
    for (let index = 1; index < STOPS.length; index += 1) {
      const [position, rgb] = STOPS[index];
      const [previousPosition, previousRgb] = STOPS[index - 1];
      if (t <= position) {
        const share = (t - previousPosition) / (position - previousPosition);
        return previousRgb.map(function (channel, at) { return Math.round(channel + (rgb[at] - channel) * share); });
      }
    }
    return STOPS[STOPS.length - 1][1];
  }

  function paint(figure) {
    const canvas = figure.querySelector("canvas");
    const slider = figure.querySelector("[data-heat-opacity]");
    const scale = parseFloat(figure.dataset.scale);
    const start = parseFloat(figure.dataset.start);
    const end = parseFloat(figure.dataset.end);
    const bar = figure.querySelector(".colour-scale");
    if (bar) {
      bar.style.background = "linear-gradient(to right, rgba(255,237,160,0.25), rgb(253,141,60), rgb(189,0,38))";
    }
    if (!(scale > 0) || !(end > start)) {
      figure.dataset.heatmapState = "empty";
      return;
    }
    const map = new Image();
    map.addEventListener("load", function () {
      canvas.width = map.naturalWidth;
      canvas.height = map.naturalHeight;
      const context = canvas.getContext("2d");
      context.drawImage(map, 0, 0);
      const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
      const values = pixels.data;
      let coloured = 0;
      for (let offset = 0; offset < values.length; offset += 4) {
        const value = (values[offset] / 255) * scale;
        const t = (value - start) / (end - start);
        if (t <= 0) {
          values[offset + 3] = 0;
          continue;
        }
        const clipped = Math.min(1, t);
        const rgb = colour(clipped);
        values[offset] = rgb[0];
        values[offset + 1] = rgb[1];
        values[offset + 2] = rgb[2];
        values[offset + 3] = Math.round(255 * (0.35 + 0.65 * clipped));
        coloured += 1;
      }
      context.putImageData(pixels, 0, 0);
      figure.dataset.heatmapState = "drawn";
      figure.dataset.colouredPixels = coloured;
    });
    map.addEventListener("error", function () {
      figure.dataset.heatmapState = "error";
      const note = document.createElement("p");
      note.className = "error";
      note.textContent = "The anomaly map cannot be loaded.";
      figure.appendChild(note);
    });
    map.src = figure.dataset.mapUrl;
    function fade() { canvas.style.opacity = slider ? slider.value / 100 : 0.65; }
    if (slider) slider.addEventListener("input", fade);
    fade();
  }

  /* Outlines of the regions a person drew, over the heatmap; the checkbox hides them. */
  function bindOutlines(figure) {
    const outlines = figure.querySelector("[data-region-outlines]");
    const toggle = figure.querySelector("[data-outline-toggle]");
    if (!outlines || !toggle) return;
    function show() { outlines.toggleAttribute("hidden", !toggle.checked); }
    toggle.addEventListener("change", show);
    show();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-heatmap]").forEach(function (figure) {
      paint(figure);
      bindOutlines(figure);
    });
  });
})();
