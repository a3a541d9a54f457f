// Times in the reader's time zone, in one format everywhere: YYYY-MM-DD HH:MM:SS.
// The server writes each time as <time datetime="ISO 8601 with offset" data-local-time>;
// forms with a [data-browser-time-zone] field send the browser's zone, so that times typed
// into them are read in it; links marked [data-add-time-zone] carry it too (CSV times).
(function () {
  "use strict";

  function pad(number) {
    return String(number).padStart(2, "0");
  }

  function localText(date) {
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
      `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  }

  function zoneName() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      return "";
    }
  }

  function showLocalTimes(root) {
    root.querySelectorAll("time[data-local-time]").forEach((element) => {
      const date = new Date(element.getAttribute("datetime"));
      if (!Number.isNaN(date.getTime())) {
        element.textContent = localText(date);
        element.title = `${element.getAttribute("datetime")} (shown in ${zoneName() || "local time"})`;
      }
    });
  }

  function carryZone() {
    const zone = zoneName();
    if (!zone) return;
    document.querySelectorAll("[data-time-zone-name]").forEach((element) => { element.textContent = zone; });
    document.querySelectorAll("input[data-browser-time-zone]").forEach((input) => {
      if (!input.value) input.value = zone;
    });
    document.querySelectorAll("a[data-add-time-zone]").forEach((link) => {
      const url = new URL(link.href, window.location.href);
      if (!url.searchParams.has("tz")) url.searchParams.set("tz", zone);
      link.href = url.toString();
    });
  }

  // The one date format, for scripts that draw times themselves (the dashboard's charts).
  window.localText = localText;
  document.addEventListener("DOMContentLoaded", () => {
    showLocalTimes(document);
    carryZone();
  });
  // Parts of the page replaced later (htmx) get local times too.
  document.addEventListener("htmx:afterSwap", (event) => showLocalTimes(event.target));
})();
