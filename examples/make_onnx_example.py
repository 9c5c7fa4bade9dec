#!/usr/bin/env python3
"""Makes examples/tiny_cnn.onnx (a small float CNN, seeded random weights),
one seeded input and onnxruntime's output for it.

    python3 -m venv .venv && .venv/bin/pip install onnx numpy onnxruntime
    .venv/bin/python examples/make_onnx_example.py

Written with onnx.helper (no exporter): NCHW input [1, 1, 16, 16];
Conv 3x3 (8 ch) + BatchNormalization + Relu; depthwise Conv 3x3 stride 2 +
Clip(0, 6); Conv 1x1 (16 ch) + Relu; GlobalAveragePool; Flatten; Gemm
(transB) to 4 classes; Softmax. Opset 17. The reference output is
onnxruntime's with graph optimizations disabled, cross-checked with
onnx.reference.ReferenceEvaluator.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261203)


def w(name, *shape, scale=0.5):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


inits = [
    w("c1_w", 8, 1, 3, 3), w("c1_b", 8, scale=0.1),
    w("bn_scale", 8, scale=0.2), w("bn_bias", 8, scale=0.1), w("bn_mean", 8, scale=0.1),
    numpy_helper.from_array((rng.uniform(0.5, 1.5, 8)).astype(np.float32), "bn_var"),
    w("dw_w", 8, 1, 3, 3), w("dw_b", 8, scale=0.1),
    w("pw_w", 16, 8, 1, 1, scale=0.3), w("pw_b", 16, scale=0.1),
    w("fc_w", 4, 16), w("fc_b", 4, scale=0.1),
    numpy_helper.from_array(np.array(0.0, np.float32), "clip_lo"),
    numpy_helper.from_array(np.array(6.0, np.float32), "clip_hi"),
]
nodes = [
    helper.make_node("Conv", ["input", "c1_w", "c1_b"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    helper.make_node("BatchNormalization", ["c1", "bn_scale", "bn_bias", "bn_mean", "bn_var"], ["bn"]),
    helper.make_node("Relu", ["bn"], ["r1"]),
    helper.make_node("Conv", ["r1", "dw_w", "dw_b"], ["dw"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                     strides=[2, 2], group=8),
    helper.make_node("Clip", ["dw", "clip_lo", "clip_hi"], ["r2"]),
    helper.make_node("Conv", ["r2", "pw_w", "pw_b"], ["pw"], kernel_shape=[1, 1]),
    helper.make_node("Relu", ["pw"], ["r3"]),
    helper.make_node("GlobalAveragePool", ["r3"], ["gap"]),
    helper.make_node("Flatten", ["gap"], ["flat"]),
    helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], transB=1),
    helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
]
graph = helper.make_graph(
    nodes, "tiny_cnn",
    [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 16, 16])],
    [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 4])],
    inits,
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tmlc-example")
model.ir_version = 8
onnx.checker.check_model(model)
path = os.path.join(HERE, "tiny_cnn.onnx")
onnx.save(model, path)

x = rng.uniform(-1, 1, (1, 1, 16, 16)).astype(np.float32)
import onnxruntime as ort  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

opts = ort.SessionOptions()
opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
y = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
y_ref = ReferenceEvaluator(model).run(None, {"input": x})[0]
assert np.allclose(y, y_ref, rtol=1e-5, atol=1e-6), (y, y_ref)
x.tofile(os.path.join(HERE, "tiny_cnn.in0.bin"))
y.astype(np.float32).tofile(os.path.join(HERE, "tiny_cnn.out0.bin"))
print("probs", y)
