"""Writes tiny.onnx beside this file (docs/import.md): conv, BN, ReLU, global pool, Gemm, built with onnx.helper.

  python tests/data/docs/make_tiny_onnx.py
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(0)


def weight(name, *shape):
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)


nodes = [helper.make_node("Conv", ["x", "conv.weight"], ["a"], name="/conv/Conv", pads=[1, 1, 1, 1]),
         helper.make_node("BatchNormalization", ["a", "bn.weight", "bn.bias", "bn.mean", "bn.var"], ["b"],
                          name="/bn/BatchNormalization"),
         helper.make_node("Relu", ["b"], ["c"], name="/relu/Relu"),
         helper.make_node("GlobalAveragePool", ["c"], ["d"], name="/pool/GlobalAveragePool"),
         helper.make_node("Flatten", ["d"], ["e"], name="/flatten/Flatten"),
         helper.make_node("Gemm", ["e", "fc.weight", "fc.bias"], ["y"], name="/fc/Gemm", transB=1)]
inits = [weight("conv.weight", 8, 3, 3, 3), weight("bn.weight", 8), weight("bn.bias", 8), weight("bn.mean", 8),
         numpy_helper.from_array(np.ones(8, np.float32), "bn.var"), weight("fc.weight", 10, 8), weight("fc.bias", 10)]
graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, 32])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="cnncalc docs")
onnx.checker.check_model(model)
onnx.save(model, str(Path(__file__).resolve().parent / "tiny.onnx"))
