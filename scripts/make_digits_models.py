#!/usr/bin/env python3
"""Train two small digit classifiers and write float and quantized reference
models for tmlc's accuracy tests.

Data: scikit-learn's bundled ``digits`` set (1,797 8x8 images, pixels 0..16,
a copy of the test set of the UCI "Optical Recognition of Handwritten Digits"
data), scaled to float32 [0, 1] (x / 16), NHWC ``[N, 8, 8, 1]``. A seeded
permutation (``np.random.default_rng(0)``) gives a calibration split of 200
images, a test split of 500 and 1,097 training images. Nothing is downloaded.

Models (Keras 3 functional, logits out, no softmax):

* ``digits_cnn``: Conv 3x3x16 (no bias) + BN + ReLU, Conv 3x3x32 + BN + ReLU,
  MaxPool 2x2, DepthwiseConv 3x3 + BN + ReLU, Conv 1x1x64 + BN + ReLU,
  GlobalAveragePool, Dense 10.
* ``digits_dw``: MobileNet-v1 style, no BN, plain (unbounded) ReLU, he_normal
  kernels: Conv 3x3x32 + ReLU, then four blocks DepthwiseConv 3x3 + ReLU,
  Conv 1x1 (64, 128, 128, 256) + ReLU, the second block's depthwise with
  stride 2 ('same' padding, so TF's asymmetric pad), GlobalAveragePool,
  Dense 10. 66,378 parameters, most in the pointwise convs. Meant to be the
  harder model for int8 PTQ (wide per-channel depthwise weight ranges,
  long-tailed activations).

For each model M it writes into the output folder:

* ``M.tflite``            float32 TFLite (no optimizations), input [1,8,8,1];
* ``M.onnx``              float ONNX (tf2onnx ``from_function``, opset 13),
                          NHWC input [1,8,8,1], one output [1,10];
* ``M_float_logits.npy``  float32 [500,10], the float ONNX model on the test
                          split through onnxruntime (optimizations disabled);
* ``M_tflite_int8.tflite`` TFLite full-integer PTQ (int8 I/O), calibrated on
                          the 200 calibration images;
* ``M_tflite_int8_logits.npy`` its dequantized logits on the test split;
* ``M_tflite_hybrid.tflite`` TFLite dynamic-range quantization (float I/O);
* ``M_tflite_hybrid_out.npy`` float32 [20,10], its output on the first 20
                          test images;
* ``M_ort_qdq.onnx``      onnxruntime ``quantize_static`` (QDQ, per-channel,
                          int8 activations and weights, MinMax calibration)
                          of the model after ``quant_pre_process``;
* ``M_ort_qdq_logits.npy`` its logits on the test split (onnxruntime with
                          graph optimizations disabled, i.e. exact QDQ
                          semantics; the optimized, integer-kernel run is
                          reported in reference.json too).

and ``calib.npy`` (float32 [200,8,8,1]), ``test_x.npy`` (float32
[500,8,8,1]), ``test_y.npy`` (int64 [500]) and ``reference.json`` (accuracy,
SQNR, op lists, parameter counts, file sizes, versions). The same table is
printed.

Usage (from the repository root)::

    /path/venv/bin/python scripts/make_digits_models.py [--out tests/models/digits]

The venv needs ``tensorflow`` (2.21, Keras 3), ``tf2onnx``, ``onnx``,
``onnxruntime``, ``numpy`` and ``scikit-learn``.

Determinism: the split files depend only on the bundled data and numpy's
seeded generator and are identical on every run. Training is seeded, runs
single-threaded and with ``tf.config.experimental.enable_op_determinism()``.
tf2onnx numbers and orders some initializers differently from run to run, so
the exported ONNX graph is put in a canonical form (initializers in order of
first use, counter-named ones renamed after their first consumer). Two runs
with the same library versions on the same machine gave byte-identical
``.tflite``/``.npy`` files and reference.json; the ``.onnx`` files can still
differ in tf2onnx's ``__N`` counter suffixes of some node names (not
renamed, so as not to change already committed files), nothing else. Other
versions or CPUs may train slightly different models (and so give
different figures).
"""

import argparse
import collections
import hashlib
import json
import os
import platform
import random
import re
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")

import numpy as np
import onnx
import onnxruntime as ort
import sklearn
import tensorflow as tf
import tf2onnx
import keras
from keras import layers
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod,
                                      QuantFormat, QuantType, quantize_static)
from sklearn.datasets import load_digits
from tensorflow.lite.python import schema_py_generated as tfl_schema

SEED = 0
# digits_dw: (pointwise width, depthwise stride) per depthwise-separable block
DW_BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 1)]
OPSET = 13
N_CALIB = 200
N_TEST = 500
N_HYBRID = 20
INPUT_SHAPE = (1, 8, 8, 1)
IN_NAME = "input"
OUT_NAME = "logits"
SQNR_DEF = ("SQNR_dB = 10*log10(sum(f^2) / sum((f - q)^2)) over all 500x10 "
            "test logits; f = float ONNX logits (onnxruntime), q = the "
            "quantized model's (dequantized) logits")


def seed_everything():
    random.seed(SEED)
    np.random.seed(SEED)
    tf.random.set_seed(SEED)
    keras.utils.set_random_seed(SEED)


# --------------------------------------------------------------------------
# data


def load_splits():
    d = load_digits()
    x = (d.images.astype(np.float32) / np.float32(16.0)).reshape(-1, 8, 8, 1)
    y = d.target.astype(np.int64)
    assert x.shape == (1797, 8, 8, 1) and float(x.max()) == 1.0
    perm = np.random.default_rng(SEED).permutation(len(x))
    ic, it, itr = perm[:N_CALIB], perm[N_CALIB:N_CALIB + N_TEST], perm[N_CALIB + N_TEST:]
    return (np.ascontiguousarray(x[ic]),
            np.ascontiguousarray(x[it]), np.ascontiguousarray(y[it]),
            np.ascontiguousarray(x[itr]), np.ascontiguousarray(y[itr]))


def calib_labels():
    """The labels of the calibration images (for `--calibration-labels`)."""
    y = load_digits().target.astype(np.int64)
    perm = np.random.default_rng(SEED).permutation(len(y))
    return np.ascontiguousarray(y[perm[:N_CALIB]])


# --------------------------------------------------------------------------
# models


def build_cnn():
    x = inp = keras.Input(shape=INPUT_SHAPE[1:], name=IN_NAME)
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, name="conv1")(x)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.ReLU(name="relu1")(x)
    x = layers.Conv2D(32, 3, padding="same", name="conv2")(x)
    x = layers.BatchNormalization(name="bn2")(x)
    x = layers.ReLU(name="relu2")(x)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.DepthwiseConv2D(3, padding="same", name="dw3")(x)
    x = layers.BatchNormalization(name="bn3")(x)
    x = layers.ReLU(name="relu3")(x)
    x = layers.Conv2D(64, 1, name="pw3")(x)
    x = layers.BatchNormalization(name="bn4")(x)
    x = layers.ReLU(name="relu4")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(10, name="fc")(x)
    return keras.Model(inp, x, name="digits_cnn")


def build_dw():
    """MobileNet-v1 style without BatchNormalization and with unbounded ReLU,
    meant to be the harder model for int8 post-training quantization: the
    depthwise kernels' per-channel ranges spread widely (no BN to normalise
    them) and the activations get long tails. Kernels use Keras' he_normal;
    for DepthwiseConv2D Keras counts fan_in as 9 * channels, so those
    kernels start small, which lets the per-channel ranges drift apart during
    training (nothing is scaled by hand)."""
    init = "he_normal"
    x = inp = keras.Input(shape=INPUT_SHAPE[1:], name=IN_NAME)
    x = layers.Conv2D(32, 3, padding="same", kernel_initializer=init, name="conv1")(x)
    x = layers.ReLU(name="relu1")(x)
    for i, (ch, stride) in enumerate(DW_BLOCKS, start=2):
        x = layers.DepthwiseConv2D(3, strides=stride, padding="same",
                                   depthwise_initializer=init, name=f"dw{i}")(x)
        x = layers.ReLU(name=f"relu_dw{i}")(x)
        x = layers.Conv2D(ch, 1, kernel_initializer=init, name=f"pw{i}")(x)
        x = layers.ReLU(name=f"relu_pw{i}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(10, name="fc")(x)
    return keras.Model(inp, x, name="digits_dw")


def top1(logits, y):
    return float(np.mean(np.argmax(logits, axis=1) == y))


def train(model, train_x, train_y, test_x, test_y, epochs, lr, target):
    """Adam with cosine decay; small +-1 pixel shifts as augmentation."""
    seed_everything()
    steps = int(np.ceil(len(train_x) / 32)) * epochs
    sched = keras.optimizers.schedules.CosineDecay(lr, steps, alpha=0.02)
    model.compile(optimizer=keras.optimizers.Adam(sched),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    rng = np.random.default_rng(SEED + 1)

    def shifted(x):
        # Deterministic augmentation: each image shifted by (dy, dx) in
        # {-1, 0, 1}^2 with zero fill, drawn from a seeded generator.
        out = np.zeros_like(x)
        pad = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
        d = rng.integers(-1, 2, size=(len(x), 2))
        for i, (dy, dx) in enumerate(d):
            out[i] = pad[i, 1 + dy:9 + dy, 1 + dx:9 + dx]
        return out

    for ep in range(epochs):
        xa = np.concatenate([train_x, shifted(train_x)])
        ya = np.concatenate([train_y, train_y])
        model.fit(xa, ya, batch_size=64, epochs=1, shuffle=True, verbose=0)
        if (ep + 1) % 10 == 0 or ep + 1 == epochs:
            acc = top1(model.predict(test_x, batch_size=100, verbose=0), test_y)
            print(f"  {model.name} epoch {ep + 1}: test top-1 {acc:.4f}", flush=True)
    acc = top1(model.predict(test_x, batch_size=100, verbose=0), test_y)
    assert acc >= target, f"{model.name}: test top-1 {acc:.4f} < {target}"
    return acc


# --------------------------------------------------------------------------
# exports and runners


def export_fn(model):
    spec = (tf.TensorSpec(INPUT_SHAPE, tf.float32, name=IN_NAME),)

    @tf.function(input_signature=spec)
    def fn(x):
        return {OUT_NAME: model(x, training=False)}

    return fn, spec


def canonicalize_onnx(proto):
    """Make tf2onnx output byte-reproducible: initializers sorted by first
    use, and those whose names end in a run-dependent ``__N`` counter renamed
    ``<first consumer node>/in<input index>``."""
    g = proto.graph
    inits = {i.name: i for i in g.initializer}
    order, first_use = [], {}
    for node in g.node:
        for j, name in enumerate(node.input):
            if name in inits and name not in first_use:
                order.append(name)
                first_use[name] = f"{node.name}/in{j}"
    order += sorted(n for n in inits if n not in first_use)
    taken = ({n for node in g.node for n in node.output} | {v.name for v in g.input}
             | set(inits))
    rename = {}
    for name in order:
        # Counter-suffixed constants (and deduplicated ones, whose surviving
        # name is arbitrary) are named after their first consumer instead.
        if re.fullmatch(r".*__\d+", name) and name in first_use:
            new = first_use[name]
            assert new not in taken, new
            taken.add(new)
            rename[name] = new
    for node in g.node:
        for j, name in enumerate(node.input):
            if name in rename:
                node.input[j] = rename[name]
    for v in list(g.value_info):
        if v.name in rename:
            v.name = rename[v.name]
    sorted_inits = [inits[n] for n in order]
    for i in sorted_inits:
        i.name = rename.get(i.name, i.name)
    copies = [type(i)() for i in sorted_inits]
    for c, i in zip(copies, sorted_inits):
        c.CopyFrom(i)
    del g.initializer[:]
    g.initializer.extend(copies)
    vi = [type(v)() for v in g.value_info]
    for c, v in zip(vi, g.value_info):
        c.CopyFrom(v)
    del g.value_info[:]
    g.value_info.extend(sorted(vi, key=lambda v: v.name))
    return proto


def tflite_convert(fn, mode, calib=None):
    # Without a trackable object the converter freezes the variables into
    # constants; with the Keras model passed it keeps resource variables
    # (VAR_HANDLE / READ_VARIABLE ops) that the interpreter cannot run.
    conv = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()])
    if mode in ("int8", "hybrid"):
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "int8":
        def rep():
            for i in range(len(calib)):
                yield [calib[i:i + 1]]
        conv.representative_dataset = rep
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    return conv.convert()


def tfl_interpreter(path, delegates=False, preserve=False):
    kw = {}
    if not delegates:
        kw["experimental_op_resolver_type"] = \
            tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    it = tf.lite.Interpreter(model_path=path, num_threads=1,
                             experimental_preserve_all_tensors=preserve, **kw)
    it.allocate_tensors()
    return it


def quantize_input(x, scale, zp, dtype):
    v = x / np.float32(scale)
    r = np.sign(v) * np.floor(np.abs(v) + 0.5)  # round half away from zero
    info = np.iinfo(dtype)
    return np.clip(r + zp, info.min, info.max).astype(dtype)


def run_tflite(path, xs, delegates=False):
    it = tfl_interpreter(path, delegates)
    (ind,), (outd,) = it.get_input_details(), it.get_output_details()
    iscale, izp = ind["quantization"]
    oscale, ozp = outd["quantization"]
    out = []
    for i in range(len(xs)):
        x = xs[i:i + 1]
        if ind["dtype"] != np.float32:
            x = quantize_input(x, iscale, izp, ind["dtype"])
        it.set_tensor(ind["index"], x)
        it.invoke()
        y = it.get_tensor(outd["index"])
        if outd["dtype"] != np.float32:
            y = (y.astype(np.float32) - np.float32(ozp)) * np.float32(oscale)
        out.append(y.reshape(-1))
    io = {"input": {"dtype": np.dtype(ind["dtype"]).name, "shape": ind["shape"].tolist(),
                    "scale": float(iscale), "zero_point": int(izp)},
          "output": {"dtype": np.dtype(outd["dtype"]).name, "shape": outd["shape"].tolist(),
                     "scale": float(oscale), "zero_point": int(ozp)}}
    return np.stack(out).astype(np.float32), io


def tflite_ops(path):
    it = tfl_interpreter(path)
    return [op["op_name"] for op in it._get_ops_details()]


def ort_session(path, optimize):
    opts = ort.SessionOptions()
    opts.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                     else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def run_ort(path, xs, optimize):
    sess = ort_session(path, optimize)
    inp, outp = sess.get_inputs()[0], sess.get_outputs()[0]
    return np.stack([sess.run([outp.name], {inp.name: xs[i:i + 1]})[0].reshape(-1)
                     for i in range(len(xs))]).astype(np.float32)


class Reader(CalibrationDataReader):
    def __init__(self, calib):
        self.items = iter([{IN_NAME: calib[i:i + 1]} for i in range(len(calib))])

    def get_next(self):
        return next(self.items, None)


def onnx_ops(path):
    m = onnx.load(path)
    return dict(sorted(collections.Counter(n.op_type for n in m.graph.node).items()))


def sqnr(f, q):
    return float(10.0 * np.log10(np.sum(f.astype(np.float64) ** 2)
                                 / np.sum((f.astype(np.float64) - q) ** 2)))


# --------------------------------------------------------------------------
# hybrid (dynamic-range) model inspection


BUILTIN_NAMES = {v: k for k, v in vars(tfl_schema.BuiltinOperator).items()
                 if not k.startswith("_")}
TENSOR_TYPES = {v: k for k, v in vars(tfl_schema.TensorType).items()
                if not k.startswith("_")}


def read_tflite_ops(path):
    """Per op: name, builtin options of interest, input tensor types/quant."""
    with open(path, "rb") as f:
        buf = f.read()
    m = tfl_schema.Model.GetRootAs(buf, 0)
    g = m.Subgraphs(0)
    res = []
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        oc = m.OperatorCodes(op.OpcodeIndex())
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        name = BUILTIN_NAMES.get(code, str(code))
        info = {"op": name, "inputs": []}
        for j in range(op.InputsLength()):
            ti = op.Inputs(j)
            if ti < 0:
                continue
            t = g.Tensors(ti)
            q = t.Quantization()
            nscale = q.ScaleLength() if q is not None else 0
            info["inputs"].append({"type": TENSOR_TYPES.get(t.Type(), t.Type()),
                                   "shape": t.ShapeAsNumpy().tolist() if t.ShapeLength() else [],
                                   "constant": m.Buffers(t.Buffer()).DataLength() > 0,
                                   "n_scales": nscale})
        opts = op.BuiltinOptions()
        if name == "FULLY_CONNECTED" and opts is not None:
            o = tfl_schema.FullyConnectedOptions()
            o.Init(opts.Bytes, opts.Pos)
            info["asymmetric_quantize_inputs"] = bool(o.AsymmetricQuantizeInputs())
        res.append(info)
    return res


def _sym_rows(x):
    """Symmetric per-row int8 quantize-dequantize (scale = max|x| / 127)."""
    x = x.reshape(x.shape[0], -1).astype(np.float64)
    s = np.maximum(np.max(np.abs(x), axis=1, keepdims=True), 1e-30) / 127.0
    q = np.clip(np.sign(x / s) * np.floor(np.abs(x / s) + 0.5), -127, 127)
    return q * s


def _asym_rows(x):
    """Asymmetric per-row int8 quantize-dequantize as tensor_utils'
    AsymmetricQuantizeFloats: range widened to include 0, scale = range/255."""
    x = x.reshape(x.shape[0], -1).astype(np.float64)
    lo = np.minimum(x.min(axis=1, keepdims=True), 0.0)
    hi = np.maximum(x.max(axis=1, keepdims=True), 0.0)
    s = np.maximum((hi - lo) / 255.0, 1e-30)
    zp = np.clip(np.round(-128.0 - lo / s), -128, 127)
    q = np.clip(np.round(x / s) + zp, -128, 127)
    return (q - zp) * s


def probe_hybrid(path, x):
    """Run one image with all tensors kept, and for every FULLY_CONNECTED /
    CONV_2D / DEPTHWISE_CONV_2D whose weights are int8, recompute its output
    in float64 from its float input and dequantized weights three ways:
    exact float input, symmetric per-row int8 input, asymmetric per-row int8
    input. The smallest error tells how the kernel treats its activations."""
    it = tfl_interpreter(path, preserve=True)
    (ind,), (outd,) = it.get_input_details(), it.get_output_details()
    it.set_tensor(ind["index"], x)
    it.invoke()
    tensors = {t["index"]: t for t in it.get_tensor_details()}
    probes = []
    for op in it._get_ops_details():
        name = op["op_name"]
        if name not in ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D"):
            continue
        wi = op["inputs"][1]
        wt = tensors[wi]
        if wt["dtype"] != np.int8:
            continue
        xin = it.get_tensor(op["inputs"][0]).astype(np.float64)
        w = it.get_tensor(wi).astype(np.float64)
        scales = np.asarray(wt["quantization_parameters"]["scales"], np.float64)
        axis = wt["quantization_parameters"]["quantized_dimension"]
        shp = [1] * w.ndim
        shp[axis] = -1
        wd = w * (scales.reshape(shp) if scales.size > 1 else scales[0])
        b = (it.get_tensor(op["inputs"][2]).astype(np.float64)
             if len(op["inputs"]) > 2 and op["inputs"][2] >= 0 else 0.0)
        y = it.get_tensor(op["outputs"][0]).astype(np.float64)

        def compute(xq):
            if name == "FULLY_CONNECTED":
                return xq.reshape(xq.shape[0], -1) @ wd.T + b
            # Valid only for stride-1 'SAME' convs, which is all the hybrid
            # models here have (checked below via shapes).
            xi = tf.constant(xq.reshape(xin.shape))
            if name == "CONV_2D":
                k = tf.constant(np.transpose(wd, (1, 2, 3, 0)))  # OHWI -> HWIO
                r = tf.nn.conv2d(xi, k, 1, "SAME")
            else:
                k = tf.constant(np.transpose(wd, (1, 2, 3, 0)))  # 1HWC -> HWC1
                r = tf.nn.depthwise_conv2d(xi, k, [1, 1, 1, 1], "SAME")
            return r.numpy() + b

        if name != "FULLY_CONNECTED" and y.shape[1:3] != xin.shape[1:3]:
            continue
        entry = {"op": name, "weights_shape": list(w.shape), "n_weight_scales": int(scales.size)}
        for label, xq in (("float_input", xin), ("sym_int8_input", _sym_rows(xin)),
                          ("asym_int8_input", _asym_rows(xin))):
            pre = compute(xq)
            # fused activation unknown here; compare where the output is > 0
            # only if the kernel applied ReLU. Apply the same clamp as seen.
            cand = [pre, np.maximum(pre, 0), np.clip(pre, 0, 6)]
            errs = [float(np.max(np.abs(c.reshape(y.shape) - y))) for c in cand]
            entry[f"max_abs_err_{label}"] = min(errs)
        entry["max_abs_output"] = float(np.max(np.abs(y)))
        probes.append(entry)
    return probes


# --------------------------------------------------------------------------


def cpu_desc():
    flags, model = set(), "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown CPU":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags |= set(line.split(":", 1)[1].split())
    except OSError:
        pass
    isa = [x for x in ("avx2", "avx512f", "avx512_vnni", "avx_vnni") if x in flags]
    return f"{model}, {platform.machine()}, flags {isa or 'n/a'}"


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def process(model, out, calib, test_x, test_y, keras_acc):
    name = model.name
    p = lambda suffix: os.path.join(out, name + suffix)  # noqa: E731
    keras_logits = model.predict(test_x, batch_size=100, verbose=0).astype(np.float32)
    fn, spec = export_fn(model)

    # float TFLite
    with open(p(".tflite"), "wb") as f:
        f.write(tflite_convert(fn, "float"))
    tfl_float, tfl_float_io = run_tflite(p(".tflite"), test_x)
    d_tfl = float(np.max(np.abs(tfl_float - keras_logits)))
    assert d_tfl < 1e-4, f"{name}: TFLite float vs Keras max diff {d_tfl}"

    # float ONNX
    proto, _ = tf2onnx.convert.from_function(fn, input_signature=spec, opset=OPSET)
    proto = canonicalize_onnx(proto)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, p(".onnx"))
    assert [i.name for i in proto.graph.input] == [IN_NAME]
    assert len(proto.graph.output) == 1
    float_logits = run_ort(p(".onnx"), test_x, optimize=False)
    assert float_logits.shape == (N_TEST, 10)
    d_onnx = float(np.max(np.abs(float_logits - keras_logits)))
    assert d_onnx < 1e-4, f"{name}: ONNX float vs Keras max diff {d_onnx}"
    np.save(p("_float_logits.npy"), float_logits)

    # TFLite full-integer PTQ
    with open(p("_tflite_int8.tflite"), "wb") as f:
        f.write(tflite_convert(fn, "int8", calib))
    tfl_int8, tfl_int8_io = run_tflite(p("_tflite_int8.tflite"), test_x)
    np.save(p("_tflite_int8_logits.npy"), tfl_int8)

    # TFLite dynamic-range (hybrid)
    with open(p("_tflite_hybrid.tflite"), "wb") as f:
        f.write(tflite_convert(fn, "hybrid"))
    hyb, _ = run_tflite(p("_tflite_hybrid.tflite"), test_x[:N_HYBRID])
    hyb_xnn, _ = run_tflite(p("_tflite_hybrid.tflite"), test_x[:N_HYBRID], delegates=True)
    np.save(p("_tflite_hybrid_out.npy"), hyb)
    hyb_struct = read_tflite_ops(p("_tflite_hybrid.tflite"))
    hyb_probe = probe_hybrid(p("_tflite_hybrid.tflite"), test_x[:1])

    # onnxruntime static QDQ
    def ort_quantize(src, dst, **extra):
        quantize_static(src, dst, Reader(calib), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QInt8,
                        weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax, **extra)

    with tempfile.TemporaryDirectory() as td:
        pre, preprocessed = os.path.join(td, "pre.onnx"), True
        try:
            from onnxruntime.quantization.shape_inference import quant_pre_process
            # sympy (symbolic shape inference) is not needed: shapes are static.
            quant_pre_process(p(".onnx"), pre, skip_symbolic_shape=True)
        except Exception as e:  # optional step
            print(f"  {name}: quant_pre_process failed ({e}); quantizing the raw model")
            pre, preprocessed = p(".onnx"), False
        ort_quantize(pre, p("_ort_qdq.onnx"))
        # Primary figures: graph optimizations off, so every op runs in float
        # between DequantizeLinear and QuantizeLinear exactly as the QDQ
        # graph says. With optimizations on, onnxruntime fuses QDQ groups
        # into integer kernels whose results depend on the CPU.
        qdq = run_ort(p("_ort_qdq.onnx"), test_x, optimize=False)
        qdq_opt = run_ort(p("_ort_qdq.onnx"), test_x, optimize=True)
        np.save(p("_ort_qdq_logits.npy"), qdq)
        # Diagnostic (not saved): the same with reduce_range=True (7-bit
        # weights). If optimized and unoptimized runs then agree, the gap
        # above comes from 16-bit intermediate saturation in the integer
        # kernels (u8 x s8 multiply-add on x86 CPUs without VNNI).
        rr = os.path.join(td, "rr.onnx")
        ort_quantize(pre, rr, reduce_range=True)
        rr_a, rr_b = run_ort(rr, test_x, optimize=False), run_ort(rr, test_x, optimize=True)
    rr_diag = {"sqnr_db_noopt": sqnr(float_logits, rr_a), "sqnr_db_opt": sqnr(float_logits, rr_b),
               "max_abs_diff_opt_vs_noopt": float(np.max(np.abs(rr_a - rr_b)))}

    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    return {
        "keras_top1": keras_acc,
        "float_onnx_top1": top1(float_logits, test_y),
        "float_tflite_top1": top1(tfl_float, test_y),
        "max_abs_diff_onnx_vs_keras": d_onnx,
        "max_abs_diff_tflite_vs_keras": d_tfl,
        "tflite_int8_top1": top1(tfl_int8, test_y),
        "tflite_int8_sqnr_db": sqnr(float_logits, tfl_int8),
        "tflite_int8_io": tfl_int8_io,
        "ort_qdq_top1": top1(qdq, test_y),
        "ort_qdq_sqnr_db": sqnr(float_logits, qdq),
        "ort_qdq_run": "onnxruntime CPU, ORT_DISABLE_ALL (QDQ semantics: float op between "
                       "DequantizeLinear and QuantizeLinear), 1 thread",
        "ort_qdq_opt_top1": top1(qdq_opt, test_y),
        "ort_qdq_opt_sqnr_db": sqnr(float_logits, qdq_opt),
        "ort_qdq_opt_run": "onnxruntime CPU, ORT_ENABLE_ALL (QDQ fused into integer "
                           "kernels, CPU dependent), 1 thread",
        "ort_qdq_max_abs_diff_opt_vs_noopt": float(np.max(np.abs(qdq - qdq_opt))),
        "ort_qdq_quant_pre_process": preprocessed,
        "ort_qdq_reduce_range_diagnostic": rr_diag,
        "tflite_hybrid_sqnr_db_first20": sqnr(float_logits[:N_HYBRID], hyb),
        "tflite_hybrid_top1_first20": top1(hyb, test_y[:N_HYBRID]),
        "tflite_hybrid_xnnpack_max_abs_diff_first20": float(np.max(np.abs(hyb_xnn - hyb))),
        "tflite_hybrid_ops_detail": hyb_struct,
        "tflite_hybrid_probe": hyb_probe,
        "params": {"total": int(model.count_params()), "trainable": trainable,
                   "non_trainable": int(model.count_params()) - trainable},
        "ops": {
            "onnx": onnx_ops(p(".onnx")),
            "ort_qdq_onnx": onnx_ops(p("_ort_qdq.onnx")),
            "tflite": tflite_ops(p(".tflite")),
            "tflite_int8": tflite_ops(p("_tflite_int8.tflite")),
            "tflite_hybrid": tflite_ops(p("_tflite_hybrid.tflite")),
        },
        "onnx_io": {"input": [IN_NAME, list(INPUT_SHAPE)], "output": [
            proto.graph.output[0].name,
            [d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim]]},
        "tflite_float_io": tfl_float_io,
    }


def hybrid_notes(res):
    notes = []
    for name, r in res.items():
        ops = r["ops"]["tflite_hybrid"]
        det = r["tflite_hybrid_ops_detail"]
        int8w = [d["op"] + "(" + "x".join(map(str, d["inputs"][1]["shape"])) + ")"
                 for d in det if len(d["inputs"]) > 1 and d["inputs"][1]["type"] == "INT8"]
        floatw = [d["op"] + "(" + "x".join(map(str, d["inputs"][1]["shape"])) + ")"
                  for d in det if d["op"] in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
                  and d["inputs"][1]["type"] == "FLOAT32"]
        fc = [d.get("asymmetric_quantize_inputs") for d in det if d["op"] == "FULLY_CONNECTED"]
        s = (f"{name}: ops {dict(collections.Counter(ops))}; int8 weights on {int8w or 'none'}; "
             f"float weights kept on {floatw or 'none'}; FULLY_CONNECTED "
             f"asymmetric_quantize_inputs = {fc}. ")
        for pr in r["tflite_hybrid_probe"]:
            errs = {k[len('max_abs_err_'):]: v for k, v in pr.items() if k.startswith("max_abs_err_")}
            best = min(errs, key=errs.get)
            s += (f"Probe {pr['op']} {pr['weights_shape']} ({pr['n_weight_scales']} weight scales): "
                  f"max |out - recomputed| with float input {errs['float_input']:.2e}, "
                  f"symmetric per-row int8 input {errs['sym_int8_input']:.2e}, asymmetric "
                  f"per-row int8 input {errs['asym_int8_input']:.2e} (|out| max "
                  f"{pr['max_abs_output']:.2f}) -> closest: {best}. ")
        notes.append(s.strip())
    notes.append(
        "Hybrid reference outputs come from tf.lite.Interpreter with "
        "BUILTIN_WITHOUT_DEFAULT_DELEGATES (no XNNPACK), 1 thread; "
        "'tflite_hybrid_xnnpack_max_abs_diff_first20' is the difference to the "
        "same model run with the default delegates. The converter only "
        "quantizes weight tensors with at least 1024 elements by default, so "
        "smaller layers stay float32 in the hybrid model.")
    return notes


def table(res):
    cols = [("float ORT top-1", "float_onnx_top1", "{:.4f}"),
            ("float TFLite top-1", "float_tflite_top1", "{:.4f}"),
            ("TFLite int8 top-1", "tflite_int8_top1", "{:.4f}"),
            ("TFLite int8 SQNR dB", "tflite_int8_sqnr_db", "{:.2f}"),
            ("ORT QDQ top-1", "ort_qdq_top1", "{:.4f}"),
            ("ORT QDQ SQNR dB", "ort_qdq_sqnr_db", "{:.2f}"),
            ("ORT QDQ opt top-1", "ort_qdq_opt_top1", "{:.4f}"),
            ("ORT QDQ opt SQNR dB", "ort_qdq_opt_sqnr_db", "{:.2f}"),
            ("hybrid SQNR dB (20)", "tflite_hybrid_sqnr_db_first20", "{:.2f}")]
    lines = ["| model | params | " + " | ".join(c[0] for c in cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for name, r in res.items():
        lines.append(f"| {name} | {r['params']['total']} | "
                     + " | ".join(f.format(r[k]) for _, k, f in cols) + " |")
    return "\n".join(lines)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(root, "tests", "models", "digits"))
    args = ap.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    try:
        tf.config.experimental.enable_op_determinism()
        determinism = True
    except Exception as e:
        print(f"enable_op_determinism failed: {e}")
        determinism = False
    seed_everything()

    calib, test_x, test_y, train_x, train_y = load_splits()
    np.save(os.path.join(out, "calib.npy"), calib)
    np.save(os.path.join(out, "calib_y.npy"), calib_labels())
    np.save(os.path.join(out, "test_x.npy"), test_x)
    np.save(os.path.join(out, "test_y.npy"), test_y)
    print(f"split: calib {len(calib)}, test {len(test_x)}, train {len(train_x)}")

    res = {}
    for build, epochs, lr, target in ((build_cnn, 60, 3e-3, 0.95), (build_dw, 80, 3e-3, 0.95)):
        seed_everything()
        model = build()
        acc = train(model, train_x, train_y, test_x, test_y, epochs, lr, target)
        res[model.name] = process(model, out, calib, test_x, test_y, acc)
        res[model.name]["train"] = {"epochs": epochs, "optimizer": "Adam",
                                    "lr": f"{lr} cosine decay to 2%", "batch": 64,
                                    "augmentation": "train set + one copy shifted by "
                                                    "(dy,dx) in {-1,0,1}^2 per epoch"}

    files = {f: os.path.getsize(os.path.join(out, f)) for f in sorted(os.listdir(out))
             if f not in ("reference.json", "README.md")}
    ort_notes = [
        "Primary ORT QDQ figures and M_ort_qdq_logits.npy: ORT_DISABLE_ALL, i.e. each "
        "op computed in float between DequantizeLinear and QuantizeLinear. "
        "'ort_qdq_opt_*' is the same model with ORT_ENABLE_ALL (fused integer "
        "kernels) on this machine's CPU (" + cpu_desc() + ").",
    ] + [f"{n}: optimized vs unoptimized max |diff| {r['ort_qdq_max_abs_diff_opt_vs_noopt']:.3g}; "
         f"with reduce_range=True (7-bit weights) it is "
         f"{r['ort_qdq_reduce_range_diagnostic']['max_abs_diff_opt_vs_noopt']:.3g} "
         f"(SQNR {r['ort_qdq_reduce_range_diagnostic']['sqnr_db_noopt']:.2f} dB unoptimized, "
         f"{r['ort_qdq_reduce_range_diagnostic']['sqnr_db_opt']:.2f} dB optimized)."
         for n, r in res.items()]
    ref = {
        "sqnr_definition": SQNR_DEF,
        "split": {"source": "sklearn.datasets.load_digits, x = images / 16 as float32, NHWC",
                  "method": "perm = np.random.default_rng(0).permutation(1797); "
                            "calib = perm[:200], test = perm[200:700], train = perm[700:]",
                  "sizes": {"calib": len(calib), "test": len(test_x), "train": len(train_x)},
                  "sha256": {f: sha256(os.path.join(out, f))
                             for f in ("calib.npy", "test_x.npy", "test_y.npy")}},
        "models": res,
        "hybrid_notes": hybrid_notes(res),
        "ort_qdq_notes": ort_notes,
        "op_determinism": determinism,
        "file_sizes": files,
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__, "tf2onnx": tf2onnx.__version__,
                     "onnx": onnx.__version__, "onnxruntime": ort.__version__,
                     "numpy": np.__version__, "scikit-learn": sklearn.__version__},
        "onnx_opset": OPSET,
    }
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")

    print(table(res))
    for n in ref["hybrid_notes"]:
        print("hybrid:", n)
    for n in ort_notes:
        print("ort qdq:", n)
    for name, r in res.items():
        print(f"{name} ops:")
        for k, v in r["ops"].items():
            print(f"  {k}: {v if isinstance(v, dict) else dict(collections.Counter(v))}")
    for f, s in files.items():
        print(f"{s:>8}  {f}")
    total = sum(files.values())
    print(f"{total:>8}  total")
    assert all(s < 600_000 for s in files.values()) and total < 3_000_000


if __name__ == "__main__":
    sys.exit(main())
