/* Small SVG charts without a library: line charts (ROC, PR, loss) with a movable marker,
 * and a two-class score histogram with threshold lines and a shaded review band.
 * Every chart is an <svg role="img"> with a text alternative set by the page. */
(function () {
  "use strict";

  const NS = "http://www.w3.org/2000/svg";
  const MARGIN = { top: 12, right: 14, bottom: 38, left: 50 };

  function element(name, attributes, parent) {
    const node = document.createElementNS(NS, name);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (parent) parent.appendChild(node);
    return node;
  }

  function text(parent, x, y, content, attributes) {
    const node = element("text", Object.assign({ x: x, y: y }, attributes || {}), parent);
    node.textContent = content;
    return node;
  }

  function niceTicks(low, high, count) {
    if (!(high > low)) return [low];
    const span = high - low;
    const raw = span / Math.max(1, count);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map(function (m) { return m * power; }).find(function (s) { return s >= raw; }) || raw;
    const ticks = [];
    for (let value = Math.ceil(low / step) * step; value <= high + step * 1e-9; value += step) ticks.push(+value.toPrecision(12));
    return ticks;
  }

  /* Ticks for a logarithmic axis: the powers of ten inside [low, high], with 2 and 5 times them when
   * the domain spans too few decades to show more than two powers. */
  function logTicks(low, high) {
    const ticks = [];
    const multiples = Math.log10(high / low) < 2 ? [1, 2, 5] : [1];
    for (let power = Math.floor(Math.log10(low)); power <= Math.ceil(Math.log10(high)); power += 1) {
      multiples.forEach(function (multiple) {
        const value = +(multiple * Math.pow(10, power)).toPrecision(12);
        if (value >= low && value <= high) ticks.push(value);
      });
    }
    return ticks;
  }

  function format(value) {
    if (value === 0) return "0";
    const magnitude = Math.abs(value);
    if (magnitude >= 1e6 || magnitude < 0.001) return value.toExponential(1);
    if (magnitude >= 10000) return +(value / 1000).toPrecision(3) + "k";
    return +value.toPrecision(3) + "";
  }

  /* Axes, grid and scales in a viewBox of width x height; returns {plot, x(), y()}. */
  function frame(svg, options) {
    const width = options.width || 360;
    const height = options.height || 260;
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const inner = { width: width - MARGIN.left - MARGIN.right, height: height - MARGIN.top - MARGIN.bottom };
    const xDomain = options.xDomain;
    const yDomain = options.yDomain;
    const x = function (value) {
      return MARGIN.left + ((value - xDomain[0]) / ((xDomain[1] - xDomain[0]) || 1)) * inner.width;
    };
    // A log scale needs a positive domain; anything else is drawn linear.
    const logarithmic = options.yScale === "log" && yDomain[0] > 0 && yDomain[1] > yDomain[0];
    const y = logarithmic
      ? function (value) {
        const share = Math.log(Math.max(value, yDomain[0]) / yDomain[0]) / Math.log(yDomain[1] / yDomain[0]);
        return MARGIN.top + inner.height - share * inner.height;
      }
      : function (value) {
        return MARGIN.top + inner.height - ((value - yDomain[0]) / ((yDomain[1] - yDomain[0]) || 1)) * inner.height;
      };
    const axes = element("g", { class: "axis" }, svg);
    (logarithmic ? logTicks(yDomain[0], yDomain[1]) : niceTicks(yDomain[0], yDomain[1], 4)).forEach(function (tick) {
      element("line", { class: "grid-line", x1: MARGIN.left, x2: MARGIN.left + inner.width, y1: y(tick), y2: y(tick) }, axes);
      text(axes, MARGIN.left - 6, y(tick) + 3.5, format(tick), { "text-anchor": "end" });
    });
    // Counted things (epochs) get whole-number ticks only.
    const xTicks = niceTicks(xDomain[0], xDomain[1], options.xTicks || 5).filter(function (tick) {
      return !options.xIntegers || Number.isInteger(tick);
    });
    xTicks.forEach(function (tick) {
      element("line", { class: "grid-line", x1: x(tick), x2: x(tick), y1: MARGIN.top, y2: MARGIN.top + inner.height }, axes);
      text(axes, x(tick), MARGIN.top + inner.height + 14, format(tick), { "text-anchor": "middle" });
    });
    element("path", {
      d: "M" + MARGIN.left + "," + MARGIN.top + "V" + (MARGIN.top + inner.height) + "H" + (MARGIN.left + inner.width),
      fill: "none",
    }, axes);
    if (options.xLabel) text(svg, MARGIN.left + inner.width / 2, height - 4, options.xLabel, { "text-anchor": "middle" });
    if (options.yLabel) {
      text(svg, 12, MARGIN.top + inner.height / 2, options.yLabel, {
        "text-anchor": "middle", transform: "rotate(-90 12 " + (MARGIN.top + inner.height / 2) + ")",
      });
    }
    const plot = element("g", {}, svg);
    return { plot: plot, x: x, y: y, inner: inner };
  }

  function pathFrom(points, x, y) {
    return points.map(function (point, index) {
      return (index ? "L" : "M") + x(point[0]).toFixed(2) + "," + y(point[1]).toFixed(2);
    }).join("");
  }

  /* series: [{points: [[x, y], ...], className, step}]; returns {setMarker(x, y, label)}. */
  function lineChart(svg, options) {
    const view = frame(svg, options);
    if (options.diagonal) {
      element("line", {
        class: "diagonal", x1: view.x(options.xDomain[0]), y1: view.y(options.yDomain[0]),
        x2: view.x(options.xDomain[1]), y2: view.y(options.yDomain[1]),
      }, view.plot);
    }
    (options.series || []).forEach(function (series) {
      if (!series.points.length) return;
      element("path", { class: "curve " + (series.className || ""), d: pathFrom(series.points, view.x, view.y) }, view.plot);
      if (series.dots) {
        series.points.forEach(function (point) {
          element("circle", { cx: view.x(point[0]), cy: view.y(point[1]), r: 2.5, class: "marker", style: "fill: var(--accent)" }, view.plot);
        });
      }
    });
    const marker = element("circle", { class: "marker", r: 5, cx: -20, cy: -20, visibility: "hidden" }, view.plot);
    marker.setAttribute("data-marker", "");
    const title = element("title", {}, marker);
    return {
      setMarker: function (xValue, yValue, label) {
        if (xValue === null || yValue === null || Number.isNaN(xValue) || Number.isNaN(yValue)) {
          marker.setAttribute("visibility", "hidden");
          return;
        }
        marker.setAttribute("visibility", "visible");
        marker.setAttribute("cx", view.x(xValue).toFixed(2));
        marker.setAttribute("cy", view.y(yValue).toFixed(2));
        title.textContent = label || "";
      },
    };
  }

  /* histogram: {edges, normal, defective}; returns {setThresholds(reject, reviewFrom)}. */
  function histogram(svg, data, options) {
    options = options || {};
    const edges = data.edges;
    const counts = data.normal.map(function (value, index) { return Math.max(value, data.defective[index]); });
    const top = Math.max(1, Math.max.apply(null, counts));
    const view = frame(svg, Object.assign({ xDomain: [edges[0], edges[edges.length - 1]], yDomain: [0, top] }, options));
    const band = element("rect", { class: "band", y: view.y(top), height: view.y(0) - view.y(top), x: 0, width: 0, visibility: "hidden" }, view.plot);
    ["normal", "defective"].forEach(function (kind) {
      data[kind].forEach(function (count, index) {
        if (!count) return;
        const left = view.x(edges[index]);
        const right = view.x(edges[index + 1]);
        const bar = element("rect", {
          class: "bar-" + kind, x: left + 0.5, width: Math.max(1, right - left - 1), y: view.y(count), height: view.y(0) - view.y(count),
        }, view.plot);
        element("title", {}, bar).textContent = count + " " + kind + " images with scores " + format(edges[index]) + "–" + format(edges[index + 1]);
      });
    });
    const lower = element("line", { class: "band-line", y1: view.y(top), y2: view.y(0), visibility: "hidden" }, view.plot);
    const reject = element("line", { class: "threshold-line", y1: view.y(top), y2: view.y(0) }, view.plot);
    const clampX = function (value) {
      return Math.min(view.x(edges[edges.length - 1]), Math.max(view.x(edges[0]), view.x(value)));
    };
    return {
      setThresholds: function (rejectFrom, reviewFrom) {
        reject.setAttribute("x1", clampX(rejectFrom));
        reject.setAttribute("x2", clampX(rejectFrom));
        const banded = reviewFrom !== null && reviewFrom !== undefined && reviewFrom < rejectFrom;
        [lower, band].forEach(function (node) { node.setAttribute("visibility", banded ? "visible" : "hidden"); });
        if (banded) {
          lower.setAttribute("x1", clampX(reviewFrom));
          lower.setAttribute("x2", clampX(reviewFrom));
          band.setAttribute("x", clampX(reviewFrom));
          band.setAttribute("width", Math.max(0, clampX(rejectFrom) - clampX(reviewFrom)));
        }
      },
    };
  }

  window.Charts = { lineChart: lineChart, histogram: histogram, format: format };
})();
