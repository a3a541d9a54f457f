// Keeps the Review tab's count of parts waiting current while a page stays open: asks the API every
// `data-interval` seconds (and when the tab comes back into view) and shows, changes or hides the count.
(function () {
  "use strict";

  const script = document.currentScript;
  const countUrl = script && script.dataset.countUrl;
  const interval = Number((script && script.dataset.interval) || 15) * 1000;
  if (!countUrl) return;

  function reviewLink() {
    return document.querySelector("nav.tabs a[data-review-tab]");
  }

  function show(count) {
    const link = reviewLink();
    if (!link) return;
    let badge = link.querySelector(".count");
    if (count > 0) {
      if (!badge) {
        badge = document.createElement("span");
        badge.className = "count";
        link.append(" ", badge);
      }
      badge.textContent = String(count);
      badge.setAttribute("aria-label", `${count} waiting`);
    } else if (badge) {
      badge.remove();
    }
  }

  async function refresh() {
    try {
      const response = await fetch(countUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) return;
      const body = await response.json();
      show(body.count);
    } catch (error) {
      // Offline for a moment: the next round tries again.
    }
  }

  window.refreshReviewBadge = refresh;
  setInterval(() => { if (!document.hidden) refresh(); }, interval);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
})();
