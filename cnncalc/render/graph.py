"""The network as a graph value, and as Graphviz ``dot`` and Mermaid text.

Nodes are the report's layers (one each, in execution order), edges are
each layer's ``from`` with the tensor that flows along it, and blocks are
clusters taken from the layers' scope paths (``layer1`` > ``layer1.0``).

Every string a file controls (names, types, block names, symbolic sizes)
reaches the text only through :func:`dot_string` or :func:`mermaid_string`:
shown visibly first (:func:`cnncalc.text.visible`, no raw control
characters), then quoted in the syntax's own way. Identifiers are never
file text: nodes are ``n0``, ``n1``, ... and clusters ``cluster_0``, ...,
so no name can end a statement, open a subgraph or draw an edge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

from ..report import Report, json_value
from ..text import visible
from ..units import format_bytes, format_count

INPUT_ID = "net_input"          # the network input's node id in both syntaxes


@dataclass(frozen=True)
class Node:
    """One layer: what it is, what it makes and what it costs."""

    id: str                     # "n<index>"
    index: int                  # position in the report
    name: str                   # the layer's path (file text)
    type: str                   # the layer's type (file text)
    output_shape: tuple         # JSON values: ints, or formulas as strings
    params: Any
    macs: Any
    activation_bytes: Any
    field: tuple                # receptive field size per axis; () when global
    cluster: int | None         # innermost block (index into Graph.clusters), None at top level


@dataclass(frozen=True)
class Edge:
    """A tensor from ``source`` (a node id, or INPUT_ID) into ``target``."""

    source: str
    target: str
    shape: tuple
    skip: bool                  # a skip connection: the source also reaches the target by another path


@dataclass(frozen=True)
class Cluster:
    """A block instance: its path, the block's name and the block around it."""

    id: str                     # "cluster_<index>" (dot needs the "cluster" prefix)
    path: str
    block: str
    parent: int | None


@dataclass(frozen=True)
class Graph:
    name: str
    input_shape: tuple
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    clusters: tuple[Cluster, ...]



def build_graph(report: Report) -> Graph:
    """The report's layers as nodes, their inputs as edges, their scopes as clusters."""
    clusters: list[Cluster] = []
    cluster_index: dict[str, int] = {}
    position = {row.name: index for index, row in enumerate(report.layers)}
    nodes: list[Node] = []
    edges: list[Edge] = []
    shapes = [tuple(json_value(list(row.output_shape))) for row in report.layers]
    input_shape = tuple(json_value(list(report.input_shape)))
    slots: list[list[int]] = []            # per layer: the indices it reads (-1: the network input)
    for index, row in enumerate(report.layers):
        parent: int | None = None
        for scope in row.scopes:
            if scope not in cluster_index:
                cluster_index[scope] = len(clusters)
                clusters.append(Cluster(f"cluster_{len(clusters)}", scope,
                                        report.scope_types.get(scope, "block"), parent))
            parent = cluster_index[scope]
        field = row.receptive_field
        nodes.append(Node(f"n{index}", index, row.name, row.type, shapes[index], json_value(row.params),
                          json_value(row.macs), json_value(row.activation_bytes),
                          () if field.is_global else tuple(json_value(list(field.size))), parent))
        sources = [position.get(name, -1) for name in row.inputs]
        sources = [-1 if source >= index else source for source in sources]      # -1: the network input
        for source in sources:
            skip = len(sources) > 1 and any(other != source and _reaches(source, other, slots)
                                            for other in sources)
            edges.append(Edge(INPUT_ID if source == -1 else f"n{source}", f"n{index}",
                              input_shape if source == -1 else shapes[source], skip))
        slots.append(sources)
    return Graph(report.name, input_shape, tuple(nodes), tuple(edges), tuple(clusters))


def _reaches(source: int, target: int, slots: list[list[int]]) -> bool:
    """Whether layer ``target`` reads, directly or not, layer ``source`` (-1: the network input).

    Layers are in execution order, so the search never goes below ``source``:
    it only walks the layers between the two (a block's length, for a residual).
    """
    if source == -1:
        return True
    stack, seen = [target], set()
    while stack:
        current = stack.pop()
        if current == source:
            return True
        if current <= source or current in seen:
            continue
        seen.add(current)
        stack.extend(slots[current])
    return False


# -- text ---------------------------------------------------------------------------

def shape_label(shape: tuple) -> str:
    """[1, 64, 56, 56] as '1×64×56×56' (short enough for an edge)."""
    return "×".join(str(d) for d in shape) if shape else "scalar"


def _figure(value: Any, kind: str) -> str:
    if isinstance(value, int):
        return format_bytes(value) if kind == "bytes" else format_count(value)
    return str(value)


def node_lines(node: Node) -> list[str]:
    """A node's label, line by line (unescaped file text)."""
    lines = [node.name, node.type, shape_label(node.output_shape)]
    costs = []
    if node.params not in (0, "0"):
        costs.append(f"{_figure(node.params, 'count')} params")
    if node.macs not in (0, "0"):
        costs.append(f"{_figure(node.macs, 'count')} MACs")
    if costs:
        lines.append(", ".join(costs))
    return lines


def cluster_label(cluster: Cluster) -> str:
    return f"{cluster.path} ({cluster.block})"


def dot_string(text: Any) -> str:
    """File text as one dot quoted string: visible, then ``\\`` and ``"`` escaped."""
    return '"' + visible(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_label(lines: list[str]) -> str:
    r"""Lines joined by dot's centred line break ``\n``, each escaped on its own."""
    return "\\n".join(dot_string(line)[1:-1] for line in lines).join('""')


def _tree(graph: Graph) -> Iterator[tuple[str, int, Any]]:
    """('open', depth, cluster) / ('node', depth, node) / ('close', depth, None), nested by block.

    A block sits among its siblings where its first layer is; built in one
    pass (a 10,000-layer net stays linear).
    """
    items: dict[int | None, list[tuple[str, int]]] = {None: []}
    for cluster_index, cluster in enumerate(graph.clusters):   # clusters are made as their first layer comes
        items[cluster_index] = []
    seen: set[int] = set()
    for node in graph.nodes:
        chain = []
        cluster = node.cluster
        while cluster is not None and cluster not in seen:
            chain.append(cluster)
            cluster = graph.clusters[cluster].parent
        for opened in reversed(chain):
            seen.add(opened)
            items[graph.clusters[opened].parent].append(("cluster", opened))
        items[node.cluster].append(("node", node.index))

    def walk(cluster: int | None, depth: int) -> Iterator[tuple[str, int, Any]]:
        for kind, item in items[cluster]:
            if kind == "node":
                yield "node", depth, graph.nodes[item]
            else:
                yield "open", depth, graph.clusters[item]
                yield from walk(item, depth + 1)
                yield "close", depth, None
    return walk(None, 1)


def _in_degrees(graph: Graph) -> dict[str, int]:
    degrees: dict[str, int] = {}
    for edge in graph.edges:
        degrees[edge.target] = degrees.get(edge.target, 0) + 1
    return degrees


def render_dot(report: Report) -> str:
    """The network as a Graphviz digraph: boxes per layer, shapes on edges, blocks as clusters."""
    graph = build_graph(report)
    out = [f"digraph {dot_string(graph.name)} {{",
           "  rankdir=TB;",
           '  node [shape=box, style="rounded,filled", fillcolor="#f4f6fb", fontname="Helvetica", fontsize=10];',
           '  edge [fontname="Helvetica", fontsize=8, color="#555555"];',
           f"  {INPUT_ID} [shape=oval, fillcolor=\"#e2e8f0\", "
           f"label={_dot_label(['input', shape_label(graph.input_shape)])}];"]
    degrees = _in_degrees(graph)
    for kind, depth, item in _tree(graph):
        pad = "  " * depth
        if kind == "open":
            out.append(f"{pad}subgraph {item.id} {{")
            out.append(f"{pad}  label={dot_string(cluster_label(item))}; style=\"rounded,dashed\"; "
                       f"color=\"#94a3b8\"; fontname=\"Helvetica\"; fontsize=10;")
        elif kind == "close":
            out.append(f"{pad}}}")
        else:
            merge = ', shape=box, peripheries=2' if degrees.get(item.id, 0) > 1 else ""
            out.append(f"{pad}{item.id} [label={_dot_label(node_lines(item))}{merge}];")
    for edge in graph.edges:
        style = ', style=dashed, color="#2563eb"' if edge.skip else ""
        out.append(f"  {edge.source} -> {edge.target} [label={dot_string(shape_label(edge.shape))}{style}];")
    out.append("}")
    return "\n".join(out) + "\n"


# Mermaid: inside ["..."] a '"' ends the label and the text is rendered as HTML, so
# quotes, '#' (which starts an entity), '<', '>', '&' and '`' (markdown strings)
# become Mermaid entity codes; line breaks between label lines are <br>.
_MERMAID_ENTITIES = {'"': "#quot;", "#": "#35;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;"}
_MERMAID_SPECIAL = re.compile('["#<>&`]')


def mermaid_string(text: Any) -> str:
    """File text as the inside of a Mermaid ``"..."`` label: visible, entities for the special characters."""
    return _MERMAID_SPECIAL.sub(lambda m: _MERMAID_ENTITIES[m.group()], visible(text))


def _mermaid_label(lines: list[str]) -> str:
    return '"' + "<br>".join(mermaid_string(line) for line in lines) + '"'


def render_mermaid(report: Report) -> str:
    """The network as a Mermaid ``flowchart TD`` (GitHub renders it in Markdown)."""
    graph = build_graph(report)
    out = ["flowchart TD",
           f"  {INPUT_ID}([{_mermaid_label(['input', shape_label(graph.input_shape)])}])"]
    degrees = _in_degrees(graph)
    for kind, depth, item in _tree(graph):
        pad = "  " * depth
        if kind == "open":
            out.append(f"{pad}subgraph {item.id}[{_mermaid_label([cluster_label(item)])}]")
        elif kind == "close":
            out.append(f"{pad}end")
        else:
            label = _mermaid_label(node_lines(item))
            out.append(f"{pad}{item.id}[[{label}]]" if degrees.get(item.id, 0) > 1 else f"{pad}{item.id}[{label}]")
    for edge in graph.edges:
        arrow = "-.->" if edge.skip else "-->"
        out.append(f"  {edge.source} {arrow}|{_mermaid_label([shape_label(edge.shape)])}| {edge.target}")
    return "\n".join(out) + "\n"
