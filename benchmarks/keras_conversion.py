"""Keras -> torch conversion against TensorFlow's own outputs.

Builds Keras models of this field in TensorFlow (run by ``--tf-python``, a Python with
``tensorflow`` and ``tf_keras`` installed; TensorFlow is never a seqlens dependency), gives every
BatchNormalization non-trivial moving statistics, saves each model as a Keras 3 ``.keras`` zip, a
Keras 3 legacy ``.h5`` and a Keras 2 (``tf_keras``) ``.h5``, and records TensorFlow's predictions
on random one-hot sequences. This process (seqlens' environment) then converts every file with
:func:`seqlens.models.keras.load_keras` and reports the largest absolute difference to
TensorFlow's outputs (bar: 1e-4) and the same relative to the largest |output|.

Models: DeepSTARR (de Almeida et al. 2022: 4 conv blocks with BatchNorm, 2 dense layers, two
output heads), a Koo-lab exponential-activation CNN (Koo & Ploenzke 2021: exponential first
layer, BatchNorm, large first max-pool) and a residual-free cnn-deep (valid padding, even
kernels, average pools, global average pooling).

    .venv/bin/python benchmarks/keras_conversion.py --tf-python /tmp/tfvenv/bin/python

Prints a table and writes ``benchmarks/results/keras_conversion.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BAR = 1e-4

BUILD = r'''
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf
import keras
import tf_keras

out, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tf.random.set_seed(seed)
rng = np.random.default_rng(seed)


def deepstarr(K):
    L = K.layers
    x = inp = K.Input((249, 4), name="input")
    for i, (f, k) in enumerate([(246, 7), (60, 3), (60, 5), (120, 3)]):
        x = L.Conv1D(f, k, padding="same", name=f"Conv1D_{i + 1}")(x)
        x = L.BatchNormalization()(x)
        x = L.Activation("relu")(x)
        x = L.MaxPooling1D(2)(x)
    x = L.Flatten()(x)
    for i in range(2):
        x = L.Dense(256, name=f"Dense_{i + 1}")(x)
        x = L.BatchNormalization()(x)
        x = L.Activation("relu")(x)
        x = L.Dropout(0.4)(x)
    return K.Model(inp, [L.Dense(1, name="Dense_Dev")(x), L.Dense(1, name="Dense_Hk")(x)])


def koo_exp(K):
    L = K.layers
    return K.Sequential([
        K.Input((200, 4)),
        L.Conv1D(32, 19, padding="same"), L.BatchNormalization(), L.Activation("exponential"),
        L.Dropout(0.1), L.MaxPooling1D(25),
        L.Conv1D(64, 5, padding="same"), L.BatchNormalization(), L.Activation("relu"),
        L.Dropout(0.2), L.MaxPooling1D(4),
        L.Flatten(),
        L.Dense(128), L.BatchNormalization(), L.Activation("relu"), L.Dropout(0.5),
        L.Dense(12, activation="sigmoid"),
    ])


def cnn_deep(K):
    L = K.layers
    return K.Sequential([
        K.Input((200, 4)),
        L.Conv1D(32, 20, padding="valid", activation="relu"), L.Dropout(0.1),
        L.Conv1D(48, 8, padding="same", activation="relu"), L.AveragePooling1D(4),
        L.Conv1D(96, 7, padding="valid", activation="relu", dilation_rate=2),
        L.MaxPooling1D(3, padding="same"),
        L.Conv1D(128, 4, padding="same", activation="relu"), L.GlobalAveragePooling1D(),
        L.Dense(64, activation="relu"), L.Dense(12),
    ])


def randomise_batchnorm(model, K):
    for layer in model.layers:
        if isinstance(layer, K.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            c = len(mean)
            layer.set_weights([rng.uniform(0.5, 1.5, c), rng.normal(0, 0.2, c),
                               rng.normal(0, 0.2, c), rng.uniform(0.5, 2.0, c)])


versions = {"tensorflow": tf.__version__, "keras": keras.__version__, "tf_keras": tf_keras.__version__}
records = {}
for name, build in [("deepstarr", deepstarr), ("koo_exp_cnn", koo_exp), ("cnn_deep", cnn_deep)]:
    for K, tag, suffixes in [(keras, "keras3", [".keras", ".h5"]), (tf_keras, "keras2", [".h5"])]:
        model = build(K)
        randomise_batchnorm(model, K)
        L = model.inputs[0].shape[1]
        X = np.eye(4, dtype="float32")[rng.integers(0, 4, (n, L))]
        y = model.predict(X, verbose=0, batch_size=64)
        y = [np.asarray(v) for v in y] if isinstance(y, (list, tuple)) else [np.asarray(y)]
        for suffix in suffixes:
            path = os.path.join(out, f"{name}_{tag}{suffix}")
            model.save(path)
            key = f"{name}_{tag}{suffix}"
            np.savez(os.path.join(out, key + ".npz"), X=X, *y)
            records[key] = {"model": name, "writer": f"{tag} {suffix}", "path": path,
                            "n_parameters": int(model.count_params())}
json.dump({"versions": versions, "records": records}, open(os.path.join(out, "index.json"), "w"))
'''


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tf-python", default="/tmp/tfvenv/bin/python",
                        help="a Python with tensorflow and tf_keras (default /tmp/tfvenv/bin/python)")
    parser.add_argument("--n", type=int, default=64, help="random one-hot sequences per model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "keras_conversion.json"))
    args = parser.parse_args()

    import torch

    import seqlens
    from seqlens.models.keras import load_keras

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "build.py"
        script.write_text(BUILD)
        t0 = time.perf_counter()
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1",
               "TF_NUM_INTRAOP_THREADS": "1"}
        run = subprocess.run([args.tf_python, str(script), tmp, str(args.n), str(args.seed)],
                             capture_output=True, text=True, env=env)
        if run.returncode != 0:
            print(run.stderr[-3000:], file=sys.stderr)
            return 1
        build_seconds = time.perf_counter() - t0
        index = json.loads((Path(tmp) / "index.json").read_text())
        rows = []
        for key, rec in index["records"].items():
            data = np.load(Path(tmp) / f"{key}.npz")
            expected = [data[k] for k in sorted(data.files) if k.startswith("arr_")]
            t0 = time.perf_counter()
            model = load_keras(rec["path"])
            seconds = time.perf_counter() - t0
            with torch.no_grad():
                out = model(torch.as_tensor(data["X"].transpose(0, 2, 1)))
            outs = [o.numpy() for o in (out if isinstance(out, tuple) else (out,))]
            diff = max(float(np.abs(o - e).max()) for o, e in zip(outs, expected))
            scale = max(float(np.abs(e).max()) for e in expected)
            rows.append({"file": Path(rec["path"]).name, "model": rec["model"], "writer": rec["writer"],
                         "n_parameters": rec["n_parameters"], "n_outputs": len(outs),
                         "max_abs_diff": diff, "max_abs_output": scale, "relative_diff": diff / scale,
                         "convert_seconds": seconds, "passes_1e-4": diff <= BAR})
    result = {"versions": {**index["versions"], "seqlens": seqlens.__version__, "torch": torch.__version__,
                           "numpy": np.__version__},
              "n_sequences": args.n, "bar": BAR, "tensorflow_build_seconds": build_seconds,
              "load_average": os.getloadavg(), "models": rows}
    print("versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()))
    print(f"{'file':28s} {'outputs':>7s} {'params':>9s} {'max|diff|':>10s} {'max|y|':>8s} {'rel':>9s} "
          f"{'<=1e-4':>6s}")
    for r in rows:
        print(f"{r['file']:28s} {r['n_outputs']:7d} {r['n_parameters']:9,d} {r['max_abs_diff']:10.2e} "
              f"{r['max_abs_output']:8.3g} {r['relative_diff']:9.2e} {str(r['passes_1e-4']):>6s}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")
    return 0 if all(r["passes_1e-4"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
