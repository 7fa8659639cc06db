"""Examples that mirror a torchvision model have its module names.

The truth is torchvision's own ``model.state_dict()`` (``weights=None``), its
keys and shapes dumped by tests/data/torchvision/make_keys.py into one JSON
file per model. For each such example, ``cnncalc.to_torch(example)`` must have
exactly those keys with those shapes, and a state dict shaped like
torchvision's (what its pretrained weights are) must load with
``strict=True``. Where torchvision itself is importable (it is not a cnncalc
dependency), its freshly built models also load into ours and give the same
outputs.
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import pytest

import cnncalc
from tests.conftest import DATA, EXAMPLES

torch = pytest.importorskip("torch")

TORCHVISION_DATA = DATA / "torchvision"
MIRRORED = sorted(path.stem for path in TORCHVISION_DATA.glob("*.json"))
# an example's header says which torchvision builder it mirrors
MIRRORS = re.compile(r"torchvision\.models\.(?:segmentation\.)?(\w+)")
# the examples that mirror a torchvision model (a file's stem is its builder's name)
ZOO = ["alexnet", "convnext_tiny", "deeplabv3_resnet50", "densenet121", "efficientnet_b0",
       "fcn_resnet50", "googlenet", "inception_v3", "mnasnet1_0", "mobilenet_v2",
       "mobilenet_v3_large", "regnet_y_400mf", "resnet101", "resnet18", "resnet50",
       "resnext50_32x4d", "shufflenet_v2_x1_0", "squeezenet1_0", "squeezenet1_1", "vgg16",
       "vgg19_bn", "wide_resnet50_2"]
# input side for the comparison with torchvision itself: small, so the test stays quick,
# and at least what every model accepts (Inception v3 needs 75)
COMPARE_SIDE = {"inception_v3": 80}
# torchvision spellings a file cannot have, each (torchvision's key pattern, ours), applied
# to torchvision's keys before they are compared: ConvNeXt's CNBlock holds layer_scale as a
# bare nn.Parameter (here a LayerScale layer, whose weight it is), and its LayerNorm2d is
# an nn.LayerNorm whose forward permutes (here Permute, LayerNorm, Permute: child 1)
RENAMED = {"convnext_tiny": ((r"\.layer_scale$", ".layer_scale.weight"),
                             (r"^(features\.0\.1|features\.[246]\.0|classifier\.0)\.(weight|bias)$", r"\1.1.\2")),
           # the segmentation models' aux head reads backbone.layer3, and a layer outside a
           # block cannot name one inside it: the head sits in the backbone block
           "fcn_resnet50": ((r"^aux_classifier\.", "backbone.aux_classifier."),),
           "deeplabv3_resnet50": ((r"^aux_classifier\.", "backbone.aux_classifier."),)}
# keys that a rename also moves in the order (a bare nn.Parameter comes before its
# module's children in torchvision; the aux head is registered last there)
MOVED = re.compile(r"(\.layer_scale|^aux_classifier\..*)$")


def raw_torchvision_shapes(name: str) -> dict[str, list[int]]:
    """torchvision's ``{state_dict key: shape}`` for model ``name``, in its order."""
    return json.loads((TORCHVISION_DATA / f"{name}.json").read_text())["state_dict"]


def as_ours(name: str, key: str) -> str:
    """torchvision's state-dict ``key`` of model ``name`` as the example spells it (RENAMED)."""
    for pattern, replacement in RENAMED.get(name, ()):
        key = re.sub(pattern, replacement, key)
    return key


def build(name: str, **kwargs):
    """``cnncalc.to_torch`` of the example; a symbolic (segmentation) one at 64x64."""
    symbols = cnncalc.load(EXAMPLES / f"{name}.yaml").symbols
    return cnncalc.to_torch(EXAMPLES / f"{name}.yaml", sizes={symbol: 64 for symbol in symbols} or None, **kwargs)


def torchvision_shapes(name: str) -> dict[str, list[int]]:
    """torchvision's keys and shapes, keys as the example spells them, in torchvision's order."""
    return {as_ours(name, key): shape for key, shape in raw_torchvision_shapes(name).items()}


def test_the_renames_change_only_convnexts_layer_scales_and_layernorm2ds():
    raw = raw_torchvision_shapes("convnext_tiny")
    renamed = [key for key in raw if as_ours("convnext_tiny", key) != key]
    assert len(renamed) == 18 + 2 * 5      # one layer_scale per CNBlock; stem, 3 downsamples, head
    assert all(key.endswith(".layer_scale") or key.endswith((".weight", ".bias")) for key in renamed)


def shapes_of(state_dict) -> dict[str, list[int]]:
    return {key: list(tensor.shape) for key, tensor in state_dict.items()}


def random_state_dict(shapes: dict[str, list[int]], seed: int = 0) -> dict[str, "torch.Tensor"]:
    """Random tensors shaped as torchvision's state dict (BatchNorm's counter an integer)."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.randint(1, 1000, shape, generator=generator, dtype=torch.long)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=generator) + 0.5    # a variance is positive
        else:
            state[key] = torch.randn(shape, generator=generator)
    return state


def test_every_example_that_mirrors_torchvision_has_its_keys():
    """An example whose header says "torchvision.models.X" is X.yaml and has tests/data/torchvision/X.json."""
    mirrors = {}
    for path in EXAMPLES.glob("*.yaml"):
        header = "".join(line for line in path.read_text().splitlines(keepends=True) if line.startswith("#"))
        if models := set(MIRRORS.findall(header)):
            mirrors[path.stem] = models
    assert all(models == {stem} for stem, models in mirrors.items()), mirrors
    assert sorted(mirrors) == MIRRORED == ZOO


@pytest.mark.parametrize("name", MIRRORED)
def test_state_dict_keys_and_shapes_are_torchvisions(name):
    model = build(name, device="meta")
    expected = torchvision_shapes(name)
    found = shapes_of(model.state_dict())
    missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    assert not missing and not extra, f"missing {missing[:5]}, not in torchvision {extra[:5]}"
    assert found == expected
    # and in torchvision's registration order, but for the keys a rename moves
    moved = {as_ours(name, key) for key in raw_torchvision_shapes(name) if MOVED.search(key)}
    assert [key for key in found if key not in moved] == [key for key in expected if key not in moved]


@pytest.mark.parametrize("name", MIRRORED)
def test_torchvision_shaped_weights_load_strictly(name):
    model = build(name)
    weights = random_state_dict(torchvision_shapes(name))
    result = model.load_state_dict(weights, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    loaded = model.state_dict()
    assert all(torch.equal(loaded[key], value) for key, value in weights.items())


def test_a_renamed_layer_fails_the_strict_load():
    """The load above is a real check: one key off and strict loading refuses."""
    model = cnncalc.to_torch(EXAMPLES / "resnet18.yaml")
    weights = random_state_dict({key: shape for key, shape in torchvision_shapes("resnet18").items()
                                 if not key.startswith("layer2.0.downsample.")})
    weights["layer2.0.downsample_conv.weight"] = torch.zeros(128, 64, 1, 1)
    with pytest.raises(RuntimeError, match="downsample"):
        model.load_state_dict(weights, strict=True)


# --------------------------------------------------------------------------
# Against torchvision itself, where it can be imported
# --------------------------------------------------------------------------

def load_make_keys() -> ModuleType:
    spec = importlib.util.spec_from_file_location("torchvision_make_keys", TORCHVISION_DATA / "make_keys.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=1)
def torchvision_or_reason() -> tuple[ModuleType | None, str]:
    """(torchvision, "") or (None, why it cannot be imported)."""
    try:
        return load_make_keys().import_torchvision(), ""
    except Exception as err:  # ImportError, or a build that does not match this torch
        return None, f"torchvision is not importable ({type(err).__name__}: {err}); " \
                     f"see tests/data/torchvision/make_keys.py for how to install it beside torch"


@pytest.fixture
def torchvision_models():
    torchvision, reason = torchvision_or_reason()
    if torchvision is None:
        pytest.skip(reason)
    import torchvision.models
    return torchvision.models


@pytest.mark.parametrize("name", MIRRORED)
def test_real_torchvision_weights_give_the_same_outputs(name, torchvision_models):
    """torchvision's model loads into ours strictly and both compute the same function."""
    torch.manual_seed(0)
    reference = load_make_keys().build(name).eval()
    # the committed keys are still what this torchvision builds
    assert shapes_of(reference.state_dict()) == raw_torchvision_shapes(name)
    with torch.no_grad():          # BatchNorm statistics that are not 0 and 1
        for module in reference.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 1.5)
        for key, parameter in reference.named_parameters():   # ConvNeXt's 1e-6 would hide its blocks
            if key.endswith("layer_scale"):
                parameter.uniform_(0.5, 1.5)
    model = build(name).eval()
    model.load_state_dict({as_ours(name, key): value for key, value in reference.state_dict().items()},
                          strict=True)
    side = COMPARE_SIDE.get(name, 64)
    x = torch.randn(2, 3, side, side, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, found = reference(x), model(x)
    if isinstance(expected, dict):       # segmentation: {"out": ..., "aux": ...}; ours ends in "out"
        expected = expected["out"]
        assert found.shape == expected.shape == (2, 21, side, side)
    else:
        assert found.shape == expected.shape == (2, 1000)
    torch.testing.assert_close(found, expected, rtol=1e-4, atol=1e-4)
