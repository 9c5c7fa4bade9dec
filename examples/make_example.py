#!/usr/bin/env python3
"""Build tmlc's example model: a tiny int8 keyword-spotting CNN.

Writes, beside this script (or into --out-dir):
  kws_int8.tflite      the fully int8 model (int8 input and output)
  kws_int8.in0.bin     one seeded random int8 input, raw bytes (49*10 = 490 B)
  kws_int8.out0.bin    TFLite Micro's output for that input, raw bytes (4 B)

The model takes a 49x10 "MFCC" patch (49 frames x 10 coefficients, as in
Arm's ML-KWS DS-CNN) and scores 4 classes:

  input  int8 [1,49,10,1]
  CONV_2D            3x3 stride 2, SAME, 8 ch, RELU   -> [1,25,5,8]
  DEPTHWISE_CONV_2D  3x3 stride 1, SAME, RELU6        -> [1,25,5,8]
  CONV_2D            1x1, 16 ch, RELU                 -> [1,25,5,16]
  AVERAGE_POOL_2D    25x5 (global)                    -> [1,1,1,16]
  RESHAPE                                             -> [1,16]
  FULLY_CONNECTED    4                                -> [1,4]
  SOFTMAX                                             -> int8 [1,4]

It is trained for a few epochs on synthetic spectrograms (one energy pattern
per class plus noise), then converted with TFLiteConverter's full-integer
quantization (per-channel conv weights, int8 I/O) using a representative
dataset drawn from the same generator. Everything is seeded.

Needs: pip install tensorflow-cpu==2.21.0 tflite-micro==0.dev20261023182759
Run:   python examples/make_example.py
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("PYTHONHASHSEED", "0")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

NAME = "kws_int8"
FRAMES, COEFFS, CLASSES = 49, 10, 4
SEED = 1234


def synthetic_batch(rng, n):
    """n spectrogram-like patches in about [-1, 1], and their labels.

    0: background noise only; 1: a burst in the low coefficients;
    2: a burst in the high coefficients; 3: a rising sweep.
    The burst's position in time is random, so the net has to pool over time.
    """
    x = rng.normal(0.0, 0.25, size=(n, FRAMES, COEFFS)).astype(np.float32)
    y = rng.integers(0, CLASSES, size=n)
    t = np.arange(FRAMES)[:, None]
    c = np.arange(COEFFS)[None, :]
    for i in range(n):
        t0 = rng.integers(8, FRAMES - 8)
        width = rng.uniform(3.0, 6.0)
        env = np.exp(-0.5 * ((t - t0) / width) ** 2)
        if y[i] == 1:
            x[i] += 0.8 * env * np.exp(-0.5 * ((c - 1.5) / 1.5) ** 2)
        elif y[i] == 2:
            x[i] += 0.8 * env * np.exp(-0.5 * ((c - 7.5) / 1.5) ** 2)
        elif y[i] == 3:
            track = 1.0 + 7.0 * np.clip((t - t0 + 8) / 16.0, 0.0, 1.0)
            x[i] += 0.8 * np.exp(-0.5 * ((c - track) / 1.2) ** 2) * (np.abs(t - t0) < 9)
    x = np.clip(x, -1.0, 1.0)
    return x[..., None], y.astype(np.int32)


def build_model(batch_size=None):
    k = tf.keras
    inp = k.Input(shape=(FRAMES, COEFFS, 1), batch_size=batch_size, name="mfcc")
    x = k.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv1")(inp)
    x = k.layers.DepthwiseConv2D(3, padding="same", activation="relu6", name="dw")(x)
    x = k.layers.Conv2D(16, 1, activation="relu", name="pw")(x)
    x = k.layers.AveragePooling2D(pool_size=(x.shape[1], x.shape[2]), name="pool")(x)
    x = k.layers.Flatten(name="flatten")(x)
    x = k.layers.Dense(CLASSES, name="fc")(x)
    out = k.layers.Softmax(name="softmax")(x)
    return k.Model(inp, out, name=NAME)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--epochs", type=int, default=8)
    args = ap.parse_args()

    tf.keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)

    rng = np.random.default_rng(SEED)
    x_train, y_train = synthetic_batch(rng, 2048)
    x_val, y_val = synthetic_batch(rng, 512)

    model = build_model()
    model.compile(
        optimizer=tf.keras.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, shuffle=True, verbose=0)
    _, acc = model.evaluate(x_val, y_val, verbose=0)
    print(f"float validation accuracy: {acc:.3f}")

    # The same network with a fixed batch of 1, so that every tensor in the
    # .tflite has a static shape.
    model1 = build_model(batch_size=1)
    model1.set_weights(model.get_weights())

    rep_x, _ = synthetic_batch(np.random.default_rng(SEED + 1), 200)

    def representative_dataset():
        for i in range(rep_x.shape[0]):
            yield [rep_x[i : i + 1]]

    conv = tf.lite.TFLiteConverter.from_keras_model(model1)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative_dataset
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    tflite_bytes = conv.convert()

    os.makedirs(args.out_dir, exist_ok=True)
    model_path = os.path.join(args.out_dir, f"{NAME}.tflite")
    with open(model_path, "wb") as f:
        f.write(tflite_bytes)
    print(f"wrote {model_path} ({len(tflite_bytes)} bytes)")

    # Reference data with TFLite Micro's own interpreter.
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(tflite_bytes)
    in_det = interp.get_input_details(0)
    out_det = interp.get_output_details(0)
    assert in_det["dtype"] == np.int8 and out_det["dtype"] == np.int8, (in_det, out_det)
    x_in = np.random.default_rng(SEED + 2).integers(-128, 128, size=in_det["shape"], dtype=np.int8)
    interp.set_input(x_in, 0)
    interp.invoke()
    y_out = np.asarray(interp.get_output(0), dtype=np.int8)

    in_path = os.path.join(args.out_dir, f"{NAME}.in0.bin")
    out_path = os.path.join(args.out_dir, f"{NAME}.out0.bin")
    x_in.tofile(in_path)
    y_out.tofile(out_path)
    print(f"input  {in_det['shape'].tolist()} int8 q(scale={in_det['quantization_parameters']['scales'][0]:.8g}, "
          f"zp={in_det['quantization_parameters']['zero_points'][0]}) -> {in_path}")
    print(f"output {out_det['shape'].tolist()} int8 q(scale={out_det['quantization_parameters']['scales'][0]:.8g}, "
          f"zp={out_det['quantization_parameters']['zero_points'][0]}) -> {out_path}")
    print(f"TFLM output: {y_out.ravel().tolist()}")

    # Cross-check: the quantized model's accuracy on the validation set, run by TFLM.
    s = in_det["quantization_parameters"]["scales"][0]
    zp = in_det["quantization_parameters"]["zero_points"][0]
    hits = 0
    for i in range(x_val.shape[0]):
        q = np.clip(np.round(x_val[i : i + 1] / s) + zp, -128, 127).astype(np.int8)
        interp.set_input(q, 0)
        interp.invoke()
        hits += int(np.argmax(interp.get_output(0)) == y_val[i])
    print(f"int8 validation accuracy (TFLM): {hits / x_val.shape[0]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
