"""`cnncalc report`: one self-contained HTML file — the graph, the charts, the totals.

The page works offline: dagre (the graph layout, vendored in ``assets/``),
the page's script and its style are inlined; nothing is fetched. The data
goes in as JSON inside ``<script type="application/json">`` with ``<``,
``>``, ``&`` and U+2028/U+2029 written as ``\\uXXXX``, so no layer name can
close the script element; the page's script puts every string into the
DOM as text (``textContent``), never as HTML. File-controlled strings are
also made visible (:func:`cnncalc.text.visible`) before they go in.

Explain formulas come from :func:`cnncalc.explain.explain`, which analyses
the network once per explained layer; to stay linear-ish they are included
for every layer of a network up to ``EXPLAIN_WORK / layers`` layers (all of
ResNet-50's 175), the most expensive layers first, and otherwise the panel
names the ``cnncalc explain`` command.
"""

from __future__ import annotations

import html
import json
import re
import time
from importlib import resources
from typing import Any, Mapping

from .._version import __version__
from ..report import Report, json_value
from ..text import cut, visible
from .graph import build_graph
from .rows import field_text
from .timeline import Timeline, memory_timeline

EXPLAIN_WORK = 40_000          # layers explained × layers per analysis, at most
JS_SAFE_INT = 2**53            # larger exact integers go to the page as strings


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def _script_asset(name: str) -> str:
    """A vendored script without its source-map comment (the map is not shipped, nothing is fetched)."""
    lines = _asset(name).splitlines()
    return "\n".join(line for line in lines if not line.startswith("//# sourceMappingURL="))


def _exact(value: Any) -> Any:
    """An exact figure for the page: an int JavaScript holds exactly, else its decimal or formula string."""
    value = json_value(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value if abs(value) < JS_SAFE_INT else str(value)
    return visible(value) if isinstance(value, str) else value


def _shape(shape: tuple) -> list:
    return [_exact(d) for d in shape]


def script_json(data: Any) -> str:
    """JSON that is inert inside a ``<script>`` element: '<', '>', '&', U+2028 and U+2029 escaped."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _explanations(report: Report, network: Any, overrides: Mapping[str, Any]) -> list:
    """explain()'s lines for as many layers as EXPLAIN_WORK allows, the costliest first."""
    count = len(report.layers)
    out: list = [None] * count
    if network is None or count == 0:
        return out
    from ..explain import explain
    budget = max(1, EXPLAIN_WORK // count)
    order = sorted(range(count), key=lambda i: _cost(report.layers[i]), reverse=True)[:budget]
    for index in sorted(order):
        row = report.layers[index]
        explanation = explain(network, row.name, **overrides)
        out[index] = [[visible(label), visible(formula), "" if value is None else visible(_value_text(value))]
                      for label, formula, value in explanation.lines]
    return out


def _cost(row: Any) -> tuple:
    macs, params = json_value(row.macs), json_value(row.params)
    return (macs if isinstance(macs, int) else 0, params if isinstance(params, int) else 0)


def _value_text(value: Any) -> str:
    shown = json_value(value)
    return f"{shown:,}" if isinstance(shown, int) else str(shown)


def _budget(report: Report, network: Any) -> dict | None:
    """The file's budget verdicts (cnncalc.budget), or None when the file has no budget."""
    if network is None or not getattr(network, "budget", None):
        return None
    from ..budget import evaluate_limits, read_budget
    from ..errors import CnnCalcError
    limits = read_budget(network.budget)
    try:
        checks = evaluate_limits(report, limits)
    except CnnCalcError as err:          # symbolic totals cannot be compared
        return {"error": visible(str(err)), "checks": []}
    return {"checks": [{"name": visible(c.name), "ok": c.ok, "text": visible(c.describe())} for c in checks]}


def page_data(report: Report, *, network: Any = None, the_plan: Any = None,
              overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything the page shows, as JSON values (exact integers, visible strings)."""
    graph = build_graph(report)
    index = {node.id: node.index for node in graph.nodes}
    rows = report.layers
    timeline: Timeline | None = None
    if network is not None and the_plan is None:
        from ..engine import plan
        the_plan = plan(network)
    if the_plan is not None:
        timeline = memory_timeline(report, the_plan)
    froms: list[list[int]] = [[] for _ in rows]
    skips: list[list[bool]] = [[] for _ in rows]
    for edge in graph.edges:
        froms[index[edge.target]].append(-1 if edge.source not in index else index[edge.source])
        skips[index[edge.target]].append(edge.skip)
    spatial = len(report.input_shape) - 2
    return {
        "name": visible(report.name), "source": visible(report.source),
        "input_shape": _shape(report.input_shape), "dtype": visible(report.dtype), "batch": report.batch,
        "axes": ["L"] if spatial == 1 else ["D", "H", "W"][-spatial:] if spatial > 0 else [],
        "symbols": [visible(s) for s in report.symbols],
        "totals": {key: _exact(value) for key, value in report.totals.to_dict().items()},
        "output_shape": _shape(report.output_shape), "field": visible(field_text(report.receptive_field)),
        "layers": {
            "name": [visible(row.name) for row in rows], "type": [visible(row.type) for row in rows],
            "loc": [visible(row.loc) if row.loc is not None else "" for row in rows],
            "shape": [_shape(row.output_shape) for row in rows], "from": froms, "skip": skips,
            "params": [_exact(row.params) for row in rows], "trainable": [_exact(row.trainable_params) for row in rows],
            "macs": [_exact(row.macs) for row in rows], "flops": [_exact(row.flops) for row in rows],
            "mem": [_exact(row.activation_bytes) for row in rows],
            # the exact extent read, global or not (a global field need not span the input: SqueezeNet's 223)
            "rf": [_shape(row.receptive_field.size) for row in rows],
            "rf_global": [row.receptive_field.is_global for row in rows],
            "aligned": [row.receptive_field.aligned for row in rows],
            "cluster": [-1 if node.cluster is None else node.cluster for node in graph.nodes],
            "explain": _explanations(report, network, overrides or {}),
        },
        "clusters": [{"path": visible(c.path), "block": visible(c.block), "parent": c.parent}
                     for c in graph.clusters],
        "timeline": None if timeline is None else {
            "start": timeline.start, "allocated": list(timeline.allocated), "after": list(timeline.after),
            "peak": timeline.peak, "peak_layer": timeline.peak_layer},
        "budget": _budget(report, network),
        "training": _training(report),
        "generator": f"cnncalc {__version__}",
    }


def _training(report: Report) -> dict[str, Any] | None:
    """The training step's totals and its timeline as the engine gave them (``report.training``,
    engine/training.py: one (phase, layer, bytes alive) per event), or None without --train.
    Nothing is recomputed here: the page draws these events and names the engine's peak."""
    step = getattr(report, "training", None)
    if step is None:
        return None
    events = step.timeline
    alive = [json_value(bytes_alive) for _, _, bytes_alive in events]
    return {
        "totals": {key: _exact(value) for key, value in step.to_dict().items()},
        "phase": [visible(phase) for phase, _, _ in events],
        "layer": [visible(name) for _, name, _ in events],
        "alive": [_exact(value) for value in alive],
        # the event the engine's peak is (max() there keeps the first of equal events)
        "peak_event": max(range(len(alive)), key=alive.__getitem__) if alive else None,
    }


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="@@generator@@">
<title>@@title@@</title>
<style>
@@css@@
</style>
</head>
<body>
<header>
<h1 id="title">@@title@@</h1>
<div class="sub">@@subtitle@@</div>
<div class="totals" id="totals"></div>
<div id="budget"></div>
</header>
<main>
<h2>Graph</h2>
<div class="toolbar">
<label>colour by <select id="metric"><option value="macs">MACs</option><option value="params">params</option>
<option value="mem">activation memory</option></select></label>
<span class="legend">low <span class="ramp"></span> high (log scale)</span>
<button id="expand-all" type="button">expand all</button><button id="collapse-all" type="button">collapse blocks</button>
<button id="zoom-out" type="button">&minus;</button><button id="zoom-in" type="button">+</button><button id="zoom-fit" type="button">fit</button>
<span class="note">click a block to expand it, its label to collapse it; hover or click a layer for its formulas;
dashed blue edges skip ahead, double borders merge</span>
</div>
<div class="layout">
<div id="graph-box"></div>
<aside id="details"></aside>
</div>
<h2>Along the network</h2>
<div class="charts">
<div class="chart-box" id="chart-params"><h3>Parameters per layer</h3><svg class="chart" data-chart="params"></svg></div>
<div class="chart-box" id="chart-macs"><h3>MACs per layer</h3><svg class="chart" data-chart="macs"></svg></div>
<div class="chart-box" id="chart-memory"><h3>Activation memory per layer (each layer's output)</h3><svg class="chart" data-chart="memory"></svg></div>
<div class="chart-box" id="chart-field"><h3>Receptive field size per layer, against the input size</h3><svg class="chart" data-chart="field"></svg></div>
<div class="chart-box" id="chart-timeline"><h3>Activation memory alive over the forward pass</h3><svg class="chart" data-chart="timeline"></svg></div>
</div>
</main>
<footer>@@generator@@; every figure computed analytically from @@source@@. Layout by dagre @@dagre_version@@ (MIT).</footer>
<div class="tip" id="tip"></div>
<script type="application/json" id="cnncalc-data">@@data@@</script>
<script>
@@dagre@@
</script>
<script>
@@js@@
</script>
</body>
</html>
"""

DAGRE_VERSION = "3.1.3"
_PLACEHOLDER = re.compile(r"@@(\w+)@@")


def render_html(report: Report, *, network: Any = None, the_plan: Any = None,
                overrides: Mapping[str, Any] | None = None) -> str:
    """The report page for ``report``. With ``network`` (the loaded NetworkSpec it came from)
    the page also has the memory timeline, the explain formulas and the budget verdicts;
    ``overrides`` are the analysis keywords (input, sizes, batch, dtype) explain needs."""
    data = page_data(report, network=network, the_plan=the_plan, overrides=overrides)
    shape = "[" + ", ".join(str(d) for d in data["input_shape"]) + "]"
    title = html.escape(cut(report.name, 120))
    subtitle = html.escape(f"{cut(report.source, 200)} — input {cut(shape, 200)}, {visible(report.dtype)}, "
                           f"{len(report.layers):,} layers")
    parts = {"generator": html.escape(data["generator"]), "title": title, "subtitle": subtitle,
             "css": _asset("report.css"), "source": html.escape(cut(report.source, 200)),
             "dagre_version": DAGRE_VERSION, "data": script_json(data),
             "dagre": _script_asset("dagre.min.js"), "js": _asset("report.js")}
    # one pass over the template: text put in is never scanned for placeholders again
    return _PLACEHOLDER.sub(lambda match: parts[match.group(1)], _PAGE)


def write_report(report: Report, path: str, **kwargs: Any) -> tuple[int, float]:
    """Write the page to ``path``; returns (bytes written, seconds taken)."""
    started = time.perf_counter()
    text = render_html(report, **kwargs)
    data = text.encode("utf-8")
    with open(path, "wb") as handle:
        handle.write(data)
    return len(data), time.perf_counter() - started
