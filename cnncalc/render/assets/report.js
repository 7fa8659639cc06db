/* cnncalc report: draws the graph (laid out by dagre), the charts and the details panel
   from the JSON in #cnncalc-data. Every file-controlled string reaches the page through
   textContent or an attribute value, never as HTML. */
(function () {
  "use strict";
  window.addEventListener("error", function (event) {
    document.body.setAttribute("data-error", String(event.message || event.error || "error"));
  });
  var D = JSON.parse(document.getElementById("cnncalc-data").textContent);
  var L = D.layers, C = D.clusters, N = L.name.length;
  var SVG = "http://www.w3.org/2000/svg";   // the SVG namespace, a name, never fetched
  var TARGET_NODES = 300, MAX_DRAWN = 1200;
  var AXIS_COLOURS = ["#2563eb", "#db2777", "#059669"];

  // -- small helpers ------------------------------------------------------------------
  function el(tag, attrs, parent, text) {
    var node = document.createElementNS(SVG, tag);
    for (var key in attrs) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  function html(tag, attrs, parent, text) {
    var node = document.createElement(tag);
    for (var key in attrs) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  function num(v) {
    if (typeof v === "number") return v;
    if (typeof v === "string" && /^-?\d+$/.test(v)) return Number(v);
    return NaN;
  }
  function maxOf(values) { var m = -Infinity; for (var i = 0; i < values.length; i++) if (values[i] > m) m = values[i]; return m; }
  function short(x) { return x >= 100 ? x.toFixed(1) : x >= 10 ? x.toFixed(2) : x.toFixed(3); }
  function fmtCount(v) {
    var x = num(v);
    if (isNaN(x)) return String(v);
    var a = Math.abs(x), s = x < 0 ? "-" : "";
    var units = [["T", 1e12], ["G", 1e9], ["M", 1e6], ["K", 1e3]];
    for (var i = 0; i < units.length; i++) if (a >= units[i][1]) return s + short(a / units[i][1]) + units[i][0];
    return s + String(a);
  }
  function fmtBytes(v) {
    var x = num(v);
    if (isNaN(x)) return String(v);
    var units = [["TiB", 1099511627776], ["GiB", 1073741824], ["MiB", 1048576], ["KiB", 1024]];
    for (var i = 0; i < units.length; i++) if (x >= units[i][1]) return (x / units[i][1]).toFixed(2) + " " + units[i][0];
    return String(x) + " B";
  }
  function exact(v) { var x = num(v); return isNaN(x) ? String(v) : (typeof v === "string" ? v : x.toLocaleString("en-US")); }
  function shapeText(shape) { return shape.length ? shape.join("\u00d7") : "scalar"; }
  function cutText(s, n) { return s.length > n ? s.slice(0, n - 1) + "\u2026" : s; }
  var METRICS = {macs: ["MACs", fmtCount], params: ["params", fmtCount], mem: ["activation memory", fmtBytes]};

  // -- blocks: nesting, sums, what is shown ------------------------------------------
  var depthOf = C.map(function () { return 0; });
  C.forEach(function (c, k) { depthOf[k] = c.parent === null ? 0 : depthOf[c.parent] + 1; });
  var chains = [];        // per layer: its blocks, outermost first
  var sums = C.map(function () { return {layers: 0, params: 0, macs: 0, mem: 0, last: -1, first: -1}; });
  for (var i = 0; i < N; i++) {
    var chain = [];
    for (var k = L.cluster[i]; k !== null && k >= 0; k = C[k].parent) chain.unshift(k);
    chains.push(chain);
    chain.forEach(function (k) {
      var s = sums[k];
      s.layers += 1; s.params += num(L.params[i]) || 0; s.macs += num(L.macs[i]) || 0; s.mem += num(L.mem[i]) || 0;
      if (s.first < 0) s.first = i;
      s.last = i;
    });
  }
  var inDegree = L.from.map(function (f) { return f.length; });
  var collapsed = new Set();
  var selected = null, pinned = false;

  function visibleCount(depth) {      // nodes shown when every block at `depth` is collapsed
    var count = 0;
    for (var i = 0; i < N; i++) if (chains[i].length <= depth) count++;
    C.forEach(function (c, k) { if (depthOf[k] === depth) count++; });
    return count;
  }
  function collapseAt(depth) {
    collapsed = new Set();
    if (depth === null) return;
    C.forEach(function (c, k) { if (depthOf[k] === depth) collapsed.add(k); });
  }
  function defaultDepth() {
    var hash = /depth=(\d+|all)/.exec(location.hash || "");
    if (hash) return hash[1] === "all" ? null : Number(hash[1]);
    if (N <= TARGET_NODES) return null;
    var maxDepth = maxOf([0].concat(depthOf.map(function (d) { return d + 1; })));
    for (var d = maxDepth - 1; d >= 0; d--) if (visibleCount(d) <= TARGET_NODES) return d;
    return 0;
  }
  function shownAs(i) {               // the node that stands for layer i
    var chain = chains[i];
    for (var j = 0; j < chain.length; j++) if (collapsed.has(chain[j])) return "c" + chain[j];
    return "n" + i;
  }

  // -- the graph ---------------------------------------------------------------------
  var metric = "macs";
  var graphBox = document.getElementById("graph-box");
  var scale = 1, graphSize = [0, 0];

  function colour(t) {
    var stops = [[248, 250, 252], [253, 230, 138], [249, 115, 22], [185, 28, 28]];
    t = Math.max(0, Math.min(1, t)) * (stops.length - 1);
    var i = Math.min(stops.length - 2, Math.floor(t)), f = t - i;
    var c = stops[i].map(function (a, j) { return Math.round(a + (stops[i + 1][j] - a) * f); });
    return "rgb(" + c.join(",") + ")";
  }
  function nodeValue(id) {
    if (id[0] === "n") return num(L[metric][Number(id.slice(1))]) || 0;
    return sums[Number(id.slice(1))][metric];
  }

  function drawGraph() {
    graphBox.textContent = "";
    var ids = [], seen = new Set();
    for (var i = 0; i < N; i++) { var id = shownAs(i); if (!seen.has(id)) { seen.add(id); ids.push(id); } }
    var svgRoot = el("svg", {id: "graph", "data-layers": String(N), "data-nodes": String(ids.length)}, graphBox);
    if (ids.length > MAX_DRAWN) {
      svgRoot.setAttribute("data-drawn", "0");
      svgRoot.setAttribute("width", "700"); svgRoot.setAttribute("height", "60");
      el("text", {x: 12, y: 30}, svgRoot, ids.length.toLocaleString("en-US") + " nodes even with every block collapsed: " +
         "too many to lay out here. The charts below show every layer; `cnncalc summarize --format dot` gives the graph.");
      return;
    }
    var g = new dagre.graphlib.Graph({compound: true, multigraph: true});
    g.setGraph({rankdir: "TB", nodesep: 16, ranksep: 26, edgesep: 8, marginx: 14, marginy: 14});
    g.setDefaultEdgeLabel(function () { return {}; });
    g.setNode("input", {width: 150, height: 34, kind: "input"});
    function clusterNode(k) {          // an expanded block: a dagre compound node
      var id = "k" + k;
      if (!g.hasNode(id)) {
        g.setNode(id, {kind: "cluster", k: k, paddingTop: 16});
        if (C[k].parent !== null) g.setParent(id, clusterNode(C[k].parent));
      }
      return id;
    }
    ids.forEach(function (id) {
      var k, parent = null;
      if (id[0] === "n") {
        var i = Number(id.slice(1));
        g.setNode(id, {width: 192, height: 50, kind: "layer", i: i});
        if (chains[i].length) parent = chains[i][chains[i].length - 1];
      } else {
        k = Number(id.slice(1));
        g.setNode(id, {width: 192, height: 50, kind: "block", k: k});
        parent = C[k].parent;
      }
      if (parent !== null) g.setParent(id, clusterNode(parent));
    });
    var edgeSeen = new Set();
    for (var t = 0; t < N; t++) {
      var target = shownAs(t);
      L.from[t].forEach(function (s, slot) {
        var source = s < 0 ? "input" : shownAs(s);
        if (source === target) return;
        var key = source + ">" + target;
        if (edgeSeen.has(key)) return;
        edgeSeen.add(key);
        var label = shapeText(s < 0 ? D.input_shape : L.shape[s]);
        g.setEdge(source, target, {width: 6 * label.length + 6, height: 12, labelpos: "c", label: label,
                                   skip: L.skip[t][slot]}, key);
      });
    }
    try {
      dagre.layout(g);
    } catch (err) {
      svgRoot.setAttribute("data-drawn", "0");
      el("text", {x: 12, y: 30}, svgRoot, "the layout failed (" + err + "); collapse blocks to draw fewer nodes");
      svgRoot.setAttribute("width", "700"); svgRoot.setAttribute("height", "60");
      return;
    }
    var size = g.graph();
    graphSize = [Math.ceil(size.width), Math.ceil(size.height)];
    svgRoot.setAttribute("viewBox", "0 0 " + graphSize[0] + " " + graphSize[1]);
    svgRoot.setAttribute("data-drawn", String(ids.length));
    var defs = el("defs", {}, svgRoot);
    var marker = el("marker", {id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7,
                               orient: "auto-start-reverse"}, defs);
    el("path", {d: "M 0 0 L 10 5 L 0 10 z", fill: "#64748b"}, marker);
    var layerClusters = el("g", {}, svgRoot), layerEdges = el("g", {}, svgRoot), layerNodes = el("g", {}, svgRoot);
    var clusterIds = g.nodes().filter(function (id) { return g.node(id).kind === "cluster"; });
    clusterIds.sort(function (a, b) { return depthOf[g.node(a).k] - depthOf[g.node(b).k]; });
    clusterIds.forEach(function (id) {
      var n = g.node(id), k = n.k;
      var box = el("g", {"class": "cluster", "data-cluster": String(k)}, layerClusters);
      el("rect", {x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, rx: 8}, box);
      var label = el("text", {x: n.x - n.width / 2 + 6, y: n.y - n.height / 2 + 12}, box,
                     "\u25be " + cutText(C[k].path + " (" + C[k].block + ")", Math.max(12, Math.floor(n.width / 6.2))));
      el("title", {}, label, "collapse " + C[k].path);
      label.addEventListener("click", function (event) { event.stopPropagation(); collapsed.add(k); relayout(); });
    });
    g.edges().forEach(function (e) {
      var edge = g.edge(e);
      var group = el("g", {"class": edge.skip ? "edge skip" : "edge"}, layerEdges);
      var d = edge.points.map(function (p, j) { return (j ? "L" : "M") + p.x.toFixed(1) + " " + p.y.toFixed(1); }).join(" ");
      el("path", {d: d, "marker-end": "url(#arrow)"}, group);
      if (edge.x !== undefined) el("text", {x: edge.x, y: edge.y + 3, "text-anchor": "middle"}, group, edge.label);
    });
    var maxValue = 0;
    ids.forEach(function (id) { maxValue = Math.max(maxValue, nodeValue(id)); });
    g.nodes().forEach(function (id) {
      var n = g.node(id);
      if (n.kind === "cluster") return;
      var x0 = n.x - n.width / 2, y0 = n.y - n.height / 2;
      if (n.kind === "input") {
        var inputNode = el("g", {"class": "input"}, layerNodes);
        el("rect", {x: x0, y: y0, width: n.width, height: n.height, rx: 16}, inputNode);
        el("text", {x: n.x, y: n.y + 4, "text-anchor": "middle"}, inputNode, "input " + shapeText(D.input_shape));
        return;
      }
      var lines, attrs = {"class": "node", "data-id": id};
      if (n.kind === "layer") {
        var i = n.i;
        lines = [L.name[i], L.type[i], shapeText(L.shape[i])];
        attrs["data-index"] = String(i); attrs["data-layers"] = "1";
        if (inDegree[i] > 1) attrs["class"] += " merge";
      } else {
        var s = sums[n.k];
        lines = ["\u25b8 " + C[n.k].path + " (" + C[n.k].block + ")", s.layers + " layers", shapeText(L.shape[s.last])];
        attrs["class"] += " block"; attrs["data-cluster"] = String(n.k); attrs["data-layers"] = String(s.layers);
      }
      var group = el("g", attrs, layerNodes);
      var t = maxValue > 0 ? Math.log1p(nodeValue(id)) / Math.log1p(maxValue) : 0;
      el("rect", {x: x0, y: y0, width: n.width, height: n.height, rx: 6, fill: colour(t)}, group);
      var ink = t > 0.8 ? "#ffffff" : "#0f172a";
      lines.forEach(function (line, j) {
        el("text", {x: n.x, y: y0 + 15 + 14 * j, "text-anchor": "middle", "class": ["name", "type", "shape"][j],
                    style: "fill:" + ink}, group, cutText(line, 28));
      });
      el("title", {}, group, lines.join("\n"));
      group.addEventListener("mouseenter", function () { if (!pinned) showDetails(id); });
      group.addEventListener("click", function (event) {
        event.stopPropagation();
        if (n.kind === "block") { collapsed.delete(n.k); relayout(); return; }
        pinned = true; select(id);
      });
    });
    applyScale();
  }
  function applyScale() {
    var svgRoot = document.getElementById("graph");
    if (!svgRoot || !graphSize[0]) return;
    svgRoot.setAttribute("width", String(Math.round(graphSize[0] * scale)));
    svgRoot.setAttribute("height", String(Math.round(graphSize[1] * scale)));
  }
  function fit() {
    if (!graphSize[0]) return;
    scale = Math.min(1, Math.max(0.1, (graphBox.clientWidth - 4) / graphSize[0]));
    applyScale();
  }
  function relayout() { drawGraph(); if (selected) markSelected(selected); }
  function markSelected(id) {
    var nodes = document.querySelectorAll("#graph .node");
    for (var j = 0; j < nodes.length; j++) nodes[j].classList.toggle("selected", nodes[j].getAttribute("data-id") === id);
  }
  function select(id) { selected = id; markSelected(id); showDetails(id); }
  function selectLayer(i) {
    var id = shownAs(i);
    pinned = true; select("n" + i);
    var node = document.querySelector('#graph .node[data-id="' + id + '"]');
    if (node && node.scrollIntoView) node.scrollIntoView({block: "center", inline: "center"});
  }

  // -- details: a layer's figures and explain formulas ----------------------------------
  var details = document.getElementById("details");
  function row(table, key, value) {
    var tr = html("tr", {}, table);
    html("td", {}, tr, key); html("td", {}, tr, value);
  }
  function showDetails(id) {
    details.textContent = "";
    if (id[0] === "c") {
      var k = Number(id.slice(1)), s = sums[k];
      html("h3", {}, details, C[k].path);
      var t = html("table", {}, details);
      row(t, "block", C[k].block); row(t, "layers", String(s.layers));
      row(t, "output", shapeText(L.shape[s.last])); row(t, "params", fmtCount(s.params));
      row(t, "MACs", fmtCount(s.macs)); row(t, "activations", fmtBytes(s.mem));
      html("p", {"class": "note"}, details, "Click the block to expand it; click a block's label to collapse it.");
      return;
    }
    var i = Number(id.slice(1));
    html("h3", {}, details, L.name[i]);
    var table = html("table", {}, details);
    row(table, "type", L.type[i]);
    if (L.loc[i]) row(table, "defined at", L.loc[i]);
    row(table, "from", L.from[i].map(function (s) { return s < 0 ? "input" : L.name[s]; }).join(", "));
    row(table, "output", "[" + L.shape[i].join(", ") + "]");
    row(table, "params", exact(L.params[i]) + (num(L.params[i]) !== num(L.trainable[i]) ? " (" + exact(L.trainable[i]) + " trainable)" : ""));
    row(table, "MACs", exact(L.macs[i])); row(table, "FLOPs", exact(L.flops[i]));
    row(table, "activations", exact(L.mem[i]) + " B (" + fmtBytes(L.mem[i]) + ")");
    row(table, "receptive field", L.rf[i].join("\u00d7") + (L.rf_global[i] ? " global" : "") + (L.aligned[i] ? "" : " (misaligned paths)"));
    var lines = L.explain[i];
    if (lines) {
      var pre = html("pre", {}, details);
      pre.textContent = lines.map(function (line) { return line[0] + " = " + line[1] + (line[2] ? " = " + line[2] : ""); }).join("\n");
    } else {
      html("p", {"class": "note"}, details, "Formulas: cnncalc explain " + D.source + " " + L.name[i]);
    }
  }

  // -- charts ------------------------------------------------------------------------------
  var tip = document.getElementById("tip");
  function niceTicks(max, count) {
    if (!(max > 0)) return [0, 1];
    var step = Math.pow(10, Math.floor(Math.log10(max / count)));
    [1, 2, 2.5, 5, 10].some(function (m) { if (max / (step * m) <= count) { step *= m; return true; } return false; });
    var ticks = [];
    for (var j = 0; j * step < max * 0.9999 + step; j++) ticks.push(j * step);
    return ticks;
  }
  function axisScale(max, kind) {     // [divisor, suffix] so that tick labels read "2.5M", "512 MiB"
    var units = kind === "bytes" ? [[1099511627776, " TiB"], [1073741824, " GiB"], [1048576, " MiB"], [1024, " KiB"], [1, " B"]]
      : kind === "count" ? [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "K"], [1, ""]] : [[1, ""]];
    for (var i = 0; i < units.length; i++) if (max >= units[i][0]) return units[i];
    return units[units.length - 1];
  }
  function frame(svgRoot, maxY, kind, count, xLabel) {   // count points along x (default: the layers)
    var n = count === undefined ? N : count;
    var W = svgRoot.clientWidth || 600, H = svgRoot.clientHeight || 230;
    svgRoot.setAttribute("viewBox", "0 0 " + W + " " + H);
    var f = {W: W, H: H, l: 62, r: 12, t: 12, b: 30, n: n};
    f.w = W - f.l - f.r; f.h = H - f.t - f.b;
    f.x = function (i) { return f.l + (n ? (i + 0.5) * f.w / n : 0); };
    var unit = axisScale(maxY, kind);
    var ticks = niceTicks(maxY / unit[0], 4);
    f.maxY = ticks[ticks.length - 1] * unit[0] || 1;
    f.y = function (v) { return f.t + f.h - (v / f.maxY) * f.h; };
    ticks.forEach(function (v) {
      var y = f.y(v * unit[0]);
      el("line", {"class": "grid", x1: f.l, x2: f.l + f.w, y1: y, y2: y}, svgRoot);
      el("text", {x: f.l - 6, y: y + 3, "text-anchor": "end"}, svgRoot, (v ? String(+v.toPrecision(4)) : "0") + (v ? unit[1] : ""));
    });
    el("line", {"class": "axis", x1: f.l, x2: f.l + f.w, y1: f.t + f.h, y2: f.t + f.h}, svgRoot);
    el("line", {"class": "axis", x1: f.l, x2: f.l, y1: f.t, y2: f.t + f.h}, svgRoot);
    var every = Math.max(1, Math.ceil(n / 8));
    for (var i = 0; i < n; i += every) el("text", {x: f.x(i), y: f.t + f.h + 13, "text-anchor": "middle"}, svgRoot, String(i));
    el("text", {x: f.l + f.w, y: H - 3, "text-anchor": "end"}, svgRoot, xLabel || "layer (execution order)");
    return f;
  }
  function hover(svgRoot, f, describe, layerOf) {   // layerOf(i): the layer point i stands for (-1: none)
    var cursor = el("line", {"class": "cursor", y1: f.t, y2: f.t + f.h, x1: -10, x2: -10}, svgRoot);
    var overlay = el("rect", {x: f.l, y: f.t, width: f.w, height: f.h, fill: "transparent"}, svgRoot);
    function index(event) {
      var box = svgRoot.getBoundingClientRect();
      var x = (event.clientX - box.left) * (f.W / box.width);
      return Math.max(0, Math.min(f.n - 1, Math.floor((x - f.l) / f.w * f.n)));
    }
    overlay.addEventListener("mousemove", function (event) {
      var i = index(event);
      cursor.setAttribute("x1", f.x(i)); cursor.setAttribute("x2", f.x(i));
      tip.textContent = describe(i);
      tip.style.display = "block";
      tip.style.left = (event.clientX + 14) + "px"; tip.style.top = (event.clientY + 10) + "px";
    });
    overlay.addEventListener("mouseleave", function () { tip.style.display = "none"; });
    overlay.addEventListener("click", function (event) {
      var i = layerOf ? layerOf(index(event)) : index(event);
      if (i >= 0) selectLayer(i);
    });
  }
  function noData(svgRoot, why) {
    svgRoot.setAttribute("data-points", "0");
    el("text", {x: 20, y: 40}, svgRoot, why);
  }
  function barChart(name, values, fmt) {
    var svgRoot = document.querySelector('svg.chart[data-chart="' + name + '"]');
    var numbers = values.map(num);
    if (numbers.some(isNaN)) return noData(svgRoot, "symbolic sizes: give them values (--set H=224,W=224) to chart this");
    var f = frame(svgRoot, maxOf([0].concat(numbers)), fmt === fmtBytes ? "bytes" : "count");
    var barWidth = Math.max(0.6, f.w / N * 0.8), d = [];
    numbers.forEach(function (v, i) {
      if (v <= 0) return;
      var x = f.x(i) - barWidth / 2, y = f.y(v);
      d.push("M" + x.toFixed(2) + " " + (f.t + f.h) + "V" + y.toFixed(2) + "h" + barWidth.toFixed(2) + "V" + (f.t + f.h) + "z");
    });
    el("path", {"class": "bars", d: d.join("")}, svgRoot);
    svgRoot.setAttribute("data-points", String(N));
    hover(svgRoot, f, function (i) { return L.name[i] + " (" + L.type[i] + ")\n" + fmt(values[i]) + "  [" + exact(values[i]) + "]"; });
  }
  function fieldChart() {
    var svgRoot = document.querySelector('svg.chart[data-chart="field"]');
    var extent = D.input_shape.slice(2).map(num);
    if (extent.some(isNaN) || L.rf.some(function (r) { return r.map(num).some(isNaN); }))
      return noData(svgRoot, "symbolic sizes: give them values (--set H=224,W=224) to chart this");
    var sizes = L.rf.map(function (r) { return r.map(num); });
    var maxY = maxOf(extent.concat(sizes.map(maxOf)));
    var f = frame(svgRoot, maxY, "plain");
    extent.forEach(function (size, a) {
      var y = f.y(size);
      el("line", {"class": "limit", x1: f.l, x2: f.l + f.w, y1: y, y2: y, style: "stroke:" + AXIS_COLOURS[a % 3]}, svgRoot);
      el("text", {x: f.l + 4 + 110 * a, y: y - 4}, svgRoot, "input " + D.axes[a] + " = " + size);
      var d = sizes.map(function (s, i) { return (i ? "L" : "M") + f.x(i).toFixed(2) + " " + f.y(s[a]).toFixed(2); }).join("");
      el("path", {"class": "line", d: d, style: "stroke:" + AXIS_COLOURS[a % 3]}, svgRoot);
    });
    svgRoot.setAttribute("data-points", String(N));
    hover(svgRoot, f, function (i) {
      return L.name[i] + "\nfield " + L.rf[i].join("\u00d7") + (L.rf_global[i] ? " global" : "") + " of input " + extent.join("\u00d7");
    });
  }
  function timelineChart() {
    var svgRoot = document.querySelector('svg.chart[data-chart="timeline"]');
    var T = D.timeline;
    if (!T) return noData(svgRoot, "symbolic sizes: give them values (--set H=224,W=224) to chart this");
    var f = frame(svgRoot, T.peak, "bytes");
    var base = f.t + f.h, half = f.w / N / 2, d = ["M" + f.l + " " + base, "L" + f.l + " " + f.y(T.start).toFixed(2)];
    for (var i = 0; i < N; i++) {
      d.push("L" + (f.x(i) - half).toFixed(2) + " " + f.y(T.allocated[i]).toFixed(2));
      d.push("L" + (f.x(i) + half).toFixed(2) + " " + f.y(T.after[i]).toFixed(2));
    }
    d.push("L" + (f.l + f.w) + " " + base + "z");
    el("path", {"class": "area", d: d.join("")}, svgRoot);
    var px = T.peak_layer === null ? f.l : f.x(T.peak_layer) - half, py = f.y(T.peak);
    el("circle", {"class": "peak", cx: px, cy: py, r: 4}, svgRoot);
    var where = T.peak_layer === null ? "the input" : L.name[T.peak_layer];
    el("text", {"class": "peak-label", x: px + (px > f.l + f.w * 0.6 ? -8 : 8), y: Math.max(f.t + 10, py + 4),
                "text-anchor": px > f.l + f.w * 0.6 ? "end" : "start"}, svgRoot,
       "peak " + fmtBytes(T.peak) + " at " + cutText(where, 48));
    svgRoot.setAttribute("data-points", String(N));
    svgRoot.setAttribute("data-peak-layer", where);
    hover(svgRoot, f, function (i) {
      return L.name[i] + "\nalive while it runs " + fmtBytes(T.allocated[i]) + ", after " + fmtBytes(T.after[i]);
    });
  }

  // The training step (--train): the engine's events (engine/training.py), drawn as they are:
  // bytes alive after each one, the phases shaded, the engine's peak marked and named.
  function trainChart() {
    var T = D.training;
    var charts = document.querySelector(".charts");
    var box = html("div", {"class": "chart-box", id: "chart-train"}, charts);
    var t = T.totals;
    html("h3", {}, box, "Memory alive over the training step (" + t.optimizer + ", " + t.precision + ", " + t.device +
         ", batch " + t.batch + "): forward, backward, optimizer step");
    var svgRoot = el("svg", {"class": "chart", "data-chart": "train"}, box);
    var alive = T.alive.map(num), count = alive.length;
    var byName = {};
    L.name.forEach(function (name, i) { byName[name] = i; });
    var f = frame(svgRoot, num(t.peak_bytes), "bytes", count, "event of the step (execution order)");
    var base = f.t + f.h, half = f.w / count / 2;
    var phases = [], start = 0;           // runs of one phase: [phase, first, last]
    for (var i = 1; i <= count; i++) {
      if (i === count || T.phase[i] !== T.phase[start]) { phases.push([T.phase[start], start, i - 1]); start = i; }
    }
    phases.forEach(function (run) {
      if (run[0] !== "forward" && run[0] !== "backward") return;
      var x0 = f.x(run[1]) - half, x1 = f.x(run[2]) + half;
      el("rect", {"class": "phase " + run[0], x: x0, y: f.t, width: x1 - x0, height: f.h}, svgRoot);
      el("text", {x: (x0 + x1) / 2, y: f.t + 10, "text-anchor": "middle", "class": "phase-label"}, svgRoot, run[0]);
    });
    var d = ["M" + (f.x(0) - half).toFixed(2) + " " + base];
    alive.forEach(function (v, i) {      // each event's bytes held until the next event
      d.push("L" + (f.x(i) - half).toFixed(2) + " " + f.y(v).toFixed(2));
      d.push("L" + (f.x(i) + half).toFixed(2) + " " + f.y(v).toFixed(2));
    });
    d.push("L" + (f.x(count - 1) + half).toFixed(2) + " " + base + "z");
    el("path", {"class": "area", d: d.join("")}, svgRoot);
    var p = T.peak_event, px = f.x(p), py = f.y(alive[p]), right = px > f.l + f.w * 0.6;
    el("circle", {"class": "peak", cx: px, cy: py, r: 4}, svgRoot);
    el("text", {"class": "peak-label", x: px + (right ? -8 : 8), y: Math.max(f.t + 22, py + 4),
                "text-anchor": right ? "end" : "start"}, svgRoot,
       "peak " + fmtBytes(t.peak_bytes) + " at " + cutText(t.peak_at, 56));
    svgRoot.setAttribute("data-points", String(count));
    svgRoot.setAttribute("data-peak-at", t.peak_at);
    hover(svgRoot, f, function (i) {
      return T.phase[i] + (T.layer[i] ? ": " + T.layer[i] : "") + "\nalive " + fmtBytes(T.alive[i]) + "  [" + exact(T.alive[i]) + " B]";
    }, function (i) { return T.layer[i] in byName ? byName[T.layer[i]] : -1; });
  }

  // -- header: totals and budget -----------------------------------------------------------
  function totals() {
    var box = document.getElementById("totals");
    var t = D.totals;
    var peakAt = D.timeline ? (D.timeline.peak_layer === null ? "the input" : L.name[D.timeline.peak_layer]) : "";
    [["params", fmtCount(t.params), exact(t.params) + (num(t.non_trainable_params) ? ", " + exact(t.trainable_params) + " trainable" : "")],
     ["MACs", fmtCount(t.macs), exact(t.macs)], ["FLOPs", fmtCount(t.flops), exact(t.flops)],
     ["parameter memory", fmtBytes(t.param_bytes), exact(t.param_bytes) + " B"],
     ["peak activation memory", fmtBytes(t.peak_activation_bytes), peakAt ? "at " + cutText(peakAt, 40) : ""],
     ["output", shapeText(D.output_shape), ""], ["receptive field", D.field, ""], ["layers", String(N), C.length + " blocks"]
    ].concat(D.training ? trainingCards(D.training.totals) : []).forEach(function (item) {
      var card = html("div", {"class": item[3] ? "card train" : "card"}, box);
      html("div", {"class": "k"}, card, item[0]); html("div", {"class": "v"}, card, item[1]);
      if (item[2]) html("div", {"class": "x"}, card, item[2]);
    });
    var budget = document.getElementById("budget");
    if (D.budget === null) { budget.parentNode.removeChild(budget); return; }
    html("h2", {}, budget, "Budget");
    if (D.budget.error) { html("p", {"class": "note"}, budget, D.budget.error); return; }
    var list = html("ul", {"class": "budget"}, budget);
    D.budget.checks.forEach(function (c) { html("li", {"class": c.ok ? "ok" : "fail"}, list, c.text); });
  }

  function trainingCards(t) {            // [key, value, exact, training?]
    return [["backward MACs", fmtCount(t.backward_macs), exact(t.backward_macs), 1],
            ["saved for backward", fmtBytes(t.saved_bytes), exact(t.saved_bytes) + " B", 1],
            ["gradients", fmtBytes(t.grad_bytes), exact(t.grad_bytes) + " B", 1],
            ["optimizer state (" + t.optimizer + ")", fmtBytes(t.optimizer_state_bytes), exact(t.optimizer_state_bytes) + " B", 1],
            ["training step peak", fmtBytes(t.peak_bytes), "at " + cutText(t.peak_at, 40), 1]];
  }

  // -- start -------------------------------------------------------------------------------
  document.getElementById("metric").addEventListener("change", function (event) { metric = event.target.value; relayout(); });
  document.getElementById("expand-all").addEventListener("click", function () { collapseAt(null); relayout(); });
  document.getElementById("collapse-all").addEventListener("click", function () { collapseAt(0); relayout(); });
  document.getElementById("zoom-in").addEventListener("click", function () { scale = Math.min(3, scale * 1.25); applyScale(); });
  document.getElementById("zoom-out").addEventListener("click", function () { scale = Math.max(0.1, scale / 1.25); applyScale(); });
  document.getElementById("zoom-fit").addEventListener("click", fit);
  graphBox.addEventListener("click", function () { pinned = false; });
  totals();
  collapseAt(defaultDepth());
  drawGraph();
  fit();
  if (N) showDetails("n" + (D.timeline && D.timeline.peak_layer !== null ? D.timeline.peak_layer : 0));
  barChart("params", L.params, fmtCount);
  barChart("macs", L.macs, fmtCount);
  barChart("memory", L.mem, fmtBytes);
  fieldChart();
  timelineChart();
  if (D.training) trainChart();
  function boxes() {      // where each part is drawn, for tests that look at a screenshot
    var charts = ["params", "macs", "memory", "field", "timeline"].concat(D.training ? ["train"] : []);
    ["graph-box"].concat(charts.map(function (n) { return "chart-" + n; })).forEach(function (id) {
      var node = document.getElementById(id), r = node.getBoundingClientRect();
      node.setAttribute("data-box", [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height].map(Math.round).join(","));
    });
  }
  boxes();
  document.body.setAttribute("data-ready", "1");
})();
