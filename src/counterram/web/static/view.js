// counterram operator view: the site from /api/site, the picture and its steps from the
// server-sent events of /api/stream. The picture here follows the rules of
// counterram/web/state.py (what is kept, and how long); the server's snapshot, sent first on
// every connection and after a seek, replaces it whole. Drawing is coalesced: each message
// marks the picture changed and one animation frame draws it.
"use strict";

(function () {
  const HISTORY = 30, LOG_SIZE = 200, ORIGIN_KEEP_S = 120, STALE_IMPACT_S = 10,
    BURST_KEEP_S = 3, TRUTH_KEEP_S = 20, EVENTS_SHOWN = 120;

  const view = {
    site: null, status: {}, picture: emptyPicture(), latency: null,
    draws: 0, drawMs: 0, drawMsTotal: 0, messages: 0, connected: false,
    zoneLayers: {}, trackCount: () => Object.keys(trackLayers).length,
  };
  window.counterram = view;

  function emptyPicture() {
    return { time_s: null, tracks: new Map(), impacts: new Map(), origins: new Map(),
      zones: new Map(), guns: new Map(), bursts: [], truth: [], log: [], counts: {} };
  }

  // ------------------------------------------------------------------ the picture's rules
  function num(v) { return (typeof v === "number" && isFinite(v)) ? v : null; }

  function advance(p, t) {
    t = num(t);
    if (t === null) return;
    p.time_s = p.time_s === null ? t : Math.max(p.time_s, t);
    const now = p.time_s;
    for (const [id, v] of p.impacts) {
      if (v.impact_time_s !== null && now > v.impact_time_s + STALE_IMPACT_S) p.impacts.delete(id);
    }
    for (const [id, v] of p.origins) {
      if (v.expires_s !== null && v.expires_s !== undefined && now > v.expires_s) p.origins.delete(id);
    }
    p.bursts = p.bursts.filter(b => !(now > b.expires_s));
    p.truth = p.truth.filter(m => !(now > m.expires_s));
  }

  function apply(p, e) {
    // periodic reports stay out of the event list: track states, repeated impact predictions
    const repeat = (e.kind === "track" && e.update) ||
      (e.kind === "impact_prediction" && p.impacts.has(e.track_id));
    try { applyOne(p, e); } catch (err) { return; }
    p.counts[e.kind] = (p.counts[e.kind] || 0) + 1;
    if (!repeat) {
      p.log.push(e);
      if (p.log.length > LOG_SIZE) p.log.splice(0, p.log.length - LOG_SIZE);
    }
  }

  function applyOne(p, e) {
    const t = num(e.time_s);
    if (t !== null) advance(p, t);
    const k = e.kind;
    if (k === "track") {
      const id = e.track_id;
      if (e.status === "deleted") {
        p.tracks.delete(id); p.impacts.delete(id);
        const o = p.origins.get(id);
        if (o) o.expires_s = (t || 0) + ORIGIN_KEEP_S;
        return;
      }
      let tr = p.tracks.get(id);
      if (!tr) {
        tr = { track_id: id, history: [], threat_class: "", munition: "" };
        for (const known of [p.impacts.get(id), p.origins.get(id)]) {
          if (known) { tr.threat_class = known.threat_class; tr.munition = known.munition; }
        }
        p.tracks.set(id, tr);
      }
      tr.time_s = t; tr.position_enu = e.position_enu; tr.velocity_enu = e.velocity_enu;
      tr.position_sigma_m = num(e.position_sigma_m); tr.updates = e.updates;
      tr.history.push(e.position_enu);
      if (tr.history.length > HISTORY) tr.history.splice(0, tr.history.length - HISTORY);
    } else if (k === "impact_prediction" || k === "origin_estimate") {
      const id = e.track_id;
      const item = { track_id: id, time_s: t,
        en: k === "impact_prediction" ? e.impact_en : e.origin_en, ellipse: e.ellipse,
        threat_class: e.threat_class || "", munition: e.munition || "" };
      if (!Array.isArray(item.en) || !item.ellipse) throw new Error("bad event");
      if (k === "impact_prediction") {
        item.impact_time_s = num(e.impact_time_s);
        p.impacts.set(id, item);
      } else {
        item.launch_time_s = num(e.launch_time_s);
        item.expires_s = p.tracks.has(id) ? null : (t || 0) + ORIGIN_KEEP_S;
        p.origins.set(id, item);
      }
      const tr = p.tracks.get(id);
      if (tr) { tr.threat_class = item.threat_class; tr.munition = item.munition; }
    } else if (k === "warning") {
      const old = p.zones.get(e.zone);
      p.zones.set(e.zone, { zone: e.zone, since_s: old ? old.since_s : t, time_s: t,
        track_ids: e.track_ids || [], probability: num(e.probability),
        predicted_impact_time_s: num(e.predicted_impact_time_s), early: !!e.early });
    } else if (k === "all_clear") {
      p.zones.delete(e.zone);
    } else if (k === "gun_status") {
      p.guns.set(e.gun, { gun: e.gun, state: e.state, magazine: e.magazine,
        hold_reason: e.hold_reason || "", time_s: t });
    } else if (k === "engagement") {
      const it = num(e.intercept_time_s);
      p.bursts.push({ gun: e.gun, track_id: e.track_id, fire_time_s: num(e.fire_time_s),
        intercept_time_s: it, intercept_enu: e.intercept_enu, rounds: e.rounds,
        predicted_pk: num(e.predicted_pk), threatened_asset: e.threatened_asset || "",
        expires_s: (it !== null ? it : (t || 0)) + BURST_KEEP_S });
    } else if ((k === "launch" || k === "impact" || k === "outcome") && e.truth) {
      const where = { launch: "launch_enu", impact: "impact_enu", outcome: "debris_enu" }[k];
      const point = e[where];
      // a miss brings nothing down: its debris point is null (or nulls)
      if (!Array.isArray(point) || !point.slice(0, 2).every(Number.isFinite)) return;
      p.truth.push({ kind: k, time_s: t, enu: point, round_id: e.round_id, killed: !!e.killed,
        munition: e.munition || "", expires_s: (t || 0) + TRUTH_KEEP_S });
    }
  }

  function fromSnapshot(s) {
    const p = emptyPicture();
    p.time_s = s.time_s;
    for (const v of s.tracks) p.tracks.set(v.track_id, v);
    for (const v of s.impacts) p.impacts.set(v.track_id, v);
    for (const v of s.origins) p.origins.set(v.track_id, v);
    for (const v of s.zones) p.zones.set(v.zone, v);
    for (const v of s.guns) p.guns.set(v.gun, v);
    p.bursts = s.bursts; p.truth = s.truth; p.log = s.log; p.counts = s.counts;
    return p;
  }

  // ------------------------------------------------------------------ map and coordinates
  let map, ll, svg, canvas;
  const trackLayers = {}, impactLayers = {}, originLayers = {};
  let burstGroup, truthGroup;

  function setupMap(site) {
    const o = site.origin;
    if (site.tiles) {
      map = L.map("map", { preferCanvas: false, zoomSnap: 0.25 });
      L.tileLayer(site.tiles, { maxZoom: 19 }).addTo(map);
      ll = (e, n) => [o.latitude_deg + n / o.metres_per_degree_latitude,
        o.longitude_deg + e / o.metres_per_degree_longitude];
    } else {
      map = L.map("map", { crs: L.CRS.Simple, minZoom: -6, maxZoom: 4, zoomSnap: 0.25,
        attributionControl: false });
      ll = (e, n) => [n, e];
    }
    L.control.scale({ imperial: false }).addTo(map);
    svg = L.svg({ padding: 0.5 });
    canvas = L.canvas({ padding: 0.5 });
    const b = site.bounds_en;
    map.fitBounds([ll(b[0][0], b[0][1]), ll(b[1][0], b[1][1])], { padding: [20, 20] });
    burstGroup = L.layerGroup().addTo(map);
    truthGroup = L.layerGroup().addTo(map);
    drawSite(site);
  }

  function ring(points) { return points.map(p => ll(p[0], p[1])); }

  function wedge(c, fromDeg, toDeg, rMin, rMax) {
    // a ring sector clockwise from fromDeg to toDeg (compass), between two ranges
    let span = ((toDeg - fromDeg) % 360 + 360) % 360;
    if (span === 0) span = 360;
    const steps = Math.max(8, Math.ceil(span / 4)), out = [], inner = [];
    for (let i = 0; i <= steps; i++) {
      const a = (fromDeg + span * i / steps) * Math.PI / 180;
      out.push(ll(c[0] + rMax * Math.sin(a), c[1] + rMax * Math.cos(a)));
      inner.push(ll(c[0] + rMin * Math.sin(a), c[1] + rMin * Math.cos(a)));
    }
    return out.concat(inner.reverse());
  }

  function label(text, at) {
    return L.marker(at, { interactive: false, keyboard: false,
      icon: L.divIcon({ className: "cr-label", html: escapeHtml(text), iconSize: null }) });
  }

  function drawSite(site) {
    const maxDensity = Math.max(1, ...site.populated.map(p => p.density_per_km2));
    for (const p of site.populated) {
      const shade = 0.08 + 0.45 * Math.log1p(p.density_per_km2) / Math.log1p(maxDensity);
      L.polygon(ring(p.ring_en), { renderer: svg, className: "cr-populated", color: "#607d8b",
        weight: 1, fillColor: "#90a4ae", fillOpacity: shade })
        .bindTooltip(`${p.name}: ${Math.round(p.density_per_km2)} people/km²`).addTo(map);
    }
    for (const a of site.assets) {
      L.polygon(ring(a.ring_en), { renderer: svg, className: "cr-asset", color: "#4fc3f7",
        weight: 2, fillColor: "#4fc3f7", fillOpacity: 0.25 })
        .bindTooltip(`${a.name} (${a.kind}, value ${a.value})`).addTo(map);
    }
    for (const z of site.zones) {
      const layer = L.polygon(ring(z.ring_en), { renderer: svg, className: "cr-zone" })
        .bindTooltip(`warning zone ${z.name}`).addTo(map);
      layer._path.setAttribute("data-zone", z.name);
      view.zoneLayers[z.name] = layer;
      const pts = z.ring_en;
      const top = pts.reduce((m, p) => (p[1] > m[1] ? p : m), pts[0]);
      label(z.name, ll(top[0], top[1])).addTo(map);
    }
    for (const r of site.radars) {
      const c = r.position_en;
      if (r.sector_width_deg < 360) {
        const half = r.sector_width_deg / 2;
        L.polygon(wedge(c, r.sector_center_deg - half, r.sector_center_deg + half,
          r.min_range_m, r.max_range_m), { renderer: svg, className: "cr-radar-sector",
          color: "#26a69a", weight: 1, dashArray: "2 6", fill: false, interactive: false })
          .addTo(map);
      }
      L.circleMarker(ll(c[0], c[1]), { renderer: svg, radius: 5, color: "#26a69a",
        fillColor: "#26a69a", fillOpacity: 1, className: "cr-radar" })
        .bindTooltip(`${r.name} (${r.type}), ${Math.round(r.max_range_m / 1000)} km`).addTo(map);
    }
    for (const g of site.guns) {
      const c = g.position_en;
      L.polygon(wedge(c, g.heading_deg - g.azimuth_limit_deg, g.heading_deg + g.azimuth_limit_deg,
        g.min_range_m, g.max_range_m), { renderer: svg, className: "cr-gun-sector",
        color: "#ab47bc", weight: 1, fillColor: "#ab47bc", fillOpacity: 0.06,
        interactive: false }).addTo(map);
      for (const s of g.no_fire_sectors) {
        L.polygon(wedge(c, s.from_azimuth_deg, s.to_azimuth_deg, 0, g.max_range_m),
          { renderer: svg, className: "cr-no-fire", color: "#e53935", weight: 1,
            fillColor: "#e53935", fillOpacity: 0.18 })
          .bindTooltip(`${g.name}: no fire ${s.from_azimuth_deg}°–${s.to_azimuth_deg}° ` +
            `below ${s.max_elevation_deg}°`).addTo(map);
      }
      for (const a of g.no_fire_areas) {
        L.polygon(ring(a.ring_en), { renderer: svg, className: "cr-no-fire", color: "#e53935",
          weight: 2, fillColor: "#e53935", fillOpacity: 0.25 })
          .bindTooltip(`${g.name}: no-fire area ${a.name}`).addTo(map);
      }
      L.circleMarker(ll(c[0], c[1]), { renderer: svg, radius: 6, color: "#fff", weight: 2,
        fillColor: "#ab47bc", fillOpacity: 1, className: "cr-gun" })
        .bindTooltip(g.name).addTo(map);
      label(g.name, ll(c[0], c[1])).addTo(map);
    }
  }

  function ellipsePoints(en, el) {
    const az = (el.orientation_deg || 0) * Math.PI / 180;
    const ue = Math.sin(az), un = Math.cos(az), ve = Math.cos(az), vn = -Math.sin(az);
    const a = el.semi_major_m || 0, b = el.semi_minor_m || 0, out = [];
    for (let i = 0; i < 36; i++) {
      const th = i * Math.PI / 18, ca = a * Math.cos(th), sb = b * Math.sin(th);
      out.push(ll(en[0] + ca * ue + sb * ve, en[1] + ca * un + sb * vn));
    }
    return out;
  }

  // ------------------------------------------------------------------ drawing
  let dirty = false;
  function markDirty() {
    if (!dirty) { dirty = true; requestAnimationFrame(draw); }
  }

  function syncKeyed(layers, items, make, update) {
    for (const id of Object.keys(layers)) {
      if (!items.has(Number(id)) && !items.has(id)) {
        for (const l of layers[id]) l.remove();
        delete layers[id];
      }
    }
    for (const [id, item] of items) {
      if (!layers[id]) layers[id] = make(item);
      update(layers[id], item);
    }
  }

  function draw() {
    dirty = false;
    if (!map) return;
    const t0 = performance.now();
    const p = view.picture, now = p.time_s;
    const showTruth = document.getElementById("show-truth").checked;
    try {
      drawMoving(p, now, showTruth);
    } catch (err) {
      console.error("counterram view: drawing", err);  // the zones and the panel still update
    }
    drawZones(p);
    drawPanel(p);
    view.draws += 1;
    view.drawMs = performance.now() - t0;
    view.drawMsTotal += view.drawMs;
  }

  function drawMoving(p, now, showTruth) {
    syncKeyed(trackLayers, p.tracks, () => [
      L.polyline([], { renderer: canvas, color: "#4fc3f7", weight: 2, opacity: 0.8,
        interactive: false }).addTo(map),
      L.marker([0, 0], { keyboard: false, interactive: false, icon: L.divIcon({ className: "cr-track",
        html: "", iconSize: null, iconAnchor: [5, 5] }) }).addTo(map),
    ], (ls, tr) => {
      ls[0].setLatLngs(tr.history.map(q => ll(q[0], q[1])));
      const pos = tr.position_enu;
      ls[1].setLatLng(ll(pos[0], pos[1]));
      const text = `${tr.track_id}${tr.munition ? " " + tr.munition : ""}`;
      const el = ls[1].getElement();
      if (el && el.dataset.text !== text) {
        el.dataset.text = text;
        el.dataset.track = tr.track_id;
        el.classList.remove("rocket", "mortar", "artillery");
        if (tr.threat_class) el.classList.add(tr.threat_class);
        el.innerHTML = `<span class="dot"></span>${escapeHtml(text)}`;
      }
    });
    syncKeyed(impactLayers, p.impacts, () => [
      L.polygon([], { renderer: canvas, color: "#ff5252", weight: 1.5, fillOpacity: 0.15,
        interactive: false }).addTo(map)],
    (ls, ip) => ls[0].setLatLngs(ellipsePoints(ip.en, ip.ellipse)));
    syncKeyed(originLayers, p.origins, () => [
      L.polygon([], { renderer: canvas, color: "#ffca28", weight: 1.5, dashArray: "4 3",
        fillOpacity: 0.12, interactive: false }).addTo(map)],
    (ls, o) => ls[0].setLatLngs(ellipsePoints(o.en, o.ellipse)));
    burstGroup.clearLayers();
    const guns = {};
    for (const g of (view.site ? view.site.guns : [])) guns[g.name] = g.position_en;
    for (const b of p.bursts) {
      const at = ll(b.intercept_enu[0], b.intercept_enu[1]);
      const firing = now !== null && b.fire_time_s !== null && now >= b.fire_time_s;
      const g = guns[b.gun];
      if (g) {
        L.polyline([ll(g[0], g[1]), at], { renderer: canvas, color: "#e040fb",
          weight: firing ? 2 : 1, dashArray: firing ? null : "3 5", interactive: false })
          .addTo(burstGroup);
      }
      L.circleMarker(at, { renderer: canvas, radius: firing ? 9 : 5, color: "#e040fb",
        fillColor: "#e040fb", fillOpacity: firing ? 0.5 : 0.1, interactive: false })
        .addTo(burstGroup);
    }
    truthGroup.clearLayers();
    if (showTruth) {
      for (const m of p.truth) {
        const at = ll(m.enu[0], m.enu[1]);
        const style = { launch: ["#9e9e9e", 3], impact: ["#000", 4], outcome: ["#76ff03", 7] }[m.kind];
        L.circleMarker(at, { renderer: canvas, radius: style[1], color: style[0], weight: 2,
          fill: m.kind !== "outcome", fillOpacity: 0.6, interactive: false }).addTo(truthGroup);
      }
    }
  }

  function drawZones(p) {
    const banners = document.getElementById("incoming");
    for (const [name, layer] of Object.entries(view.zoneLayers)) {
      const el = layer._path;
      if (!el) continue;
      el.classList.toggle("warned", p.zones.has(name));
    }
    const html = [];
    for (const z of p.zones.values()) {
      const tti = (z.predicted_impact_time_s !== null && p.time_s !== null)
        ? Math.max(0, z.predicted_impact_time_s - p.time_s) : null;
      html.push(`<div class="banner${z.early ? " early" : ""}" data-zone="${escapeHtml(z.zone)}">` +
        `INCOMING ${escapeHtml(z.zone)}<span class="tti">${tti === null ? "" :
          "T−" + tti.toFixed(1) + " s"}</span></div>`);
    }
    const joined = html.join("");
    if (banners.dataset.html !== joined) { banners.innerHTML = joined; banners.dataset.html = joined; }
  }

  function drawPanel(p) {
    const clock = document.getElementById("clock");
    clock.textContent = p.time_s === null ? "—" : p.time_s.toFixed(1);
    clock.dataset.time = p.time_s === null ? "" : String(p.time_s);
    document.getElementById("track-count").textContent = String(p.tracks.size);
    document.getElementById("warned-count").textContent = String(p.zones.size);
    document.getElementById("latency").textContent = view.latency === null ? "—" :
      `${view.latency.toFixed(1)} ms${view.status.mode === "replay" ? " (run p50)" : ""}`;
    const rows = [];
    for (const g of p.guns.values()) {
      rows.push(`<tr data-gun="${escapeHtml(g.gun)}"><td>${escapeHtml(g.gun)}</td>` +
        `<td class="state-${escapeHtml(g.state)}">${escapeHtml(g.state)}` +
        `${g.hold_reason ? " (" + escapeHtml(g.hold_reason) + ")" : ""}</td>` +
        `<td>${g.magazine === null || g.magazine === undefined ? "?" : g.magazine}</td></tr>`);
    }
    const tbody = document.querySelector("#guns tbody"), gunHtml = rows.join("");
    if (tbody.dataset.html !== gunHtml) { tbody.innerHTML = gunHtml; tbody.dataset.html = gunHtml; }
    const list = document.getElementById("events");
    const shown = p.log.slice(-EVENTS_SHOWN).reverse();
    const key = shown.length ? `${p.log.length}:${shown[0].kind}:${shown[0].time_s}` : "";
    if (list.dataset.key !== key) {
      list.dataset.key = key;
      list.innerHTML = shown.map(e => `<li class="k-${e.kind}${e.truth ? " truth" : ""}">` +
        `<span class="t">${typeof e.time_s === "number" ? e.time_s.toFixed(1) : "?"}</span>` +
        `${escapeHtml(describe(e))}</li>`).join("");
    }
  }

  function f(v, d) { return typeof v === "number" && isFinite(v) ? v.toFixed(d) : "?"; }

  function describe(e) {
    switch (e.kind) {
      case "track": return `track ${e.track_id} ${e.status}${e.reason ? " (" + e.reason + ")" : ""}`;
      case "impact_prediction": return `track ${e.track_id} (${e.munition || "?"}) lands ` +
        `t=${f(e.impact_time_s, 1)} s`;
      case "origin_estimate": return `track ${e.track_id} fired from ${f(e.latitude_deg, 5)}, ` +
        `${f(e.longitude_deg, 5)}`;
      case "warning": return `${e.update ? "update" : "INCOMING"} ${e.zone}${e.early ? " (early)" : ""}` +
        ` p=${f(e.probability, 2)}`;
      case "all_clear": return `ALL CLEAR ${e.zone}`;
      case "engagement": return `${e.gun} fires ${e.rounds} at track ${e.track_id}, ` +
        `Pk ${f(e.predicted_pk, 2)}`;
      case "gun_status": return `${e.gun} ${e.state}, ${e.magazine} rounds`;
      case "launch": return `(truth) round ${e.round_id} launched (${e.munition})`;
      case "impact": return `(truth) round ${e.round_id} landed`;
      case "outcome": return `(truth) ${e.gun} burst ${e.killed ? "KILLED" : "missed"} ` +
        `round ${e.round_id}`;
      case "plot_rejected": return `${e.count} plots rejected: ${e.reason}`;
      case "sensor_health": return `${e.sensor} ${e.status}`;
      case "header": return `stream of ${e.scenario || "?"}`;
      default: return e.kind;
    }
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;",
      '"': "&quot;", "'": "&#39;" }[c]));
  }

  // ------------------------------------------------------------------ status and controls
  function showStatus() {
    const s = view.status;
    const parts = [s.mode, s.scenario, s.state];
    if (s.speed) parts.push(`${s.speed}×`);
    if (s.paused) parts.push("paused");
    if (s.seed !== undefined) parts.push(`seed ${s.seed}`);
    if (s.error) parts.push(s.error);
    document.getElementById("status").textContent = parts.filter(Boolean).join(" · ");
    document.getElementById("play").textContent = s.paused ? "play" : "pause";
    const speed = document.getElementById("speed");
    if (s.speed && document.activeElement !== speed) {
      speed.value = s.speed;
      document.getElementById("speed-value").textContent = `${s.speed}×`;
    }
    const live = s.mode === "live";
    document.getElementById("controls").classList.toggle("live", live);
    for (const id of ["play", "speed"]) document.getElementById(id).disabled = live;
    document.getElementById("seek-row").hidden = s.mode !== "replay";
    document.getElementById("start-row").hidden = s.mode !== "simulation";
    if (s.mode === "replay") {
      const seek = document.getElementById("seek");
      seek.min = s.start_s; seek.max = s.end_s;
    }
    showRate();
  }

  async function control(what, body) {
    const msg = document.getElementById("control-msg");
    const token = document.getElementById("token").value.trim();
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    try {
      const r = await fetch(`/api/control/${what}`, { method: "POST", headers,
        body: JSON.stringify(body) });
      if (!r.ok) {
        const detail = await r.json().catch(() => ({}));
        msg.textContent = `${what}: ${r.status} ${detail.detail || ""}`;
        return false;
      }
      msg.textContent = "";
      return true;
    } catch (err) {
      msg.textContent = `${what}: ${err}`;
      return false;
    }
  }
  view.control = control;

  function setupControls() {
    const m = /token=([^&]+)/.exec(location.hash);
    if (m) document.getElementById("token").value = decodeURIComponent(m[1]);
    document.getElementById("play").addEventListener("click",
      () => control("pause", { paused: !view.status.paused }));
    const speed = document.getElementById("speed");
    speed.addEventListener("input", () => {
      document.getElementById("speed-value").textContent = `${speed.value}×`;
    });
    speed.addEventListener("change", () => control("speed", { speed: Number(speed.value) }));
    const seek = document.getElementById("seek");
    seek.addEventListener("change", () => control("seek", { time_s: Number(seek.value) }));
    document.getElementById("start").addEventListener("click", () => {
      const v = document.getElementById("seed").value;
      control("start", v === "" ? {} : { seed: Number(v) });
    });
    document.getElementById("show-truth").addEventListener("change", markDirty);
  }

  // ------------------------------------------------------------------ the stream
  function onMessage(msg) {
    view.messages += 1;
    if (msg.type === "picture") {
      view.picture = fromSnapshot(msg.picture);
      view.status = msg.status || {};
      if (msg.latency_ms !== null && msg.latency_ms !== undefined) view.latency = msg.latency_ms;
      showStatus();
    } else if (msg.type === "step") {
      for (const e of msg.events) apply(view.picture, e);
      advance(view.picture, msg.time_s);
      if (msg.latency_ms !== null && msg.latency_ms !== undefined) view.latency = msg.latency_ms;
    } else if (msg.type === "status") {
      view.status = msg.status || {};
      showStatus();
    }
    const seek = document.getElementById("seek");
    if (document.activeElement !== seek && view.picture.time_s !== null) {
      seek.value = view.picture.time_s;
    }
    markDirty();
  }

  function connect() {
    const source = new EventSource("/api/stream");
    const badge = document.getElementById("connection");
    source.onopen = () => { view.connected = true; badge.textContent = "live"; badge.className = "ok"; };
    source.onerror = () => { view.connected = false; badge.textContent = "offline"; badge.className = "bad"; };
    source.onmessage = ev => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (err) { return; }
      onMessage(msg);
    };
  }

  // drawn updates per second, over the last second
  let lastDraws = 0;
  setInterval(() => {
    view.drawRate = view.draws - lastDraws;
    lastDraws = view.draws;
    showRate();
  }, 1000);

  function showRate() {
    // paused, the rate says nothing of the page's speed
    document.getElementById("draw-rate").textContent =
      view.status.paused ? "— (paused)" : String(view.drawRate === undefined ? "—" : view.drawRate);
  }

  async function main() {
    setupControls();
    if (typeof L === "undefined") {
      document.getElementById("map").innerHTML =
        '<div class="cr-error">Leaflet did not load: reinstall counterram with npm available.</div>';
      return;
    }
    const r = await fetch("/api/site");
    view.site = await r.json();
    document.getElementById("title").textContent = `counterram · ${view.site.name}`;
    setupMap(view.site);
    connect();
    markDirty();
  }
  main();
})();
