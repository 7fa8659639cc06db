"""The torch cross-check of every layer rule: one small valid configuration per
registered layer type (cnncalc.layers.all_types()), built with to_torch and run
by torch, against the analytic figures: output shape, parameters
(``module.parameters()``), buffers, 2 × MACs against FlopCounterMode, and the
receptive field measured by autograd (cnncalc.torch_bridge.field).

A new layer type without a row here fails ``test_every_type_has_a_row``.
"""

from __future__ import annotations

import warnings

import pytest

import cnncalc
from cnncalc.layers import all_types

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

# (type, args, input without the batch); merges read the input and an Identity of it
ROWS: list[tuple[str, dict, list]] = [
    # convolutions
    ("Conv1d", {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2}, [3, 17]),
    ("Conv2d", {"out_channels": 6, "kernel_size": [3, 5], "stride": [2, 1], "padding": [1, 2], "dilation": [1, 2],
                "groups": 3}, [3, 12, 13]),
    ("Conv3d", {"out_channels": 4, "kernel_size": [2, 3, 3], "padding": "same", "dilation": [1, 1, 2],
                "bias": False}, [2, 6, 7, 8]),
    ("ConvTranspose1d", {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1},
     [3, 9]),
    ("ConvTranspose2d", {"out_channels": 4, "kernel_size": [3, 4], "stride": [2, 3], "padding": [1, 0],
                         "dilation": [2, 1], "groups": 2}, [4, 5, 6]),
    ("ConvTranspose3d", {"out_channels": 2, "kernel_size": 2, "stride": 2, "bias": False}, [2, 3, 4, 5]),
    # pooling
    ("MaxPool1d", {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True}, [2, 16]),
    ("MaxPool2d", {"kernel_size": 3, "stride": 2, "ceil_mode": True}, [3, 10, 11]),
    ("MaxPool3d", {"kernel_size": 2}, [2, 4, 5, 6]),
    ("AvgPool1d", {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}, [2, 11]),
    ("AvgPool2d", {"kernel_size": [3, 2], "stride": 2, "padding": 1, "ceil_mode": True}, [3, 9, 10]),
    ("AvgPool3d", {"kernel_size": 2, "divisor_override": 3}, [2, 4, 4, 5]),
    ("LPPool1d", {"norm_type": 2, "kernel_size": 3, "stride": 2}, [2, 11]),
    ("LPPool2d", {"norm_type": 2, "kernel_size": 2, "ceil_mode": True}, [3, 9, 9]),
    ("LPPool3d", {"norm_type": 1, "kernel_size": 2}, [2, 4, 4, 4]),
    ("AdaptiveAvgPool1d", {"output_size": 5}, [2, 13]),
    ("AdaptiveAvgPool2d", {"output_size": [3, None]}, [3, 10, 7]),
    ("AdaptiveAvgPool3d", {"output_size": 2}, [2, 5, 6, 7]),
    ("AdaptiveMaxPool1d", {"output_size": 4}, [2, 10]),
    ("AdaptiveMaxPool2d", {"output_size": [2, 3]}, [3, 7, 8]),
    ("AdaptiveMaxPool3d", {"output_size": [1, 2, 2]}, [2, 3, 5, 6]),
    # normalisation
    ("BatchNorm1d", {}, [4, 10]),
    ("BatchNorm2d", {"momentum": None}, [4, 6, 6]),
    ("BatchNorm3d", {"affine": False}, [2, 3, 4, 5]),
    ("InstanceNorm1d", {"affine": True}, [3, 10]),
    ("InstanceNorm2d", {"track_running_stats": True}, [3, 6, 6]),
    ("InstanceNorm3d", {}, [2, 3, 3, 3]),
    ("GroupNorm", {"num_groups": 2}, [4, 5, 5]),
    ("LayerNorm", {"normalized_shape": [5, 5]}, [4, 5, 5]),
    ("LocalResponseNorm", {"size": 3}, [4, 5, 5]),
    # linear, identity, reshapes
    ("Linear", {"out_features": 7}, [3, 5, 6]),
    ("Identity", {}, [3, 4, 4]),
    ("Flatten", {}, [2, 3, 4]),
    ("Unflatten", {"dim": 1, "unflattened_size": [2, 3]}, [6, 5]),
    ("PixelShuffle", {"upscale_factor": 2}, [8, 3, 4]),
    ("PixelUnshuffle", {"downscale_factor": 2}, [2, 6, 4]),
    ("ChannelShuffle", {"groups": 2}, [4, 3, 3]),
    # dropout
    ("Dropout", {"p": 0.3}, [3, 4, 4]),
    ("Dropout1d", {}, [3, 8]),
    ("Dropout2d", {}, [3, 4, 4]),
    ("Dropout3d", {}, [2, 3, 3, 3]),
    ("AlphaDropout", {}, [3, 4, 4]),
    # activations
    ("ReLU", {}, [3, 5, 5]),
    ("ReLU6", {}, [3, 5, 5]),
    ("LeakyReLU", {"negative_slope": 0.2}, [3, 5, 5]),
    ("ELU", {"alpha": 0.5}, [3, 5, 5]),
    ("SELU", {}, [3, 5, 5]),
    ("CELU", {"alpha": 2.0}, [3, 5, 5]),
    ("SiLU", {}, [3, 5, 5]),
    ("Mish", {}, [3, 5, 5]),
    ("Sigmoid", {}, [3, 5, 5]),
    ("Tanh", {}, [3, 5, 5]),
    ("Hardswish", {}, [3, 5, 5]),
    ("Hardsigmoid", {}, [3, 5, 5]),
    ("Hardtanh", {"min_val": -2.0, "max_val": 2.0}, [3, 5, 5]),
    ("Softplus", {"beta": 2.0}, [3, 5, 5]),
    ("Softsign", {}, [3, 5, 5]),
    ("GELU", {"approximate": "tanh"}, [3, 5, 5]),
    ("PReLU", {"num_parameters": 3}, [3, 5, 5]),
    ("Softmax", {"dim": 1}, [3, 4, 4]),
    ("LogSoftmax", {"dim": -1}, [3, 4, 4]),
    ("Softmax2d", {}, [3, 4, 4]),
    # padding
    ("ZeroPad1d", {"padding": [1, 2]}, [3, 5]),
    ("ZeroPad2d", {"padding": [1, 0, 2, -1]}, [3, 5, 6]),
    ("ZeroPad3d", {"padding": 1}, [2, 3, 3, 3]),
    ("ConstantPad1d", {"padding": 2, "value": 0.5}, [3, 5]),
    ("ConstantPad2d", {"padding": [0, 1, 2, 3], "value": -1.0}, [3, 4, 4]),
    ("ConstantPad3d", {"padding": [1, 0, 0, 1, 1, 1], "value": 2.0}, [2, 3, 3, 3]),
    ("ReflectionPad1d", {"padding": 2}, [3, 5]),
    ("ReflectionPad2d", {"padding": [1, 2, 0, 1]}, [3, 4, 5]),
    ("ReflectionPad3d", {"padding": 1}, [2, 3, 3, 3]),
    ("ReplicationPad1d", {"padding": [3, 1]}, [3, 5]),
    ("ReplicationPad2d", {"padding": 2}, [3, 4, 4]),
    ("ReplicationPad3d", {"padding": [1, 1, 0, 2, 1, 0]}, [2, 3, 3, 3]),
    ("CircularPad1d", {"padding": 2}, [3, 5]),
    ("CircularPad2d", {"padding": [1, 1, 2, 0]}, [3, 4, 5]),
    ("CircularPad3d", {"padding": 1}, [2, 3, 3, 3]),
    # upsampling
    ("Upsample", {"scale_factor": 2, "mode": "bilinear"}, [3, 5, 6]),
    # merges
    ("add", {}, [3, 4, 4]),
    ("mul", {}, [3, 4, 4]),
    ("concat", {"dim": 1}, [3, 4, 4]),
    # issue 11: slices (several outputs: the row concatenates the pieces), reorders, reductions, scales
    ("chunk", {"chunks": 3, "dim": 1}, [7, 4, 4]),
    ("split", {"split_size_or_sections": [1, 3], "dim": 1}, [4, 4, 5]),
    ("narrow", {"dim": 3, "start": 1, "length": 3}, [2, 5, 6]),
    ("Permute", {"dims": [0, 2, 3, 1]}, [3, 4, 5]),
    ("transpose", {"dim0": 1, "dim1": 2}, [3, 4, 5]),
    ("mean", {"dim": [2, 3]}, [3, 4, 5]),
    ("sum", {"dim": 1, "keepdim": True}, [3, 4, 5]),
    ("amax", {"dim": [-1], "keepdim": True}, [3, 4, 5]),
    ("LayerScale", {"init_value": 0.5}, [3, 4, 5]),
    ("scale", {"factor": 0.17}, [3, 4, 5]),
    ("StochasticDepth", {"p": 0.2}, [3, 4, 5]),
    ("interpolate", {"size_of": "input", "mode": "bilinear"}, [3, 4, 5]),
    ("UpsamplingNearest2d", {"scale_factor": 2}, [3, 4, 5]),
    ("UpsamplingBilinear2d", {"size": [7, 9]}, [3, 4, 5]),
    ("Threshold", {"threshold": 0.5, "value": -1.0}, [3, 5, 5]),
    ("Hardshrink", {"lambd": 0.3}, [3, 5, 5]),
    ("Softshrink", {}, [3, 5, 5]),
    ("Tanhshrink", {}, [3, 5, 5]),
    ("LogSigmoid", {}, [3, 5, 5]),
    ("RReLU", {"lower": 0.1, "upper": 0.3}, [3, 5, 5]),
    ("Softmin", {"dim": -1}, [3, 4, 4]),
    ("GLU", {"dim": 1}, [4, 3, 3]),
    ("RMSNorm", {"normalized_shape": [4, 5], "eps": 1e-6}, [3, 4, 5]),
    ("FeatureAlphaDropout", {"p": 0.2}, [3, 4, 4]),
    ("CrossMapLRN2d", {"size": 3}, [4, 5, 5]),
    ("Unfold", {"kernel_size": [2, 3], "padding": 1, "stride": 2, "dilation": [1, 2]}, [3, 7, 8]),
    ("Fold", {"output_size": [5, 6], "kernel_size": [2, 3], "padding": 1, "stride": [2, 1]}, [12, 18]),
    ("FractionalMaxPool2d", {"kernel_size": 2, "output_ratio": [0.5, 0.7]}, [3, 9, 10]),
    ("FractionalMaxPool3d", {"kernel_size": [1, 2, 2], "output_size": [3, 4, 4]}, [2, 4, 6, 7]),
]

# further configurations of rules with many branches (upsampling modes, strides)
EXTRA: list[tuple[str, dict, list]] = [
    ("Upsample", {"size": [7, 9], "mode": "nearest"}, [3, 4, 5]),
    ("Upsample", {"scale_factor": 3, "mode": "nearest"}, [2, 4, 4]),
    ("Upsample", {"scale_factor": 1.5, "mode": "linear"}, [2, 8]),
    ("Upsample", {"scale_factor": 2, "mode": "bicubic", "align_corners": True}, [2, 5, 5]),
    ("Upsample", {"scale_factor": 2, "mode": "trilinear"}, [2, 3, 4, 4]),
    ("Upsample", {"scale_factor": 2, "mode": "nearest-exact"}, [2, 5, 5]),
    ("ConvTranspose2d", {"out_channels": 2, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1},
     [2, 5, 5]),
    ("ConvTranspose1d", {"out_channels": 2, "kernel_size": 2, "stride": 3}, [2, 6]),
    ("Conv2d", {"out_channels": 2, "kernel_size": 3, "padding": 2, "padding_mode": "reflect"}, [2, 6, 6]),
    ("MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2}, [2, 9, 9]),
    ("AdaptiveAvgPool1d", {"output_size": 7}, [2, 3]),
    ("PixelUnshuffle", {"downscale_factor": 3}, [1, 6, 9]),
    ("chunk", {"chunks": 2, "dim": -3}, [4, 3, 5]),
    ("mean", {"keepdim": True}, [2, 3, 3]),
    ("LayerScale", {"dim": -1}, [2, 3, 4]),
    ("interpolate", {"scale_factor": 2, "mode": "nearest"}, [2, 3, 4]),
]

BATCH = 2


def _yaml(type_name: str, args: dict, shape: list) -> str:
    import json
    lines = [f"name: {type_name.lower()}_parity", f"input: {json.dumps(shape)}", f"batch: {BATCH}", "layers:"]
    if type_name in ("add", "mul", "concat"):
        lines.append("  - Identity: {name: other}")
        lines.append(f"  - {type_name}: {json.dumps({**args, 'from': ['input', 'other']})}")
    elif type_name in ("chunk", "split"):          # several outputs: each piece, concatenated back
        lines.append(f"  - {type_name}: {json.dumps({**args, 'name': 'parts'})}")
        pieces = args.get("chunks") or len(args["split_size_or_sections"])
        lines.append(f"  - concat: {json.dumps({'from': [f'parts.{i}' for i in range(pieces)], 'dim': args['dim']})}")
    else:
        lines.append(f"  - {type_name}: {json.dumps(args)}")
    return "\n".join(lines) + "\n"


def _id(row) -> str:
    type_name, args, shape = row
    text = ",".join(f"{k}={v}" for k, v in args.items())
    return f"{type_name}[{text}]{'x'.join(map(str, shape))}".replace(" ", "")


def test_every_type_has_a_row():
    covered = {row[0] for row in ROWS}
    missing = sorted(set(all_types()) - covered)
    assert not missing, f"add a parity row for: {', '.join(missing)}"
    assert len(ROWS) == len(all_types())


@pytest.mark.parametrize("row", ROWS + EXTRA, ids=_id)
def test_torch_agrees(row):
    from torch.utils.flop_counter import FlopCounterMode
    type_name, args, shape = row
    net = cnncalc.loads(_yaml(type_name, args, shape))
    report = cnncalc.analyze(net)
    layer = report.layers[-1]
    model = cnncalc.to_torch(net).eval()
    module = model.layer(layer.name)
    torch.manual_seed(0)
    x = torch.randn(report.input_shape) + 2.0          # positive: LPPool of a fractional power stays real
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        counter = FlopCounterMode(display=False)
        with counter:
            y = model(x)
    assert tuple(y.shape) == tuple(layer.output_shape), "output shape"
    assert sum(p.numel() for p in module.parameters()) == layer.params, "params"
    assert sum(b.numel() for b in module.buffers()) == layer.buffers, "buffers"
    assert counter.get_total_flops() == 2 * layer.macs, "2 x MACs vs FlopCounterMode"
    assert module.training is False


@pytest.mark.parametrize("row", ROWS + EXTRA, ids=_id)
def test_field_agrees(row):
    from cnncalc.torch_bridge.field import measure_fields
    type_name, args, shape = row
    if len(shape) < 2:
        pytest.skip("no spatial axis")
    if type_name.startswith("FractionalMaxPool"):
        pytest.skip("random windows: a gradient sees one draw's argmax; the analytic field is the largest "
                    "window one output can read (one k-window, tested in tests/layers/test_issue11.py)")
    if type_name == "Unfold":
        pytest.xfail("im2col reads one input element per output element; its global field is the union, "
                     "which torch_bridge/field.py measures only for the reshapes in KEPT_TYPES (not Unfold yet)")
    net = cnncalc.loads(_yaml(type_name, args, shape))
    report = cnncalc.analyze(net)
    last = report.layers[-1]
    layers = [] if last.receptive_field.is_global else [last.name]
    measured = measure_fields(net, layers=layers)
    assert measured.checks, "nothing measured"
    for check in measured.checks:
        details = (f"{check.layer}: analytic size {check.expected.size} jump {check.expected.jump} "
                   f"start {check.expected.start}; measured size {check.size} jump {check.jump} "
                   f"start {check.start} at input {check.input} {check.notes}")
        assert check.ok is not False, details
        assert check.ok is True, "not compared: " + details
