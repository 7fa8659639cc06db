"""Importing ONNX graphs: the report equals torch's figures for exported modules, and ONNX's own for built graphs.

Truth: for ``torch.onnx.export`` of the test modules (the legacy TorchScript
exporter, ``dynamo=False``: the new one needs onnxscript, which is not
installed), torch's parameters, buffers, FlopCounterMode MACs and output
shape of the module itself; for graphs built with ``onnx.helper``, ONNX's
initializer element counts and the output shape of ONNX's reference
evaluator run on a random input.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from cnncalc.api import analyze, loads  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402
from cnncalc.frontends import onnx as front  # noqa: E402  (reading, bounds, inference; operators in onnx_ops)
from cnncalc.frontends.write_yaml import dump  # noqa: E402
from tests.conftest import ROOT  # noqa: E402


def imported(path, shape=None):
    return loads(dump(front.import_onnx(str(path), input=shape)), filename="<onnx>")


# -- torch.onnx.export of the torch tests' modules ----------------------------

EXPORTED = ["resnet", "vgg", "densenet", "senet", "mobilenet", "inception", "unet", "shufflenet", "convnext",
            "fcn", "functional", "modulelist"]       # sequential_frozen: GroupNorm exports as a reshape pattern


@pytest.mark.parametrize("key", EXPORTED)
def test_torch_export_equals_torch(key, tmp_path):
    torch = pytest.importorskip("torch")
    from tests.frontends import models
    from tests.frontends.test_torch_fx import torch_figures
    factory, shape = models.MODELS[key]
    torch.manual_seed(0)
    module = factory().eval()
    path = tmp_path / f"{key}.onnx"
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, torch.zeros(1, *shape), str(path), dynamo=False, opset_version=20,
                          training=torch.onnx.TrainingMode.PRESERVE)   # keep BatchNorm (eval folds it into Conv)
    report = analyze(imported(path))
    truth, _, _ = torch_figures(module, shape)
    assert report.totals.params == truth["params"]
    assert report.totals.buffers == truth["buffers"]
    assert report.totals.macs == truth["macs"]
    assert tuple(report.output_shape[1:]) == truth["output"]


# -- graphs built with onnx.helper ---------------------------------------------

def _init(name, shape, rng):
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)


def _ints(name, values):
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def _save(tmp_path, nodes, inits, shape, opset=17, name="g.onnx", training=None):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, *shape])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    if training is not None:
        model.training_info.append(training)
    path = tmp_path / name
    onnx.save(model, str(path))
    return path, model


def _reference_output(model, shape):
    from onnx.reference import ReferenceEvaluator
    x = np.random.default_rng(1).standard_normal((1, *shape)).astype(np.float32)
    return ReferenceEvaluator(model).run(None, {"x": x})[0]


def test_helper_graph_every_listed_op(tmp_path):
    """Conv, BatchNormalization, activations, pools, Split, Concat, Resize, Pad, Transpose, ReduceMean, Gemm..."""
    rng = np.random.default_rng(0)
    n = helper.make_node
    nodes = [
        n("Conv", ["x", "w1", "b1"], ["c1"], name="/stem/conv/Conv", pads=[1, 1, 1, 1], strides=[2, 2]),
        n("BatchNormalization", ["c1", "s", "bb", "m", "v"], ["bn"], name="/stem/bn/BatchNormalization",
          epsilon=1e-3),
        n("Clip", ["bn", "lo", "hi"], ["r6"], name="/stem/act/Clip"),
        n("Split", ["r6", "sizes"], ["p0", "p1"], name="/split/Split", axis=1),
        n("LeakyRelu", ["p1"], ["lr"], alpha=0.2),
        n("Concat", ["p0", "lr"], ["cat"], axis=1),
        n("MaxPool", ["cat"], ["mp"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]),
        n("AveragePool", ["mp"], ["ap"], kernel_shape=[2, 2], strides=[2, 2]),
        n("Constant", [], ["scales"], value=numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32))),
        n("Resize", ["ap", "", "scales"], ["up"], mode="nearest", coordinate_transformation_mode="asymmetric",
          nearest_mode="floor"),
        n("Pad", ["up", "pads"], ["pad"], mode="reflect"),
        n("ConvTranspose", ["pad", "wt"], ["ct"], strides=[2, 2]),
        n("Mul", ["ct", "ct"], ["sq"]),
        n("Add", ["sq", "ct"], ["res"]),
        n("Transpose", ["res"], ["nhwc"], perm=[0, 2, 3, 1]),
        n("ReduceMean", ["nhwc", "axes"], ["pooled"], keepdims=0),
        n("Gemm", ["pooled", "wg", "bg"], ["fc"], transB=1),
        n("Dropout", ["fc"], ["dr"]),
        n("MatMul", ["dr", "wm"], ["mm"]),
        n("Add", ["mm", "bm"], ["lin"]),
        n("Identity", ["lin"], ["id"]),
        n("Softmax", ["id"], ["y"], axis=1),
    ]
    inits = [_init("w1", (8, 3, 3, 3), rng), _init("b1", (8,), rng), _init("s", (8,), rng), _init("bb", (8,), rng),
             _init("m", (8,), rng), numpy_helper.from_array(np.ones(8, np.float32), "v"),
             numpy_helper.from_array(np.array(0, np.float32), "lo"), numpy_helper.from_array(np.array(6, np.float32), "hi"),
             _ints("sizes", [3, 5]), _ints("pads", [0, 0, 1, 2, 0, 0, 1, 2]), _init("wt", (8, 4, 2, 2), rng),
             _ints("axes", [1, 2]), _init("wg", (6, 4), rng), _init("bg", (6,), rng), _init("wm", (6, 5), rng),
             _init("bm", (5,), rng)]
    path, model = _save(tmp_path, nodes, inits, (3, 8, 8), opset=18)
    network = imported(path)
    report = analyze(network)
    bn_buffers = 8 + 8 + 1                                  # running mean, var and torch's num_batches_tracked
    weights = sum(int(np.prod(t.dims)) for t in inits if t.name not in ("m", "v", "lo", "hi", "sizes", "pads", "axes"))
    assert report.totals.params == weights
    assert report.totals.buffers == bn_buffers
    assert tuple(report.output_shape) == _reference_output(model, (3, 8, 8)).shape
    names = [layer.path for layer in network.layers]
    assert names[:5] == ["stem_conv", "stem_bn", "stem_act", "split.0", "split.1"]
    types = [layer.type_name for layer in network.layers]
    assert types[2] == "ReLU6" and "split" in types and "Upsample" in types and "ReflectionPad2d" in types
    assert types[-6:] == ["mean", "Linear", "Dropout", "Linear", "Identity", "Softmax"]    # MatMul + Add: one Linear


def test_frozen_where_training_info_updates_other_weights(tmp_path):
    rng = np.random.default_rng(0)
    nodes = [helper.make_node("Conv", ["x", "w1"], ["a"], name="first"),
             helper.make_node("Conv", ["a", "w2"], ["y"], name="second")]
    inits = [_init("w1", (4, 2, 3, 3), rng), _init("w2", (4, 4, 1, 1), rng)]
    training = onnx.TrainingInfoProto()
    binding = training.update_binding.add()
    binding.key, binding.value = "w2", "w2_new"
    path, _ = _save(tmp_path, nodes, inits, (2, 6, 6), training=training)
    report = analyze(imported(path))
    assert report.totals.params == 4 * 2 * 9 + 16
    assert report.totals.trainable_params == 16


def _error(path, shape=None) -> str:
    with pytest.raises(CnnCalcError) as info:
        imported(path, shape)
    return str(info.value)


def test_unsupported_op_names_the_node_and_op(tmp_path):
    path, _ = _save(tmp_path, [helper.make_node("Erf", ["x"], ["y"], name="/blocks/act/Erf")], [], (2, 4, 4))
    text = _error(path)
    assert "cannot import ONNX node '/blocks/act/Erf' (op 'Erf')" in text and "no cnncalc layer type" in text


def _declared(name, dims):
    """An initializer with dims and no data (what a hostile file can declare)."""
    tensor = TensorProto()
    tensor.name, tensor.data_type = name, TensorProto.FLOAT
    tensor.dims.extend(dims)
    return tensor


def test_refused_before_work(tmp_path, monkeypatch):
    old, _ = _save(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], [], (2, 4, 4), opset=12, name="old.onnx")
    assert "opset 12" in _error(old)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\xff\x00 not protobuf" * 10)
    assert "is not an ONNX model" in _error(junk)
    big = _declared("w", [1 << 30, 1 << 30])
    path, _ = _save(tmp_path, [helper.make_node("Conv", ["x", "w"], ["y"])], [big], (2, 4, 4), name="big.onnx")
    assert "declares dims" in _error(path)
    outside = _declared("w", [4, 2, 1, 1])
    outside.data_location = TensorProto.EXTERNAL
    entry = outside.external_data.add()
    entry.key, entry.value = "location", "../../etc/passwd"
    path, _ = _save(tmp_path, [helper.make_node("Conv", ["x", "w"], ["y"])], [outside], (2, 4, 4), name="ext.onnx")
    assert "outside the model's folder" in _error(path)
    relus = [helper.make_node("Relu", ["x" if i == 0 else f"r{i}"], [f"r{i + 1}" if i < 4 else "y"]) for i in range(5)]
    many, _ = _save(tmp_path, relus, [], (2, 4, 4), name="many.onnx")
    monkeypatch.setattr(front, "MAX_NODES", 4)
    assert "has 5 nodes; at most 4 are imported" in _error(many)
    monkeypatch.setattr(front, "MAX_BYTES", 10)
    assert "is 67 bytes; at most 10 are read" in _error(old)


def test_input_shape_from_the_graph_or_given(tmp_path):
    rng = np.random.default_rng(0)
    path, _ = _save(tmp_path, [helper.make_node("Conv", ["x", "w"], ["y"])], [_init("w", (4, 2, 3, 3), rng)],
                    (2, 9, 9))
    assert analyze(imported(path)).output_shape == (1, 4, 7, 7)
    assert analyze(imported(path, (2, 5, 5))).output_shape == (1, 4, 3, 3)
    assert "has 2 axes" in _error(path, (5, 5))


def test_summarize_onnx_on_the_command_line(tmp_path):
    from click.testing import CliRunner
    from cnncalc.cli import main
    rng = np.random.default_rng(0)
    path, _ = _save(tmp_path, [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="/conv/Conv"),
                               helper.make_node("Relu", ["c"], ["y"], name="/act/Relu")],
                    [_init("w", (4, 2, 3, 3), rng), _init("b", (4,), rng)], (2, 9, 9))
    result = CliRunner().invoke(main, ["summarize", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    import json
    report = json.loads(result.output)
    assert report["totals"]["params"] == 4 * 2 * 9 + 4 and report["output_shape"] == [1, 4, 7, 7]
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"nope")
    failed = CliRunner().invoke(main, ["summarize", str(bad)])
    assert failed.exit_code == 2 and "Traceback" not in failed.output


def test_yaml_and_python_sources_do_not_import_onnx():
    code = ("import sys; from cnncalc.api import load, analyze; analyze(load(sys.argv[1])); "
            "from cnncalc.frontends.source import resolve_source; resolve_source('m.onnx'); "
            "assert 'onnx' not in sys.modules")
    subprocess.run([sys.executable, "-c", code, str(ROOT / "examples" / "resnet18.yaml")], check=True, cwd=ROOT)
