// billport console: the live parts. Plain JavaScript, no dependencies, no inline code
// (the pages' Content-Security-Policy allows only this file).
"use strict";

const LIVE_SECONDS = 2;

async function fetchFragment(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (response.status === 401) {
    window.location.reload(); // the session ended: the page redirects to sign in
    return null;
  }
  return response.ok ? response.text() : null;
}

// <tbody data-live="URL">: replace the rows with the fragment every LIVE_SECONDS.
function startLiveRows(body) {
  const tick = async () => {
    if (document.visibilityState === "visible") {
      try {
        const html = await fetchFragment(body.dataset.live);
        if (html !== null) body.innerHTML = html;
      } catch (error) {
        // offline for a moment: try again at the next tick
      }
    }
    window.setTimeout(tick, LIVE_SECONDS * 1000);
  };
  window.setTimeout(tick, LIVE_SECONDS * 1000);
}

// data-reload="N": reload the page after N seconds while something is still running.
function startReload(element) {
  const seconds = Number(element.dataset.reload) || 5;
  window.setTimeout(() => window.location.reload(), seconds * 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-live]").forEach(startLiveRows);
  document.querySelectorAll("[data-reload]").forEach(startReload);
});
