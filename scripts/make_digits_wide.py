#!/usr/bin/env python3
"""Train ``digits_wide``, a digits classifier whose int8 activations do not
fit a 16 KB RAM budget, and write its float ONNX reference.

Model (Keras 3 functional, logits out), everything at 8x8 resolution:
Conv 3x3x48 (no bias) + BN + ReLU, Conv 3x3x96 + BN + ReLU,
Conv 1x1x192 + BN + ReLU, GlobalAveragePool, Dense 10. The 1x1 conv's input
(8*8*96 = 6,144 bytes at int8) and output (8*8*192 = 12,288 bytes) are live
together, 18,432 bytes, so a 16 KB arena forces channel pruning.

Reuses ``make_digits_models.py`` (same seeded split, training procedure,
tf2onnx export and ONNX canonical form) and writes only three files into the
output folder (default ``tests/models/digits``):

* ``digits_wide.onnx``              float ONNX, opset 13, input ``input``
                                    [1,8,8,1] NHWC, output ``logits`` [1,10];
* ``digits_wide_float_logits.npy``  float32 [500,10], it on ``test_x.npy``
                                    (onnxruntime, optimizations disabled);
* ``digits_wide.json``              top-1, parameter count, per-layer int8
                                    activation sizes, sha256 of the files
                                    written and of the split files read.

The split files (``calib.npy``, ``test_x.npy``, ``test_y.npy``) and
``reference.json`` must already be there (from make_digits_models.py); the
regenerated split is checked against their bytes and against
reference.json's ``split.sha256``, and the script fails if they differ.

Usage (from the repository root)::

    /path/venv/bin/python scripts/make_digits_wide.py [--out tests/models/digits]
"""

import argparse
import hashlib
import io
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_digits_models as base  # noqa: E402  (sets TF env vars first)

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf2onnx  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

NAME = "digits_wide"
EPOCHS, LR, TARGET = 60, 3e-3, 0.97  # as digits_cnn, stricter accuracy floor
SPLIT_FILES = ("calib.npy", "test_x.npy", "test_y.npy")


def build_wide():
    x = inp = keras.Input(shape=base.INPUT_SHAPE[1:], name=base.IN_NAME)
    x = layers.Conv2D(48, 3, padding="same", use_bias=False, name="conv1")(x)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.ReLU(name="relu1")(x)
    x = layers.Conv2D(96, 3, padding="same", name="conv2")(x)
    x = layers.BatchNormalization(name="bn2")(x)
    x = layers.ReLU(name="relu2")(x)
    x = layers.Conv2D(192, 1, name="pw3")(x)
    x = layers.BatchNormalization(name="bn3")(x)
    x = layers.ReLU(name="relu3")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(10, name="fc")(x)
    return keras.Model(inp, x, name=NAME)


def npy_sha256(a):
    buf = io.BytesIO()
    np.save(buf, a)
    return hashlib.sha256(buf.getvalue()).hexdigest()


def check_split(out, arrays):
    """Fail unless the regenerated split is byte-identical to the committed
    files and to reference.json's record of them."""
    with open(os.path.join(out, "reference.json")) as f:
        ref = json.load(f)["split"]["sha256"]
    read = {}
    for fname, a in zip(SPLIT_FILES, arrays):
        mine, disk = npy_sha256(a), base.sha256(os.path.join(out, fname))
        if not mine == disk == ref[fname]:
            sys.exit(f"split mismatch for {fname}: regenerated {mine}, file {disk}, "
                     f"reference.json {ref[fname]}")
        read[fname] = disk
    return read


def activation_bytes(model):
    """int8 bytes (batch 1) of every Keras layer's output, and the largest
    input + output pair (both live while the layer runs) over the compute
    layers; BN and ReLU are left out there, as they fold into the conv."""
    sizes = {l.name: int(np.prod(l.output.shape[1:])) for l in model.layers}
    skip = (layers.InputLayer, layers.BatchNormalization, layers.ReLU)
    pairs = {l.name: int(np.prod(l.input.shape[1:])) + sizes[l.name]
             for l in model.layers if not isinstance(l, skip)}
    worst = max(pairs, key=pairs.get)
    return sizes, {"layer": worst, "bytes": pairs[worst]}


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(root, "tests", "models", "digits"))
    out = ap.parse_args().out
    p = lambda suffix: os.path.join(out, NAME + suffix)  # noqa: E731

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.experimental.enable_op_determinism()
    base.seed_everything()

    calib, test_x, test_y, train_x, train_y = base.load_splits()
    read = check_split(out, (calib, test_x, test_y))
    print(f"split matches reference.json: calib {len(calib)}, test {len(test_x)}, "
          f"train {len(train_x)}")

    base.seed_everything()
    model = build_wide()
    keras_acc = base.train(model, train_x, train_y, test_x, test_y, EPOCHS, LR, TARGET)
    keras_logits = model.predict(test_x, batch_size=100, verbose=0).astype(np.float32)

    fn, spec = base.export_fn(model)
    proto, _ = tf2onnx.convert.from_function(fn, input_signature=spec, opset=base.OPSET)
    proto = base.canonicalize_onnx(proto)
    onnx.checker.check_model(proto, full_check=True)
    assert [i.name for i in proto.graph.input] == [base.IN_NAME]
    assert len(proto.graph.output) == 1
    onnx.save(proto, p(".onnx"))

    float_logits = base.run_ort(p(".onnx"), np.load(os.path.join(out, "test_x.npy")),
                                optimize=False)
    assert float_logits.shape == (base.N_TEST, 10) and float_logits.dtype == np.float32
    d_onnx = float(np.max(np.abs(float_logits - keras_logits)))
    assert d_onnx < 1e-4, f"ONNX float vs Keras max diff {d_onnx}"
    np.save(p("_float_logits.npy"), float_logits)
    onnx_acc = base.top1(float_logits, np.load(os.path.join(out, "test_y.npy")))
    assert onnx_acc >= TARGET, onnx_acc

    sizes, peak = activation_bytes(model)
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    written = {f: base.sha256(os.path.join(out, f))
               for f in (NAME + ".onnx", NAME + "_float_logits.npy")}
    info = {
        "model": NAME,
        "layers": "Conv 3x3x48 (no bias) + BN + ReLU; Conv 3x3x96 + BN + ReLU; "
                  "Conv 1x1x192 + BN + ReLU; GlobalAveragePool; Dense 10 (logits); "
                  "all at 8x8, 'same' padding",
        "keras_top1": keras_acc,
        "float_onnx_top1": onnx_acc,
        "max_abs_diff_onnx_vs_keras": d_onnx,
        "params": {"total": int(model.count_params()), "trainable": trainable,
                   "non_trainable": int(model.count_params()) - trainable},
        "activation_bytes_int8": sizes,
        "max_input_plus_output_bytes_int8_bn_relu_fused": peak,
        "onnx_ops": base.onnx_ops(p(".onnx")),
        "train": {"epochs": EPOCHS, "optimizer": "Adam", "lr": f"{LR} cosine decay to 2%",
                  "batch": 64, "procedure": "make_digits_models.train (as digits_cnn)"},
        "sha256": {"written": written, "read": read},
        "file_sizes": {f: os.path.getsize(os.path.join(out, f)) for f in written},
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                     "tf2onnx": tf2onnx.__version__, "onnx": onnx.__version__,
                     "onnxruntime": base.ort.__version__, "numpy": np.__version__,
                     "scikit-learn": base.sklearn.__version__},
    }
    with open(p(".json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    print(json.dumps({k: info[k] for k in ("keras_top1", "float_onnx_top1", "params",
                                           "activation_bytes_int8",
                                           "max_input_plus_output_bytes_int8_bn_relu_fused",
                                           "file_sizes")}, indent=1))
    assert info["file_sizes"][NAME + ".onnx"] < 1_000_000


if __name__ == "__main__":
    sys.exit(main())
