"""Dump torchvision's state-dict keys and shapes, the truth the examples mirror.

Writes ``<model>.json`` beside this file for each model built with
``weights=None``: the model's name, the torchvision and torch versions, and
``"state_dict": {key: shape}`` in ``model.state_dict()`` order. The JSON files are torchvision's output, committed
so that the tests need no torchvision.

torchvision is not a dependency of cnncalc. To run this, install the release
that matches the installed torch (its metadata pins ``torch==X``) into a
separate folder and put that folder on the path::

    pip download --no-deps torchvision==0.28.0 -d /tmp/tv   # for torch 2.13
    pip install --no-deps --target /tmp/tvlib /tmp/tv/torchvision-*.whl pillow
    PYTHONPATH=/tmp/tvlib python tests/data/torchvision/make_keys.py

A torchvision wheel built for CUDA fails to load its C extension next to a CPU
torch, and then ``import torchvision`` stops at ``operator torchvision::nms
does not exist``: :func:`import_torchvision` declares the operators that its
import-time fake-kernel registrations need. ``torchvision.models`` is pure
Python and needs no kernel.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
MODELS = ("alexnet", "vgg16", "resnet18", "resnet50", "mobilenet_v2",
          "vgg19_bn", "googlenet", "inception_v3", "resnet101", "resnext50_32x4d",
          "wide_resnet50_2", "densenet121", "squeezenet1_0", "squeezenet1_1",
          "mobilenet_v3_large", "shufflenet_v2_x1_0", "mnasnet1_0", "efficientnet_b0",
          "regnet_y_400mf", "convnext_tiny", "fcn_resnet50", "deeplabv3_resnet50")
# builder keywords beside weights=None: the configuration whose figures torchvision
# publishes. GoogLeNet and Inception v3 without the auxiliary heads that only run in
# training (GoogLeNet's published weights drop them; see examples/inception_v3.yaml);
# the segmentation models with their aux classifier (it runs in eval too, and the
# published figures count it) and no backbone download.
KWARGS = {
    "googlenet": {"aux_logits": False, "init_weights": False},
    "inception_v3": {"aux_logits": False, "init_weights": False},
    "fcn_resnet50": {"aux_loss": True, "weights_backbone": None},
    "deeplabv3_resnet50": {"aux_loss": True, "weights_backbone": None},
}
# operators torchvision/_meta_registrations.py registers fakes for whether or
# not its C extension loaded
DETECTION_OPS = ("nms", "qnms")


def import_torchvision() -> ModuleType:
    """``torchvision``, importable even where its C extension is not."""
    import torch
    try:
        import torchvision
        return torchvision
    except RuntimeError as err:
        if "torchvision::" not in str(err):
            raise
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    for op in DETECTION_OPS:
        try:
            torch.library.define(f"torchvision::{op}", "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        except RuntimeError:
            pass  # already defined (the extension loaded that one)
    import torchvision
    return torchvision


def build(name: str):
    """torchvision's model ``name`` (classification or segmentation), untrained."""
    import torchvision.models as models
    import torchvision.models.segmentation as segmentation
    builder = getattr(models, name, None) or getattr(segmentation, name)
    return builder(weights=None, **KWARGS.get(name, {}))


def state_dict_shapes(model) -> dict[str, list[int]]:
    """``{key: shape}`` of ``model.state_dict()``, in its order."""
    return {key: list(tensor.shape) for key, tensor in model.state_dict().items()}


def as_json(data: dict) -> str:
    """JSON with one state-dict entry a line (readable diffs)."""
    entries = ",\n".join(f"  {json.dumps(key)}: {json.dumps(shape)}" for key, shape in data["state_dict"].items())
    head = ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in data.items() if k != "state_dict")
    return f"{{{head},\n \"state_dict\": {{\n{entries}\n }}\n}}\n"


def main() -> None:
    import torch
    torchvision = import_torchvision()
    for name in sys.argv[1:] or MODELS:
        model = build(name)
        data = {"model": name, "torchvision": torchvision.__version__, "torch": torch.__version__,
                "state_dict": state_dict_shapes(model)}
        path = HERE / f"{name}.json"
        path.write_text(as_json(data))
        print(f"{path.name}: {len(data['state_dict'])} keys")


if __name__ == "__main__":
    main()
