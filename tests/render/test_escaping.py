"""No file-controlled text reaches a terminal raw: names full of control characters, bidi
overrides, rich markup and table syntax go through every format and come out visible.

The network's name is the free text a file controls (layer and block names are identifiers);
it appears in the title of every view. Names are drawn from the Basic Multilingual Plane but surrogates,
so they are valid YAML by construction (written as JSON strings, which YAML reads).
"""

from __future__ import annotations

import csv
import io
import json
import re

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.cli import main
from cnncalc.render.csv import csv_text
from cnncalc.render.json import encode
from cnncalc.render.markdown import md_text

UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
HOSTILE = ["\x1b[2J", "\x1b]8;;http://x\x07", "\u202e", "\u2066", "\r", "\n", "\t", "\x00", "\x85", "\x9b",
           "[red]", "[/]", "[link=http://x]", "|", "`", "<img src=x>", "*", "_", "=", "+", "-", "@", "&amp;"]
names = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(st.characters(exclude_categories=("Cs",), max_codepoint=0xFFFF),
                                                               max_size=5)),
                 min_size=1, max_size=8).map("".join).filter(lambda s: s.strip() != "")

NETWORK = """input: [3, 8, 8]
layers:
  - Conv2d: {out_channels: 2, kernel_size: 3}
  - BatchNorm2d
  - ReLU
  - Flatten
  - Linear: {out_features: 4}
"""
LAYERS = 5


def _run(name: str, *args: str):
    text = f"name: {json.dumps(name)}\n" + NETWORK
    return CliRunner().invoke(main, [*args[:1], "-", *args[1:]], input=text)


@settings(max_examples=40)
@given(name=names, fmt=st.sampled_from(["table", "markdown", "csv", "rf"]))
def test_hostile_names_come_out_visible(name, fmt):
    args = ["rf"] if fmt == "rf" else ["summarize", "--format", fmt, "--depth", "all"]
    result = _run(name, *args)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert not UNSAFE.findall(out), [hex(ord(c)) for c in UNSAFE.findall(out)]
    lines = out.splitlines()
    if fmt in ("table", "rf"):
        rules = [i for i, line in enumerate(lines) if line.startswith(" ───")]
        end = rules[1] if len(rules) > 1 else next(i for i in range(rules[0] + 1, len(lines)) if not lines[i])
        assert end - rules[0] - 1 == LAYERS                       # one line per layer, none broken
    elif fmt == "markdown":
        body = [line for line in lines if line.startswith("| ")]
        assert len(body) == 1 + LAYERS + 1                        # header, layers, total
        assert all(len(re.findall(r"(?<!\\)\|", line)) == 9 for line in body)   # 8 cells, no extra pipe
    else:
        assert len(list(csv.reader(io.StringIO(out)))) == 1 + LAYERS + 1


@settings(max_examples=30)
@given(name=names)
def test_json_keeps_the_name_exactly(name):
    result = _run(name, "summarize", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["name"] == name
    assert not UNSAFE.findall(result.stdout)                      # json escapes control characters itself


def test_rich_markup_in_a_name_prints_literally():
    from cnncalc import analyze, loads
    from cnncalc.render.table import print_table
    report = analyze(loads('name: "[bold red]x[/] \\x1b[2J"\n' + NETWORK))
    out = io.StringIO()
    print_table(report, file=out)
    assert "[bold red]x[/] \\x1b[2J" in out.getvalue() and "\x1b" not in out.getvalue()


def test_markdown_escapes_what_would_change_a_cell():
    assert md_text("a|b") == "a\\|b"
    assert md_text("<img src=x>") == "\\<img src=x\\>"
    assert md_text("conv2d_0") == "conv2d_0"                      # an inner underscore is no emphasis
    assert md_text("_x_") == "\\_x\\_"
    assert md_text("*x*`y`") == "\\*x\\*\\`y\\`"


def test_csv_guards_formula_cells_but_not_numbers():
    for text in ("=1+2", "+1", "-H + W", "@SUM(A1)"):
        assert csv_text(text) == "'" + text
    assert csv_text("\t=1") == "\\t=1"                            # a tab is shown as an escape
    assert csv_text(42) == 42 and csv_text("[1, 2]") == "[1, 2]"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@given(value=json_values)
def test_json_encoder_writes_what_json_dumps_writes(value):
    assert encode(value) == json.dumps(value, indent=2)
