"""--count-as against the tools themselves: every example, and one-layer networks of every type.

Truth is each peer run with its default settings on ``cnncalc.to_torch(...)``
(tests/counting/peers.py); the analytic profile must give the same MACs (and
FLOPs where the tool has them) exactly. Inputs are small (3×64×64 for the
image examples) so the six tools stay within seconds; each example's module is
built once and measured by all six.

Every example runs (about 20 s on two cores when the machine is quiet: the
cost is each tool's per-module overhead, not the input size).
"""

from __future__ import annotations

import json

import pytest

from cnncalc.api import analyze
from cnncalc.counting import PEERS
from tests.conftest import EXAMPLES
from tests.counting.peers import measure

torch = pytest.importorskip("torch", reason="the peers run on torch modules")

SMALL = 64
PEER_EXAMPLES = sorted(EXAMPLES.glob("*.yaml"))


def example_input(path) -> list | None:
    """A small input for an example: its own when already small, else the smallest of C×32×32 … C×299×299
    that it accepts (None: the file's)."""
    import cnncalc
    dims = cnncalc.load(path).input
    if len(dims) == 3 and (not all(isinstance(d, int) for d in dims[1:]) or max(dims[1:]) > SMALL):
        for size in (32, SMALL, 96, 2 * SMALL, 299):
            try:
                analyze(path, input=[dims[0], size, size])
            except cnncalc.CnnCalcError:
                continue
            return [dims[0], size, size]
    return None


@pytest.mark.parametrize("path", PEER_EXAMPLES, ids=lambda p: p.stem)
def test_every_example_counts_as_each_peer(path):
    import cnncalc
    small = example_input(path)
    model = cnncalc.to_torch(path, input=small)
    x = torch.randn(*model.input_shape)
    for peer in PEERS:
        macs, flops = measure(peer, model, x)
        report = analyze(path, input=small, count_as=peer)
        assert report.totals.macs == macs, (peer, report.totals.macs, macs)
        if flops is not None:
            assert report.totals.flops == flops, (peer, report.totals.flops, flops)


# one-layer networks: (input without batch, the layer as YAML); a merge reads the input twice
CASES = [
    ([3, 9, 9], "Conv2d: {out_channels: 4, kernel_size: 3}"),
    ([3, 9, 9], "Conv2d: {out_channels: 4, kernel_size: 3, stride: 2, padding: 1, bias: false}"),
    ([4, 9, 9], "Conv2d: {out_channels: 4, kernel_size: 3, groups: 2, dilation: 2}"),
    ([3, 11], "Conv1d: {out_channels: 2, kernel_size: 3}"),
    ([2, 5, 6, 6], "Conv3d: {out_channels: 3, kernel_size: 2, bias: false}"),
    ([3, 5, 5], "ConvTranspose2d: {out_channels: 4, kernel_size: 3, stride: 2}"),
    ([4, 5, 5], "ConvTranspose2d: {out_channels: 2, kernel_size: 2, stride: 2, groups: 2, bias: false}"),
    ([3, 7], "ConvTranspose1d: {out_channels: 2, kernel_size: 3, stride: 3, padding: 1}"),
    ([2, 3, 3, 3], "ConvTranspose3d: {out_channels: 2, kernel_size: 2, stride: 2}"),
    ([3, 4], "Flatten\n  - Linear: {out_features: 5}"),
    ([3, 4], "Flatten\n  - Linear: {out_features: 5, bias: false}"),
    ([3, 4, 12], "Linear: {out_features: 5}"),
    ([3, 8, 8], "Identity"),
    ([3, 9, 9], "MaxPool2d: {kernel_size: 3, stride: 2}"),
    ([3, 9], "MaxPool1d: {kernel_size: 2}"),
    ([2, 4, 4, 4], "MaxPool3d: {kernel_size: 2}"),
    ([3, 9, 9], "AvgPool2d: {kernel_size: 3, stride: 2, padding: 1}"),
    ([3, 9, 9], "AvgPool2d: {kernel_size: 3, padding: 1, count_include_pad: false}"),
    ([3, 9], "AvgPool1d: {kernel_size: 3}"),
    ([2, 4, 4, 4], "AvgPool3d: {kernel_size: 2}"),
    ([3, 8, 8], "LPPool2d: {norm_type: 2, kernel_size: 2}"),
    ([3, 8], "LPPool1d: {norm_type: 2, kernel_size: 2}"),
    ([3, 7, 7], "AdaptiveAvgPool2d: {output_size: 1}"),
    ([3, 7, 7], "AdaptiveAvgPool2d: {output_size: 3}"),
    ([3, 10], "AdaptiveAvgPool1d: {output_size: 4}"),
    ([2, 4, 5, 6], "AdaptiveAvgPool3d: {output_size: 2}"),
    ([3, 7, 7], "AdaptiveMaxPool2d: {output_size: 3}"),
    ([3, 10], "AdaptiveMaxPool1d: {output_size: 5}"),
    ([2, 4, 4, 4], "AdaptiveMaxPool3d: {output_size: 2}"),
    ([3, 6, 6], "BatchNorm2d"),
    ([3, 6, 6], "BatchNorm2d: {affine: false}"),
    ([3, 6, 6], "BatchNorm2d: {track_running_stats: false}"),
    ([3, 6], "BatchNorm1d"),
    ([2, 3, 3, 3], "BatchNorm3d"),
    ([3, 6, 6], "InstanceNorm2d"),
    ([3, 6, 6], "InstanceNorm2d: {affine: true}"),
    ([3, 6], "InstanceNorm1d"),
    ([2, 3, 3, 3], "InstanceNorm3d: {affine: true}"),
    ([4, 5, 5], "GroupNorm: {num_groups: 2}"),
    ([4, 5, 5], "GroupNorm: {num_groups: 2, affine: false}"),
    ([4, 5, 5], "LayerNorm: {normalized_shape: [5, 5]}"),
    ([4, 5, 5], "LayerNorm: {normalized_shape: [5], bias: false}"),
    ([4, 5, 5], "LayerNorm: {normalized_shape: [5], elementwise_affine: false}"),
    ([4, 5, 5], "LocalResponseNorm: {size: 3}"),
    *[([3, 5, 5], name) for name in ("ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "SiLU", "Mish",
                                     "Sigmoid", "Tanh", "Hardswish", "Hardsigmoid", "Hardtanh", "Softplus",
                                     "Softsign", "GELU", "PReLU", "Softmax2d")],
    ([3, 5, 5], "ReLU: {inplace: true}"),
    ([3, 5, 5], "GELU: {approximate: tanh}"),
    ([3, 5, 5], "PReLU: {num_parameters: 3}"),
    ([3, 5, 5], "Softmax: {dim: 1}"),
    ([3, 5, 5], "Softmax"),
    ([3, 5, 5], "LogSoftmax: {dim: -1}"),
    ([3, 4, 4], "Upsample: {scale_factor: 2}"),
    ([3, 4, 4], "Upsample: {scale_factor: 2, mode: bilinear}"),
    ([3, 4, 4], "Upsample: {scale_factor: 1.5, mode: bilinear, align_corners: true}"),
    ([3, 4, 4], "Upsample: {size: [6, 10], mode: bicubic}"),
    ([3, 4, 4], "Upsample: {size: 7, mode: nearest-exact}"),
    ([3, 5], "Upsample: {scale_factor: 3, mode: linear}"),
    ([2, 3, 3, 3], "Upsample: {scale_factor: 2, mode: trilinear}"),
    ([2, 3, 3, 3], "Upsample: {scale_factor: [1, 2, 2]}"),
    ([3, 5, 5], "add: {from: [input, input]}"),
    ([3, 5, 5], "mul: {from: [input, input]}"),
    ([3, 5, 5], "concat: {from: [input, input]}"),
    ([3, 5, 5], "ZeroPad2d: {padding: 1}"),
    ([3, 5, 5], "ConstantPad2d: {padding: 1, value: 0.5}"),
    ([3, 5, 5], "ReflectionPad2d: {padding: 1}"),
    ([3, 5, 5], "ReplicationPad2d: {padding: 1}"),
    ([3, 5, 5], "CircularPad2d: {padding: 1}"),
    ([3, 5], "ZeroPad1d: {padding: 1}"),
    ([2, 3, 3, 3], "ReplicationPad3d: {padding: 1}"),
    ([3, 5, 5], "Flatten"),
    ([12, 5], "Unflatten: {dim: 1, unflattened_size: [3, 4]}"),
    ([8, 3, 3], "PixelShuffle: {upscale_factor: 2}"),
    ([2, 4, 4], "PixelUnshuffle: {downscale_factor: 2}"),
    ([4, 3, 3], "ChannelShuffle: {groups: 2}"),
    *[([3, 5, 5], name) for name in ("Dropout", "Dropout2d", "AlphaDropout")],
    ([3, 5], "Dropout1d"),
    ([2, 3, 3, 3], "Dropout3d"),
    ([3, 5, 5], "Dropout: {p: 0}"),
]


def _yaml(shape, layer, batch=1):
    return f"input: {json.dumps(shape)}\nbatch: {batch}\nlayers:\n  - {layer}\n"


@pytest.mark.parametrize("shape,layer", CASES, ids=[layer.split(":")[0].split()[-1] + str(i) for i, (_, layer) in
                                                     enumerate(CASES)])
def test_one_layer_counts_as_each_peer(shape, layer):
    import cnncalc
    text = _yaml(shape, layer)
    model = cnncalc.to_torch(text)
    x = torch.randn(*model.input_shape)
    for peer in PEERS:
        macs, flops = measure(peer, model, x)
        report = analyze(text, count_as=peer)
        assert (report.totals.macs, report.layers[-1].macs) == (macs, macs), peer
        if flops is not None:
            assert report.totals.flops == flops, (peer, report.totals.flops, flops)


@pytest.mark.parametrize("layer", ["Conv2d: {out_channels: 4, kernel_size: 3}", "Linear: {out_features: 5}",
                                   "BatchNorm2d", "Upsample: {scale_factor: 2, mode: bilinear}",
                                   "MaxPool2d: {kernel_size: 2}", "ReLU"])
def test_a_batch_of_three_counts_as_each_peer(layer):
    """ptflops divides its module hooks by the batch but not its functional counts; torchinfo uses N only."""
    import cnncalc
    text = _yaml([3, 6, 6] if "Linear" not in layer else [3, 6, 6], layer, batch=3)
    model = cnncalc.to_torch(text)
    x = torch.randn(*model.input_shape)
    for peer in PEERS:
        macs, flops = measure(peer, model, x)
        report = analyze(text, count_as=peer)
        assert report.totals.macs == macs, (peer, report.totals.macs, macs)
        if flops is not None:
            assert report.totals.flops == flops, peer
