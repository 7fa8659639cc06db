"""`sequential: true`: unnamed children named by position, as nn.Sequential numbers them."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, strategies as st

import cnncalc
from cnncalc import SpecError
from cnncalc.spec.expand import load_text


def net(text: str):
    return load_text(textwrap.dedent(text), "arch.yaml")


def paths(text: str) -> list[str]:
    return [layer.path for layer in net(text).layers]


def error(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        net(text)
    return info.value


def stage_file(first_repeat: int, rest_repeat: int, tail: str = "") -> str:
    """A stage block [unit, unit{repeat}] + tail, used once under the name layer1."""
    rest = f"- unit: {{repeat: {rest_repeat}}}" if rest_repeat > 1 else "- unit"
    first = f"- unit: {{repeat: {first_repeat}}}" if first_repeat > 1 else "- unit"
    return f"""\
input: [4, 8, 8]
blocks:
  unit:
    layers:
      - Conv2d: {{name: conv1, out_channels: 4, kernel_size: 3, padding: 1}}
      - ReLU: {{name: relu}}
  stage:
    sequential: true
    layers:
      {first}
      {rest}
{tail}layers:
  - stage: {{name: layer1}}
"""


@given(n=st.integers(min_value=2, max_value=40))
def test_one_plus_repeat_gives_positions_0_to_n_minus_1(n):
    """[unit, unit{repeat: n-1}] gives children 0 .. n-1, each with the unit's own names inside."""
    found = paths(stage_file(1, n - 1))
    expected = [f"layer1.{i}.{leaf}" for i in range(n) for leaf in ("conv1", "relu")]
    assert found == expected


@given(a=st.integers(min_value=1, max_value=12), b=st.integers(min_value=1, max_value=12))
def test_two_repeats_take_consecutive_positions(a, b):
    found = paths(stage_file(a, b))
    assert found == [f"layer1.{i}.{leaf}" for i in range(a + b) for leaf in ("conv1", "relu")]


@pytest.mark.parametrize("body, expected", [
    # plain layers: 0, 1, 2
    (["Conv2d: {out_channels: 4, kernel_size: 1}", "BatchNorm2d", "ReLU"], ["0", "1", "2"]),
    # an explicit name wins and still takes one position
    (["Conv2d: {out_channels: 4, kernel_size: 1}", "BatchNorm2d: {name: bn}", "ReLU"], ["0", "bn", "2"]),
    # an unnamed repeated layer: one position per copy
    (["ReLU: {repeat: 3}", "Identity"], ["0", "1", "2", "3"]),
    # a named repeat keeps name.0, name.1 and takes one position
    (["ReLU: {name: acts, repeat: 2}", "Identity"], ["acts.0", "acts.1", "1"]),
])
def test_positional_names_table(body, expected):
    items = "\n".join(f"      - {item}" for item in body)
    text = (f"input: [4, 8, 8]\nblocks:\n  seq:\n    sequential: true\n    layers:\n{items}\n"
            "layers:\n  - seq: {name: s}\n")
    assert paths(text) == [f"s.{name}" for name in expected]


def test_top_level_sequential():
    assert paths("""\
        input: [3, 8, 8]
        sequential: true
        layers:
          - Conv2d: {out_channels: 4, kernel_size: 3}
          - ReLU: {repeat: 2}
          - Flatten: {name: flat}
          - Linear: {out_features: 2}
        """) == ["0", "1", "2", "flat", "4"]


def test_without_sequential_names_are_unchanged():
    assert paths("""\
        input: [3, 8, 8]
        sequential: false
        layers:
          - Conv2d: {out_channels: 4, kernel_size: 3}
          - ReLU: {repeat: 2}
        """) == ["conv2d_0", "relu_1.0", "relu_1.1"]


def test_from_takes_a_position_name_as_a_string():
    spec = net("""\
        input: [3, 8, 8]
        sequential: true
        layers:
          - Conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
          - ReLU: {repeat: 3}
          - add: {from: ["0", "2", -1]}
        """)
    by_path = {layer.path: layer for layer in spec.layers}
    assert [layer.path for layer in spec.layers] == ["0", "1", "2", "3", "4"]
    # "2" is the middle copy; -1 is the previous list item, the repeat's last copy
    assert by_path["4"].inputs == ("0", "2", "3")


def test_a_bare_positive_integer_in_from_suggests_quoting():
    text = """\
        input: [3, 8, 8]
        sequential: true
        layers:
          - Conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
          - ReLU
          - add: {from: [0, 1]}
        """
    err = error(text)
    assert err.loc is not None and err.loc.line == 6
    assert 'from: "0"' in str(err)


def test_a_quoted_negative_index_is_a_name_and_says_so():
    """from: "-1" is a string, so a name (none is made of a minus and digits): the hint says to unquote it."""
    err = error("""\
        input: [3, 8, 8]
        sequential: true
        layers:
          - ReLU
          - ReLU: {from: "-1"}
        """)
    assert err.loc is not None and err.loc.line == 5
    assert "from: -1" in err.hint


def test_negative_indices_still_count_items():
    spec = net("""\
        input: [3, 8, 8]
        sequential: true
        layers:
          - Conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
          - ReLU: {repeat: 2}
          - add: {from: [-1, -2]}
        """)
    assert spec.layers[-1].inputs == ("2", "0")


@pytest.mark.parametrize("name", ['"3"', "3", '"0a"'])
def test_digit_names_cannot_be_written(name):
    err = error(f"""\
        input: [3, 8, 8]
        sequential: true
        layers:
          - ReLU: {{name: {name}}}
          - ReLU
        """)
    assert err.loc is not None and err.loc.line == 4


@pytest.mark.parametrize("value", ["yes please", "1", "[true]", "~"])
def test_sequential_must_be_a_boolean(value):
    for text in (f"input: [3, 8, 8]\nsequential: {value}\nlayers: [ReLU]\n",
                 f"input: [3, 8, 8]\nblocks:\n  b:\n    sequential: {value}\n    layers: [ReLU]\nlayers: [b]\n"):
        err = error(text)
        assert err.loc is not None and err.loc.line in (2, 4)
        assert "sequential" in str(err)


def test_block_key_typo_suggests_sequential():
    err = error("input: [3, 8, 8]\nblocks:\n  b:\n    sequentail: true\n    layers: [ReLU]\nlayers: [b]\n")
    assert "'sequential'" in str(err) and err.loc.line == 4


TORCHVISION_STYLE = """\
name: resnet-ish
input: [3, 32, 32]
blocks:
  downsample:
    sequential: true
    params: {out: ~, stride: 1}
    layers:
      - Conv2d: {out_channels: $out, kernel_size: 1, stride: $stride, bias: false}
      - BatchNorm2d
  basic_down:
    params: {out: ~, stride: 2}
    layers:
      - Conv2d: {name: conv1, out_channels: $out, kernel_size: 3, stride: $stride, padding: 1, bias: false}
      - BatchNorm2d: {name: bn1}
      - ReLU: {name: relu}
      - Conv2d: {name: conv2, out_channels: $out, kernel_size: 3, padding: 1, bias: false}
      - BatchNorm2d: {name: bn2}
      - downsample: {name: downsample, from: input, out: $out, stride: $stride}
      - add: {name: add, from: [bn2, downsample]}
  basic:
    params: {out: ~}
    layers:
      - Conv2d: {name: conv1, out_channels: $out, kernel_size: 3, padding: 1, bias: false}
      - BatchNorm2d: {name: bn1}
      - ReLU: {name: relu}
      - Conv2d: {name: conv2, out_channels: $out, kernel_size: 3, padding: 1, bias: false}
      - BatchNorm2d: {name: bn2}
      - add: {name: add, from: [bn2, input]}
  stage:
    sequential: true
    params: {out: ~, blocks: 2}
    layers:
      - basic_down: {out: $out}
      - basic: {out: $out, repeat: $blocks}
layers:
  - Conv2d: {name: conv1, out_channels: 8, kernel_size: 3, padding: 1, bias: false}
  - stage: {name: layer1, out: 16, blocks: 2}
  - stage: {name: layer2, out: 32, blocks: 1}
  - AdaptiveAvgPool2d: {name: avgpool, output_size: 1}
  - Flatten: {name: flatten}
  - Linear: {name: fc, out_features: 10}
"""


def _torch_reference():
    """The same network written directly in torch, nn.Sequential numbering its children."""
    from torch import nn

    class Basic(nn.Module):
        def __init__(self, cin: int, out: int, stride: int, down: bool) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, out, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(out)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(out)
            if down:
                self.downsample = nn.Sequential(nn.Conv2d(cin, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
            self.layer1 = nn.Sequential(Basic(8, 16, 2, True), Basic(16, 16, 1, False), Basic(16, 16, 1, False))
            self.layer2 = nn.Sequential(Basic(16, 32, 2, True), Basic(32, 32, 1, False))
            self.fc = nn.Linear(32, 10)
    return Net()


def test_to_torch_state_dict_keys_match_nn_sequential(tmp_path):
    pytest.importorskip("torch")
    path = tmp_path / "resnet_ish.yaml"
    path.write_text(TORCHVISION_STYLE)
    ours = {key: tuple(value.shape) for key, value in cnncalc.to_torch(str(path)).state_dict().items()}
    theirs = {key: tuple(value.shape) for key, value in _torch_reference().state_dict().items()}
    assert "layer1.0.conv1.weight" in theirs and "layer1.0.downsample.0.weight" in theirs
    assert ours == theirs


def test_state_dict_of_nn_sequential_loads_into_the_built_model(tmp_path):
    """Keys and shapes agree, so a torch checkpoint loads strictly into cnncalc's module."""
    pytest.importorskip("torch")
    path = tmp_path / "resnet_ish.yaml"
    path.write_text(TORCHVISION_STYLE)
    model = cnncalc.to_torch(str(path))
    result = model.load_state_dict(_torch_reference().state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
