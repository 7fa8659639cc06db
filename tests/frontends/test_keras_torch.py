"""Keras types as torch modules (to_torch, verify, export --to torch), against Keras itself.

Every dialect case of test_keras.py is built twice: by keras 3 (torch backend)
and by cnncalc.to_torch. With every trainable weight set to the same constant
on both sides (a constant kernel is the same in Keras's (k, k, in, out) and
torch's (out, in, k, k) layout, but padding on the wrong side still changes the
border), the two outputs agree on a random input, and the torch model's
parameters + buffers equal Keras's count_params(). Then verify on the lecture's
digit network, export --to torch of it run, and the refusal of a shared call.
"""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc import api
from cnncalc.errors import CnnCalcError
from cnncalc.frontends.write_yaml import dump

from .test_keras import CASES, EXAMPLES, _build, _doc, keras  # noqa: F401  (the keras fixture)

CONSTANT = 0.1


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_torch_module_computes_what_keras_computes(keras, case):
    import numpy as np
    import torch
    _, shape, layers = case
    model = _build(keras, shape, layers)
    for weight in model.weights:
        if weight.trainable:
            weight.assign(np.full(tuple(weight.shape), CONSTANT, dtype="float32"))
    ours = cnncalc.to_torch(api.loads(dump(_doc(shape, layers)))).eval()
    with torch.no_grad():
        for parameter in ours.parameters():
            parameter.fill_(CONSTANT)
    assert sum(p.numel() for p in ours.parameters()) + sum(b.numel() for b in ours.buffers()) == \
        model.count_params()
    x = torch.rand(2, *shape)
    with torch.no_grad():
        expected = model(x).detach().cpu()
        found = ours(x)
    assert found.shape == expected.shape
    torch.testing.assert_close(found, expected, rtol=1e-4, atol=1e-5)


def test_verify_checks_the_digit_network_against_torch():
    pytest.importorskip("torch")
    from cnncalc.torch_bridge.verify import verify
    result = verify(str(EXAMPLES / "digits.yaml"), device="cpu")
    kinds = {c.kind for c in result.compared}
    assert result.ok and {"shape", "params", "buffers", "flops"} <= kinds
    assert any("channels last" in note for note in result.notes)       # the field probe says why it is skipped


def test_export_to_torch_runs_to_the_same_model():
    torch = pytest.importorskip("torch")
    from cnncalc.torch_bridge.export import export_source
    network = api.load(EXAMPLES / "digits.yaml")
    scope: dict = {"__name__": "exported"}
    exec(compile(export_source(network), "<exported>", "exec"), scope)   # cnncalc's own output, in a test
    exported = next(v for k, v in scope.items() if isinstance(v, type) and issubclass(v, torch.nn.Module)
                    and k not in ("Scope",) and not k.startswith("Keras"))().eval()
    built = cnncalc.to_torch(network).eval()
    exported.load_state_dict(built.state_dict())
    x = torch.rand(1, 28, 28, 1)
    with torch.no_grad():
        torch.testing.assert_close(exported(x), built(x))
    assert sum(p.numel() for p in exported.parameters()) == 34_826


def test_shared_call_is_refused_naming_the_layer():
    pytest.importorskip("torch")
    text = ("framework: keras\ninput: [3, 4]\nlayers:\n  - Dense: {units: 4, name: d}\n"
            "  - Dense: {units: 4, name: d2, shared: true}\n")
    with pytest.raises(CnnCalcError, match=r"d2.*shared call.*cannot tie weights") as caught:
        cnncalc.to_torch(api.loads(text))
    assert caught.value.hint and "shared" in caught.value.hint
