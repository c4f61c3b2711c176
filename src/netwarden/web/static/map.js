/* netwarden topology map: draws /map/data with the vendored Cytoscape.js.
 *
 * The layout has two levels, each cheap enough for 1,000 devices:
 * - sites are placed first (cose on the graph of sites, one node each);
 * - an open site's devices are laid out on their own (cose on the site's devices and links when the
 *   site is small, rings otherwise: busiest device in the middle, then breadth-first) around the
 *   site's place. On a grouped map, each open site pushes the other sites outwards by its radius, so
 *   opening a site never makes it overlap the others; drawn whole, sites are placed by their full size.
 * Links between a closed site and anything else are folded into one edge per pair of visible nodes.
 * Alerts colour the map (/map/alerts): a device or link with an active root alert takes its severity's
 * colour, a device cut off by another's failure turns grey and names the cause in its tooltip, and a
 * closed site takes the colour of its worst alert. The marks are fetched again on every
 * `nw:alerts-changed` (static/live.js), so the map follows the alerts without a reload.
 * All text from the store is put in with textContent, never as HTML.
 */
(function () {
  "use strict";

  const root = document.getElementById("map-page");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const statusLine = $("map-status");
  const RING_GAP = 64;
  const SITE_MARGIN = 70;
  const COSE_ITERATIONS = 600;
  // Sites up to this many devices get a force layout inside; larger ones are set on rings (cose is
  // quadratic per iteration: a 900-device site would take seconds).
  const FORCE_MAX = 150;
  const FALLBACK_COLOUR = "#8a95a5";

  const state = {
    ready: false,
    error: null,
    timings: {},
    cy: null,
    data: null,
    devices: new Map(), // name -> node record
    neighbours: new Map(), // name -> [{edge, other}]
    siteOf: new Map(),
    sites: new Map(), // name -> site record
    expanded: new Set(),
    grouped: false,
    base: new Map(), // site -> {x, y}: where the site sits while every site is closed
    clusters: new Map(), // site -> {radius, offsets: Map(name -> {x, y})}
    spof: null,
    spofOn: false,
    colours: {},
    alerts: { devices: {}, links: {} },
    alertColours: {},
    alertLoads: 0,
    alertError: null,
  };
  window.netwardenMap = state;

  function setStatus(text, isError) {
    statusLine.textContent = text;
    statusLine.classList.toggle("error", Boolean(isError));
  }

  function fail(message) {
    state.error = message;
    setStatus(message, true);
    root.dataset.ready = "error";
  }

  function legendColours() {
    const out = {};
    document.querySelectorAll("#map-legend [data-status] .swatch").forEach((sw) => {
      out[sw.parentElement.dataset.status] = getComputedStyle(sw).backgroundColor;
    });
    return out;
  }

  function colourOf(status) {
    return state.colours[status] || FALLBACK_COLOUR;
  }

  function alertLegendColours() {
    const out = {};
    document.querySelectorAll("#map-legend [data-severity] .swatch").forEach((sw) => {
      out[sw.parentElement.dataset.severity] = getComputedStyle(sw).backgroundColor;
    });
    const folded = document.querySelector("#map-legend [data-folded] .swatch");
    out.folded = folded ? getComputedStyle(folded).backgroundColor : FALLBACK_COLOUR;
    return out;
  }

  const SEVERITY_RANK = ["critical", "major", "minor", "warning", "info"];
  const sevRank = (sev) => (SEVERITY_RANK.includes(sev) ? SEVERITY_RANK.indexOf(sev) : SEVERITY_RANK.length);
  const pairOf = (a, b) => (a < b ? a + "--" + b : b + "--" + a);

  /** The alert mark of a device: {severity, folded_under, ...} or null. */
  function markOf(name) {
    return state.alerts.devices[name] || null;
  }

  function deviceColour(n) {
    const mark = markOf(n.name);
    if (mark && mark.severity) return state.alertColours[mark.severity] || FALLBACK_COLOUR;
    if (mark && mark.folded_under) return state.alertColours.folded;
    return colourOf(n.status);
  }

  function deviceClasses(n) {
    const mark = markOf(n.name);
    if (mark && mark.severity) return "device alerted sev-" + mark.severity;
    if (mark && mark.folded_under) return "device folded";
    return "device";
  }

  /** The worst alert severity among a site's devices and the links inside or touching it, or null. */
  function siteSeverity(site) {
    let worst = null;
    for (const [name, mark] of Object.entries(state.alerts.devices)) {
      if (mark.severity && state.siteOf.get(name) === site && (worst === null || sevRank(mark.severity) < sevRank(worst))) {
        worst = mark.severity;
      }
    }
    return worst;
  }

  const deviceId = (name) => "d:" + name;
  const siteId = (name) => "s:" + name;

  // ------------------------------------------------------------------ loading

  async function load() {
    const t0 = performance.now();
    if (typeof window.cytoscape !== "function") {
      fail("The map's script (Cytoscape.js) did not load; reload the page.");
      return;
    }
    const alertsLoaded = fetchAlerts();
    let resp;
    try {
      resp = await fetch(root.dataset.src, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    } catch (err) {
      fail("Could not reach the server for the topology: " + err);
      return;
    }
    if (resp.redirected && new URL(resp.url).pathname === "/login") {
      window.location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
      return;
    }
    const type = resp.headers.get("content-type") || "";
    if (!resp.ok || !type.includes("application/json")) {
      fail("Could not load the topology (HTTP " + resp.status + "); reload the page or see the server log.");
      return;
    }
    const data = await resp.json();
    await alertsLoaded;
    const t1 = performance.now();
    state.colours = legendColours();
    state.alertColours = alertLegendColours();
    index(data);
    draw();
    const t2 = performance.now();
    // Two frames: the first paints the canvas, the second proves the page answers again.
    requestAnimationFrame(() =>
      requestAnimationFrame(() => {
        const t3 = performance.now();
        state.timings = {
          fetch_ms: Math.round(t1 - t0),
          draw_ms: Math.round(t2 - t1),
          interactive_ms: Math.round(t3 - t0),
          since_navigation_ms: Math.round(t3),
        };
        state.ready = true;
        root.dataset.ready = "true";
        describe();
        if (root.dataset.focus) find(root.dataset.focus);
      }),
    );
  }

  /** The alert marks (/map/alerts); a failure leaves the map drawn by status and says so. */
  async function fetchAlerts() {
    try {
      const resp = await fetch(root.dataset.alertsSrc, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      const type = resp.headers.get("content-type") || "";
      if (!resp.ok || !type.includes("application/json")) throw new Error("HTTP " + resp.status);
      state.alerts = await resp.json();
      state.alertError = null;
    } catch (err) {
      state.alertError = "alert colours unavailable (" + (err.message || err) + ")";
    }
    state.alertLoads += 1;
  }

  /** Apply the current alert marks to what is drawn: device and site colours, then the edges. */
  function recolour() {
    const cy = state.cy;
    if (!cy) return;
    cy.batch(() => {
      for (const s of state.data.sites) {
        const node = cy.getElementById(siteId(s.name));
        const fresh = siteElement(s).data;
        node.data({ colour: fresh.colour, alert: fresh.alert });
      }
      for (const n of state.data.nodes) {
        const node = cy.getElementById(deviceId(n.name));
        if (node.empty()) continue;
        node.data({ colour: deviceColour(n), alert: (markOf(n.name) || {}).severity || "" });
        node.classes(deviceClasses(n));
      }
    });
    rebuildEdges();
    if (state.shown && state.shown.kind === "device") showDevice(state.shown.name);
    root.dataset.alerts = String(state.alertLoads);
  }

  async function refreshAlerts() {
    if (!state.ready) return;
    await fetchAlerts();
    recolour();
    describe();
  }

  function index(data) {
    state.data = data;
    state.grouped = data.grouped;
    for (const n of data.nodes) {
      state.devices.set(n.name, n);
      state.siteOf.set(n.name, n.site);
      state.neighbours.set(n.name, []);
    }
    for (const e of data.edges) {
      if (!state.devices.has(e.a) || !state.devices.has(e.b)) continue;
      state.neighbours.get(e.a).push({ edge: e, other: e.b });
      state.neighbours.get(e.b).push({ edge: e, other: e.a });
    }
    for (const s of data.sites) state.sites.set(s.name, s);
    if (!data.grouped) for (const s of data.sites) state.expanded.add(s.name);
    const names = $("map-names");
    const frag = document.createDocumentFragment();
    for (const s of data.sites) frag.appendChild(new Option("site " + s.name, s.name));
    for (const n of data.nodes) frag.appendChild(new Option(n.site, n.name));
    names.appendChild(frag);
  }

  function describe() {
    const d = state.data;
    const parts = [d.nodes.length + " devices", d.edges.length + " links", d.sites.length + " sites"];
    let text = parts.join(" · ");
    if (state.grouped) text += " · grouped by site (click a site to open it)";
    const alerted = Object.values(state.alerts.devices).filter((m) => m.severity).length +
      Object.keys(state.alerts.links).length;
    const cut = Object.values(state.alerts.devices).filter((m) => !m.severity).length;
    if (alerted) text += " · " + alerted + " with alerts";
    if (cut) text += " · " + cut + " cut off";
    if (state.alertError) text += " · " + state.alertError;
    setStatus(text + " · ready in " + state.timings.interactive_ms + " ms", Boolean(state.alertError));
  }

  // ------------------------------------------------------------------ elements

  function deviceElement(n) {
    return {
      group: "nodes",
      data: { id: deviceId(n.name), kind: "device", name: n.name, label: n.name, status: n.status,
        colour: deviceColour(n), alert: (markOf(n.name) || {}).severity || "", parent: siteId(n.site) },
      classes: deviceClasses(n),
    };
  }

  function siteElement(s) {
    const open = state.expanded.has(s.name);
    const extra = s.worst !== "active" && s.statuses[s.worst] ? " · " + s.statuses[s.worst] + " " + s.worst : "";
    const sev = siteSeverity(s.name);
    return {
      group: "nodes",
      data: { id: siteId(s.name), kind: "site", name: s.name, status: s.worst, alert: sev || "",
        colour: sev ? state.alertColours[sev] || FALLBACK_COLOUR : colourOf(s.worst),
        label: open ? s.name : s.name + "\n" + s.count + (s.count === 1 ? " device" : " devices") + extra,
        size: Math.round(46 + 7 * Math.sqrt(s.count)) },
      classes: open ? "site open" : "site closed",
    };
  }

  function visibleOf(name) {
    const site = state.siteOf.get(name);
    return state.expanded.has(site) ? deviceId(name) : siteId(site);
  }

  /** Edges as drawn: device-to-device links as they are, anything touching a closed site folded per pair. */
  function edgeElements() {
    const out = [];
    const folded = new Map();
    for (const e of state.data.edges) {
      if (!state.devices.has(e.a) || !state.devices.has(e.b)) continue;
      const va = visibleOf(e.a);
      const vb = visibleOf(e.b);
      if (va === vb) continue;
      const linkMark = state.alerts.links[pairOf(e.a, e.b)];
      if (va.startsWith("d:") && vb.startsWith("d:")) {
        const data = { id: "e:" + e.id, source: va, target: vb, kind: e.kind, link: e.id,
          label: e.tunnel ? "VPN" : "", alert: linkMark ? linkMark.severity : "" };
        if (linkMark) data.alertColour = state.alertColours[linkMark.severity] || FALLBACK_COLOUR;
        out.push({ group: "edges", data: data,
          classes: "link " + e.kind + (e.tunnel ? " tunnel" : "") + (linkMark ? " alerted" : "") });
        continue;
      }
      const key = va < vb ? va + "\u0000" + vb : vb + "\u0000" + va;
      let f = folded.get(key);
      if (!f) {
        f = { source: va < vb ? va : vb, target: va < vb ? vb : va, members: [], physical: 0, alert: null };
        folded.set(key, f);
      }
      f.members.push(e.id);
      if (linkMark && (f.alert === null || sevRank(linkMark.severity) < sevRank(f.alert))) f.alert = linkMark.severity;
      if (e.kind === "physical") f.physical += 1;
    }
    for (const [key, f] of folded) {
      const kind = f.physical ? "physical" : "l3";
      const data = { id: "g:" + key, source: f.source, target: f.target, kind: kind, members: f.members,
        count: f.members.length, label: f.members.length > 1 ? String(f.members.length) : "", alert: f.alert || "" };
      if (f.alert) data.alertColour = state.alertColours[f.alert] || FALLBACK_COLOUR;
      out.push({ group: "edges", data: data, classes: "folded " + kind + (f.alert ? " alerted" : "") });
    }
    return out;
  }

  // ------------------------------------------------------------------ layout

  /** The order devices take on rings: the busiest device first, then breadth-first through the site. */
  function ringOrder(members, inSite) {
    const degree = (name) => state.neighbours.get(name).filter((x) => inSite.has(x.other)).length;
    const byDegree = members.slice().sort((a, b) => degree(b) - degree(a) || (a < b ? -1 : 1));
    const order = [];
    const seen = new Set();
    for (const start of byDegree) {
      if (seen.has(start)) continue;
      seen.add(start);
      const queue = [start];
      for (let i = 0; i < queue.length; i++) {
        const cur = queue[i];
        order.push(cur);
        const next = state.neighbours.get(cur).map((x) => x.other).filter((o) => inSite.has(o) && !seen.has(o));
        next.sort();
        for (const o of next) {
          seen.add(o);
          queue.push(o);
        }
      }
    }
    return order;
  }

  function ringOffsets(order) {
    const offsets = new Map();
    let placed = 0;
    let ring = 0;
    while (placed < order.length) {
      const capacity = ring === 0 ? 1 : Math.floor(2 * Math.PI * ring);
      const count = Math.min(capacity, order.length - placed);
      for (let i = 0; i < count; i++) {
        const angle = (2 * Math.PI * i) / count + ring * 0.5;
        offsets.set(order[placed + i], { x: ring * RING_GAP * Math.cos(angle), y: ring * RING_GAP * Math.sin(angle) });
      }
      placed += count;
      ring += 1;
    }
    return offsets;
  }

  /** A force layout (cose) of one site's own devices and links, started from the rings. */
  function forceOffsets(members, inSite, start) {
    const scratch = cytoscape({ headless: true, styleEnabled: true,
      style: [{ selector: "node", style: { width: 44, height: 30 } }] });
    scratch.add(members.map((name) => ({ group: "nodes", data: { id: name }, position: Object.assign({}, start.get(name)) })));
    let links = 0;
    for (const name of members) {
      for (const x of state.neighbours.get(name)) {
        if (x.edge.a === name && inSite.has(x.other)) {
          scratch.add({ group: "edges", data: { source: name, target: x.other } });
          links += 1;
        }
      }
    }
    if (!links) {
      scratch.destroy();
      return start;
    }
    scratch.layout({ name: "cose", animate: false, randomize: false, fit: false, numIter: COSE_ITERATIONS,
      idealEdgeLength: () => 75, nodeRepulsion: () => 30000, nodeOverlap: 20, componentSpacing: 60,
      gravity: 1.5 }).run();
    const out = new Map();
    scratch.nodes().forEach((n) => out.set(n.id(), Object.assign({}, n.position())));
    scratch.destroy();
    return out;
  }

  /** Device offsets around their site's centre, and the radius they need (computed once per site). */
  function clusterOf(site) {
    if (state.clusters.has(site)) return state.clusters.get(site);
    const members = state.data.nodes.filter((n) => n.site === site).map((n) => n.name);
    const inSite = new Set(members);
    let offsets = ringOffsets(ringOrder(members, inSite));
    if (members.length > 1 && members.length <= FORCE_MAX) offsets = forceOffsets(members, inSite, offsets);
    let cx = 0;
    let cy = 0;
    for (const p of offsets.values()) {
      cx += p.x;
      cy += p.y;
    }
    cx /= Math.max(1, offsets.size);
    cy /= Math.max(1, offsets.size);
    let radius = 0;
    const centred = new Map();
    for (const [name, p] of offsets) {
      const q = { x: p.x - cx, y: p.y - cy };
      centred.set(name, q);
      radius = Math.max(radius, Math.hypot(q.x, q.y));
    }
    const result = { radius: radius + 50, offsets: centred };
    state.clusters.set(site, result);
    return result;
  }

  /** Where every site is while all are closed: cose on the site graph (a few hundred nodes at most). */
  function placeSites() {
    const sites = state.data.sites;
    if (sites.length === 1) {
      state.base.set(sites[0].name, { x: 0, y: 0 });
      return;
    }
    // Every site open from the start (a network drawn whole): size each site by its devices' layout, so
    // the layout itself keeps them apart and nothing needs pushing later.
    const whole = !state.grouped;
    const sizeOf = (s) => (whole ? 2 * clusterOf(s.name).radius : Math.round(46 + 7 * Math.sqrt(s.count)));
    const scratch = cytoscape({ headless: true, styleEnabled: true,
      style: [{ selector: "node", style: { width: "data(size)", height: "data(size)" } }] });
    scratch.add(sites.map((s) => ({ group: "nodes", data: { id: siteId(s.name), size: sizeOf(s) } })));
    const pairs = new Set();
    for (const e of state.data.edges) {
      const a = state.siteOf.get(e.a);
      const b = state.siteOf.get(e.b);
      if (a === undefined || b === undefined || a === b) continue;
      const key = a < b ? a + "\u0000" + b : b + "\u0000" + a;
      if (pairs.has(key)) continue;
      pairs.add(key);
      scratch.add({ group: "edges", data: { source: siteId(a), target: siteId(b) } });
    }
    // A circle as the start keeps the result the same from one load to the next.
    const r = sites.reduce((sum, s) => sum + sizeOf(s), 0) / Math.PI;
    sites.forEach((s, i) => {
      const angle = (2 * Math.PI * i) / sites.length;
      scratch.getElementById(siteId(s.name)).position({ x: r * Math.cos(angle), y: r * Math.sin(angle) });
    });
    scratch.layout({ name: "cose", animate: false, randomize: false, numIter: COSE_ITERATIONS,
      idealEdgeLength: () => 60, nodeRepulsion: () => 20000, nodeOverlap: 40, gravity: 2, componentSpacing: 60,
      fit: false }).run();
    const placed = scratch.nodes().map((n) => ({ name: n.id().slice(2), p: n.position(), r: n.data("size") / 2 }));
    scratch.destroy();
    // cose leaves wide gaps between large nodes: shrink the picture as far as it goes without any two
    // sites coming closer than SITE_MARGIN, so the shape stays and the screen is used.
    let scale = 0;
    for (let i = 0; i < placed.length; i++) {
      for (let j = i + 1; j < placed.length; j++) {
        const a = placed[i];
        const b = placed[j];
        const dist = Math.max(1, Math.hypot(a.p.x - b.p.x, a.p.y - b.p.y));
        scale = Math.max(scale, (a.r + b.r + SITE_MARGIN) / dist);
      }
    }
    scale = Math.min(1, scale || 1);
    for (const x of placed) state.base.set(x.name, { x: x.p.x * scale, y: x.p.y * scale });
  }

  /** Site centres: each open site pushes every other site away from itself by its rings' radius. */
  function siteCentres() {
    const names = state.data.sites.map((s) => s.name);
    const centres = new Map();
    names.forEach((name, i) => {
      const p = state.base.get(name);
      let x = p.x;
      let y = p.y;
      for (const open of state.expanded) {
        if (open === name || !state.grouped) continue;
        const q = state.base.get(open);
        let dx = p.x - q.x;
        let dy = p.y - q.y;
        let len = Math.hypot(dx, dy);
        if (len < 1) {
          dx = Math.cos(i);
          dy = Math.sin(i);
          len = 1;
        }
        const push = clusterOf(open).radius + SITE_MARGIN;
        x += (dx / len) * push;
        y += (dy / len) * push;
      }
      centres.set(name, { x: x, y: y });
    });
    return centres;
  }

  function positionAll() {
    const cy = state.cy;
    const centres = siteCentres();
    cy.batch(() => {
      for (const [site, c] of centres) {
        if (state.expanded.has(site)) {
          for (const [name, off] of clusterOf(site).offsets) {
            cy.getElementById(deviceId(name)).position({ x: c.x + off.x, y: c.y + off.y });
          }
        } else {
          cy.getElementById(siteId(site)).position(c);
        }
      }
    });
  }

  // ------------------------------------------------------------------ drawing

  function style() {
    return [
      { selector: "node", style: { label: "data(label)", "font-size": 12, color: "#1b2330",
        "text-outline-color": "#fbfcfd", "text-outline-width": 2, "min-zoomed-font-size": 4,
        "background-color": "data(colour)", width: 20, height: 20, "border-width": 1, "border-color": "#ffffff",
        "text-valign": "bottom", "text-margin-y": 3 } },
      { selector: "node.site.closed", style: { shape: "round-rectangle", width: "data(size)", height: "data(size)",
        "text-valign": "center", "text-margin-y": 0, "text-wrap": "wrap", "font-size": 12, "font-weight": "bold",
        color: "#ffffff", "text-outline-color": "data(colour)", "border-width": 2, "border-color": "#ffffff" } },
      { selector: "node.site.open, :parent", style: { shape: "round-rectangle", "background-color": "#2f7de1",
        "background-opacity": 0.05, "border-width": 1, "border-style": "dashed", "border-color": "#8fa4bc",
        "text-valign": "top", "text-halign": "center", "font-size": 13, "font-weight": "bold", color: "#52606f",
        "text-margin-y": -4, padding: 18 } },
      { selector: "edge", style: { width: 1.6, "line-color": "#8796aa", "curve-style": "bezier" } },
      { selector: "edge.l3", style: { "line-style": "dashed", "line-color": "#7b61c9" } },
      { selector: "edge.tunnel", style: { "line-style": "dotted", width: 3, "line-color": "#0f9d8a", label: "data(label)",
        "font-size": 10, color: "#0f6d62", "text-background-color": "#ffffff", "text-background-opacity": 0.85,
        "text-background-padding": 2 } },
      { selector: "edge.folded", style: { width: "mapData(count, 1, 40, 2, 9)", label: "data(label)", "font-size": 10,
        color: "#3b4656", "text-background-color": "#ffffff", "text-background-opacity": 0.85,
        "text-background-padding": 2 } },
      { selector: "node.spof", style: { "border-width": 4, "border-color": "#e4572e", "underlay-color": "#e4572e",
        "underlay-opacity": 0.25, "underlay-padding": 6 } },
      { selector: "edge.bridge", style: { "line-color": "#e4572e", width: 4, "underlay-color": "#e4572e",
        "underlay-opacity": 0.2, "underlay-padding": 3 } },
      { selector: "node.device.alerted", style: { "underlay-color": "data(colour)", "underlay-opacity": 0.3,
        "underlay-padding": 5, "underlay-shape": "ellipse", "border-width": 2, "border-color": "#ffffff" } },
      { selector: "node.device.folded", style: { "border-width": 2, "border-style": "dashed", "border-color": "#5d6877" } },
      { selector: "edge.alerted", style: { "line-color": "data(alertColour)", width: 4, "underlay-color": "data(alertColour)",
        "underlay-opacity": 0.2, "underlay-padding": 3 } },
      { selector: ":selected", style: { "overlay-color": "#2f7de1", "overlay-opacity": 0.28, "overlay-padding": 7 } },
      { selector: ":parent:selected", style: { "overlay-opacity": 0.06 } },
    ];
  }

  // A small network fitted to the view is zoomed out; grow device labels and dots so that names
  // stay readable on screen (large networks keep the default and show names when zoomed in).
  function readableLabels(cy) {
    const zoom = cy.zoom();
    if (zoom >= 1 || state.data.nodes.length > 150) return;
    const scale = Math.min(2.5, 1 / zoom);
    cy.style().selector("node.device").style({ "font-size": 12 * scale, width: 20 * Math.sqrt(scale),
      height: 20 * Math.sqrt(scale) }).selector("node.site.open, :parent").style({ "font-size": 13 * scale })
      .selector("edge.tunnel").style({ "font-size": 10 * scale }).update();
  }

  function draw() {
    const container = $("map");
    state.cy = cytoscape({ container: container, style: style(), minZoom: 0.03, maxZoom: 4,
      boxSelectionEnabled: false, selectionType: "single" });
    const cy = state.cy;
    placeSites();
    const elements = [];
    for (const s of state.data.sites) elements.push(siteElement(s));
    for (const n of state.data.nodes) if (state.expanded.has(n.site)) elements.push(deviceElement(n));
    elements.push(...edgeElements());
    cy.add(elements);
    positionAll();
    cy.fit(undefined, 40);
    readableLabels(cy);
    $("map-collapse").hidden = !state.grouped;
    cy.on("tap", onTap);
    cy.on("mouseover", "node, edge", showTip);
    cy.on("mouseout", "node, edge", hideTip);
    cy.on("viewport", hideTip);
    cy.on("dbltap", "node.device", (evt) => openDevicePage(evt.target.data("name")));
    if (!state.data.nodes.length) setStatus("No devices yet: add some, import an inventory or run discovery.");
  }

  function rebuildEdges() {
    const cy = state.cy;
    cy.batch(() => {
      cy.edges().remove();
      cy.add(edgeElements());
    });
    if (state.spofOn) markSpof();
  }

  function expand(site) {
    if (!state.sites.has(site) || state.expanded.has(site)) return;
    const cy = state.cy;
    state.expanded.add(site);
    cy.batch(() => {
      const node = cy.getElementById(siteId(site));
      node.data(siteElement(state.sites.get(site)).data);
      node.classes("site open");
      cy.add(state.data.nodes.filter((n) => n.site === site).map(deviceElement));
    });
    positionAll();
    rebuildEdges();
  }

  function collapse(site) {
    if (!state.grouped || !state.expanded.has(site)) return;
    const cy = state.cy;
    state.expanded.delete(site);
    cy.batch(() => {
      const node = cy.getElementById(siteId(site));
      node.children().remove();
      node.data(siteElement(state.sites.get(site)).data);
      node.classes("site closed");
    });
    positionAll();
    rebuildEdges();
  }

  function collapseAll() {
    for (const site of Array.from(state.expanded)) collapse(site);
    state.cy.fit(undefined, 40);
    showNothing();
  }

  function zoomTo(eles, duration) {
    state.cy.animate({ fit: { eles: eles, padding: 60 } }, { duration: duration === undefined ? 250 : duration });
  }

  // ------------------------------------------------------------------ panel

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function findLink(name, label) {
    const a = el("a", label || name, "find");
    a.href = "#";
    a.dataset.find = name;
    return a;
  }

  function showPanel(title, pill, facts, extra, actions) {
    $("panel-empty").hidden = true;
    $("panel-body").hidden = false;
    const h = $("panel-title");
    clear(h);
    h.appendChild(el("span", title, "panel-name"));
    if (pill) h.appendChild(el("span", pill, "pill st-" + pill));
    const dl = $("panel-facts");
    clear(dl);
    for (const [k, v] of facts) {
      dl.appendChild(el("dt", k));
      const dd = el("dd");
      if (v instanceof Node) dd.appendChild(v);
      else dd.textContent = v === null || v === undefined || v === "" ? "—" : String(v);
      dl.appendChild(dd);
    }
    const ex = $("panel-extra");
    clear(ex);
    for (const x of extra) ex.appendChild(x);
    const act = $("panel-actions");
    clear(act);
    for (const x of actions) act.appendChild(x);
  }

  function showNothing() {
    $("panel-empty").hidden = false;
    $("panel-body").hidden = true;
  }

  function devicePath(name) {
    return "/devices/" + encodeURIComponent(name);
  }

  function openDevicePage(name) {
    window.location.assign(devicePath(name));
  }

  function cutOf(kind, name) {
    if (!state.spof) return null;
    return (kind === "device" ? state.spof.devices : state.spof.links).find((c) => c.name === name) || null;
  }

  function cutNote(cut, what) {
    const p = el("p", null, "panel-note spof");
    const n = cut.cut_off.length;
    p.textContent = "Single point of failure: if " + what + " fails, " + n + (n === 1 ? " device" : " devices") +
      " lose their path to the rest" + (cut.sites.length ? " (sites " + cut.sites.join(", ") + ")" : "") + ".";
    return p;
  }

  function alertNote(mark, what) {
    const p = el("p", null, "panel-note alert-note");
    p.id = "panel-alert";
    if (mark.severity) {
      p.appendChild(el("span", mark.severity, "pill sev-" + mark.severity));
      p.appendChild(document.createTextNode(" "));
    }
    const a = el("a", mark.severity ? mark.summary : what + " is unreachable because of " + mark.folded_under);
    a.href = "/alerts/" + encodeURIComponent(mark.alert_id);
    p.appendChild(a);
    if (mark.count > 1) p.appendChild(el("span", " and " + (mark.count - 1) + " more", "muted"));
    return p;
  }

  function showDevice(name) {
    const n = state.devices.get(name);
    if (!n) return;
    state.shown = { kind: "device", name: name };
    const links = state.neighbours.get(name);
    const extra = [];
    const mark = markOf(name);
    if (mark) extra.push(alertNote(mark, "this device"));
    const cut = cutOf("device", name);
    if (cut) extra.push(cutNote(cut, "this device"));
    if (links.length) {
      extra.push(el("h3", "Links (" + links.length + ")", "panel-sub"));
      const ul = el("ul", null, "panel-list");
      ul.id = "panel-links";
      links.slice(0, 200).forEach((x) => {
        const li = el("li");
        const mine = x.edge.a === name ? x.edge.a_port : x.edge.b_port;
        const theirs = x.edge.a === name ? x.edge.b_port : x.edge.a_port;
        li.appendChild(el("span", mine + " → ", "mono"));
        li.appendChild(findLink(x.other));
        li.appendChild(el("span", " " + theirs + (x.edge.kind === "l3" ? " (L3 " + (x.edge.subnet || "") + ")" : ""), "mono muted"));
        ul.appendChild(li);
      });
      extra.push(ul);
    }
    const open = el("a", "Open device page", "btn btn-primary btn-small");
    open.id = "panel-link";
    open.href = devicePath(name);
    showPanel(name, n.status, [
      ["Site", n.site],
      ["Role", n.role],
      ["Platform", n.platform],
      ["Management IP", n.mgmt_ip],
      ["Links", links.length],
    ], extra, [open]);
  }

  function showSite(site) {
    const s = state.sites.get(site);
    if (!s) return;
    state.shown = { kind: "site", name: site };
    const facts = [["Devices", s.count]];
    for (const [status, count] of Object.entries(s.statuses)) facts.push([status, count]);
    const actions = [];
    if (state.grouped) {
      const b = el("button", state.expanded.has(site) ? "Close this site" : "Show its devices", "btn btn-small");
      b.type = "button";
      b.id = "panel-site-toggle";
      b.addEventListener("click", () => {
        if (state.expanded.has(site)) collapse(site);
        else expand(site);
        showSite(site);
      });
      actions.push(b);
    }
    const list = el("a", "Device list", "btn btn-small");
    list.href = "/devices?site=" + encodeURIComponent(site);
    actions.push(list);
    const extra = [];
    if (state.spof) {
      const inside = state.spof.devices.filter((c) => state.siteOf.get(c.name) === site);
      if (inside.length) extra.push(el("p", inside.length + " single point(s) of failure here: " +
        inside.map((c) => c.name).join(", "), "panel-note spof"));
    }
    showPanel("Site " + site, s.worst, facts, extra, actions);
  }

  function showEdge(edge) {
    const members = edge.data("members") || [edge.data("link")];
    const byId = new Map(state.data.edges.map((e) => [e.id, e]));
    const links = members.map((id) => byId.get(id)).filter(Boolean);
    const ul = el("ul", null, "panel-list");
    for (const e of links.slice(0, 200)) {
      const li = el("li");
      li.appendChild(findLink(e.a));
      li.appendChild(el("span", ":" + e.a_port + " — ", "mono"));
      li.appendChild(findLink(e.b));
      li.appendChild(el("span", ":" + e.b_port + (e.kind === "l3" ? "  L3 " + (e.subnet || "") : ""), "mono"));
      const cut = cutOf("link", e.a + ":" + e.a_port + "--" + e.b + ":" + e.b_port);
      if (cut) li.appendChild(el("span", "  bridge: cuts off " + cut.cut_off.length, "spof-tag"));
      ul.appendChild(li);
    }
    const title = links.length === 1 ? "Link" : links.length + " links";
    state.shown = { kind: "edge" };
    const notes = [];
    const seen = new Set();
    for (const e of links) {
      const pair = pairOf(e.a, e.b);
      const mark = state.alerts.links[pair];
      if (mark && !seen.has(pair)) notes.push(alertNote(mark, "link " + pair));
      seen.add(pair);
    }
    showPanel(title, null, [["Kind", edge.data("kind")]], notes.concat([ul]), []);
  }

  // ------------------------------------------------------------------ tooltip

  function tipText(t) {
    if (t.isEdge()) {
      const members = t.data("members") || [t.data("link")];
      const byId = new Map(state.data.edges.map((e) => [e.id, e]));
      const lines = [];
      for (const id of members) {
        const e = byId.get(id);
        if (!e) continue;
        const mark = state.alerts.links[pairOf(e.a, e.b)];
        if (mark) lines.push(mark.severity + ": " + mark.summary);
      }
      if (lines.length) return Array.from(new Set(lines)).join("\n");
      return members.length === 1 ? "link " + members[0].replace(/^[a-z0-9]+:/, "") : members.length + " links";
    }
    const name = t.data("name");
    if (t.data("kind") === "site") {
      const sev = t.data("alert");
      return "site " + name + (sev ? " · worst alert: " + sev : "");
    }
    const mark = markOf(name);
    if (mark && mark.severity) return name + " · " + mark.severity + ": " + mark.summary + (mark.count > 1 ? " (+" + (mark.count - 1) + ")" : "");
    if (mark) return name + " · unreachable because of " + mark.folded_under;
    return name + " · " + t.data("status");
  }

  function showTip(evt) {
    const tip = $("map-tip");
    tip.textContent = tipText(evt.target);
    const p = evt.renderedPosition || evt.target.renderedPosition();
    tip.style.left = Math.round(p.x + 14) + "px";
    tip.style.top = Math.round(p.y + 14) + "px";
    tip.hidden = false;
  }

  function hideTip() {
    $("map-tip").hidden = true;
  }

  function onTap(evt) {
    const t = evt.target;
    if (t === state.cy) {
      state.shown = null;
      showNothing();
      return;
    }
    if (t.isEdge()) {
      showEdge(t);
      return;
    }
    const kind = t.data("kind");
    if (kind === "device") showDevice(t.data("name"));
    else if (kind === "site") {
      const site = t.data("name");
      if (state.grouped && !state.expanded.has(site)) {
        expand(site);
        zoomTo(state.cy.getElementById(siteId(site)));
      }
      showSite(site);
    }
  }

  // ------------------------------------------------------------------ search

  function find(query) {
    const q = (query || "").trim();
    if (!q || !state.ready) return false;
    const lower = q.toLowerCase();
    const names = state.data.nodes.map((n) => n.name);
    let device = names.find((n) => n === q) || names.find((n) => n.toLowerCase() === lower);
    const siteNames = state.data.sites.map((s) => s.name);
    let site = device ? null : siteNames.find((s) => s.toLowerCase() === lower) || null;
    if (!device && !site) device = names.find((n) => n.toLowerCase().includes(lower));
    if (!device && !site) site = siteNames.find((s) => s.toLowerCase().includes(lower)) || null;
    const cy = state.cy;
    if (device) {
      expand(state.siteOf.get(device));
      const node = cy.getElementById(deviceId(device));
      cy.elements().unselect();
      node.select();
      cy.animate({ center: { eles: node }, zoom: Math.max(cy.zoom(), 1.1) }, { duration: 250 });
      showDevice(device);
      setStatus("Found " + device + " (site " + state.siteOf.get(device) + ")");
      return true;
    }
    if (site) {
      expand(site);
      const node = cy.getElementById(siteId(site));
      cy.elements().unselect();
      zoomTo(node);
      showSite(site);
      setStatus("Found site " + site);
      return true;
    }
    setStatus("No device or site matches “" + q + "”", true);
    return false;
  }

  // ------------------------------------------------------------------ single points of failure

  async function loadSpof() {
    setStatus("Looking for single points of failure…");
    const resp = await fetch(root.dataset.spofSrc, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    const type = resp.headers.get("content-type") || "";
    if (!resp.ok || !type.includes("application/json")) {
      throw new Error("HTTP " + resp.status);
    }
    return resp.json();
  }

  function markSpof() {
    const cy = state.cy;
    const spof = state.spof;
    cy.batch(() => {
      cy.elements(".spof, .bridge").removeClass("spof bridge");
      if (!state.spofOn || !spof) return;
      for (const c of spof.devices) cy.getElementById(visibleOf(c.name)).addClass("spof");
      const bridged = new Set();
      for (const c of spof.links) for (const id of c.edges) bridged.add(id);
      cy.edges().forEach((e) => {
        const members = e.data("members") || [e.data("link")];
        if (members.some((id) => bridged.has(id))) e.addClass("bridge");
      });
    });
  }

  function showSpofSummary() {
    const spof = state.spof;
    const box = $("spof-summary");
    box.hidden = !state.spofOn;
    if (!state.spofOn || !spof) return;
    $("spof-count").textContent = spof.devices.length + (spof.devices.length === 1 ? " device" : " devices") +
      " and " + spof.links.length + (spof.links.length === 1 ? " link" : " links") +
      (spof.devices.length + spof.links.length ? " would cut devices off if they failed." : ": the network has no single point of failure.");
    const ul = $("spof-list");
    clear(ul);
    for (const c of spof.devices.slice(0, 300)) {
      const li = el("li");
      li.dataset.kind = "device";
      li.dataset.name = c.name;
      li.appendChild(findLink(c.name));
      li.appendChild(el("span", " cuts off " + c.cut_off.length, "muted"));
      ul.appendChild(li);
    }
    for (const c of spof.links.slice(0, 300)) {
      const li = el("li");
      li.dataset.kind = "link";
      li.dataset.name = c.name;
      li.appendChild(el("span", c.name + " ", "mono"));
      li.appendChild(el("span", "cuts off " + c.cut_off.length, "muted"));
      ul.appendChild(li);
    }
  }

  async function toggleSpof(on) {
    state.spofOn = on;
    if (on && !state.spof) {
      try {
        state.spof = await loadSpof();
      } catch (err) {
        state.spofOn = false;
        $("spof-toggle").checked = false;
        setStatus("Could not analyse single points of failure (" + err.message + ")", true);
        return;
      }
      describe();
    }
    markSpof();
    showSpofSummary();
    root.dataset.spof = on ? "shown" : "hidden";
  }

  // ------------------------------------------------------------------ wiring

  $("map-search-form").addEventListener("submit", (evt) => {
    evt.preventDefault();
    find($("map-search").value);
  });
  $("spof-toggle").addEventListener("change", (evt) => toggleSpof(evt.target.checked));
  $("map-fit").addEventListener("click", () => state.cy && state.cy.fit(undefined, 40));
  $("map-collapse").addEventListener("click", () => state.cy && collapseAll());
  $("map-group").addEventListener("change", (evt) => {
    const url = new URL(location.href);
    url.searchParams.set("group", evt.target.value);
    location.assign(url.toString());
  });
  root.addEventListener("click", (evt) => {
    const a = evt.target.closest("a.find");
    if (!a) return;
    evt.preventDefault();
    find(a.dataset.find);
  });

  document.body.addEventListener("nw:alerts-changed", () => {
    refreshAlerts().catch((err) => setStatus("Could not refresh the alert colours: " + err, true));
  });

  state.expand = expand;
  state.refreshAlerts = refreshAlerts;
  state.collapse = collapse;
  state.find = find;
  load().catch((err) => fail("The map failed to draw: " + err));
})();
