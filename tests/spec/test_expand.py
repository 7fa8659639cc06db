"""The expander: blocks, $params, expressions, repeat, from, scoped names, bounds."""

from __future__ import annotations

import textwrap
import time

import pytest

import cnncalc
from cnncalc import SpecError
from cnncalc.errors import Loc
from cnncalc.spec import expand
from cnncalc.spec.expand import load_text
from cnncalc.spec.model import INPUT
from ..conftest import HANG_LIMIT_S

# The example of SPEC §1, verbatim (budget included).
SPEC_EXAMPLE = """\
name: tiny-resnet            # optional; default: the file's stem
input: [3, 224, 224]         # one sample, channels first, batch excluded:
                             #   [C, L] | [C, H, W] | [C, D, H, W]
                             # a dim may be a name ([3, H, W]): a symbolic size
batch: 1                     # optional, default 1
dtype: float32               # optional, default float32 (memory figures)

blocks:                      # optional: reusable sub-networks
  basic:
    params: {out: ~, stride: 1}      # ~ = required; others are defaults
    layers:
      - Conv2d: {out_channels: $out, kernel_size: 3, stride: $stride, padding: 1, bias: false}
      - BatchNorm2d
      - ReLU
      - Conv2d: {out_channels: $out, kernel_size: 3, padding: 1, bias: false}
      - BatchNorm2d: {name: bn2}
      - Conv2d: {from: input, name: short, out_channels: $out, kernel_size: 1, stride: $stride, bias: false}
      - add: {from: [bn2, short]}
      - ReLU

layers:                      # required
  - Conv2d: {out_channels: 64, kernel_size: 7, stride: 2, padding: 3, bias: false}
  - BatchNorm2d
  - ReLU
  - MaxPool2d: {kernel_size: 3, stride: 2, padding: 1}
  - basic: {out: 64, repeat: 2}
  - basic: {out: 128, stride: 2}
  - AdaptiveAvgPool2d: {output_size: 1}
  - Flatten
  - Linear: {out_features: 10}

budget:                      # optional: limits that `cnncalc check` enforces
  params: 12M                # also: trainable_params, macs, flops
  macs: 2G
  param_memory: 48MiB        # totals.param_bytes
  activation_memory: 64MiB   # totals.peak_activation_bytes
  receptive_field: {min: 100}   # output's field, every axis (max: also)
"""

BASIC_BODY = ["conv2d_0", "batchnorm2d_1", "relu_2", "conv2d_3", "bn2", "short", "add_6", "relu_7"]


def net(text: str, filename: str = "arch.yaml"):
    return load_text(textwrap.dedent(text), filename)


def paths(text: str) -> list[str]:
    return [layer.path for layer in net(text).layers]


def error(text: str, filename: str = "arch.yaml") -> SpecError:
    with pytest.raises(SpecError) as info:
        net(text, filename)
    return info.value


def line_col(text: str, token: str, occurrence: int = 0) -> tuple[int, int]:
    """1-based line and column of the n-th occurrence of token in the dedented text."""
    text = textwrap.dedent(text)
    at = -1
    for _ in range(occurrence + 1):
        at = text.index(token, at + 1)
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    return line, col


def assert_at(err: SpecError, text: str, token: str, occurrence: int = 0) -> None:
    assert err.loc is not None, str(err)
    assert (err.loc.line, err.loc.col) == line_col(text, token, occurrence), str(err)


# -- the SPEC example ---------------------------------------------------------------------

def test_spec_example_paths():
    network = load_text(SPEC_EXAMPLE, "tiny.yaml")
    expected = (["conv2d_0", "batchnorm2d_1", "relu_2", "maxpool2d_3"]
                + [f"basic_4.0.{n}" for n in BASIC_BODY]
                + [f"basic_4.1.{n}" for n in BASIC_BODY]
                + [f"basic_5.{n}" for n in BASIC_BODY]
                + ["adaptiveavgpool2d_6", "flatten_7", "linear_8"])
    assert [layer.path for layer in network.layers] == expected
    assert network.name == "tiny-resnet" and network.input == (3, 224, 224)
    assert network.batch == 1 and network.dtype == "float32"
    assert network.scope_types["basic_4"] == "basic ×2"
    assert network.scope_types["basic_4.0"] == network.scope_types["basic_5"] == "basic"


def test_spec_example_wiring():
    layers = {layer.path: layer for layer in load_text(SPEC_EXAMPLE, "tiny.yaml").layers}
    assert layers["conv2d_0"].inputs == (INPUT,)
    # the first copy reads the stem; 'input' inside the block is the block's input
    assert layers["basic_4.0.conv2d_0"].inputs == ("maxpool2d_3",)
    assert layers["basic_4.0.short"].inputs == ("maxpool2d_3",)
    assert layers["basic_4.0.add_6"].inputs == ("basic_4.0.bn2", "basic_4.0.short")
    # each copy reads the previous copy's output
    assert layers["basic_4.1.conv2d_0"].inputs == ("basic_4.0.relu_7",)
    assert layers["basic_4.1.short"].inputs == ("basic_4.0.relu_7",)
    assert layers["basic_5.conv2d_0"].inputs == ("basic_4.1.relu_7",)
    assert layers["adaptiveavgpool2d_6"].inputs == ("basic_5.relu_7",)
    # $params substituted per instance, defaults filled in
    assert layers["basic_4.0.conv2d_0"].args["stride"] == 1
    assert layers["basic_5.conv2d_0"].args["stride"] == 2
    assert layers["basic_5.short"].args["out_channels"] == 128
    assert layers["basic_4.1.bn2"].scopes == ("basic_4", "basic_4.1")
    assert layers["basic_5.bn2"].scopes == ("basic_5",)
    assert layers["linear_8"].scopes == ()


def test_spec_example_analyzes():
    report = cnncalc.analyze(load_text(SPEC_EXAMPLE, "tiny.yaml"))
    assert report.output_shape == (1, 10)
    assert report.layers["basic_5.add_6"].output_shape == (1, 128, 28, 28)
    conv = lambda cin, cout, k: cin * cout * k * k          # noqa: E731 - bias: false
    params = (conv(3, 64, 7) + 128
              + 2 * (2 * conv(64, 64, 3) + 2 * 128 + conv(64, 64, 1))
              + conv(64, 128, 3) + conv(128, 128, 3) + 2 * 256 + conv(64, 128, 1)
              + 128 * 10 + 10)
    assert report.totals.params == params == report.totals.trainable_params


def test_name_defaults_to_the_file_stem():
    text = "input: [3, 8, 8]\nlayers: [ReLU]\n"
    assert load_text(text, "models/my-net.yaml").name == "my-net"
    assert load_text(text).name == "network"


# -- $params ---------------------------------------------------------------------------------

def test_params_of_every_type():
    network = net("""
        input: [4, 16, 16]
        blocks:
          b:
            params: {c: ~, ks: [3, 1], pad: [1, 0], bias: true, mode: reflect, inplace: false}
            layers:
              - Conv2d: {out_channels: $c, kernel_size: $ks, padding: $pad, bias: $bias, padding_mode: $mode}
              - Conv2d: {out_channels: $c, kernel_size: [$c, 1]}
              - ReLU: {inplace: $inplace}
        layers:
          - b: {c: 2, bias: false}
    """)
    conv, conv2, relu = network.layers
    assert dict(conv.args) == {"out_channels": 2, "kernel_size": [3, 1], "padding": [1, 0], "bias": False,
                               "padding_mode": "reflect"}
    assert conv2.args["kernel_size"] == [2, 1]
    assert relu.args["inplace"] is False
    report = cnncalc.analyze(network)
    assert report.layers["b_0.conv2d_0"].params == 4 * 2 * 3 * 1
    assert report.output_shape == (1, 2, 15, 16)


def test_integer_expressions():
    network = net("""
        input: [8, 16, 16]
        blocks:
          bottleneck:
            params: {c: ~, mid: "$c // 4"}
            layers:
              - Conv2d: {out_channels: $mid, kernel_size: 1}
              - Conv2d: {out_channels: "$mid * 4", kernel_size: 3, padding: "($c + 1) // 2 - 3"}
              - Conv2d: {out_channels: "-$mid + 2 * ($mid + 1)", kernel_size: 1}
        layers:
          - bottleneck: {c: 8}
          - bottleneck: {c: 16, mid: 3}
    """)
    args = [dict(layer.args) for layer in network.layers]
    assert args[0]["out_channels"] == 2
    assert args[1] == {"out_channels": 8, "kernel_size": 3, "padding": 1}
    assert args[2]["out_channels"] == 4
    assert args[3]["out_channels"] == 3 and args[4]["out_channels"] == 12 and args[4]["padding"] == 5
    assert args[5]["out_channels"] == 5


def test_defaults_use_only_earlier_params():
    text = """
        input: [3, 8, 8]
        blocks:
          b:
            params: {wide: "$c * 2", c: 4}
            layers:
              - Conv2d: {out_channels: $wide, kernel_size: 1}
        layers:
          - b
    """
    err = error(text)
    assert "unknown parameter" in err.message and "before it" in err.hint
    assert_at(err, text, '"$c * 2"')


def test_required_param_missing():
    text = """
        input: [3, 8, 8]
        blocks:
          b:
            params: {out: ~}
            layers:
              - Conv2d: {out_channels: $out, kernel_size: 1}
        layers:
          - ReLU
          - b: {repeat: 2}
    """
    err = error(text)
    assert "needs parameter 'out'" in err.message and err.path == "b_1.0"
    assert "b: {out: ...}" in err.hint
    assert_at(err, text, "b: {repeat")


def test_unknown_block_param_suggests():
    text = """
        input: [3, 8, 8]
        blocks:
          b:
            params: {out: ~, stride: 1}
            layers:
              - Conv2d: {out_channels: $out, kernel_size: 1, stride: $stride}
        layers:
          - b: {out: 4, strde: 2}
    """
    err = error(text)
    assert "has no parameter 'strde'" in err.message and err.hint == "did you mean 'stride'?"
    assert err.path == "b_0" and err.layer_type == "b"
    assert_at(err, text, "strde")          # the key, not its value


def test_unknown_param_inside_a_block_suggests():
    text = """
        input: [3, 8, 8]
        blocks:
          b:
            params: {width: 4}
            layers:
              - Conv2d: {out_channels: $widht, kernel_size: 1}
        layers:
          - b
    """
    err = error(text)
    assert "unknown parameter '$widht'" in err.message and "'width'" in err.hint
    assert err.path == "b_0"
    assert_at(err, text, "$widht")


def test_param_outside_a_block():
    for value in ("$c", '"$c * 2"'):
        text = f"input: [3, 8, 8]\nlayers:\n  - Conv2d: {{out_channels: {value}, kernel_size: 1}}\n"
        err = error(text)
        assert "outside a block" in err.message
        assert_at(err, text, value)


def test_block_without_params_has_no_dollar_names():
    err = error("""
        input: [3, 8, 8]
        blocks:
          b:
            layers:
              - Conv2d: {out_channels: $c, kernel_size: 1}
        layers: [b]
    """)
    assert "unknown parameter '$c'" in err.message and "no parameters" in err.hint


@pytest.mark.parametrize("value, message", [
    ('"$c * * 2"', "unexpected"),
    ('"$c // 0"', "division by zero"),
    ('"$c // ($c - 4)"', "division by zero"),
    ('"$flag * 2"', "not an integer"),
    ('"$c.__class__"', "cannot read"),
    ('"$c + __import__(\'os\')"', "cannot read"),
])
def test_bad_expressions(value, message):
    text = f"""
        input: [3, 8, 8]
        blocks:
          b:
            params: {{c: 4, flag: true}}
            layers:
              - ReLU
              - Conv2d: {{out_channels: {value}, kernel_size: 1}}
        layers:
          - ReLU
          - b
    """
    err = error(text)
    assert message in err.message
    assert err.path == "b_1"                 # the instance whose params failed
    assert_at(err, text, value)


def test_reserved_param_names():
    for reserved in ("name", "from", "repeat", "frozen"):
        err = error(f"""
            input: [3, 8, 8]
            blocks:
              b:
                params: {{{reserved}: 1}}
                layers: [ReLU]
            layers: [b]
        """)
        assert "reserved" in err.message


def test_meta_keys_can_be_params():
    network = net("""
        input: [3, 8, 8]
        blocks:
          b:
            params: {n: 2, freeze: true, label: act, src: input}
            layers:
              - ReLU: {name: $label, repeat: $n, frozen: $freeze}
              - ReLU: {from: $src}
              - add: {from: [$label, -1]}
        layers: [b]
    """)
    assert [layer.path for layer in network.layers] == ["b_0.act.0", "b_0.act.1", "b_0.relu_1", "b_0.add_2"]
    assert network.layers[0].frozen and network.layers[1].frozen
    assert network.layers[2].inputs == (INPUT,)
    assert network.layers[3].inputs == ("b_0.act.1", "b_0.relu_1")


# -- from -------------------------------------------------------------------------------------

def test_from_forms():
    network = net("""
        input: [3, 8, 8]
        layers:
          - Conv2d: {name: stem, out_channels: 3, kernel_size: 1}
          - ReLU
          - Conv2d: {from: input, out_channels: 3, kernel_size: 1}
          - add: {from: [stem, -2, -1]}
          - ReLU: {from: -4}
          - ReLU: {from: -6}
          - concat: {from: [input, stem, -3]}
    """)
    inputs = [layer.inputs for layer in network.layers]
    assert inputs == [
        (INPUT,), ("stem",), (INPUT,), ("stem", "relu_1", "conv2d_2"), ("stem",), (INPUT,),
        (INPUT, "stem", "add_3"),
    ]
    assert cnncalc.analyze(network).output_shape == (1, 9, 8, 8)


def test_from_inside_a_block_is_local():
    network = net("""
        input: [3, 8, 8]
        blocks:
          b:
            layers:
              - ReLU: {name: first, from: -1}
              - ReLU: {from: -2}
              - add: {from: [first, -1, input]}
        layers:
          - ReLU: {name: first}
          - b
    """)
    inputs = {layer.path: layer.inputs for layer in network.layers}
    assert inputs["b_1.first"] == ("first",)        # -1 at the top of a block: the block's input
    assert inputs["b_1.relu_1"] == ("first",)       # -2: one before the first layer is the input
    assert inputs["b_1.add_2"] == ("b_1.first", "b_1.relu_1", "first")


@pytest.mark.parametrize("ref, message", [
    ("-3", "reaches before the start of this scope (1 layers precede it)"),
    ("0", "must be negative"),
    ("2", "must be negative"),
    ("true", "names or negative indices"),
    ("1.5", "names or negative indices"),
    ("{a: 1}", "names or negative indices"),
    ("[]", "empty list"),
    ("stemm", "not defined before this layer"),
])
def test_bad_from(ref, message):
    text = f"""
        input: [3, 8, 8]
        layers:
          - ReLU: {{name: stem}}
          - ReLU: {{from: {ref}}}
    """
    err = error(text)
    assert message in err.message
    assert_at(err, text, ref, occurrence=0 if ref != "stem" else 1)
    if ref == "stemm":
        assert err.hint == "did you mean 'stem'?" and err.path == "relu_1"


def test_bad_from_in_a_list_points_at_the_entry():
    text = """
        input: [3, 8, 8]
        layers:
          - ReLU: {name: a}
          - ReLU: {name: b}
          - add: {from: [a, b, c]}
    """
    err = error(text)
    assert "'c'" in err.message and err.path == "add_2"
    assert_at(err, text, "c]")


def test_names_used_before_they_are_defined():
    text = """
        input: [3, 8, 8]
        layers:
          - ReLU: {from: later}
          - ReLU: {name: later}
    """
    err = error(text)
    assert "not defined before this layer" in err.message
    assert_at(err, text, "later")


def test_names_from_another_scope_are_invisible():
    err = error("""
        input: [3, 8, 8]
        blocks:
          b:
            layers:
              - ReLU: {from: outer}
        layers:
          - ReLU: {name: outer}
          - b
    """)
    assert "'outer'" in err.message
    err = error("""
        input: [3, 8, 8]
        blocks:
          b:
            layers:
              - ReLU: {name: inner}
        layers:
          - b
          - ReLU: {from: inner}
    """)
    assert "'inner'" in err.message


def test_arity():
    err = error("input: [3, 8, 8]\nlayers:\n  - ReLU: {name: a}\n  - ReLU: {from: [a, input]}\n")
    assert "takes one input, found 2" in err.message and err.path == "relu_1"
    err = error("input: [3, 8, 8]\nlayers:\n  - add\n")
    assert "merges two or more" in err.message and err.path == "add_0"
    err = error("input: [3, 8, 8]\nlayers:\n  - concat: {from: [input]}\n")
    assert "merges two or more" in err.message


# -- names --------------------------------------------------------------------------------------

def test_duplicate_names_in_a_scope():
    text = """
        input: [3, 8, 8]
        layers:
          - ReLU: {name: act}
          - ReLU: {name: act}
    """
    err = error(text)
    assert "already used" in err.message
    assert_at(err, text, "act", occurrence=1)


def test_same_name_in_different_scopes_is_fine():
    assert paths("""
        input: [3, 8, 8]
        blocks:
          b:
            layers:
              - ReLU: {name: act}
        layers:
          - ReLU: {name: act}
          - b
          - b
    """) == ["act", "b_1.act", "b_2.act"]


@pytest.mark.parametrize("name", ["input", "3x", "a.b", "-ab", '""', "'1'", "[a]", "~x"])
def test_bad_names(name):
    err = error(f"input: [3, 8, 8]\nlayers:\n  - ReLU: {{name: {name}}}\n")
    assert err.loc == Loc("arch.yaml", 3, len("  - ReLU: {name: ") + 1)
    # the message says what a layer name may be (or why 'input' is taken); '-' inside is allowed
    # (torchvision's RegNet: block1-0), leading it is not (it would read as an index)
    assert expand.LAYER_NAME_RULE in str(err) or "input" in err.message


def test_automatic_names_avoid_given_names():
    # an unnamed layer is called type_index; it must not take a name the file gives
    network = net("""
        input: [3, 8, 8]
        layers:
          - ReLU: {name: relu_1}
          - ReLU
          - ReLU: {from: relu_1}
    """)
    assert [layer.path for layer in network.layers] == ["relu_1", "relu_1_1", "relu_2"]
    assert network.layers[2].inputs == ("relu_1",)
    network = net("""
        input: [3, 8, 8]
        layers:
          - ReLU
          - ReLU: {name: relu_0}
          - ReLU: {from: relu_0}
    """)
    assert network.layers[0].path != "relu_0"
    assert network.layers[2].inputs == ("relu_0",)


# -- repeat ---------------------------------------------------------------------------------------

def test_repeat_a_layer():
    network = net("""
        input: [3, 8, 8]
        layers:
          - Conv2d: {out_channels: 3, kernel_size: 3, padding: 1, repeat: 3}
          - ReLU: {name: act, repeat: 2}
          - add: {from: [act, conv2d_0]}
    """)
    assert [(layer.path, layer.inputs) for layer in network.layers] == [
        ("conv2d_0.0", (INPUT,)), ("conv2d_0.1", ("conv2d_0.0",)), ("conv2d_0.2", ("conv2d_0.1",)),
        ("act.0", ("conv2d_0.2",)), ("act.1", ("act.0",)),
        ("add_2", ("act.1", "conv2d_0.2")),        # a repeated name means its last copy
    ]
    assert network.layers[0].scopes == ("conv2d_0",)
    assert network.scope_types["conv2d_0"] == "Conv2d ×3"
    assert cnncalc.analyze(network).totals.params == 3 * (3 * 3 * 9 + 3)


def test_repeat_one_is_no_copy():
    assert paths("input: [3, 8, 8]\nlayers:\n  - ReLU: {repeat: 1}\n") == ["relu_0"]


def test_repeat_a_block_with_from():
    network = net("""
        input: [3, 8, 8]
        blocks:
          res:
            params: {c: 3}
            layers:
              - Conv2d: {out_channels: $c, kernel_size: 3, padding: 1}
              - add: {from: [-1, input]}
        layers:
          - res: {repeat: 3, from: input}
    """)
    assert [(layer.path, layer.inputs) for layer in network.layers] == [
        ("res_0.0.conv2d_0", (INPUT,)), ("res_0.0.add_1", ("res_0.0.conv2d_0", INPUT)),
        ("res_0.1.conv2d_0", ("res_0.0.add_1",)), ("res_0.1.add_1", ("res_0.1.conv2d_0", "res_0.0.add_1")),
        ("res_0.2.conv2d_0", ("res_0.1.add_1",)), ("res_0.2.add_1", ("res_0.2.conv2d_0", "res_0.1.add_1")),
    ]
    assert network.layers[-1].scopes == ("res_0", "res_0.2")


@pytest.mark.parametrize("value", ["-1", "10001", "1.5", "true", "two", "[2]"])
def test_bad_repeat(value):
    text = f"input: [3, 8, 8]\nlayers:\n  - ReLU: {{repeat: {value}}}\n"
    err = error(text)
    assert "'repeat' must be an integer from 0 to 10,000" in err.message
    assert_at(err, text, value)


# A stage of depth 1 (MNASNet's last stack, RegNetY-400MF's first stage) is `[first, rest{repeat: n - 1}]`
# with n = 1: the repeated item is skipped and whatever names it refers to what it would have read.
STAGE = """input: [3, 8, 8]
blocks:
  stage:
    params: {n: ~}
    layers:
      - Conv2d: {out_channels: 4, kernel_size: 3, padding: 1, name: first}
      - ReLU: {repeat: "$n - 1", name: rest}
      - Conv2d: {out_channels: 4, kernel_size: 1, from: rest, name: head}
layers:
  - stage: {n: %d}
"""


@pytest.mark.parametrize("n", [1, 2, 4])
def test_repeat_zero_skips_and_passes_its_input_through(n):
    network = load_text(STAGE % n)
    relus = n - 1                                        # 1 + (n - 1) + 1 layers in the stage
    assert len(network.layers) == 2 + relus
    head = network.layers[-1]
    expected_source = "stage_0.first" if relus == 0 else ("stage_0.rest" if relus == 1 else f"stage_0.rest.{relus - 1}")
    assert head.inputs == (expected_source,)


def test_repeat_zero_of_the_only_layer_is_refused():
    text = "input: [3, 8, 8]\nlayers:\n  - ReLU: {repeat: 0}\n"
    assert "no layers" in error(text).message


def test_repeat_zero_of_a_merge_is_refused_at_repeat():
    text = "input: [3, 8, 8]\nlayers:\n  - ReLU\n  - add: {from: [-1, input], repeat: 0}\n"
    err = error(text)
    assert "repeat: 0" in err.message
    assert_at(err, text, "0}")


# -- frozen -------------------------------------------------------------------------------------------

def test_frozen_layer():
    report = cnncalc.analyze(net("""
        input: [3, 8, 8]
        layers:
          - Conv2d: {out_channels: 4, kernel_size: 3, frozen: true}
          - BatchNorm2d
          - Flatten
          - Linear: {out_features: 2, frozen: false}
    """))
    conv = 4 * 3 * 9 + 4
    assert report.layers["conv2d_0"].params == conv and report.layers["conv2d_0"].trainable_params == 0
    assert report.layers["batchnorm2d_1"].trainable_params == 8
    totals = report.totals
    assert totals.params == conv + 8 + (4 * 6 * 6 * 2 + 2)
    assert totals.trainable_params == totals.params - conv
    assert totals.non_trainable_params == conv


def test_frozen_block():
    report = cnncalc.analyze(net("""
        input: [3, 8, 8]
        blocks:
          b:
            layers:
              - Conv2d: {out_channels: 4, kernel_size: 1}
              - BatchNorm2d
        layers:
          - b: {frozen: true}
          - b
          - b: {frozen: true, repeat: 2}
    """))
    frozen = [row.name for row in report.layers if row.params and row.trainable_params == 0]
    assert frozen == ["b_0.conv2d_0", "b_0.batchnorm2d_1", "b_2.0.conv2d_0", "b_2.0.batchnorm2d_1",
                      "b_2.1.conv2d_0", "b_2.1.batchnorm2d_1"]
    assert report.totals.trainable_params == report.layers["b_1.conv2d_0"].params + 8


@pytest.mark.parametrize("value", ["1", "'yes please'", "[true]"])
def test_bad_frozen(value):
    err = error(f"input: [3, 8, 8]\nlayers:\n  - ReLU: {{frozen: {value}}}\n")
    assert "'frozen' must be true or false" in err.message


# -- blocks -------------------------------------------------------------------------------------------

def test_nested_blocks():
    network = net("""
        input: [3, 8, 8]
        blocks:
          inner:
            params: {c: ~}
            layers:
              - Conv2d: {out_channels: $c, kernel_size: 1}
              - ReLU
          outer:
            params: {c: ~}
            layers:
              - inner: {c: $c}
              - inner: {c: "$c * 2", repeat: 2}
        layers:
          - outer: {c: 2}
    """)
    assert [(layer.path, layer.args.get("out_channels")) for layer in network.layers] == [
        ("outer_0.inner_0.conv2d_0", 2), ("outer_0.inner_0.relu_1", None),
        ("outer_0.inner_1.0.conv2d_0", 4), ("outer_0.inner_1.0.relu_1", None),
        ("outer_0.inner_1.1.conv2d_0", 4), ("outer_0.inner_1.1.relu_1", None),
    ]
    assert network.layers[-1].scopes == ("outer_0", "outer_0.inner_1", "outer_0.inner_1.1")
    assert network.scope_types["outer_0.inner_0"] == "inner"


def test_recursive_blocks():
    err = error("""
        input: [3, 8, 8]
        blocks:
          loop:
            layers:
              - ReLU
              - loop
        layers: [loop]
    """)
    assert "uses itself (loop -> loop)" in err.message
    err = error("""
        input: [3, 8, 8]
        blocks:
          a:
            layers: [b]
          b:
            layers: [ReLU, a]
        layers: [a]
    """)
    assert "uses itself (a -> b -> a)" in err.message


def test_block_nesting_depth_is_bounded():
    depth = expand.MAX_BLOCK_DEPTH + 1
    blocks = "".join(f"  b{i}:\n    layers: [b{i + 1}]\n" for i in range(depth)) + f"  b{depth}:\n    layers: [ReLU]\n"
    err = error(f"input: [3, 8, 8]\nblocks:\n{blocks}layers: [b0]\n")
    assert "nested more than" in err.message


def test_lower_case_type_names():
    network = net("""
        input: [3, 8, 8]
        layers:
          - conv2d: {out_channels: 4, kernel_size: 3}
          - batchnorm2d
          - RELU
          - maxpool2d: {kernel_size: 2}
    """)
    assert [layer.type_name for layer in network.layers] == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    assert [layer.path for layer in network.layers] == ["conv2d_0", "batchnorm2d_1", "relu_2", "maxpool2d_3"]


@pytest.mark.parametrize("name", ["Conv2d", "conv2d", "ReLU", "add", "Concat", "MUL", "Linear"])
def test_block_names_cannot_shadow_layer_types(name):
    text = f"""
        input: [3, 8, 8]
        blocks:
          {name}:
            layers: [ReLU]
        layers: [ReLU]
    """
    err = error(text)
    assert "hides the layer type" in err.message
    assert_at(err, text, f"{name}:")


def test_unknown_type_suggests_layers_and_blocks():
    text = """
        input: [3, 8, 8]
        blocks:
          bottleneck:
            layers: [ReLU]
        layers:
          - Conv2dd: {out_channels: 3, kernel_size: 1}
          - botleneck
    """
    err = error(text)
    assert "unknown layer type 'Conv2dd'" in err.message and err.hint == "did you mean 'Conv2d'?"
    assert_at(err, text, "Conv2dd")
    err = error(text.replace("Conv2dd", "Conv2d"))
    assert err.hint == "did you mean 'bottleneck'?"


@pytest.mark.parametrize("body, message", [
    ("b: [ReLU]", "must be a mapping"),
    ("b: {layers: []}", "non-empty 'layers'"),
    ("b: {params: {c: 1}}", "non-empty 'layers'"),
    ("b: {layers: [ReLU], prams: {}}", "unknown key 'prams'"),
    ("b: {layers: [ReLU], params: [c]}", "must be a mapping"),
    ("3b: {layers: [ReLU]}", "not a valid name"),
])
def test_bad_block_definitions(body, message):
    err = error(f"input: [3, 8, 8]\nblocks:\n  {body}\nlayers: [ReLU]\n")
    assert message in err.message


# -- the top level and list items ------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("input: [3, 8, 8]\nlayer: [ReLU]\n", "unknown top-level key 'layer'"),
    ("layers: [ReLU]\n", "missing required key 'input'"),
    ("input: [3, 8, 8]\n", "missing required key 'layers'"),
    ("input: [3, 8, 8]\nlayers: []\n", "non-empty list"),
    ("input: [3, 8, 8]\nlayers: ReLU\n", "non-empty list"),
    ("- ReLU\n", "expected a mapping"),
    ("input: [3, 8, 8]\nbatch: 0\nlayers: [ReLU]\n", "batch must be between"),
    ("input: [3, 8, 8]\nbatch: '2'\nlayers: [ReLU]\n", "'batch' must be an integer"),
    ("input: [3, 8, 8]\nbatch: true\nlayers: [ReLU]\n", "'batch' must be an integer"),
    ("input: [3, 8, 8]\ndtype: flaot16\nlayers: [ReLU]\n", "unknown dtype 'flaot16'"),
    ("name: [a]\ninput: [3, 8, 8]\nlayers: [ReLU]\n", "'name' must be a string"),
    ("input: [3]\nlayers: [ReLU]\n", "'input' has 1 size;"),
    ("input: [3, 8, 8, 8, 8]\nlayers: [ReLU]\n", "'input' has 5 sizes;"),
    ("input: 3\nlayers: [ReLU]\n", "'input' must be a list"),
    ("input: [3, 0, 8]\nlayers: [ReLU]\n", "input sizes must be from 1"),
    ("input: [3, 8.5, 8]\nlayers: [ReLU]\n", "positive integer or a name"),
    ("input: [3, 'H W', 8]\nlayers: [ReLU]\n", "positive integer or a name"),
    ("input: [C, 8, 8]\nlayers: [ReLU]\n", "channel count"),
    ("input: [3, 8, 8]\nlayers:\n  - MaxPool2d: 2\n", "arguments must be a mapping"),
    ("input: [3, 8, 8]\nlayers:\n  - [ReLU]\n", "found a list"),
    ("input: [3, 8, 8]\nlayers:\n  - 3\n", "expected a layer type name"),
    ("input: [3, 8, 8]\nlayers:\n  - ~\n", "expected a layer type name"),
    ("input: [3, 8, 8]\nlayers:\n  - Conv2d:\n    out_channels: 3\n", "one 'Type: {args}' mapping"),
    ("input: [3, 8, 8]\nlayers:\n  - ReLU: {1: 2}\n", "argument names must be strings"),
])
def test_top_level_and_item_errors(text, message):
    err = error(text)
    assert message in err.message, str(err)
    assert err.loc is not None and err.loc.file == "arch.yaml"


def test_top_level_typos_suggest():
    assert error("input: [3, 8, 8]\nlayer: [ReLU]\n").hint == "did you mean 'layers'?"
    assert error("input: [3, 8, 8]\ndtype: flaot16\nlayers: [ReLU]\n").hint == "did you mean 'float16'?"


def test_symbolic_input_and_dtype_spellings():
    network = net("input: [3, H, W]\ndtype: torch.float16\nbatch: 4\nlayers: [ReLU]\n")
    assert network.input == (3, "H", "W") and network.symbols == ("H", "W")
    assert network.dtype == "float16" and network.batch == 4
    assert network.input_loc == Loc("arch.yaml", 1, 8)


def test_description_keys_are_allowed():
    network = net("""
        description: a net
        input: [3, 8, 8]
        blocks:
          b:
            description: a block
            layers: [ReLU]
        layers: [b]
    """)
    assert [layer.path for layer in network.layers] == ["b_0.relu_0"]


# -- bounds: clear errors, fast -----------------------------------------------------------------------

def _fast_error(text: str, limit: float = HANG_LIMIT_S) -> SpecError:
    start = time.perf_counter()
    with pytest.raises(SpecError) as info:
        load_text(text, "arch.yaml")
    assert time.perf_counter() - start < limit, "took too long"
    return info.value


def test_repeat_limit():
    err = _fast_error("input: [3, 8, 8]\nlayers:\n  - ReLU: {repeat: 1000000000000}\n")
    assert "0 to 10,000" in err.message


def test_layer_limit_through_repeat():
    text = "input: [3, 8, 8]\nlayers:\n" + "  - ReLU: {repeat: 10000}\n" * 11
    err = _fast_error(text)
    assert "more than 100,000 layers" in err.message
    assert err.loc.line == 13                          # the item that crossed the limit


def test_layer_limit_through_nested_repeat():
    # 10,000 x 10,000 x 10,000 layers if nothing stopped it
    text = textwrap.dedent("""
        input: [3, 8, 8]
        blocks:
          inner:
            layers:
              - ReLU: {repeat: 10000}
          outer:
            layers:
              - inner: {repeat: 10000}
        layers:
          - outer: {repeat: 10000}
    """)
    err = _fast_error(text)
    assert "more than 100,000 layers" in err.message


def test_billion_laughs_through_the_loader():
    lines = ["input: [3, 8, 8]", "layers: [ReLU]", "description:", "  a0: &a0 [" + ", ".join(["ha"] * 10) + "]"]
    lines += [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 12)]
    err = _fast_error("\n".join(lines) + "\n")
    assert "aliases" in err.message


def test_aliased_blocks_cannot_multiply_layers():
    text = ("input: [3, 8, 8]\nblocks:\n  b:\n    layers: &l [" + ", ".join(["ReLU"] * 100) + "]\n"
            "layers: [" + ", ".join(["*l"] * 2000) + "]\n")
    err = _fast_error(text)
    assert "more than 200,000 nodes" in err.message


def test_deep_nesting_through_the_loader():
    # Our own depth bound (100) or the parser's (PyYAML >= 6.0.4 refuses past ~1000 flow levels,
    # before our event scan sees them): either way one located error, not a crash.
    err = _fast_error("input: [3, 8, 8]\nlayers:\n  - ReLU: {name: " + "[" * 50000 + "]" * 50000 + "}\n")
    assert err.exit_code == 2 and err.loc is not None and err.loc.line == 3 and err.loc.col > 1


def test_oversized_text():
    text = "input: [3, 8, 8]\nlayers: [ReLU]\n" + ("# padding\n" * 500_000)
    err = _fast_error(text)
    assert "architecture files are limited to" in err.message
