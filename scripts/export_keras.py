#!/usr/bin/env python3
"""Export a small Keras CNN to ONNX with tf2onnx, with an onnxruntime reference.

Builds a seeded Keras functional CNN typical of TinyML (32x32x3 NHWC input,
Conv2D + BatchNormalization + DepthwiseConv2D + 1x1 Conv2D/ReLU6 + pooling +
Dense/softmax), gives BatchNormalization seeded non-trivial gamma, beta,
moving mean and moving variance, and converts it to ONNX opset 17 with
``tf2onnx.convert.from_function`` (``from_keras`` does not work with Keras 3).
tf2onnx keeps the NHWC input layout and inserts Transposes around the NCHW
ONNX Conv/pool nodes. The reference output is computed by onnxruntime on the
CPU with every graph optimisation disabled, and checked against Keras.

Nothing is downloaded. Needs ``tensorflow`` (Keras 3), ``tf2onnx``, ``onnx``,
``onnxruntime`` and ``numpy``.

Usage::

    python3 scripts/export_keras.py --out OUT_DIR

It writes into OUT_DIR:

* ``keras_cnn.onnx``     the model;
* ``keras_cnn.in0.bin``  one seeded input, raw little-endian float32, C order;
* ``keras_cnn.out0.bin`` the onnxruntime output for that input, same encoding;
* ``keras_cnn.json``     input/output names and shapes, op counts, sha256 of
                         the output, max |keras - onnxruntime|, tool versions.

The generated files are not committed, except whatever the repository
chooses to keep; the output hash depends on the versions recorded.
"""

import argparse
import collections
import hashlib
import json
import os
import random

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import onnx
import onnxruntime as ort
import tensorflow as tf
import tf2onnx
import keras
from keras import layers

SEED = 0
OPSET = 17
NAME = "keras_cnn"
INPUT_SHAPE = (1, 32, 32, 3)  # NHWC, batch 1
NUM_CLASSES = 10


def build():
    """Build the seeded CNN with non-trivial BatchNormalization parameters."""
    random.seed(SEED)
    np.random.seed(SEED)
    tf.random.set_seed(SEED)
    keras.utils.set_random_seed(SEED)
    x = inp = keras.Input(shape=INPUT_SHAPE[1:], batch_size=1, name="input")
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(x)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.DepthwiseConv2D(3, padding="same", name="dw2")(x)
    x = layers.Conv2D(16, 1, name="pw2")(x)
    x = layers.ReLU(max_value=6.0, name="relu6")(x)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(NUM_CLASSES, activation="softmax", name="fc")(x)
    model = keras.Model(inp, x, name=NAME)

    rng = np.random.default_rng(SEED + 1)
    bn = model.get_layer("bn1")
    c = bn.gamma.shape[0]
    bn.set_weights([rng.uniform(0.5, 1.5, c).astype(np.float32),   # gamma
                    rng.uniform(-0.5, 0.5, c).astype(np.float32),  # beta
                    rng.uniform(-0.5, 0.5, c).astype(np.float32),  # moving mean
                    rng.uniform(0.5, 2.0, c).astype(np.float32)])  # moving var
    # Keras zero-initialises biases; make them non-trivial too.
    for name in ("conv1", "dw2", "pw2", "fc"):
        layer = model.get_layer(name)
        w, b = layer.get_weights()
        layer.set_weights([w, rng.uniform(-0.1, 0.1, b.shape).astype(np.float32)])
    return model


def write_f32(path, array):
    np.ascontiguousarray(array, dtype="<f4").tofile(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output directory")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    model = build()
    spec = (tf.TensorSpec(INPUT_SHAPE, tf.float32, name="input"),)

    @tf.function(input_signature=spec)
    def fn(x):
        return {"output": model(x, training=False)}

    onnx_path = os.path.join(args.out, NAME + ".onnx")
    proto, _ = tf2onnx.convert.from_function(fn, input_signature=spec, opset=OPSET,
                                             output_path=onnx_path)
    onnx.checker.check_model(proto)

    x = np.random.default_rng(SEED).uniform(-1.0, 1.0, INPUT_SHAPE).astype(np.float32)
    write_f32(os.path.join(args.out, NAME + ".in0.bin"), x)

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
    inp, outp = sess.get_inputs()[0], sess.get_outputs()[0]
    (y,) = sess.run([outp.name], {inp.name: x})
    out_path = os.path.join(args.out, NAME + ".out0.bin")
    write_f32(out_path, y)

    err = float(np.max(np.abs(model(x, training=False).numpy() - y)))
    ops = collections.Counter(n.op_type for n in proto.graph.node)
    with open(out_path, "rb") as f:
        sha_out = hashlib.sha256(f.read()).hexdigest()
    meta = {
        "model": NAME,
        "input": {"name": inp.name, "shape": list(x.shape)},
        "output": {"name": outp.name, "shape": list(y.shape)},
        "ops": dict(sorted(ops.items())),
        "opset": OPSET,
        "sha256_out0": sha_out,
        "max_abs_diff_vs_keras": err,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tf2onnx": tf2onnx.__version__,
        "onnxruntime": ort.__version__,
    }
    with open(os.path.join(args.out, NAME + ".json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"{NAME}: {sum(ops.values())} nodes, max |keras - ort| = {err:.2e}")


if __name__ == "__main__":
    main()
