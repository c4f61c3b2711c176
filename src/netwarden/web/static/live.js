/* netwarden live updates: listens to the alert stream (server-sent events) and tells the page.
 *
 * Every change of an alert arrives as `event: alert` from /api/v1/alerts/stream. Changes are
 * gathered for a short moment (a storm of events causes one refresh, not hundreds), then
 * `nw:alerts-changed` is fired on <body> with the changed alert ids in `detail.ids`. Parts of a
 * page that show alerts refresh themselves on it (htmx: hx-trigger="nw:alerts-changed from:body",
 * the map: an event listener). The event also fires each time the stream (re)connects, so whatever
 * changed while it was away is fetched: the stream says *that* something changed; the server renders
 * *what* is there.
 */
(function () {
  "use strict";

  const SOURCE = "/api/v1/alerts/stream";
  const GATHER_MS = 250;
  const FRESH_MS = 6000;
  const statusEl = document.getElementById("live-status");
  const state = { connected: false, received: 0, refreshes: 0, stopped: false, source: null };
  window.netwardenLive = state;
  if (typeof window.EventSource !== "function") {
    setStatus("stopped", "live updates need a newer browser: reload to see changes");
    return;
  }

  let pending = new Set();
  let timer = null;
  let everOpen = false;
  let lastIds = [];

  function setStatus(kind, text) {
    if (!statusEl) return;
    statusEl.dataset.state = kind;
    statusEl.textContent = text;
  }

  function flush() {
    timer = null;
    const ids = Array.from(pending);
    pending = new Set();
    lastIds = ids;
    state.refreshes += 1;
    document.body.dispatchEvent(new CustomEvent("nw:alerts-changed", { detail: { ids: ids } }));
  }

  function schedule(id) {
    if (id !== undefined && id !== null) pending.add(id);
    if (timer === null) timer = setTimeout(flush, GATHER_MS);
  }

  function connect() {
    const source = new EventSource(SOURCE);
    state.source = source;
    source.addEventListener("open", () => {
      state.connected = true;
      setStatus("live", "live");
      // First connect: covers what changed between rendering the page and the stream starting.
      // A reconnect: covers what changed while the stream was away.
      schedule();
      everOpen = true;
    });
    source.addEventListener("alert", (evt) => {
      state.received += 1;
      let id = null;
      try {
        id = JSON.parse(evt.data).id;
      } catch (err) {
        id = null;
      }
      schedule(id);
    });
    source.addEventListener("error", () => {
      state.connected = false;
      if (source.readyState === EventSource.CLOSED) {
        // The server refused the stream (logged out, or no longer allowed): the browser will not retry.
        state.stopped = true;
        setStatus("stopped", "live updates stopped: reload the page (your session may have ended)");
      } else {
        setStatus("reconnecting", everOpen ? "reconnecting…" : "connecting…");
      }
    });
  }

  // Rows of alerts that just changed are highlighted for a few seconds after the table is redrawn.
  document.body.addEventListener("htmx:afterSettle", () => {
    for (const id of lastIds) {
      const row = document.querySelector('[data-alert-id="' + String(id).replace(/[^0-9]/g, "") + '"]');
      if (!row) continue;
      row.classList.add("fresh");
      setTimeout(() => row.classList.remove("fresh"), FRESH_MS);
    }
  });
  window.addEventListener("pagehide", () => state.source && state.source.close());
  connect();
})();
