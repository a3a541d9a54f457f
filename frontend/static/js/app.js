/* Shared helpers of every page: API calls with errors in words, numbers as people read them,
 * and showing the server-rendered live parts. Plain JavaScript, no build step. */
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

  /* --- Live parts ------------------------------------------------------------
   * Job and training progress, and batch results, are partials rendered by the server
   * (inspection/web/partials.py) that htmx refreshes while they run; nothing here draws them. */

  /* The live partial of a job given its URL pattern ("/live/jobs/0/") and id. */
  App.jobUrl = function (pattern, id) {
    return pattern.replace(/\/0\/$/, "/" + id + "/");
  };

  /* Show the live partial of a job that started on this page (e.g. after an upload) at the end of `container`. */
  App.showJob = function (container, url, title) {
    return window.htmx.ajax("GET", url + (title ? "?title=" + encodeURIComponent(title) : ""), { target: container, swap: "beforeend" });
  };

  /* A live part whose partial cannot be read keeps its last state and says why; htmx asks again on its
   * next trigger, and a partial that comes back replaces the sentence. */
  function liveError(event, words) {
    const part = event.detail.elt && event.detail.elt.closest ? event.detail.elt.closest("[data-job], [data-training]") : null;
    if (part) App.showError(part, "Progress cannot be read: " + words);
  }
  document.addEventListener("htmx:responseError", function (event) {
    liveError(event, App.errorWords(null, event.detail.xhr ? event.detail.xhr.status : 0));
  });
  document.addEventListener("htmx:sendError", function (event) {
    liveError(event, "the server cannot be reached; check the network connection.");
  });

  /* A click on anything with data-confirm asks first; delegated, so parts swapped in later are covered too. */
  document.addEventListener("click", function (event) {
    const element = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (element && !window.confirm(element.dataset.confirm)) event.preventDefault();
  });
})();
