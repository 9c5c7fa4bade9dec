#!/usr/bin/env python3
"""Export small torchvision models to ONNX, with onnxruntime reference outputs.

Builds a handful of small torchvision classifiers (num_classes=10) with
random, seeded weights, exports each with the classic TorchScript exporter
(opset 17, batch 1, float32, static shapes, all weights inside the .onnx
file) and records a reference output computed by onnxruntime on the CPU
with every graph optimisation disabled.

Biases and BatchNorm scale/shift are drawn at random (torchvision sets them to
0 and 1), and BatchNorm running statistics are made non-trivial: each model
is run in train mode on a few seeded random batches (with cumulative-average
momentum), then put in eval mode. By default the exporter folds BatchNorm
into the preceding Conv; ``--keep-batchnorm`` keeps BatchNormalization nodes.

Nothing is downloaded: models are built with ``weights=None``. Needs
``torch``, ``torchvision``, ``onnx``, ``onnxruntime`` and ``numpy`` (recent
torch versions also want ``onnxscript`` for ``torch.onnx``).

Usage::

    python3 scripts/export_torchvision.py --out OUT_DIR [--only NAME ...]
                                          [--keep-batchnorm]

For each model NAME it writes into OUT_DIR:

* ``NAME.onnx``      the model;
* ``NAME.in0.bin``   one seeded input, raw little-endian float32, C order;
* ``NAME.out0.bin``  the onnxruntime output for that input, same encoding;
* ``NAME.json``      input/output names and shapes, op counts, sha256 of the
                     model and output, and the tool versions used;

plus ``summary.json`` with every exported model's op counts and output hash.
The generated files are too big to commit; only ``summary.json`` is kept in
the repository so that a change in the exported graphs or outputs shows up
in review. Output hashes depend on the torch/onnxruntime versions recorded.
"""

import argparse
import collections
import hashlib
import json
import os
import random
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torchvision
from torchvision import models as tvm

SEED = 0
OPSET = 17
NUM_CLASSES = 10
CALIB_BATCHES = 4
CALIB_BATCH_SIZE = 8

# name -> (torchvision builder, extra builder arguments, input shape)
MODELS = {
    "mobilenet_v2_035": ("mobilenet_v2", {"width_mult": 0.35}, (1, 3, 96, 96)),
    "mobilenet_v3_small": ("mobilenet_v3_small", {}, (1, 3, 96, 96)),
    "shufflenet_v2_x0_5": ("shufflenet_v2_x0_5", {}, (1, 3, 64, 64)),
    "squeezenet1_1": ("squeezenet1_1", {}, (1, 3, 64, 64)),
    "mnasnet0_5": ("mnasnet0_5", {}, (1, 3, 64, 64)),
}


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_f32(path, array):
    np.ascontiguousarray(array, dtype="<f4").tofile(path)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def build(name):
    """Build a seeded model with calibrated BatchNorm statistics, in eval mode."""
    builder, kwargs, shape = MODELS[name]
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    model = getattr(tvm, builder)(weights=None, num_classes=NUM_CLASSES, **kwargs)
    # torchvision initialises biases to 0 and BatchNorm to identity; make them
    # non-trivial too so a mix-up of scale, shift or bias cannot go unseen.
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = None  # cumulative average over the calibration batches
            torch.nn.init.uniform_(m.weight, 0.5, 1.5)
            torch.nn.init.uniform_(m.bias, -0.5, 0.5)
        elif isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and m.bias is not None:
            torch.nn.init.uniform_(m.bias, -0.1, 0.1)
    gen = torch.Generator().manual_seed(SEED + 1)
    model.train()
    with torch.no_grad():
        for _ in range(CALIB_BATCHES):
            model(torch.randn((CALIB_BATCH_SIZE,) + shape[1:], generator=gen))
    return model.eval()


def export(name, out_dir, keep_bn):
    builder, kwargs, shape = MODELS[name]
    model = build(name)
    onnx_path = os.path.join(out_dir, name + ".onnx")
    dummy = torch.zeros(shape, dtype=torch.float32)
    # PRESERVE exports the (eval-mode) model as is but skips the Conv+BN fusion.
    mode = torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export")
        warnings.filterwarnings("ignore", message="It is recommended that constant folding")
        torch.onnx.export(model, (dummy,), onnx_path, opset_version=OPSET,
                          input_names=["input"], output_names=["output"],
                          export_params=True, do_constant_folding=True,
                          training=mode, dynamo=False)
    proto = onnx.load(onnx_path)
    onnx.checker.check_model(proto)

    x = np.random.default_rng(SEED).uniform(-1.0, 1.0, size=shape).astype(np.float32)
    write_f32(os.path.join(out_dir, name + ".in0.bin"), x)

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
    inp, outp = sess.get_inputs()[0], sess.get_outputs()[0]
    (y,) = sess.run([outp.name], {inp.name: x})
    out_path = os.path.join(out_dir, name + ".out0.bin")
    write_f32(out_path, y)

    with torch.no_grad():
        err = float(np.max(np.abs(model(torch.from_numpy(x)).numpy() - y)))

    ops = collections.Counter(n.op_type for n in proto.graph.node)
    meta = {
        "model": name,
        "torchvision_builder": builder,
        "builder_args": kwargs,
        "input": {"name": inp.name, "shape": list(x.shape)},
        "output": {"name": outp.name, "shape": list(y.shape)},
        "ops": dict(sorted(ops.items())),
        "batchnorm_folded": not keep_bn,
        "sha256_onnx": sha256_file(onnx_path),
        "sha256_out0": sha256_file(out_path),
        "max_abs_diff_vs_torch": err,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "onnxruntime": ort.__version__,
    }
    write_json(os.path.join(out_dir, name + ".json"), meta)
    return meta


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--only", action="append", choices=sorted(MODELS),
                    help="export only this model (repeatable)")
    ap.add_argument("--keep-batchnorm", action="store_true",
                    help="keep BatchNormalization nodes instead of folding them")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)  # deterministic reductions in the calibration runs

    summary = {"opset": OPSET, "seed": SEED, "torch": torch.__version__,
               "torchvision": torchvision.__version__,
               "onnxruntime": ort.__version__,
               "batchnorm_folded": not args.keep_batchnorm, "models": {}}
    for name in args.only or list(MODELS):
        meta = export(name, args.out, args.keep_batchnorm)
        summary["models"][name] = {
            "input_shape": meta["input"]["shape"],
            "output_shape": meta["output"]["shape"],
            "ops": meta["ops"],
            "sha256_out0": meta["sha256_out0"],
        }
        print(f"{name}: {sum(meta['ops'].values())} nodes, "
              f"max |torch - ort| = {meta['max_abs_diff_vs_torch']:.2e}")
    write_json(os.path.join(args.out, "summary.json"), summary)


if __name__ == "__main__":
    main()
