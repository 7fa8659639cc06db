"""The strategies of tests/spec/strategies.py are what they claim to be.

Valid architectures analyze without error, to exactly the shapes the
strategy tracked; with torch installed, the same layers built from
torch.nn run to the same shapes and parameter counts.
"""

from __future__ import annotations

import importlib.util

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc import CnnCalcError

from .strategies import (Arch, architectures, conv_out, flow, mutated_files, pool_out, random_documents)


@given(architectures())
def test_valid_architectures_analyze_to_the_tracked_shapes(arch: Arch):
    report = cnncalc.analyze(cnncalc.loads(arch.text))
    assert [row.output_shape for row in report.layers] == arch.shapes()
    assert report.output_shape == arch.output_shape
    assert report.batch == arch.batch and report.dtype == arch.dtype
    assert [row.type for row in report.layers] == [layer.type for layer in arch.flat]
    frozen = [row.trainable_params == 0 for row in report.layers if row.params]
    assert frozen == [layer.frozen for layer, row in zip(arch.flat, report.layers) if row.params]


@given(architectures())
def test_valid_architectures_are_plain_yaml(arch: Arch):
    document = yaml.safe_load(arch.text)
    assert set(document) <= {"name", "input", "batch", "dtype", "blocks", "layers"}
    assert document["input"] == list(arch.input)


@given(mutated_files())
def test_mutated_files_are_bytes_that_load_or_fail_cleanly(data: bytes):
    assert isinstance(data, bytes)
    try:
        cnncalc.analyze(cnncalc.loads(data.decode("utf-8")))
    except (CnnCalcError, UnicodeDecodeError):
        pass


@given(random_documents())
def test_random_documents_are_yaml(data: bytes):
    yaml.safe_load(data)


@pytest.mark.parametrize("value, text", [
    (True, "true"), (None, "~"), (3, "3"), ("same", "same"), ("yes", '"yes"'), ("$k // 2", '"$k // 2"'),
    ([1, [2, "a"]], "[1, [2, a]]"), ({"a": 1, "b": [True]}, "{a: 1, b: [true]}"),
])
def test_flow(value, text):
    assert flow(value) == text
    assert yaml.safe_load(f"x: {text}")["x"] == value


@pytest.mark.parametrize("size, kernel, stride, padding, ceil, expected", [
    (5, 2, 2, 0, False, 2), (5, 2, 2, 0, True, 3), (4, 2, 2, 0, True, 2), (6, 3, 2, 1, True, 4),
    (1, 1, 3, 0, True, 1), (5, 3, 3, 1, True, 2),
])
def test_pool_out_follows_torch(size, kernel, stride, padding, ceil, expected):
    assert pool_out(size, kernel, stride, padding, ceil) == expected


def test_conv_out():
    assert conv_out(224, 7, 2, 3, 1) == 112 and conv_out(5, 3, 1, 0, 2) == 1


# -- against torch itself ---------------------------------------------------------------------

def _run_in_torch(arch: Arch):
    import torch
    nn = torch.nn
    tensors = [torch.zeros(arch.batch, *arch.input)]
    params = 0
    with torch.no_grad():
        for layer in arch.flat:
            inputs = [tensors[i] for i in layer.sources]
            args = dict(layer.args)
            if layer.type == "Conv2d":
                module = nn.Conv2d(inputs[0].shape[1], **args)
            elif layer.type == "MaxPool2d":
                module = nn.MaxPool2d(**args)
            elif layer.type == "BatchNorm2d":
                module = nn.BatchNorm2d(inputs[0].shape[1]).eval()
            elif layer.type == "ReLU":
                module = nn.ReLU()
            elif layer.type == "Flatten":
                module = nn.Flatten()
            elif layer.type == "Linear":
                module = nn.Linear(inputs[0].shape[1], **args)
            else:
                module = None
            if module is not None:
                params += sum(p.numel() for p in module.parameters())
                out = module(inputs[0])
            elif layer.type == "add":
                out = inputs[0]
                for other in inputs[1:]:
                    out = out + other
            else:
                out = torch.cat(inputs, dim=args["dim"])
            tensors.append(out)
    return [tuple(t.shape) for t in tensors[1:]], params


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
@settings(max_examples=15)
@given(architectures(max_layers=6, torch_compatible=True))
def test_valid_architectures_run_in_torch(arch: Arch):
    shapes, params = _run_in_torch(arch)
    assert shapes == arch.shapes()
    report = cnncalc.analyze(cnncalc.loads(arch.text))
    assert report.totals.params == params
