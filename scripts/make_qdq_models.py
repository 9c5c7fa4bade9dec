"""Quantize two of the shared float ONNX CNNs the way onnxruntime users do,
and write reference outputs for tmlc's golden tests.

    python3 scripts/make_qdq_models.py --shared ../shared/models --out tests/models/qdq

Each model (upgraded to opset 13 if older, for per-channel
DequantizeLinear) goes through `onnxruntime.quantization.quantize_static` in the QDQ
format with per-channel int8 weights, calibrated (MinMax) on 16 seeded random
inputs drawn from the input range the shared model's JSON description gives:

- `mnist-8_qdq`: int8 activations (the current default);
- `atmega_mnist_simplified_qdq_u8`: uint8 activations (the older default),
  which tmlc converts to int8 exactly.

For each model the script writes NAME.onnx, three samples NAME.in<S>.bin /
NAME.out<S>.bin (raw little-endian, C order; the outputs from onnxruntime with
graph optimizations disabled) and NAME.json in the layout of the shared
models' descriptions (`inputs[].run_shape`, `samples`). Nothing is
downloaded; the results are small and committed, so tests need no Python.
"""

import argparse
import hashlib
import json
import os

import numpy as np
import onnx
import onnx.version_converter
import onnxruntime as ort
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat,
                                      QuantType, quantize_static)

SEED = 20261203
MODELS = [
    ("mnist-8", "mnist-8_qdq", QuantType.QInt8),
    ("atmega_mnist_simplified", "atmega_mnist_simplified_qdq_u8", QuantType.QUInt8),
]


class Reader(CalibrationDataReader):
    def __init__(self, name, shape, lo, hi, rng, count=16):
        self.items = iter(
            [{name: rng.uniform(lo, hi, size=shape).astype(np.float32)} for _ in range(count)]
        )

    def get_next(self):
        return next(self.items, None)


def describe(src_json):
    with open(src_json) as f:
        j = json.load(f)
    (inp,) = j["inputs"]
    shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp["run_shape"]]
    lo, hi = inp["float_range"]
    return inp["name"], shape, lo, hi


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", required=True, help="the shared models folder")
    ap.add_argument("--out", required=True, help="where to write the models")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for src, name, act_type in MODELS:
        rng = np.random.default_rng(SEED)
        base = os.path.join(args.shared, "onnx2c", src)
        in_name, shape, lo, hi = describe(base + ".json")
        path = os.path.join(args.out, name + ".onnx")
        # Per-channel DequantizeLinear needs opset 13: upgrade older models
        # first, as onnxruntime's documentation advises.
        src_model = onnx.load(base + ".onnx")
        if src_model.opset_import[0].version < 13:
            src_model = onnx.version_converter.convert_version(src_model, 13)
        upgraded = path + ".float.onnx"
        onnx.save(src_model, upgraded)
        quantize_static(
            upgraded,
            path,
            Reader(in_name, shape, lo, hi, rng),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=act_type,
            weight_type=QuantType.QInt8,
        )
        os.remove(upgraded)
        model = onnx.load(path)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        out_meta = sess.get_outputs()[0]
        samples = []
        for s in range(3):
            x = rng.uniform(lo, hi, size=shape).astype(np.float32)
            (y,) = sess.run(None, {in_name: x})
            for kind, t in (("in", x), ("out", y)):
                with open(os.path.join(args.out, f"{name}.{kind}{s}.bin"), "wb") as f:
                    f.write(np.ascontiguousarray(t).astype("<f4").tobytes())
            samples.append({"output_shape": list(y.shape)})
        ops = {}
        for n in model.graph.node:
            ops[n.op_type] = ops.get(n.op_type, 0) + 1
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        desc = {
            "model": name + ".onnx",
            "source": f"../shared/models/onnx2c/{src}.onnx",
            "sha256": digest,
            "ops": dict(sorted(ops.items())),
            "activations": "uint8" if act_type == QuantType.QUInt8 else "int8",
            "inputs": [{"name": in_name, "run_shape": shape, "float_range": [lo, hi]}],
            "outputs": [{"name": out_meta.name}],
            "samples": samples,
            "generator": {
                "tool": "scripts/make_qdq_models.py",
                "seed": SEED,
                "numpy": np.__version__,
                "onnx": onnx.__version__,
                "onnxruntime": ort.__version__,
            },
        }
        with open(os.path.join(args.out, name + ".json"), "w") as f:
            json.dump(desc, f, indent=1)
            f.write("\n")
        print(name, desc["ops"])


if __name__ == "__main__":
    main()
