"""torchvision's classification models imported: the report equals torch's figures, to_torch has their keys.

torchvision is not a dependency: the test skips with the reason when it cannot
be imported (tests/data/torchvision/make_keys.py declares the operators its
import needs). Models are built on the "meta" device and measured there
(FlopCounterMode counts from shapes), so no weights are initialised and no
arithmetic is done: the truth is torch's own parameter, buffer and MAC
counts and output shape at a small input.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from cnncalc.api import analyze, loads  # noqa: E402
from cnncalc.frontends.torch_fx import import_module  # noqa: E402
from cnncalc.frontends.write_yaml import dump  # noqa: E402
from cnncalc.torch_bridge import to_torch  # noqa: E402


def _torchvision():
    try:
        from tests.data.torchvision.make_keys import KWARGS, import_torchvision
        import_torchvision()
        import torchvision.models as models
    except Exception as err:  # not installed, or its import fails here
        pytest.skip(f"torchvision cannot be imported ({type(err).__name__}: {err}); set PYTHONPATH to it")
    return models, KWARGS


# name -> input (C, H, W): small, above each model's smallest valid size
MODELS = {"alexnet": (3, 64, 64), "resnet18": (3, 64, 64), "resnext50_32x4d": (3, 64, 64), "vgg11_bn": (3, 32, 32),
          "squeezenet1_1": (3, 64, 64), "densenet121": (3, 64, 64), "googlenet": (3, 64, 64),
          "inception_v3": (3, 75, 75), "mobilenet_v2": (3, 64, 64), "mobilenet_v3_small": (3, 64, 64),
          "mnasnet0_5": (3, 64, 64), "shufflenet_v2_x0_5": (3, 64, 64), "efficientnet_b0": (3, 64, 64),
          "convnext_tiny": (3, 64, 64)}
# torchvision's ConvNeXt keeps its layer scale as a bare parameter, features.1.0.layer_scale; cnncalc's
# LayerScale is a module holding a weight, so to_torch's key is features.1.0.layer_scale.weight
# torchvision's _DenseLayer takes the list of all earlier features and concatenates inside: several inputs,
# which the writer does not yet make a block of (blocks with inputs), so denselayer2 on are dissolved into
# their dense block and their names lose a dot (denselayer2_conv1); the counts are unaffected
KEYS_DIFFER = {"convnext_tiny", "densenet121"}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_torchvision_model_equals_torch(name):
    models, kwargs = _torchvision()
    shape = MODELS[name]
    with torch.device("meta"):
        module = models.get_model(name, **kwargs.get(name, {})).eval()
        x = torch.zeros(1, *shape)
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            y = module(x)
    network = loads(dump(import_module(module, input=shape, name=name)), filename=f"<{name}>")
    report = analyze(network)
    assert report.totals.params == sum(p.numel() for p in module.parameters())
    assert report.totals.trainable_params == sum(p.numel() for p in module.parameters() if p.requires_grad)
    assert report.totals.buffers == sum(b.numel() for b in module.buffers())
    assert report.totals.macs == counter.get_total_flops() // 2
    assert tuple(report.output_shape) == tuple(y.shape)
    keys = sorted(to_torch(network, device="meta").state_dict())
    if name in KEYS_DIFFER:
        assert len(keys) == len(module.state_dict())
    else:
        assert keys == sorted(module.state_dict())
