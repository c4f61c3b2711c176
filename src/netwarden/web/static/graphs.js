/* netwarden graphs: draws each panel of #graphs from /graphs/data with the vendored uPlot.
 *
 * The server sends the columns uPlot takes as they are (one time axis, one value list per line, null
 * where a bucket has no sample), so this file only picks colours, units and sizes. Times show in UTC
 * like every table of the console. Short ranges refresh every minute.
 */
(function () {
  "use strict";

  const root = document.getElementById("graphs");
  if (!root) return;
  const COLOURS = ["#2f7de1", "#2e9e5b", "#d64545", "#d99a1e"];
  const HEIGHT = 190;
  const REFRESH_MS = 60000;
  const REFRESHED_RANGES = new Set(["1h", "6h"]);
  const state = { charts: {}, data: {}, loads: 0, errors: 0, range: root.dataset.range || "6h", format: null };
  window.netwardenGraphs = state;

  /** Three significant digits without trailing zeros after the point: 667, 6.5, 12, 0.25. */
  function short(v) {
    const text = v.toPrecision(3);
    return text.includes(".") && !text.includes("e") ? text.replace(/0+$/, "").replace(/\.$/, "") : String(Number(text));
  }

  function bps(v) {
    const a = Math.abs(v);
    for (const [unit, size] of [["T", 1e12], ["G", 1e9], ["M", 1e6], ["k", 1e3]]) {
      if (a >= size) return short(v / size) + " " + unit + "b/s";
    }
    return (a === 0 ? "0" : short(v)) + " b/s";
  }

  const FORMAT = {
    bps: bps,
    pct: (v) => v.toFixed(v >= 10 ? 0 : 1) + " %",
    ms: (v) => (v >= 10 ? v.toFixed(0) : v.toFixed(2)) + " ms",
    ps: (v) => (v >= 10 ? v.toFixed(0) : v.toFixed(2)) + "/s",
    state: (v) => (v >= 0.5 ? "up" : "down"),
  };

  /** Time ticks in UTC, 24-hour: HH:MM, with the date on the first tick of each day; dates alone past a day. */
  function timeTicks(u, splits, axisIdx, space, incr) {
    let lastDay = null;
    return splits.map((ts) => {
      const iso = new Date(ts * 1000).toISOString();
      const day = iso.slice(5, 10);
      const hm = iso.slice(11, 16);
      if (incr >= 86400) return day;
      const label = day !== lastDay ? hm + "\n" + day : hm;
      lastDay = day;
      return label;
    });
  }

  function fmt(unit, v) {
    if (v === null || v === undefined || !Number.isFinite(v)) return "—";
    return (FORMAT[unit] || String)(v);
  }

  function yRange(unit) {
    if (unit === "state") return () => [0, 1.1];
    if (unit === "pct") return (u, min, max) => [0, Math.max(10, Math.min(100, Math.ceil((max || 0) * 1.1)))];
    return (u, min, max) => [0, max > 0 ? max * 1.1 : 1];
  }

  function options(data, width) {
    const unit = data.unit;
    const stepped = unit === "state" && uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;
    const series = [{ value: (u, ts) => (ts === null ? "—" : new Date(ts * 1000).toISOString().slice(0, 16).replace("T", " ")) }];
    data.lines.forEach((line, i) => {
      const colour = COLOURS[i % COLOURS.length];
      series.push({
        label: line.label,
        stroke: colour,
        width: 1.5,
        fill: i === 0 && data.lines.length <= 2 ? colour + "22" : undefined,
        spanGaps: false,
        paths: stepped,
        value: (u, v) => fmt(unit, v),
      });
    });
    return {
      width: width,
      height: HEIGHT,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true }, y: { range: yRange(unit) } },
      axes: [
        { stroke: "#6a7687", grid: { stroke: "#eef1f5" }, values: timeTicks },
        {
          stroke: "#6a7687",
          grid: { stroke: "#eef1f5" },
          size: 74,
          splits: unit === "state" ? () => [0, 1] : undefined,
          values: (u, splits) => splits.map((v) => fmt(unit, v)),
        },
      ],
      series: series,
    };
  }

  state.format = fmt;

  function widthOf(fig) {
    return Math.max(240, fig.querySelector(".graph-plot").clientWidth || fig.clientWidth - 8);
  }

  function note(fig, text) {
    fig.querySelector(".graph-note").textContent = text;
  }

  function url(panel) {
    const q = new URLSearchParams({ device: root.dataset.device, panel: panel, range: state.range });
    if (root.dataset.interface) q.set("interface", root.dataset.interface);
    return "/graphs/data?" + q.toString();
  }

  async function load(fig) {
    const panel = fig.dataset.panel;
    let resp;
    try {
      resp = await fetch(url(panel), { headers: { Accept: "application/json" }, credentials: "same-origin" });
    } catch (err) {
      return fail(fig, "could not reach the server");
    }
    if (resp.redirected && new URL(resp.url).pathname === "/login") {
      window.location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
      return;
    }
    const type = resp.headers.get("content-type") || "";
    if (!resp.ok || !type.includes("application/json")) return fail(fig, "could not load (HTTP " + resp.status + ")");
    const data = await resp.json();
    state.data[panel] = data;
    draw(fig, data);
  }

  function fail(fig, message) {
    state.errors += 1;
    fig.dataset.ready = "error";
    note(fig, message);
  }

  function draw(fig, data) {
    const panel = data.panel;
    const plot = fig.querySelector(".graph-plot");
    if (state.charts[panel]) {
      state.charts[panel].destroy();
      delete state.charts[panel];
    }
    while (plot.firstChild) plot.removeChild(plot.firstChild);
    fig.dataset.samples = String(data.samples);
    if (!data.samples) {
      const p = document.createElement("p");
      p.className = "graph-empty";
      p.textContent = "No data for the last " + data.range + ": this appears once monitoring polls it.";
      plot.appendChild(p);
      note(fig, "");
      fig.dataset.ready = "empty";
      state.loads += 1;
      return;
    }
    const columns = [data.x].concat(data.lines.map((l) => l.values));
    state.charts[panel] = new uPlot(options(data, widthOf(fig)), columns, plot);
    note(fig, "every " + human(data.step) + (data.resolution !== "raw" ? " (" + data.resolution + " summaries)" : ""));
    fig.dataset.ready = "true";
    state.loads += 1;
  }

  function human(seconds) {
    if (seconds % 3600 === 0) return seconds / 3600 + " h";
    if (seconds % 60 === 0) return seconds / 60 + " min";
    return seconds + " s";
  }

  function loadAll() {
    const figs = Array.from(root.querySelectorAll("figure.graph"));
    for (const fig of figs) fig.dataset.ready = "loading";
    return Promise.all(figs.map((fig) => load(fig).catch((err) => fail(fig, String(err)))));
  }

  if (typeof window.uPlot !== "function") {
    root.querySelectorAll("figure.graph").forEach((fig) => fail(fig, "the chart script did not load; reload the page"));
    return;
  }
  root.querySelectorAll("[data-range]").forEach((button) => {
    if (button === root) return;
    button.addEventListener("click", () => {
      state.range = button.dataset.range;
      root.dataset.range = state.range;
      root.querySelectorAll("button[data-range]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
      loadAll();
    });
  });
  if (typeof window.ResizeObserver === "function") {
    let last = root.clientWidth;
    new ResizeObserver(() => {
      if (Math.abs(root.clientWidth - last) < 8) return;
      last = root.clientWidth;
      root.querySelectorAll("figure.graph").forEach((fig) => {
        const chart = state.charts[fig.dataset.panel];
        if (chart) chart.setSize({ width: widthOf(fig), height: HEIGHT });
      });
    }).observe(root);
  }
  setInterval(() => {
    if (REFRESHED_RANGES.has(state.range) && document.visibilityState === "visible") loadAll();
  }, REFRESH_MS);
  loadAll();
})();
