/* evroam dashboard: live refresh, the map and the session chart. Plain JS, served by the node. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }
  function stamp(text) {
    var out = document.getElementById("updated");
    if (out) out.textContent = text;
  }
  function clock() { return new Date().toLocaleTimeString(); }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (r.status === 401) { window.location.href = "/dashboard/login"; throw new Error("logged out"); }
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    });
  }

  /* -- live refresh of server-rendered pages (?fragment=1 of the same URL) ---------------------- */
  function live() {
    var box = document.getElementById("live");
    if (!box || !box.dataset.live) return;
    var every = parseInt(box.dataset.live, 10) * 1000;
    function refresh() {
      if (document.hidden || box.contains(document.activeElement) && document.activeElement.tagName !== "BODY") {
        return;
      }
      var url = window.location.pathname + window.location.search;
      url += (url.indexOf("?") < 0 ? "?" : "&") + "fragment=1";
      fetch(url, { credentials: "same-origin", redirect: "manual" }).then(function (r) {
        if (r.type === "opaqueredirect" || r.status === 303) { window.location.reload(); return null; }
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (html === null) return;
        var open = [];
        box.querySelectorAll("details").forEach(function (d, i) { if (d.open) open.push(i); });
        box.innerHTML = html;
        var all = box.querySelectorAll("details");
        open.forEach(function (i) { if (all[i]) all[i].open = true; });
        stamp("updated " + clock());
      }).catch(function () { stamp("update failed at " + clock() + ", retrying"); });
    }
    stamp("live: updated every " + box.dataset.live + " s");
    window.setInterval(refresh, every);
  }

  /* -- the map: locations plotted from their coordinates (no tiles) ----------------------------- */
  function map() {
    var svg = document.getElementById("map");
    if (!svg) return;
    var info = document.getElementById("map-info");
    var W = 1000, H = 600, view = [0, 0, W, H], data = null, circles = {}, selected = null;
    var layer = el("g", {}, svg), grid = el("g", {}, layer), dots = el("g", {}, layer);

    function project(rows) {
      var lat0 = Infinity, lat1 = -Infinity, lon0 = Infinity, lon1 = -Infinity;
      rows.forEach(function (r) {
        lat0 = Math.min(lat0, r[4]); lat1 = Math.max(lat1, r[4]);
        lon0 = Math.min(lon0, r[5]); lon1 = Math.max(lon1, r[5]);
      });
      if (!rows.length) { lat0 = 50; lat1 = 54; lon0 = 3; lon1 = 8; }
      var padLat = Math.max((lat1 - lat0) * 0.08, 0.01), padLon = Math.max((lon1 - lon0) * 0.08, 0.01);
      lat0 -= padLat; lat1 += padLat; lon0 -= padLon; lon1 += padLon;
      var k = Math.cos(((lat0 + lat1) / 2) * Math.PI / 180);
      var sx = W / ((lon1 - lon0) * k), sy = H / (lat1 - lat0), s = Math.min(sx, sy);
      var ox = (W - (lon1 - lon0) * k * s) / 2, oy = (H - (lat1 - lat0) * s) / 2;
      return {
        x: function (lon) { return ox + (lon - lon0) * k * s; },
        y: function (lat) { return H - oy - (lat - lat0) * s; },
        lat0: lat0, lat1: lat1, lon0: lon0, lon1: lon1
      };
    }
    function step(span) {
      var steps = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 45];
      for (var i = 0; i < steps.length; i++) if (span / steps[i] <= 8) return steps[i];
      return 90;
    }
    function drawGrid(p) {
      grid.textContent = "";
      var s = step(Math.max(p.lat1 - p.lat0, p.lon1 - p.lon0)), v;
      for (v = Math.ceil(p.lat0 / s) * s; v <= p.lat1; v += s) {
        el("line", { x1: 0, x2: W, y1: p.y(v), y2: p.y(v), "class": "grid" }, grid);
        el("text", { x: 4, y: p.y(v) - 3, "class": "grid-label" }, grid).textContent = v.toFixed(3) + "°";
      }
      for (v = Math.ceil(p.lon0 / s) * s; v <= p.lon1; v += s) {
        el("line", { y1: 0, y2: H, x1: p.x(v), x2: p.x(v), "class": "grid" }, grid);
        el("text", { x: p.x(v) + 3, y: H - 4, "class": "grid-label" }, grid).textContent = v.toFixed(3) + "°";
      }
    }
    function keyOf(r) { return r[0] + "*" + r[1] + "*" + r[2]; }
    function show(r) {
      if (selected && circles[selected]) circles[selected].classList.remove("selected");
      selected = keyOf(r);
      circles[selected].classList.add("selected");
      var href = "/dashboard/locations/" + [r[0], r[1], r[2]].map(encodeURIComponent).join("/");
      info.textContent = "";
      var h = document.createElement("h3"); h.textContent = r[3]; info.appendChild(h);
      [["Owner", r[0] + "*" + r[1]], ["Id", r[2]], ["Source", r[7]], ["EVSEs", r[9] + " of " + r[8] + " available"],
       ["Status", r[6]], ["Position", r[4].toFixed(5) + ", " + r[5].toFixed(5)]].forEach(function (pair) {
        var p = document.createElement("p"), b = document.createElement("b");
        b.textContent = pair[0] + ": "; p.appendChild(b); p.appendChild(document.createTextNode(pair[1]));
        info.appendChild(p);
      });
      var a = document.createElement("a"); a.href = href; a.textContent = "Open its EVSEs"; a.id = "map-open";
      info.appendChild(a);
    }
    function filter() {
      var own = document.getElementById("show-own").checked, rec = document.getElementById("show-received").checked;
      var shown = 0;
      (data ? data.locations : []).forEach(function (r) {
        var visible = r[7] === "own" ? own : rec;
        circles[keyOf(r)].style.display = visible ? "" : "none";
        if (visible) shown++;
      });
      document.getElementById("map-count").textContent = shown + " locations shown";
    }
    function draw(d) {
      data = d;
      var p = project(d.locations), radius = d.locations.length > 2000 ? 2.5 : 6;
      drawGrid(p);
      var fresh = {};
      d.locations.forEach(function (r) {
        var key = keyOf(r), c = circles[key];
        if (!c) {
          c = el("circle", { r: radius }, dots);
          c.dataset.key = key;
          c.addEventListener("click", function () { show(r); });
          var t = el("title", {}, c);
          t.textContent = r[3];
        }
        c.setAttribute("cx", p.x(r[5]).toFixed(2));
        c.setAttribute("cy", p.y(r[4]).toFixed(2));
        c.setAttribute("class", r[6] + (key === selected ? " selected" : ""));
        c.dataset.name = r[3];
        fresh[key] = c;
      });
      Object.keys(circles).forEach(function (k) { if (!fresh[k]) circles[k].remove(); });
      circles = fresh;
      filter();
      stamp("updated " + clock());
    }
    function load() { getJSON("/dashboard/api/map").then(draw).catch(function (e) { stamp("map: " + e.message); }); }
    function setView() { svg.setAttribute("viewBox", view.join(" ")); }
    svg.addEventListener("wheel", function (e) {
      e.preventDefault();
      var box = svg.getBoundingClientRect(), f = e.deltaY < 0 ? 0.8 : 1.25;
      var mx = view[0] + (e.clientX - box.left) / box.width * view[2];
      var my = view[1] + (e.clientY - box.top) / box.height * view[3];
      view = [mx - (mx - view[0]) * f, my - (my - view[1]) * f, view[2] * f, view[3] * f];
      setView();
    }, { passive: false });
    var drag = null;
    svg.addEventListener("mousedown", function (e) { drag = [e.clientX, e.clientY, view[0], view[1]]; });
    window.addEventListener("mouseup", function () { drag = null; });
    window.addEventListener("mousemove", function (e) {
      if (!drag) return;
      var box = svg.getBoundingClientRect();
      view[0] = drag[2] - (e.clientX - drag[0]) / box.width * view[2];
      view[1] = drag[3] - (e.clientY - drag[1]) / box.height * view[3];
      setView();
    });
    svg.addEventListener("dblclick", function () { view = [0, 0, W, H]; setView(); });
    document.getElementById("show-own").addEventListener("change", filter);
    document.getElementById("show-received").addEventListener("change", filter);
    load();
    window.setInterval(function () { if (!document.hidden) load(); }, 15000);
  }

  /* -- the session chart: power (kW, step) and cumulative energy (kWh, area) --------------------- */
  function chart() {
    var svg = document.getElementById("session-chart");
    if (!svg) return;
    var W = 800, H = 320, L = 56, R = 56, T = 14, B = 34;
    function nice(max) {
      if (!(max > 0)) return 1;
      var e = Math.pow(10, Math.floor(Math.log10(max))), m = max / e;
      return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * e;
    }
    function draw(d) {
      svg.textContent = "";
      var kwh = document.getElementById("session-kwh");
      if (kwh) kwh.textContent = d.kwh.toFixed(3);
      if (d.times.length < 2) {
        el("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, svg).textContent = "no meter readings yet";
        return;
      }
      var t = d.times.map(function (s) { return Date.parse(s); });
      var t0 = t[0], t1 = t[t.length - 1] > t0 ? t[t.length - 1] : t0 + 1;
      var pMax = nice(Math.max.apply(null, d.power_kw.map(function (v) { return v || 0; })));
      var eMax = nice(Math.max.apply(null, d.energy_kwh));
      var x = function (v) { return L + (v - t0) / (t1 - t0) * (W - L - R); };
      var yp = function (v) { return H - B - v / pMax * (H - T - B); };
      var ye = function (v) { return H - B - v / eMax * (H - T - B); };
      for (var i = 0; i <= 4; i++) {
        var gy = T + i * (H - T - B) / 4;
        el("line", { x1: L, x2: W - R, y1: gy, y2: gy, "class": "gridline" }, svg);
        el("text", { x: L - 6, y: gy + 4, "text-anchor": "end" }, svg).textContent = (pMax * (4 - i) / 4).toFixed(1);
        el("text", { x: W - R + 6, y: gy + 4 }, svg).textContent = (eMax * (4 - i) / 4).toFixed(1);
      }
      el("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, "class": "axis" }, svg);
      el("text", { x: 8, y: 12 }, svg).textContent = "kW";
      el("text", { x: W - 30, y: 12 }, svg).textContent = "kWh";
      for (i = 0; i <= 4; i++) {
        var tv = t0 + (t1 - t0) * i / 4;
        el("text", { x: x(tv), y: H - 12, "text-anchor": "middle" }, svg).textContent =
          new Date(tv).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      }
      var area = "M" + x(t[0]) + "," + ye(0);
      t.forEach(function (v, j) { area += " L" + x(v).toFixed(1) + "," + ye(d.energy_kwh[j]).toFixed(1); });
      area += " L" + x(t[t.length - 1]) + "," + ye(0) + " Z";
      el("path", { d: area, "class": "energy" }, svg);
      var line = "";
      t.forEach(function (v, j) {
        var p = d.power_kw[j] === null ? 0 : d.power_kw[j];
        line += (j ? " L" + x(v).toFixed(1) + "," + yp(d.power_kw[j - 1] || 0).toFixed(1) + " L" : "M") +
          x(v).toFixed(1) + "," + yp(p).toFixed(1);
      });
      el("path", { d: line, "class": "power" }, svg);
      svg.dataset.points = String(t.length);
      stamp("updated " + clock() + (d.status === "ACTIVE" ? " (live)" : ""));
    }
    function load() {
      getJSON(svg.dataset.src).then(function (d) {
        draw(d);
        if (d.status === "ACTIVE") window.setTimeout(load, 5000);
      }).catch(function (e) { stamp("chart: " + e.message); });
    }
    load();
  }

  function localTimes() {
    document.querySelectorAll("time[datetime]").forEach(function (node) {
      node.title = new Date(node.getAttribute("datetime")).toLocaleString();
    });
  }

  document.addEventListener("DOMContentLoaded", function () { live(); map(); chart(); localTimes(); });
})();
