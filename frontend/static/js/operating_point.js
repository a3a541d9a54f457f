/* Model version page: choose the operating point while seeing what it does.
 *
 * Everything is computed here from the version's evaluation scores, with the
 * platform's decision rule (score >= threshold: reject; with a band T1 < T2:
 * below T1 pass, from T1 review, from T2 reject), so the numbers follow the
 * sliders at once. The budget suggestions use the engine's rules
 * (inspection/engine/scoring/thresholds.py): each rule picks the lowest
 * rejected score, and the threshold lies in the middle of the gap below it,
 * never on an observed score. */
(function () {
  "use strict";

  const App = window.App;
  const TOLERANCE = 1e-9;
  const STEPS = 1000;
  const FEW_IMAGES = 20; // as score_analysis.FEW_IMAGES

  /* --- Pure functions (also used by the browser tests) ------------------------ */

  function descending(values) { return values.slice().sort(function (a, b) { return b - a; }); }

  /* The threshold rejecting exactly the scores >= lowestRejected, mid-gap (engine: threshold_between_scores). */
  function betweenScores(scores, lowestRejected) {
    const distinct = Array.from(new Set(scores)).sort(function (a, b) { return a - b; });
    const count = distinct.length;
    if (count === 1) {
      const step = distinct[0] !== 0 ? Math.abs(distinct[0]) * 0.01 : 0.01;
      return lowestRejected > distinct[0] ? distinct[0] + step : distinct[0] - step;
    }
    if (lowestRejected > distinct[count - 1]) return distinct[count - 1] + (distinct[count - 1] - distinct[count - 2]) / 2;
    if (lowestRejected <= distinct[0]) {
      let halfGap = (distinct[1] - distinct[0]) / 2;
      if (distinct[0] > 0) halfGap = Math.min(halfGap, distinct[0] / 2);
      return distinct[0] - halfGap;
    }
    const below = Math.max.apply(null, distinct.filter(function (score) { return score < lowestRejected; }));
    const middle = (below + lowestRejected) / 2;
    return below < middle && middle < lowestRejected ? middle : lowestRejected;
  }

  /* Highest threshold that still rejects at least minRecall of the defective images. */
  function escapeBudgetThreshold(scores, defective, minRecall) {
    const defects = descending(scores.filter(function (_, index) { return defective[index]; }));
    if (!defects.length) return null;
    const needed = Math.ceil(minRecall * defects.length - TOLERANCE);
    return betweenScores(scores, defects[Math.max(needed, 1) - 1]);
  }

  /* Lowest threshold rejecting at most maxRate of the normal images. */
  function falseCallBudgetThreshold(scores, defective, maxRate) {
    const normals = descending(scores.filter(function (_, index) { return !defective[index]; }));
    if (!normals.length) return null;
    const allowed = Math.floor(maxRate * normals.length + TOLERANCE);
    if (allowed >= normals.length) return betweenScores(scores, Math.min.apply(null, scores));
    const firstTooMany = normals[allowed];
    const above = scores.filter(function (score) { return score > firstTooMany; });
    return betweenScores(scores, above.length ? Math.min.apply(null, above) : Infinity);
  }

  function decide(score, rejectFrom, reviewFrom) {
    if (score >= rejectFrom) return "reject";
    if (reviewFrom !== null && reviewFrom !== undefined && score >= reviewFrom) return "review";
    return "pass";
  }

  function ratio(numerator, denominator) { return denominator ? numerator / denominator : NaN; }

  /* Exact percentile bootstrap 95 % interval of successes / trials (as score_analysis.bootstrap_interval). */
  function bootstrapInterval(successes, trials) {
    if (!trials) return [NaN, NaN];
    const rate = successes / trials;
    if (successes === 0 || successes === trials) return [rate, rate];
    const logFactorial = [0];
    for (let k = 1; k <= trials; k += 1) logFactorial.push(logFactorial[k - 1] + Math.log(k));
    const bounds = [0.025 - 1e-12, 0.975 - 1e-12];
    const found = [null, null];
    let cumulative = 0;
    for (let k = 0; k <= trials; k += 1) {
      cumulative += Math.exp(logFactorial[trials] - logFactorial[k] - logFactorial[trials - k] +
        k * Math.log(rate) + (trials - k) * Math.log1p(-rate));
      bounds.forEach(function (bound, index) { if (found[index] === null && cumulative >= bound) found[index] = k; });
    }
    return [found[0] / trials, (found[1] === null ? trials : found[1]) / trials];
  }

  /* Distance of a threshold to the nearest defective and normal score, in normal-score standard deviations. */
  function margin(scores, defective, threshold) {
    const normals = scores.filter(function (_, index) { return !defective[index]; });
    const defects = scores.filter(function (_, index) { return defective[index]; });
    let spread = null;
    if (normals.length >= 2) {
      const mean = normals.reduce(function (sum, value) { return sum + value; }, 0) / normals.length;
      const variance = normals.reduce(function (sum, value) { return sum + (value - mean) * (value - mean); }, 0) / (normals.length - 1);
      spread = Math.sqrt(variance) || null;
    }
    const nearest = function (values) {
      if (!values.length) return null;
      return Math.min.apply(null, values.map(function (value) { return Math.abs(value - threshold); }));
    };
    const result = { to_defective: nearest(defects), to_normal: nearest(normals), normal_spread: spread };
    const relatives = [result.to_defective, result.to_normal].filter(function (value) { return value !== null && spread; })
      .map(function (value) { return value / spread; });
    result.relative = relatives.length ? Math.min.apply(null, relatives) : null;
    return result;
  }

  /* What an operating point does on labelled scores (as services/evaluation.operating_point). */
  function outcome(scores, defective, rejectFrom, reviewFrom, lineDefectRate) {
    const counts = { normal: { pass: 0, review: 0, reject: 0 }, defective: { pass: 0, review: 0, reject: 0 } };
    scores.forEach(function (score, index) {
      counts[defective[index] ? "defective" : "normal"][decide(score, rejectFrom, reviewFrom)] += 1;
    });
    const normalCount = counts.normal.pass + counts.normal.review + counts.normal.reject;
    const defectCount = counts.defective.pass + counts.defective.review + counts.defective.reject;
    const tp = counts.defective.reject;
    const fn = defectCount - tp;
    const fp = counts.normal.reject;
    const result = {
      counts: counts,
      precision: defectCount ? ratio(tp, tp + fp) : NaN,
      recall: ratio(tp, defectCount),
      f1: defectCount ? ratio(2 * tp, 2 * tp + fp + fn) : NaN,
      false_call_rate: ratio(fp, normalCount),
      escapes: counts.defective.pass,
      defect_count: defectCount,
      review_rate: ratio(counts.normal.review + counts.defective.review, scores.length),
    };
    const flaggedNormal = ratio(counts.normal.review + counts.normal.reject, normalCount);
    const flaggedDefective = ratio(counts.defective.review + counts.defective.reject, defectCount);
    const rate = lineDefectRate;
    if (normalCount && defectCount) result.line_review_rate = (1 - rate) * flaggedNormal + rate * flaggedDefective;
    else if (normalCount) result.line_review_rate = (1 - rate) * flaggedNormal + rate;
    else result.line_review_rate = NaN;
    return result;
  }

  window.OperatingPoint = {
    betweenScores: betweenScores, bootstrapInterval: bootstrapInterval, margin: margin, escapeBudgetThreshold: escapeBudgetThreshold,
    falseCallBudgetThreshold: falseCallBudgetThreshold, outcome: outcome, decide: decide,
  };

  /* --- The page ----------------------------------------------------------------- */

  function start() {
    const source = document.getElementById("version-data");
    const form = document.getElementById("threshold-form");
    if (!source || !form) return;
    const data = JSON.parse(source.textContent);
    const scores = data.scores.map(function (row) { return row[0]; });
    const defective = data.scores.map(function (row) { return row[1] === 1; });
    const inputs = {
      threshold: form.querySelector('[data-value="threshold"]'),
      band_lower: form.querySelector('[data-value="band_lower"]'),
      band_upper: form.querySelector('[data-value="band_upper"]'),
    };
    const sliders = {
      threshold: form.querySelector('[data-slider="threshold"]'),
      band_lower: form.querySelector('[data-slider="band_lower"]'),
      band_upper: form.querySelector('[data-slider="band_upper"]'),
    };
    const mode = form.querySelector('[name="mode"]');
    const note = form.querySelector("[data-suggest-note]");

    // The sliders span the observed scores with a little room on both sides.
    const known = scores.slice();
    [data.current && data.current.threshold, data.current && data.current.band_lower, data.current && data.current.band_upper,
      data.suggested && data.suggested.threshold].forEach(function (value) {
      if (typeof value === "number" && Number.isFinite(value)) known.push(value);
    });
    let low = known.length ? Math.min.apply(null, known) : 0;
    let high = known.length ? Math.max.apply(null, known) : 1;
    const span = high - low || Math.abs(high) || 1;
    low -= span * 0.02;
    high += span * 0.02;
    const toSlider = function (value) { return Math.round(((value - low) / (high - low)) * STEPS); };
    const fromSlider = function (position) { return +(low + (position / STEPS) * (high - low)).toPrecision(6); };

    function value(name) {
      const number = parseFloat(inputs[name].value);
      return Number.isFinite(number) ? number : null;
    }

    function setValue(name, number) {
      inputs[name].value = number === null ? "" : String(number);
      if (number !== null) sliders[name].value = toSlider(number);
    }

    let roc = null;
    let pr = null;
    let histogram = null;
    if (window.Charts && data.curves.roc) {
      roc = window.Charts.lineChart(document.getElementById("roc-chart"), {
        xDomain: [0, 1], yDomain: [0, 1], xLabel: "false-call rate", yLabel: "recall", diagonal: true,
        series: [{ points: data.curves.roc.fpr.map(function (x, index) { return [x, data.curves.roc.tpr[index]]; }) }],
      });
    }
    if (window.Charts && data.curves.pr) {
      pr = window.Charts.lineChart(document.getElementById("pr-chart"), {
        xDomain: [0, 1], yDomain: [0, 1], xLabel: "recall", yLabel: "precision",
        series: [{ points: data.curves.pr.recall.map(function (x, index) { return [x, data.curves.pr.precision[index]]; }) }],
      });
    }
    if (window.Charts && data.curves.histogram) {
      histogram = window.Charts.histogram(document.getElementById("histogram-chart"), data.curves.histogram, {
        xLabel: "anomaly score", yLabel: "images",
      });
    }

    const rows = Array.prototype.slice.call(document.querySelectorAll("[data-row]"));
    const summary = form.querySelector("[data-live-summary]");
    let announce = null;

    function percentInput(id, fallback) {
      const number = parseFloat(document.getElementById(id).value);
      return Number.isFinite(number) ? number / 100 : fallback;
    }

    function update() {
      const banded = mode.value === "band";
      form.querySelector("[data-single]").hidden = banded;
      form.querySelector("[data-band]").hidden = !banded;
      document.querySelectorAll("[data-band-column]").forEach(function (cell) { cell.hidden = !banded; });
      const rejectFrom = banded ? value("band_upper") : value("threshold");
      const reviewFrom = banded ? value("band_lower") : null;
      if (rejectFrom === null) return;
      const result = outcome(scores, defective, rejectFrom, reviewFrom, percentInput("line-defect-rate", 0.01));
      const show = function (name, text) { const cell = form.querySelector('[data-metric="' + name + '"]'); if (cell) cell.textContent = text; };
      show("precision", App.percent(result.precision));
      show("recall", App.percent(result.recall));
      show("f1", App.number(result.f1, 3));
      show("false_call_rate", App.percent(result.false_call_rate));
      show("escapes", result.defect_count ? result.escapes + " of " + result.defect_count : "–");
      show("review_rate", App.percent(result.review_rate));
      show("line_review_rate", App.percent(result.line_review_rate));
      const interval = function (pair) { return Number.isFinite(pair[0]) ? App.percent(pair[0]) + " – " + App.percent(pair[1]) : "–"; };
      const normalCount = result.counts.normal.pass + result.counts.normal.review + result.counts.normal.reject;
      show("recall_interval", interval(bootstrapInterval(result.counts.defective.reject, result.defect_count)));
      show("false_call_interval", interval(bootstrapInterval(result.counts.normal.reject, normalCount)));
      const distance = margin(scores, defective, rejectFrom);
      show("margin", (distance.to_defective === null ? "–" : App.number(distance.to_defective)) + " / " +
        (distance.to_normal === null ? "–" : App.number(distance.to_normal)) +
        (distance.relative === null ? "" : " (" + App.number(distance.relative, 2) + " spreads)"));
      const warnings = [];
      [["defective", result.defect_count, "recall"], ["normal", normalCount, "false-call rate"]].forEach(function (entry) {
        if (!entry[1]) warnings.push("No " + entry[0] + " evaluation image: the " + entry[2] + " is unknown.");
        else if (entry[1] < FEW_IMAGES) warnings.push("Only " + entry[1] + " " + entry[0] + " evaluation image" + (entry[1] === 1 ? "" : "s") + ": do not trust the " + entry[2] + " alone.");
      });
      if (distance.relative !== null && distance.relative < 0.5) warnings.push("The threshold lies within half a normal spread of an evaluation score: a small change in a part's score flips its decision.");
      const trust = form.querySelector("[data-trust-warnings]");
      if (trust) trust.textContent = warnings.join(" ");
      ["normal", "defective"].forEach(function (label) {
        ["pass", "review", "reject"].forEach(function (decision) {
          form.querySelector('[data-cell="' + label + "-" + decision + '"]').textContent = result.counts[label][decision];
        });
      });
      // Screen readers hear one short sentence once the handle rests, not every step.
      window.clearTimeout(announce);
      announce = window.setTimeout(function () {
        summary.textContent = "Threshold " + App.number(rejectFrom) + ": recall " + App.percent(result.recall) +
          ", false-call rate " + App.percent(result.false_call_rate) + ", review rate " + App.percent(result.review_rate) + ".";
      }, 600);
      if (roc) roc.setMarker(result.false_call_rate, result.recall, "threshold " + App.number(rejectFrom));
      if (pr) pr.setMarker(result.recall, result.precision, "threshold " + App.number(rejectFrom));
      if (histogram) histogram.setThresholds(rejectFrom, reviewFrom);
      rows.forEach(function (row) {
        const decision = decide(parseFloat(row.dataset.score), rejectFrom, reviewFrom);
        const cell = row.querySelector("[data-decision]");
        cell.innerHTML = "";
        const badge = document.createElement("span");
        badge.className = "badge badge-" + decision;
        badge.textContent = decision;
        cell.appendChild(badge);
        const wrong = (row.dataset.label === "normal" && decision === "reject") || (row.dataset.label === "defective" && decision === "pass");
        row.classList.toggle("row-wrong", wrong);
        row.classList.toggle("row-review", decision === "review");
      });
    }

    Object.keys(sliders).forEach(function (name) {
      sliders[name].addEventListener("input", function () {
        inputs[name].value = String(fromSlider(+sliders[name].value));
        // T1 never passes T2: the other handle moves along.
        if (name === "band_lower" && value("band_upper") !== null && value("band_lower") > value("band_upper")) setValue("band_upper", value("band_lower"));
        if (name === "band_upper" && value("band_lower") !== null && value("band_upper") < value("band_lower")) setValue("band_lower", value("band_upper"));
        note.textContent = "";
        update();
      });
      inputs[name].addEventListener("input", function () {
        const number = value(name);
        if (number !== null) sliders[name].value = toSlider(number);
        update();
      });
      // Enter applies the typed value; saving stays with the Save button, whose reason is asked below.
      inputs[name].addEventListener("keydown", function (event) {
        if (event.key !== "Enter") return;
        event.preventDefault();
        const number = value(name);
        if (number !== null) sliders[name].value = toSlider(number);
        update();
      });
    });

    mode.addEventListener("change", function () {
      if (mode.value === "band" && (value("band_lower") === null || value("band_upper") === null)) {
        const centre = value("threshold") !== null ? value("threshold") : (low + high) / 2;
        setValue("band_upper", centre);
        setValue("band_lower", +(centre - (high - low) * 0.1).toPrecision(6));
      }
      if (mode.value === "single" && value("threshold") === null && value("band_upper") !== null) setValue("threshold", value("band_upper"));
      update();
    });
    document.getElementById("line-defect-rate").addEventListener("input", update);

    function single(threshold, text) {
      mode.value = "single";
      setValue("threshold", threshold);
      note.textContent = text;
      update();
    }

    form.querySelectorAll("[data-suggest]").forEach(function (button) {
      button.addEventListener("click", function () {
        const kind = button.dataset.suggest;
        const escapes = percentInput("escape-budget", 0);
        const falseCalls = percentInput("false-call-budget", 0.05);
        if (kind === "max_f1" && data.points.max_f1) {
          single(data.points.max_f1.threshold, "Highest F1 on the evaluation images (chosen by the engine).");
        } else if (kind === "normal_quantile" && data.points.normal_quantile) {
          single(data.points.normal_quantile.threshold, "Rejects about 1 % of good training parts; recall unknown.");
        } else if (kind === "current" && data.current) {
          if (data.current.threshold !== null) single(data.current.threshold, "The saved operating point.");
          else {
            mode.value = "band";
            setValue("band_lower", data.current.band_lower);
            setValue("band_upper", data.current.band_upper);
            note.textContent = "The saved operating point.";
            update();
          }
        } else if (kind === "escape") {
          if (escapes >= 1 || escapes < 0) { note.textContent = "The escape budget must be between 0 and 99 %."; return; }
          const threshold = escapeBudgetThreshold(scores, defective, 1 - escapes);
          if (threshold === null) { note.textContent = "An escape budget needs defective evaluation images."; return; }
          single(threshold, "Highest threshold that lets at most " + App.percent(escapes, 0) + " of the defective images pass.");
        } else if (kind === "false_call") {
          if (falseCalls > 1 || falseCalls < 0) { note.textContent = "The false-call budget must be between 0 and 100 %."; return; }
          const threshold = falseCallBudgetThreshold(scores, defective, falseCalls);
          if (threshold === null) { note.textContent = "A false-call budget needs normal evaluation images."; return; }
          single(threshold, "Lowest threshold that rejects at most " + App.percent(falseCalls, 0) + " of the good images.");
        } else if (kind === "band") {
          const lower = escapeBudgetThreshold(scores, defective, 1 - Math.min(0.99, Math.max(0, escapes)));
          const upper = falseCallBudgetThreshold(scores, defective, Math.min(1, Math.max(0, falseCalls)));
          if (lower === null || upper === null) { note.textContent = "A review band needs normal and defective evaluation images."; return; }
          if (lower >= upper) {
            single(upper, "One threshold meets both budgets; no review band is needed.");
            return;
          }
          mode.value = "band";
          setValue("band_lower", lower);
          setValue("band_upper", upper);
          note.textContent = "Parts between T1 and T2 go to a person: automatic rejections stay within the false-call budget, automatic passes within the escape budget.";
          update();
        }
      });
    });

    // Start from the saved (or suggested) values.
    Object.keys(inputs).forEach(function (name) { if (value(name) !== null) sliders[name].value = toSlider(value(name)); });
    if (value("threshold") === null && mode.value === "single") setValue("threshold", fromSlider(STEPS / 2));
    update();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
