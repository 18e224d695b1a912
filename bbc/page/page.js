// bbc report: fold subtrees, zoom, find. Places boxes as bbc/page/layout.py does: one column
// per depth, every visible leaf its own row, a parent midway between its first and last child.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("bbc-graph").textContent);
  var svg = document.getElementById("graph"), canvas = document.getElementById("canvas");
  var NS = "http://www.w3.org/2000/svg";
  var nodes = {}, kids = {}, roots = [], depth = {}, ok = {}, collapsed = {}, scale = 1;
  data.ok.forEach(function (u) { ok[u] = true; });
  data.units.forEach(function (u) {
    nodes[u] = document.getElementById("node-" + u);
    var p = data.parent[u];
    if (p) { (kids[p] = kids[p] || []).push(u); depth[u] = depth[p] + 1; } else { roots.push(u); depth[u] = 0; }
  });
  var edges = Array.prototype.slice.call(svg.querySelectorAll(".edge"));

  function below(u) {  // every unit under u
    var out = [], stack = (kids[u] || []).slice();
    while (stack.length) { var k = stack.pop(); out.push(k); stack.push.apply(stack, kids[k] || []); }
    return out;
  }
  function width(u) { return parseFloat(nodes[u].querySelector("rect").getAttribute("width")); }

  function layout() {
    var row = {}, next = 0, shown = {}, stack = roots.slice().reverse().map(function (r) { return [r, false]; });
    while (stack.length) {
      var top = stack.pop(), u = top[0], ks = collapsed[u] ? [] : (kids[u] || []);
      shown[u] = true;
      if (!ks.length) { row[u] = next++; }
      else if (top[1]) { row[u] = (row[ks[0]] + row[ks[ks.length - 1]]) / 2; }
      else { stack.push([u, true]); for (var i = ks.length - 1; i >= 0; i--) stack.push([ks[i], false]); }
    }
    var pos = {};
    data.units.forEach(function (u) {
      var g = nodes[u];
      g.style.display = shown[u] ? "" : "none";
      if (!shown[u]) return;
      pos[u] = [data.columns[depth[u]], data.margin + row[u] * data.row];
      g.setAttribute("transform", "translate(" + pos[u][0] + "," + pos[u][1] + ")");
    });
    edges.forEach(function (e) {
      var a = e.getAttribute("data-source"), b = e.getAttribute("data-target");
      if (!pos[a] || !pos[b]) { e.style.display = "none"; return; }
      e.style.display = "";
      var x1 = pos[a][0] + width(a), y1 = pos[a][1] + data.box / 2, x2 = pos[b][0], y2 = pos[b][1] + data.box / 2;
      var bend = Math.max(data.gap / 2, Math.abs(x2 - x1) / 2);
      if (e.classList.contains("uses") && x2 <= x1) { x1 = pos[a][0]; bend = -bend; }
      e.setAttribute("d", "M" + x1 + "," + y1 + " C" + (x1 + bend) + "," + y1 + " " + (x2 - bend) + "," + y2 + " " + x2 + "," + y2);
    });
    var w = 0, h = 0;
    Object.keys(pos).forEach(function (u) { w = Math.max(w, pos[u][0] + width(u)); h = Math.max(h, pos[u][1] + data.box); });
    svg.setAttribute("viewBox", "0 0 " + (w + data.margin + 60) + " " + (h + data.margin));
    zoom(scale);
  }

  function mark(u) {
    var g = nodes[u], t = g.querySelector(".toggle text"), count = g.querySelector(".count");
    g.classList.toggle("collapsed", !!collapsed[u]);
    if (t) t.textContent = collapsed[u] ? "+" : "\u2212";
    if (collapsed[u] && !count) {
      count = document.createElementNS(NS, "text");
      count.setAttribute("class", "count");
      count.setAttribute("x", width(u) + 10);
      count.setAttribute("y", data.box / 2 + 4);
      g.appendChild(count);
    }
    if (count) count.textContent = collapsed[u] ? "+" + below(u).length : "";
  }
  function fold(u, on) { if (kids[u]) { if (on) collapsed[u] = true; else delete collapsed[u]; mark(u); } }

  function zoom(s) {
    var vb = svg.getAttribute("viewBox").split(" ").map(parseFloat);
    scale = Math.max(0.1, Math.min(3, s));
    svg.setAttribute("width", vb[2] * scale);
    svg.setAttribute("height", vb[3] * scale);
  }
  function fit() {
    var vb = svg.getAttribute("viewBox").split(" ").map(parseFloat);
    zoom(Math.min(1, (canvas.clientWidth - 4) / vb[2], (canvas.clientHeight - 4) / vb[3]));
  }
  function collapseOk() {  // fold, from depth 2 down, every subtree with nothing to look at
    data.units.forEach(function (u) {
      var all = below(u);
      if (depth[u] >= 2 && all.length && all.every(function (k) { return ok[k]; })) fold(u, true);
    });
  }
  function reveal(u) {
    for (var p = data.parent[u]; p; p = data.parent[p]) fold(p, false);
    layout();
    Array.prototype.forEach.call(svg.querySelectorAll(".found"), function (g) { g.classList.remove("found"); });
    nodes[u].classList.add("found");
    nodes[u].scrollIntoView({block: "center", inline: "center"});
  }

  svg.addEventListener("click", function (ev) {
    var t = ev.target.closest(".toggle");
    if (!t) return;
    ev.preventDefault();
    var u = t.getAttribute("data-unit");
    fold(u, !collapsed[u]);
    layout();
  });
  document.querySelectorAll("[data-zoom]").forEach(function (b) {
    b.addEventListener("click", function () {
      var z = b.getAttribute("data-zoom");
      if (z === "in") zoom(scale * 1.25); else if (z === "out") zoom(scale / 1.25); else if (z === "fit") fit(); else zoom(1);
    });
  });
  canvas.addEventListener("wheel", function (ev) {
    if (!ev.ctrlKey) return;
    ev.preventDefault();
    zoom(scale * (ev.deltaY < 0 ? 1.1 : 1 / 1.1));
  }, {passive: false});
  document.getElementById("expand-all").addEventListener("click", function () {
    Object.keys(collapsed).forEach(function (u) { fold(u, false); });
    layout();
  });
  document.getElementById("collapse-ok").addEventListener("click", function () { collapseOk(); layout(); });
  var find = document.getElementById("find"), list = document.createElement("datalist");
  list.id = "units";
  data.units.forEach(function (u) { var o = document.createElement("option"); o.value = u; list.appendChild(o); });
  document.body.appendChild(list);
  find.addEventListener("change", function () { if (nodes[find.value]) reveal(find.value); });
  window.addEventListener("hashchange", function () {
    var id = decodeURIComponent(location.hash.slice(1));
    if (id.indexOf("node-") === 0 && nodes[id.slice(5)]) reveal(id.slice(5));
  });
  if (data.units.length > data.collapseAbove) collapseOk();
  layout();
})();
