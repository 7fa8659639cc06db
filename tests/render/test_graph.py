"""The graph value and its dot/Mermaid text: one node per layer, one edge per `from`,
blocks as clusters, skips where a path joins one it left; and file text that cannot
break either syntax (checked structurally: every quoted string decodes back to the
visible text, and what is outside the quotes is only what the renderer writes).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.report import Layers
from cnncalc.render.graph import INPUT_ID, build_graph, dot_string, mermaid_string, render_dot, render_mermaid
from cnncalc.text import visible

from ..conftest import EXAMPLES

# every symbolic example (fcn, fcn_resnet50, deeplabv3_resnet50: input [3, H, W]) drawn at 224 × 224
SIZES = {path.stem: {"H": 224, "W": 224} for path in sorted(EXAMPLES.glob("*.yaml"))
         if "[3, H, W]" in path.read_text(encoding="utf-8")}
EXAMPLE_NAMES = sorted(path.stem for path in EXAMPLES.glob("*.yaml"))
HOSTILE = ['"', '\\', '\\"', "\n", "\r", "\x1b[2J", "\u202e", "-->", "]", "[", "(", ")", "{", "}", "|", ";",
           "#", "#quot;", "&", "<", ">", "</script>", "`", "end", "subgraph", "}\n}", "%%", "\\n", "\\l"]
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE),
                                  st.text(st.characters(exclude_categories=("Cs",), max_codepoint=0xFFFF), max_size=4)),
                        min_size=1, max_size=6).map("".join)


def _report(name: str):
    return cnncalc.analyze(EXAMPLES / f"{name}.yaml", sizes=SIZES.get(name))


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_nodes_and_edges_are_the_layers_and_their_inputs(name):
    report = _report(name)
    graph = build_graph(report)
    assert [node.name for node in graph.nodes] == report.layers.names()
    assert len(graph.edges) == sum(len(row.inputs) for row in report.layers)
    by_id = {node.id: node.name for node in graph.nodes} | {INPUT_ID: "input"}
    pairs = sorted((by_id[edge.source], by_id[edge.target]) for edge in graph.edges)
    assert pairs == sorted((source, row.name) for row in report.layers for source in row.inputs)
    assert {c.path for c in graph.clusters} == {scope for row in report.layers for scope in row.scopes}
    for edge in graph.edges:              # the tensor on an edge is its source's output
        source = report.input_shape if edge.source == INPUT_ID else report.layers[by_id[edge.source]].output_shape
        assert edge.shape == tuple(source)


def test_unet_skips_are_the_four_encoder_outputs_into_the_concats():
    report = _report("unet")
    graph = build_graph(report)
    names = {node.id: node.name for node in graph.nodes}
    skips = [(names[e.source], names[e.target]) for e in graph.edges if e.skip]
    merges = [row for row in report.layers if len(row.inputs) > 1]
    assert len(merges) == 4 and len(skips) == 4
    assert {target for _, target in skips} == {row.name for row in merges}
    assert all(source.startswith("enc") for source, _ in skips)     # the encoder side of each concat


def test_resnet50_skips_are_the_identity_shortcuts():
    report = _report("resnet50")
    graph = build_graph(report)
    names = {node.id: node.name for node in graph.nodes}
    skipped_into = {names[e.target] for e in graph.edges if e.skip}
    # a bottleneck's add reads the block input directly; bottleneck_down's reads the downsample branch
    identity_adds = {row.name for row in report.layers if row.type == "add"
                     and report.scope_types[row.scopes[-1]] == "bottleneck"}
    assert len(identity_adds) == 12 and skipped_into == identity_adds


# -- dot ------------------------------------------------------------------------------------

DOT_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
DOT_LINE = re.compile(
    r"^\s*(?:digraph Q \{|\}|rankdir=TB;|node \[.*\];|edge \[.*\];"
    r"|subgraph cluster_\d+ \{"
    r"|label=Q; style=Q; color=Q; fontname=Q; fontsize=10;"
    r"|(?:n\d+|net_input) \[(?:shape=\w+, fillcolor=Q, )?label=Q(?:, shape=box, peripheries=2)?\];"
    r"|(?:n\d+|net_input) -> n\d+ \[label=Q(?:, style=dashed, color=Q)?\];)$")


def _dot_unquote(token: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), token[1:-1])


def check_dot(text: str) -> list[str]:
    """Every line is a statement the renderer writes, once quoted strings are taken out; the strings."""
    strings = DOT_QUOTED.findall(text)
    skeleton = DOT_QUOTED.sub("Q", text)
    assert '"' not in skeleton and "\\" not in skeleton
    for line in skeleton.splitlines():
        assert DOT_LINE.match(line), line
    assert skeleton.count("{") == skeleton.count("}")
    if shutil.which("dot"):                  # a real parser, where Graphviz is installed
        subprocess.run(["dot", "-Tsvg", "-o", "/dev/null"], input=text.encode(), check=True, timeout=60)
    return [_dot_unquote(s) for s in strings]


@pytest.mark.parametrize("name", ["lenet5", "resnet50", "unet", "mobilenet_v2"])
def test_dot_of_examples_is_well_formed(name):
    report = _report(name)
    text = render_dot(report)
    strings = check_dot(text)
    assert text.count(" -> ") == sum(len(row.inputs) for row in report.layers)
    assert len(re.findall(r"^\s*n\d+ \[", text, re.M)) == len(report.layers)
    assert text.count("subgraph cluster_") == len({s for row in report.layers for s in row.scopes})
    assert any(s.startswith(report.layers[0].name + "\n") for s in strings)


def _hostile_report(name: str, layer_name: str, type_name: str):
    report = _report("resnet18")
    rows = [replace(row, name=f"{layer_name}{i}" if i % 2 else row.name, type=type_name if i % 3 == 0 else row.type)
            for i, row in enumerate(report.layers)]
    renamed = {old.name: new.name for old, new in zip(report.layers, rows)}
    rows = [replace(row, inputs=tuple(renamed.get(x, x) for x in row.inputs)) for row in rows]
    scope_types = {k: f"{type_name}{v}" for k, v in report.scope_types.items()}
    return replace(report, name=name, layers=Layers(rows), scope_types=scope_types)


@settings(max_examples=40)
@given(name=hostile_text, layer_name=hostile_text, type_name=hostile_text)
def test_hostile_names_cannot_break_dot(name, layer_name, type_name):
    report = _hostile_report(name, layer_name, type_name)
    strings = check_dot(render_dot(report))
    assert strings[0] == visible(name)
    assert any(s.startswith(visible(f"{layer_name}1") + "\n") for s in strings)


@given(text=hostile_text)
def test_dot_string_round_trips(text):
    quoted = dot_string(text)
    assert DOT_QUOTED.fullmatch(quoted)
    assert re.sub(r"\\(.)", r"\1", quoted[1:-1]) == visible(text)


# -- mermaid ----------------------------------------------------------------------------------

MERMAID_QUOTED = re.compile(r'"[^"]*"')
MERMAID_LINE = re.compile(
    r"^\s*(?:flowchart TD|end|subgraph cluster_\d+\[Q\]|net_input\(\[Q\]\)|n\d+\[Q\]|n\d+\[\[Q\]\]"
    r"|(?:n\d+|net_input) (?:-->|-\.->)\|Q\| n\d+)$")
ENTITY = re.compile(r"#(quot|lt|gt|amp|\d+);")


def _mermaid_unquote(token: str) -> list[str]:
    def entity(match: re.Match) -> str:
        name = match.group(1)
        return {"quot": '"', "lt": "<", "gt": ">", "amp": "&"}.get(name) or chr(int(name))
    return [ENTITY.sub(entity, part) for part in token[1:-1].split("<br>")]


def check_mermaid(text: str) -> list[list[str]]:
    strings = MERMAID_QUOTED.findall(text)
    for s in strings:                       # inside a label: no raw markup, no stray entity start
        inner = s[1:-1].replace("<br>", "")
        assert not re.search(r"[<>`&]", inner), s
        assert not re.search(r"#(?!(quot|lt|gt|amp|\d+);)", inner), s
    skeleton = MERMAID_QUOTED.sub("Q", text)
    for line in skeleton.splitlines():
        assert MERMAID_LINE.match(line), line
    assert skeleton.count("subgraph ") == len(re.findall(r"^\s*end$", skeleton, re.M))
    return [_mermaid_unquote(s) for s in strings]


@pytest.mark.parametrize("name", ["lenet5", "resnet50", "unet"])
def test_mermaid_of_examples_is_well_formed(name):
    report = _report(name)
    text = render_mermaid(report)
    labels = check_mermaid(text)
    assert len(re.findall(r"-\.?->", text)) == sum(len(row.inputs) for row in report.layers)
    assert len(re.findall(r"^\s*n\d+\[", text, re.M)) == len(report.layers)
    assert [label[0] for label in labels if label and label[0] in report.layers.names()] == report.layers.names()


@settings(max_examples=40)
@given(layer_name=hostile_text, type_name=hostile_text)
def test_hostile_names_cannot_break_mermaid(layer_name, type_name):
    report = _hostile_report("x", layer_name, type_name)
    labels = check_mermaid(render_mermaid(report))
    assert [visible(f"{layer_name}1"), visible(type_name) if 1 % 3 == 0 else report.layers[1].type] == labels[2][:2]


@given(text=hostile_text)
def test_mermaid_string_round_trips(text):
    assert _mermaid_unquote('"' + mermaid_string(text) + '"') == [visible(text)]
