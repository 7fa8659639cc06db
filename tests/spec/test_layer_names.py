"""A layer's name may hold '-' (torchvision's RegNet: trunk_output.block1.block1-0), not first.

Block and parameter names stay identifiers: `$a-b` is a subtraction in an expression.
"""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc.errors import CnnCalcError

HEAD = "name: t\ninput: [3, 8, 8]\n"


def test_a_dashed_layer_name_is_a_name_from_and_paths_use():
    text = HEAD + ("blocks:\n  stage:\n    layers:\n"
                   "      - Conv2d: {out_channels: 4, kernel_size: 3, padding: 1, name: block1-0}\n"
                   "      - ReLU: {name: block1-1}\n"
                   "      - add: {from: [block1-0, block1-1]}\n"
                   "layers:\n  - stage: {name: block1}\n  - ReLU: {from: -1}\n")
    report = cnncalc.analyze(cnncalc.loads(text))
    paths = [row.name for row in report.layers]
    assert "block1.block1-0" in paths and "block1.block1-1" in paths
    add = next(row for row in report.layers if row.type == "add")
    assert add.inputs == ("block1.block1-0", "block1.block1-1")
    assert report.totals.params == 4 * 3 * 3 * 3 + 4          # the conv's weight and bias


def test_a_dashed_name_is_torchs_module_name():
    torch = pytest.importorskip("torch")
    text = HEAD + "layers:\n  - Conv2d: {out_channels: 4, kernel_size: 1, name: block1-0}\n"
    model = cnncalc.to_torch(cnncalc.loads(text), device="meta")
    assert list(model.state_dict()) == ["block1-0.weight", "block1-0.bias"]
    assert isinstance(model, torch.nn.Module)


@pytest.mark.parametrize("text, words", [
    (HEAD + "layers:\n  - ReLU: {name: -x}\n", ("'-x'", "'-'", "start with a letter")),
    (HEAD + "blocks:\n  a-b: {layers: [ReLU]}\nlayers: [a-b]\n", ("'a-b'", "underscores")),
    (HEAD + "blocks:\n  b: {params: {w-1: 2}, layers: [ReLU]}\nlayers: [b]\n", ("'w-1'", "underscores")),
])
def test_a_dash_first_or_in_a_block_or_parameter_name_is_an_error(text, words):
    with pytest.raises(CnnCalcError) as info:
        cnncalc.loads(text)
    message = str(info.value)
    assert all(word in message for word in words), message
