"""Every torch.nn module class is either a cnncalc layer type or out of scope with a reason.

A new torch release that adds a module fails this test until someone decides
which it is. The reasons are the project's scope: image, audio and video
tensors through feed-forward layers.
"""

from __future__ import annotations

import inspect

import pytest

from cnncalc.layers import all_types

torch = pytest.importorskip("torch")

_RECURRENT = "recurrent: a sequence model over time steps, not a feed-forward layer on image/audio/video tensors"
_LOSS = "a loss: compares a prediction with a target, not part of the network's forward pass"
_CONTAINER = "a container or the module base class: cnncalc's blocks, sequential and repeat say this"
_TRANSFORMER = "transformer/attention: token sequences with query/key/value inputs, out of this project's scope"
_LAZY = ("a lazy variant: cnncalc always infers the input size, so write the plain class "
         "(Conv2d, BatchNorm2d, Linear, ...)")

OUT_OF_SCOPE: dict[str, str] = {
    **{name: _RECURRENT for name in ("RNN", "RNNBase", "RNNCell", "RNNCellBase", "LSTM", "LSTMCell", "GRU",
                                     "GRUCell")},
    **{name: _LOSS for name in (
        "AdaptiveLogSoftmaxWithLoss", "BCELoss", "BCEWithLogitsLoss", "CTCLoss", "CosineEmbeddingLoss",
        "CrossEntropyLoss", "GaussianNLLLoss", "HingeEmbeddingLoss", "HuberLoss", "KLDivLoss", "L1Loss",
        "LinearCrossEntropyLoss", "MSELoss", "MarginRankingLoss", "MultiLabelMarginLoss",
        "MultiLabelSoftMarginLoss", "MultiMarginLoss", "NLLLoss", "NLLLoss2d", "PoissonNLLLoss", "SmoothL1Loss",
        "SoftMarginLoss", "TripletMarginLoss", "TripletMarginWithDistanceLoss")},
    **{name: _CONTAINER for name in ("Container", "Module", "ModuleDict", "ModuleList", "ParameterDict",
                                     "ParameterList", "Sequential")},
    **{name: _TRANSFORMER for name in ("MultiheadAttention", "Transformer", "TransformerDecoder",
                                       "TransformerDecoderLayer", "TransformerEncoder", "TransformerEncoderLayer")},
    **{name: _LAZY for name in (
        "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyConv1d", "LazyConv2d", "LazyConv3d",
        "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyInstanceNorm1d",
        "LazyInstanceNorm2d", "LazyInstanceNorm3d", "LazyLinear")},
    "DataParallel": "a multi-device wrapper around a module, not a layer",
    "SyncBatchNorm": "BatchNorm synchronised across processes: in eval it is BatchNorm1d/2d/3d; write that",
    "Embedding": "looks up integer token ids: its input is indices, not an image/audio/video tensor",
    "EmbeddingBag": "looks up and pools integer token ids: its input is indices, not an image/audio/video tensor",
    "Bilinear": "x1ᵀ A x2 of two feature vectors: a two-vector layer of recommendation/NLP models",
    "CosineSimilarity": "compares two embeddings (metric learning), not a layer of an image/audio/video network",
    "PairwiseDistance": "compares two embeddings (metric learning), not a layer of an image/audio/video network",
    "MaxUnpool1d": "needs the indices of a MaxPool with return_indices=True, a second output cnncalc layers lack",
    "MaxUnpool2d": "needs the indices of a MaxPool with return_indices=True, a second output cnncalc layers lack",
    "MaxUnpool3d": "needs the indices of a MaxPool with return_indices=True, a second output cnncalc layers lack",
}


def torch_nn_modules() -> list[str]:
    return sorted(name for name, value in vars(torch.nn).items()
                  if inspect.isclass(value) and issubclass(value, torch.nn.Module) and not name.startswith("_"))


def test_every_torch_nn_module_is_supported_or_out_of_scope():
    supported = set(all_types())
    undecided = [name for name in torch_nn_modules() if name not in supported and name not in OUT_OF_SCOPE]
    assert not undecided, ("torch.nn modules neither supported nor listed as out of scope: "
                           + ", ".join(undecided))


def test_out_of_scope_list_is_current():
    """No stale entries: each is a torch.nn class, not also supported, and has a reason."""
    modules = set(torch_nn_modules())
    supported = set(all_types())
    assert not set(OUT_OF_SCOPE) - modules, f"not in this torch.nn: {sorted(set(OUT_OF_SCOPE) - modules)}"
    assert not set(OUT_OF_SCOPE) & supported, f"listed yet supported: {sorted(set(OUT_OF_SCOPE) & supported)}"
    assert all(len(reason) > 20 for reason in OUT_OF_SCOPE.values())
    assert not [name for name, reason in OUT_OF_SCOPE.items() if "NOT YET" in reason.upper()]


def test_supported_torch_names_build_the_torch_class():
    """Each supported type named after a torch.nn class builds exactly that class (not a look-alike)."""
    from tests.torch_bridge.test_layer_parity import ROWS, _yaml

    import cnncalc
    for type_name, args, shape in ROWS:
        if not hasattr(torch.nn, type_name):
            continue
        text = _yaml(type_name, args, shape)
        model = cnncalc.to_torch(text)
        layer = cnncalc.analyze(cnncalc.loads(text)).layers[-1]
        assert type(model.layer(layer.name)) is getattr(torch.nn, type_name), type_name
