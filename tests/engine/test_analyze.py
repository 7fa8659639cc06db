"""The engine: totals, liveness-based peak memory, frozen layers, overrides."""

from __future__ import annotations

import pytest

import cnncalc

CHAIN = """
input: [3, 8, 8]
layers:
  - Conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
  - ReLU
  - Conv2d: {out_channels: 2, kernel_size: 1}
"""


def test_totals_and_bytes():
    report = cnncalc.analyze(cnncalc.loads(CHAIN))
    conv1 = 4 * 3 * 3 * 3 + 4
    conv2 = 2 * 4 * 1 * 1 + 2
    assert report.totals.params == conv1 + conv2
    assert report.totals.param_bytes == (conv1 + conv2) * 4
    assert report.totals.macs == (4 * 8 * 8) * 3 * 3 * 3 + (2 * 8 * 8) * 4
    assert report.totals.activation_bytes == (4 * 64 + 4 * 64 + 2 * 64) * 4


def test_peak_counts_input_and_frees_after_last_use():
    report = cnncalc.analyze(cnncalc.loads(CHAIN))
    input_bytes, conv_bytes, relu_bytes, out_bytes = 3 * 64 * 4, 4 * 64 * 4, 4 * 64 * 4, 2 * 64 * 4
    # while conv1 runs: input + its output; then the input is freed; relu: conv1 + relu out; ...
    assert report.totals.peak_activation_bytes == max(input_bytes + conv_bytes, conv_bytes + relu_bytes,
                                                      relu_bytes + out_bytes)


def test_peak_keeps_skip_tensor_alive():
    text = """
input: [1, 4, 4]
layers:
  - Conv2d: {out_channels: 1, kernel_size: 1, name: a}
  - Conv2d: {out_channels: 1, kernel_size: 1, name: b}
  - Conv2d: {out_channels: 1, kernel_size: 1, name: c}
  - add: {from: [a, c]}
"""
    report = cnncalc.analyze(cnncalc.loads(text))
    one = 16 * 4
    # at c: a (kept for the add) + b (c's input) + c
    assert report.totals.peak_activation_bytes == 3 * one


def test_inplace_and_views_share_memory():
    base = ("input: [1, 4, 4]\nlayers:\n  - Conv2d: {out_channels: 4, kernel_size: 1}\n"
            "  - ReLU: {inplace: %s}\n  - Flatten\n")
    copy = cnncalc.analyze(cnncalc.loads(base % "false"))
    inplace = cnncalc.analyze(cnncalc.loads(base % "true"))
    image, maps = 1 * 16 * 4, 4 * 16 * 4          # input bytes; conv (and ReLU) output bytes
    # copy: the ReLU's output is new memory beside the conv's; Flatten is a view (nothing new)
    assert copy.totals.peak_activation_bytes == max(image + maps, maps + maps)
    # in place: the ReLU writes into the conv's output, so the peak is the conv step
    assert inplace.totals.peak_activation_bytes == image + maps
    # activation_bytes still counts every output (SPEC §2)
    assert inplace.totals.activation_bytes == copy.totals.activation_bytes == 3 * maps


def test_frozen_layers_are_not_trainable():
    text = CHAIN.replace("padding: 1}", "padding: 1, frozen: true}")
    report = cnncalc.analyze(cnncalc.loads(text))
    assert report.totals.non_trainable_params == 4 * 3 * 3 * 3 + 4
    assert report.totals.trainable_params == 2 * 4 + 2


def test_batch_and_dtype_overrides():
    network = cnncalc.loads(CHAIN)
    report = cnncalc.analyze(network, batch=8, dtype="float16")
    assert report.output_shape == (8, 2, 8, 8)
    assert report.totals.activation_bytes == 8 * (4 * 64 + 4 * 64 + 2 * 64) * 2
    assert report.totals.macs == 8 * ((4 * 8 * 8) * 3 * 3 * 3 + (2 * 8 * 8) * 4)


def test_input_override():
    report = cnncalc.analyze(cnncalc.loads(CHAIN), input=(3, 16, 12))
    assert report.output_shape == (1, 2, 16, 12)


@pytest.mark.parametrize("bad", [{"batch": 0}, {"dtype": "float31"}])
def test_bad_overrides(bad):
    with pytest.raises(cnncalc.ArgumentError):
        cnncalc.analyze(cnncalc.loads(CHAIN), **bad)


def test_report_dict_is_spec_shaped():
    data = cnncalc.analyze(cnncalc.loads(CHAIN)).to_dict()
    assert set(data) == {"name", "input", "batch", "dtype", "layers", "totals", "output_shape", "receptive_field"}
    assert set(data["layers"][0]) == {"name", "type", "from", "output_shape", "params", "trainable_params",
                                      "buffers", "macs", "flops", "activation_bytes", "receptive_field"}
    assert set(data["totals"]) == {"params", "trainable_params", "non_trainable_params", "buffers", "macs",
                                   "flops", "param_bytes", "activation_bytes", "peak_activation_bytes"}
    assert data["layers"][0]["from"] == ["input"]
    assert data["layers"][1]["from"] == ["conv2d_0"]


def test_layers_indexable_by_name():
    report = cnncalc.analyze(cnncalc.loads(CHAIN))
    assert report.layers["relu_1"].output_shape == (1, 4, 8, 8)
    with pytest.raises(cnncalc.ArgumentError, match="did you mean 'relu_1'"):
        report.layer("relu_2")
