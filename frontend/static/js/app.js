/* Shared helpers of every page: API calls with errors in words, live job progress,
 * and refreshing part of a page without reloading it. Plain JavaScript, no build step. */
(function () {
  "use strict";

  const App = (window.App = window.App || {});

  App.csrfToken = function () {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  /* Turn an API error body into a sentence: {"detail": ...}, or {"field": ["message"]}. */
  App.errorWords = function (body, status) {
    if (!body || typeof body !== "object") {
      if (status === 413) return "The upload is too large for the server.";
      if (status === 403) return "You are not allowed to do this, or your session has ended; sign in again.";
      if (status >= 500) return "The server failed (" + status + "); try again, and tell an administrator if it persists.";
      return "The request failed (" + status + ").";
    }
    if (typeof body.detail === "string") return body.detail;
    const parts = [];
    Object.keys(body).forEach(function (key) {
      const value = body[key];
      const text = Array.isArray(value) ? value.map(function (item) {
        return typeof item === "string" ? item : JSON.stringify(item);
      }).join(" ") : typeof value === "string" ? value : JSON.stringify(value);
      parts.push(key === "non_field_errors" ? text : key.replace(/_/g, " ") + ": " + text);
    });
    return parts.join("; ") || "The request failed (" + status + ").";
  };

  class ApiError extends Error {
    constructor(message, status, body) {
      super(message);
      this.status = status;
      this.body = body;
    }
  }
  App.ApiError = ApiError;

  /* fetch() with the session cookie and CSRF token; resolves to the JSON body, rejects with words. */
  App.api = async function (url, options) {
    options = options || {};
    const init = { method: options.method || "GET", credentials: "same-origin", headers: { Accept: "application/json" } };
    if (init.method !== "GET") init.headers["X-CSRFToken"] = App.csrfToken();
    if (options.json !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.json);
    } else if (options.body !== undefined) {
      init.body = options.body;
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      throw new ApiError("The server cannot be reached; check the network connection.", 0, null);
    }
    let body = null;
    const text = await response.text();
    if (text) {
      try { body = JSON.parse(text); } catch (error) { body = null; }
    }
    if (!response.ok) throw new ApiError(App.errorWords(body, response.status), response.status, body);
    return body;
  };

  App.percent = function (value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    return (value * 100).toFixed(digits === undefined ? 1 : digits) + " %";
  };

  App.number = function (value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    const magnitude = Math.abs(value);
    if (digits !== undefined) return value.toFixed(digits);
    if (magnitude !== 0 && (magnitude < 0.001 || magnitude >= 100000)) return value.toExponential(3);
    return value.toPrecision(4).replace(/\.?0+$/, "");
  };

  /* --- Live job progress ------------------------------------------------------
   * <div data-job data-job-id="12" data-job-status="running"> with a <progress>,
   * [data-job-text] and [data-job-error] inside; polled every second until done. */
  const FINISHED = ["succeeded", "failed", "cancelled"];

  App.jobSentence = function (job) {
    if (job.status === "queued") return job.message || "Waiting for a worker.";
    if (job.status === "running") {
      return [job.stage ? job.stage.charAt(0).toUpperCase() + job.stage.slice(1) : "Running", job.message]
        .filter(Boolean).join(": ");
    }
    if (job.status === "succeeded") return job.message || "Finished.";
    if (job.status === "cancelled") return job.message || "Cancelled.";
    return "Failed.";
  };

  App.renderJob = function (element, job) {
    element.dataset.jobStatus = job.status;
    element.dataset.jobProgress = job.progress;
    const bar = element.querySelector("progress");
    if (bar) {
      bar.value = job.progress;
      bar.textContent = job.progress + " %";
    }
    const figure = element.querySelector("[data-job-percent]");
    if (figure) figure.textContent = job.progress + " %";
    const status = element.querySelector("[data-job-state]");
    if (status) {
      status.textContent = job.status;
      status.className = "badge badge-job-" + job.status;
    }
    const text = element.querySelector("[data-job-text]");
    if (text) text.textContent = App.jobSentence(job);
    const error = element.querySelector("[data-job-error]");
    if (error) {
      error.textContent = job.error || "";
      error.hidden = !job.error;
    }
    const cancel = element.querySelector("[data-job-cancel]");
    if (cancel) cancel.hidden = FINISHED.indexOf(job.status) >= 0 || job.cancel_requested;
  };

  App.watchJob = function (element) {
    if (element._watching) return;
    element._watching = true;
    const id = element.dataset.jobId;
    const url = "/api/jobs/" + id + "/";
    const cancel = element.querySelector("[data-job-cancel]");
    if (cancel) {
      cancel.addEventListener("click", async function () {
        cancel.disabled = true;
        try {
          App.renderJob(element, await App.api(url + "cancel/", { method: "POST" }));
        } catch (error) {
          App.showError(element, error.message);
        } finally {
          cancel.disabled = false;
        }
      });
    }
    let failures = 0;
    async function poll() {
      let job;
      try {
        job = await App.api(url);
        failures = 0;
      } catch (error) {
        failures += 1;
        if (failures >= 3) App.showError(element, "Progress cannot be read: " + error.message);
        window.setTimeout(poll, Math.min(10000, 1000 * failures));
        return;
      }
      App.renderJob(element, job);
      element.dispatchEvent(new CustomEvent("job:update", { bubbles: true, detail: job }));
      if (FINISHED.indexOf(job.status) >= 0) {
        element._watching = false;
        element.dispatchEvent(new CustomEvent("job:finished", { bubbles: true, detail: job }));
        return;
      }
      window.setTimeout(poll, 1000);
    }
    poll();
  };

  App.showError = function (near, message) {
    let box = near.querySelector(":scope > [data-client-error]");
    if (!box) {
      box = document.createElement("p");
      box.className = "error";
      box.setAttribute("role", "alert");
      box.dataset.clientError = "";
      near.appendChild(box);
    }
    box.textContent = message;
    box.hidden = !message;
  };

  /* A job widget for a job that started on this page (e.g. after an upload). */
  App.jobWidget = function (job, title) {
    const element = document.createElement("div");
    element.className = "job";
    element.dataset.job = "";
    element.dataset.jobId = job.id;
    element.innerHTML =
      '<div class="job-head"><strong></strong> <span data-job-state class="badge"></span></div>' +
      '<div class="job-bar"><progress max="100" value="0"></progress> <span data-job-percent>0 %</span></div>' +
      '<p class="job-text" data-job-text aria-live="polite"></p>' +
      '<p class="error" data-job-error hidden></p>' +
      '<button type="button" class="button-secondary" data-job-cancel>Cancel</button>';
    element.querySelector("strong").textContent = title || "Job " + job.id;
    element.querySelector("progress").setAttribute("aria-label", (title || "Job") + " progress");
    App.renderJob(element, job);
    App.watchJob(element);
    return element;
  };

  /* Replace the elements matching `selectors` with the same elements of a fresh copy of the page. */
  App.refreshParts = async function (selectors) {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    selectors.forEach(function (selector) {
      const current = document.querySelector(selector);
      const replacement = fresh.querySelector(selector);
      if (current && replacement) current.replaceWith(document.importNode(replacement, true));
    });
    document.dispatchEvent(new CustomEvent("app:refreshed", { detail: selectors }));
    App.start(document);
  };

  App.start = function (root) {
    root.querySelectorAll("[data-job]").forEach(function (element) {
      if (FINISHED.indexOf(element.dataset.jobStatus) < 0) App.watchJob(element);
    });
    root.querySelectorAll("[data-confirm]").forEach(function (element) {
      if (element._confirmBound) return;
      element._confirmBound = true;
      element.addEventListener("click", function (event) {
        if (!window.confirm(element.dataset.confirm)) event.preventDefault();
      });
    });
  };

  document.addEventListener("DOMContentLoaded", function () { App.start(document); });
})();
