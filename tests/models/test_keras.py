"""Keras -> torch conversion without TensorFlow, checked against an independent numpy model.

The fixtures are written with h5py in Keras' documented layouts, not with the reader's code:

* Keras 2 whole-model HDF5 (``save_model_to_hdf5`` / ``save_weights_to_hdf5_group``): root
  attribute ``model_config`` (JSON), group ``model_weights`` whose attribute ``layer_names`` names
  one group per layer; each layer group's attribute ``weight_names`` lists its datasets
  (``<layer>/kernel:0``, created at that nested path). Conv1D kernels are ``(k, in, out)``, Dense
  kernels ``(in, out)``, BatchNormalization stores gamma, beta, moving_mean, moving_variance.
* Keras 3 ``.keras`` zip (``saving_lib``): ``config.json``, ``metadata.json`` and
  ``model.weights.h5`` with ``layers/<class name in snake case>[_<i>]/vars/<j>``.

The expected outputs come from numpy code written from Keras' semantics: channels-last tensors,
convolution as explicit sums over kernel taps, TensorFlow's SAME padding (output ``ceil(L / s)``,
``pad_total // 2`` before and the rest after), SAME pooling that leaves padding out of max and
mean, Flatten over ``(L, C)``.
"""

from __future__ import annotations

import io
import json
import zipfile

import h5py
import numpy as np
import pytest
import torch

from seqlens.errors import FormatError
from seqlens.models.keras import load_keras

torch.set_num_threads(1)
TOL = 1e-5


# ------------------------------------------------------------------ numpy reference (Keras semantics)
def _same(L: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    out = -(-L // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - L, 0)
    return out, total // 2


def np_conv(x, kernel, bias, strides=1, padding="valid", dilation_rate=1):
    """Keras Conv1D on ``(N, L, C)``: ``y[t, o] = sum_j sum_c x[t*s + j*d - left, c] K[j, c, o] + b``."""
    N, L, C = x.shape
    k = kernel.shape[0]
    if padding == "same":
        out, left = _same(L, k, strides, dilation_rate)
    else:
        out, left = (L - (k - 1) * dilation_rate - 1) // strides + 1, 0
    y = np.zeros((N, out, kernel.shape[2]))
    for t in range(out):
        for j in range(k):
            pos = t * strides + j * dilation_rate - left
            if 0 <= pos < L:
                y[:, t, :] += x[:, pos, :] @ kernel[j]
    return y + bias


def np_pool(x, pool_size, strides, padding, kind):
    N, L, C = x.shape
    if padding == "same":
        out, left = _same(L, pool_size, strides)
    else:
        out, left = (L - pool_size) // strides + 1, 0
    y = np.empty((N, out, C))
    for t in range(out):
        lo = t * strides - left
        window = x[:, max(lo, 0):min(lo + pool_size, L), :]
        y[:, t, :] = window.max(axis=1) if kind == "max" else window.mean(axis=1)
    return y


ACT = {"relu": lambda z: np.maximum(z, 0), "exponential": np.exp, "linear": lambda z: z,
       "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "softplus": lambda z: np.log1p(np.exp(z)),
       "tanh": np.tanh, "softmax": lambda z: np.exp(z - z.max(-1, keepdims=True))
       / np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True)}


def np_layer(spec, w, x):
    """One layer of ``spec`` (see :func:`keras_layer`) with weights ``w`` on channels-last ``x``."""
    cls = spec["cls"]
    if cls == "Conv1D":
        y = np_conv(x, w[0], w[1], spec.get("strides", 1), spec["padding"], spec.get("dilation_rate", 1))
        return ACT[spec.get("activation", "linear")](y)
    if cls == "Dense":
        return ACT[spec.get("activation", "linear")](x @ w[0] + w[1])
    if cls == "BatchNormalization":
        gamma, beta, mean, var = w
        return gamma * (x - mean) / np.sqrt(var + spec["epsilon"]) + beta
    if cls in ("MaxPooling1D", "AveragePooling1D"):
        return np_pool(x, spec["pool_size"], spec.get("strides") or spec["pool_size"],
                       spec.get("padding", "valid"), "max" if cls == "MaxPooling1D" else "avg")
    if cls == "Flatten":
        return x.reshape(len(x), -1)  # channels-last order: position-major
    if cls == "GlobalAveragePooling1D":
        return x.mean(axis=1)
    if cls == "GlobalMaxPooling1D":
        return x.max(axis=1)
    if cls == "Activation":
        return ACT[spec["activation"]](x)
    if cls == "Dropout":
        return x
    raise AssertionError(cls)


# ---------------------------------------------------------------- fixtures in Keras' saved layouts
def keras_layer(spec: dict, keras3: bool, input_shape=None) -> dict:
    """A layer entry of a saved model config, Keras 2 or Keras 3 style."""
    cls, name = spec["cls"], spec["name"]
    cfg = {"name": name, "trainable": True, "dtype": "float32"}
    if cls == "Conv1D":
        cfg.update(filters=spec["filters"], kernel_size=[spec["kernel_size"]],
                   strides=[spec.get("strides", 1)], padding=spec["padding"], data_format="channels_last",
                   dilation_rate=[spec.get("dilation_rate", 1)], groups=1,
                   activation=spec.get("activation", "linear"), use_bias=True)
    elif cls == "Dense":
        cfg.update(units=spec["units"], activation=spec.get("activation", "linear"), use_bias=True)
    elif cls == "BatchNormalization":
        cfg.update(axis=[2] if not keras3 and spec.get("rank3", True) else -1, momentum=spec["momentum"],
                   epsilon=spec["epsilon"], center=True, scale=True)
    elif cls in ("MaxPooling1D", "AveragePooling1D"):
        cfg.update(pool_size=[spec["pool_size"]], strides=[spec.get("strides") or spec["pool_size"]],
                   padding=spec.get("padding", "valid"), data_format="channels_last")
    elif cls in ("Flatten", "GlobalAveragePooling1D", "GlobalMaxPooling1D"):
        cfg.update(data_format="channels_last")
    elif cls == "Activation":
        cfg.update(activation=spec["activation"])
    elif cls == "Dropout":
        cfg.update(rate=0.5)
    elif cls == "InputLayer":
        cfg = {"name": name, "dtype": "float32", "sparse": False}
        cfg["batch_shape" if keras3 else "batch_input_shape"] = [None, *input_shape]
    else:
        cfg.update(spec.get("config", {}))
    entry = {"class_name": cls, "config": cfg}
    if keras3:
        entry.update(module="keras.layers", registered_name=None)
    return entry


def random_weights(specs, input_shape, rng):
    """Per-layer weight arrays in Keras' shapes (channels tracked through the layers)."""
    weights, C = {}, input_shape[1]
    for spec in specs:
        cls = spec["cls"]
        if cls == "Conv1D":
            scale = spec.get("scale", 0.3)
            weights[spec["name"]] = [rng.normal(0, scale, (spec["kernel_size"], C, spec["filters"])),
                                     rng.normal(0, 0.1, spec["filters"])]
            C = spec["filters"]
        elif cls == "Dense":
            fan_in = spec["fan_in"] if "fan_in" in spec else C
            weights[spec["name"]] = [rng.normal(0, 1 / np.sqrt(fan_in), (fan_in, spec["units"])),
                                     rng.normal(0, 0.1, spec["units"])]
            C = spec["units"]
        elif cls == "BatchNormalization":
            weights[spec["name"]] = [rng.uniform(0.5, 1.5, C), rng.normal(0, 0.2, C),
                                     rng.normal(0, 0.3, C), rng.uniform(0.5, 2.0, C)]
        else:
            weights[spec["name"]] = []
    return {k: [np.asarray(a, np.float32) for a in v] for k, v in weights.items()}


WEIGHT_NAMES = {"Conv1D": ["kernel", "bias"], "Dense": ["kernel", "bias"],
                "BatchNormalization": ["gamma", "beta", "moving_mean", "moving_variance"]}


def write_keras2_h5(path, config: dict, names: list[str], classes: list[str], weights: dict) -> None:
    """Keras 2 ``model.save('m.h5')``: ``model_config`` + ``model_weights`` (layer_names/weight_names)."""
    with h5py.File(path, "w") as fh:
        fh.attrs["keras_version"] = b"2.15.0"
        fh.attrs["backend"] = b"tensorflow"
        fh.attrs["model_config"] = json.dumps(config).encode()
        group = fh.create_group("model_weights")
        write_keras2_weights(group, names, classes, weights)


def write_keras2_weights(group, names, classes, weights) -> None:
    """Keras 2 ``save_weights_to_hdf5_group`` layout inside ``group``."""
    group.attrs["layer_names"] = np.array([n.encode() for n in names])
    for name, cls in zip(names, classes):
        g = group.create_group(name)
        wnames = [f"{name}/{w}:0" for w in WEIGHT_NAMES.get(cls, [])] if weights.get(name) else []
        g.attrs["weight_names"] = np.array([w.encode() for w in wnames], dtype="S")
        for wname, value in zip(wnames, weights.get(name, [])):
            g.create_dataset(wname, data=value)


def write_keras3(path, config: dict, classes: list[str], names: list[str], weights: dict) -> None:
    """Keras 3 ``model.save('m.keras')``: zip of config.json, metadata.json, model.weights.h5 with
    ``layers/<snake_case class>[_i]/vars/<j>`` (counters per class, in the model's layer order)."""
    snake = {"InputLayer": "input_layer", "Conv1D": "conv1d", "Dense": "dense", "Flatten": "flatten",
             "BatchNormalization": "batch_normalization", "MaxPooling1D": "max_pooling1d",
             "AveragePooling1D": "average_pooling1d", "Dropout": "dropout", "Activation": "activation",
             "GlobalAveragePooling1D": "global_average_pooling1d",
             "GlobalMaxPooling1D": "global_max_pooling1d", "Add": "add"}
    buf = io.BytesIO()
    with h5py.File(buf, "w") as fh:
        seen = {}
        for cls, name in zip(classes, names):
            key = snake[cls]
            seen[key] = seen.get(key, -1) + 1
            path_ = f"layers/{key}" if seen[key] == 0 else f"layers/{key}_{seen[key]}"
            vars_ = fh.create_group(path_).create_group("vars")
            for j, value in enumerate(weights.get(name, [])):
                vars_[str(j)] = value
        fh.create_group("vars")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.4.1", "date_saved": "2024-07-01"}))
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("model.weights.h5", buf.getvalue())


def sequential(specs, input_shape, keras3: bool) -> dict:
    layers = [keras_layer({"cls": "InputLayer", "name": "input_1"}, keras3, input_shape)]
    layers += [keras_layer(s, keras3) for s in specs]
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}
    if keras3:
        config.update(module="keras", registered_name=None)
    return config


def save_sequential(tmp_path, specs, input_shape, rng, fmt: str):
    """Write a Sequential model in ``fmt`` (h5, keras, json) -> (path, weights path, weights)."""
    weights = random_weights(specs, input_shape, rng)
    names = ["input_1"] + [s["name"] for s in specs]
    classes = ["InputLayer"] + [s["cls"] for s in specs]
    if fmt == "h5":
        path = tmp_path / "model.h5"
        write_keras2_h5(path, sequential(specs, input_shape, False), names, classes, weights)
        return path, None, weights
    if fmt == "keras":
        path = tmp_path / "model.keras"
        write_keras3(path, sequential(specs, input_shape, True), classes, names, weights)
        return path, None, weights
    path, wpath = tmp_path / "model.json", tmp_path / "model_weights.h5"
    path.write_text(json.dumps({**sequential(specs, input_shape, False), "keras_version": "2.4.0"}))
    with h5py.File(wpath, "w") as fh:
        write_keras2_weights(fh, names, classes, weights)
    return path, wpath, weights


def one_hot(rng, n: int, L: int) -> np.ndarray:
    """``(N, L, 4)`` channels-last one-hot, as Keras reads it."""
    return np.eye(4)[rng.integers(0, 4, (n, L))]


def check(model, specs, weights, X):
    """Converted model on ``(N, 4, L)`` against the numpy Keras forward on ``(N, L, 4)``."""
    ref = X.astype(np.float64)
    for spec in specs:
        ref = np_layer(spec, [w.astype(np.float64) for w in weights[spec["name"]]], ref)
    with torch.no_grad():
        out = model(torch.as_tensor(X.transpose(0, 2, 1), dtype=torch.float32)).numpy()
    if out.ndim == 3:
        out = out.transpose(0, 2, 1)
    assert out.shape == ref.shape
    err = float(np.abs(out - ref).max())
    assert err <= TOL, err
    return err


# ------------------------------------------------------------------------------------ models
BN = {"cls": "BatchNormalization", "name": "batch_normalization", "momentum": 0.9, "epsilon": 1e-3}
RELU_SAME = [  # DeepSTARR-like: same padding, BatchNorm, max-pool, Flatten + Dense head
    {"cls": "Conv1D", "name": "conv1d", "filters": 6, "kernel_size": 7, "padding": "same",
     "activation": "linear"},
    BN,
    {"cls": "Activation", "name": "activation", "activation": "relu"},
    {"cls": "MaxPooling1D", "name": "max_pooling1d", "pool_size": 2},
    {"cls": "Conv1D", "name": "conv1d_1", "filters": 5, "kernel_size": 3, "padding": "same",
     "activation": "relu"},
    {"cls": "MaxPooling1D", "name": "max_pooling1d_1", "pool_size": 2},
    {"cls": "Flatten", "name": "flatten"},
    {"cls": "Dense", "name": "dense", "units": 8, "activation": "relu", "fan_in": 5 * 6},
    {"cls": "Dropout", "name": "dropout"},
    {"cls": "Dense", "name": "dense_1", "units": 2, "activation": "linear", "fan_in": 8},
]
EXP_VALID = [  # Koo-lab style: exponential first layer, even kernel, valid padding, avg-pool, global pool
    {"cls": "Conv1D", "name": "conv1d", "filters": 6, "kernel_size": 6, "padding": "valid",
     "activation": "exponential", "scale": 0.2},
    {"cls": "AveragePooling1D", "name": "average_pooling1d", "pool_size": 3},
    {"cls": "Conv1D", "name": "conv1d_1", "filters": 4, "kernel_size": 3, "padding": "valid",
     "activation": "relu", "dilation_rate": 2, "scale": 0.1},
    {"cls": "GlobalMaxPooling1D", "name": "global_max_pooling1d"},
    {"cls": "Dense", "name": "dense", "units": 3, "activation": "sigmoid"},
]
EXP_SAME = [  # exponential first layer with SAME padding of an even kernel (asymmetric), SAME pools
    {"cls": "Conv1D", "name": "conv1d", "filters": 5, "kernel_size": 8, "padding": "same",
     "activation": "exponential", "scale": 0.2},
    {**BN, "momentum": 0.99, "epsilon": 1e-5},
    {"cls": "MaxPooling1D", "name": "max_pooling1d", "pool_size": 3, "strides": 2, "padding": "same"},
    {"cls": "Conv1D", "name": "conv1d_1", "filters": 4, "kernel_size": 4, "padding": "same",
     "activation": "relu", "strides": 2, "scale": 0.1},
    {"cls": "AveragePooling1D", "name": "average_pooling1d", "pool_size": 4, "padding": "same"},
    {"cls": "GlobalAveragePooling1D", "name": "global_average_pooling1d"},
    {"cls": "Dense", "name": "dense", "units": 2, "activation": "softmax"},
]
MODELS = {"relu_same": (RELU_SAME, 24), "exp_valid": (EXP_VALID, 41), "exp_same": (EXP_SAME, 37)}


@pytest.mark.parametrize("fmt", ["h5", "keras", "json"])
@pytest.mark.parametrize("name", list(MODELS))
def test_sequential_models_match_numpy_keras(tmp_path, name, fmt):
    specs, L = MODELS[name]
    rng = np.random.default_rng(len(name))
    path, wpath, weights = save_sequential(tmp_path, specs, (L, 4), rng, fmt)
    model = load_keras(path, wpath)
    assert model.input_shape == (4, L) and not model.training
    check(model, specs, weights, one_hot(rng, 5, L))


def test_same_padding_even_kernel_puts_the_extra_column_on_the_right(tmp_path):
    """A kernel of 4 taps [1, 2, 3, 4] on x = e_0 (the first position only): SAME pads 1 column
    before and 2 after, so output t reads positions t-1 .. t+2 and position 0 is seen by tap 1 at
    t = 0 (value 2) and tap 0 at t = 1 (value 1)."""
    spec = [{"cls": "Conv1D", "name": "conv1d", "filters": 1, "kernel_size": 4, "padding": "same"}]
    weights = {"conv1d": [np.zeros((4, 4, 1), np.float32), np.zeros(1, np.float32)]}
    weights["conv1d"][0][:, 0, 0] = [1, 2, 3, 4]
    path = tmp_path / "m.h5"
    write_keras2_h5(path, sequential(spec, (6, 4), False), ["input_1", "conv1d"], ["InputLayer", "Conv1D"],
                    weights)
    x = torch.zeros(1, 4, 6)
    x[0, 0, 0] = 1
    with torch.no_grad():
        out = load_keras(path)(x)[0, 0].numpy()
    np.testing.assert_allclose(out, [2, 1, 0, 0, 0, 0])


def test_batchnorm_epsilon_and_momentum_as_saved(tmp_path):
    rng = np.random.default_rng(0)
    specs = [{"cls": "Conv1D", "name": "conv1d", "filters": 3, "kernel_size": 3, "padding": "same"},
             {**BN, "momentum": 0.97, "epsilon": 0.01}, {"cls": "Flatten", "name": "flatten"}]
    path, _, weights = save_sequential(tmp_path, specs, (10, 4), rng, "h5")
    model = load_keras(path)
    bn = model.batch_normalization
    assert bn.eps == pytest.approx(0.01) and bn.momentum == pytest.approx(0.03)
    check(model, specs, weights, one_hot(rng, 3, 10))


def test_flatten_order_is_keras_position_major(tmp_path):
    """Flatten of (L=3, C=2) channels-last: feature 2*l + c. A Dense whose kernel picks feature 1
    (position 0, channel 1) must read channel 1 at position 0 of the conv output."""
    specs = [{"cls": "Conv1D", "name": "conv1d", "filters": 2, "kernel_size": 1, "padding": "valid"},
             {"cls": "Flatten", "name": "flatten"},
             {"cls": "Dense", "name": "dense", "units": 1}]
    conv = np.zeros((1, 4, 2), np.float32)
    conv[0, 0, 0], conv[0, 1, 1] = 1, 1  # channel 0 <- letter A, channel 1 <- letter C
    dense = np.zeros((6, 1), np.float32)
    dense[1, 0] = 1  # feature 1 = (position 0, channel 1)
    weights = {"conv1d": [conv, np.zeros(2, np.float32)], "dense": [dense, np.zeros(1, np.float32)]}
    path = tmp_path / "m.keras"
    names, classes = ["input_1", "conv1d", "flatten", "dense"], ["InputLayer", "Conv1D", "Flatten", "Dense"]
    write_keras3(path, sequential(specs, (3, 4), True), classes, names, weights)
    model = load_keras(path)
    x = torch.zeros(2, 4, 3)
    x[0, 1, 0] = 1  # C at position 0 -> 1
    x[1, 0, 1] = 1  # A at position 1 -> feature 2, not read -> 0
    with torch.no_grad():
        np.testing.assert_allclose(model(x)[:, 0].numpy(), [1, 0])


def functional_config(keras3: bool, L: int) -> dict:
    """input -> conv_a (relu, same) and conv_b (exponential, same) -> Add -> max-pool -> GAP -> dense."""
    def node(*sources):
        if keras3:
            tensors = [{"class_name": "__keras_tensor__",
                        "config": {"shape": [None, L, 4], "dtype": "float32", "keras_history": [s, 0, 0]}}
                       for s in sources]
            return [{"args": [tensors if len(tensors) > 1 else tensors[0]], "kwargs": {}}]
        return [[[s, 0, 0, {}] for s in sources]]

    specs = [({"cls": "InputLayer", "name": "seq"}, []),
             ({"cls": "Conv1D", "name": "conv_a", "filters": 4, "kernel_size": 5, "padding": "same",
               "activation": "relu"}, ["seq"]),
             ({"cls": "Conv1D", "name": "conv_b", "filters": 4, "kernel_size": 4, "padding": "same",
               "activation": "exponential", "scale": 0.2}, ["seq"]),
             ({"cls": "Add", "name": "add"}, ["conv_a", "conv_b"]),
             ({"cls": "MaxPooling1D", "name": "pool", "pool_size": 2}, ["add"]),
             ({"cls": "GlobalAveragePooling1D", "name": "gap"}, ["pool"]),
             ({"cls": "Dense", "name": "out", "units": 2}, ["gap"])]
    layers = []
    for spec, sources in specs:
        entry = keras_layer(spec, keras3, (L, 4))
        entry.update(name=spec["name"], inbound_nodes=node(*sources) if sources else [])
        layers.append(entry)
    endpoints = (lambda n: [n, 0, 0]) if keras3 else (lambda n: [[n, 0, 0]])
    config = {"class_name": "Functional", "config": {"name": "model", "layers": layers,
                                                     "input_layers": endpoints("seq"),
                                                     "output_layers": endpoints("out")}}
    return config, [s for s, _ in specs]


@pytest.mark.parametrize("keras3", [False, True])
def test_functional_model_with_add_matches_numpy(tmp_path, keras3):
    L = 20
    rng = np.random.default_rng(3)
    config, specs = functional_config(keras3, L)
    weights = {"conv_a": [rng.normal(0, 0.3, (5, 4, 4)), rng.normal(0, 0.1, 4)],
               "conv_b": [rng.normal(0, 0.2, (4, 4, 4)), rng.normal(0, 0.1, 4)],
               "out": [rng.normal(0, 0.5, (4, 2)), rng.normal(0, 0.1, 2)]}
    weights = {k: [np.asarray(a, np.float32) for a in v] for k, v in weights.items()}
    names, classes = [s["name"] for s in specs], [s["cls"] for s in specs]
    path = tmp_path / ("m.keras" if keras3 else "m.h5")
    if keras3:
        write_keras3(path, {**config, "module": "keras"}, classes, names, weights)
    else:
        write_keras2_h5(path, config, names, classes, weights)
    model = load_keras(path)
    X = one_hot(rng, 4, L)
    w = {k: [a.astype(np.float64) for a in v] for k, v in weights.items()}
    a = np.maximum(np_conv(X, *w["conv_a"], padding="same"), 0)
    b = np.exp(np_conv(X, *w["conv_b"], padding="same"))
    ref = np_pool(a + b, 2, 2, "valid", "max").mean(axis=1) @ w["out"][0] + w["out"][1]
    with torch.no_grad():
        out = model(torch.as_tensor(X.transpose(0, 2, 1), dtype=torch.float32)).numpy()
    assert np.abs(out - ref).max() <= TOL


def test_first_conv_is_an_nn_conv1d_with_keras_filters(tmp_path):
    """Filters read from the converted model are the Keras kernels, transposed to (out, in, k)."""
    from seqlens.models import first_layer

    rng = np.random.default_rng(1)
    path, _, weights = save_sequential(tmp_path, EXP_VALID, (41, 4), rng, "h5")
    conv, _ = first_layer(load_keras(path))
    np.testing.assert_array_equal(conv.weight.detach().numpy(), weights["conv1d"][0].transpose(2, 1, 0))


def write_unsupported(tmp_path):
    rng = np.random.default_rng(0)
    specs = [{"cls": "Conv1D", "name": "conv1d", "filters": 3, "kernel_size": 3, "padding": "same"},
             {"cls": "LSTM", "name": "lstm_7", "config": {"units": 4}},
             {"cls": "Dense", "name": "dense", "units": 1}]
    weights = random_weights(specs[:1], (12, 4), rng)
    path = tmp_path / "lstm.h5"
    write_keras2_h5(path, sequential(specs, (12, 4), False), ["input_1", "conv1d", "lstm_7", "dense"],
                    ["InputLayer", "Conv1D", "LSTM", "Dense"], weights)
    return path


def test_unsupported_layer_names_class_and_layer(tmp_path):
    path = write_unsupported(tmp_path)
    with pytest.raises(FormatError, match=r"layer 'lstm_7' \(LSTM\): layer type LSTM is not supported"):
        load_keras(path)


@pytest.mark.parametrize("bad, match", [
    ("kernel", r"layer 'conv1d' \(Conv1D\): kernel shape \(3, 4, 2\), expected \(3, in, 3\)"),
    ("missing", r"layer 'dense' \(Dense\): expected weights \['kernel', 'bias'\], the file has \[\]"),
    ("channels", r"layer 'conv1d_1' \(Conv1D\) cannot take its input"),
])
def test_weights_that_do_not_fit_are_named(tmp_path, bad, match):
    specs = [{"cls": "Conv1D", "name": "conv1d", "filters": 3, "kernel_size": 3, "padding": "same"},
             {"cls": "Conv1D", "name": "conv1d_1", "filters": 2, "kernel_size": 3, "padding": "same"},
             {"cls": "Flatten", "name": "flatten"},
             {"cls": "Dense", "name": "dense", "units": 1, "fan_in": 20}]
    rng = np.random.default_rng(0)
    weights = random_weights(specs, (10, 4), rng)
    if bad == "kernel":
        weights["conv1d"][0] = weights["conv1d"][0][:, :, :2]
    elif bad == "missing":
        weights["dense"] = []
    else:
        weights["conv1d_1"][0] = rng.normal(size=(3, 5, 2)).astype(np.float32)
    path = tmp_path / "m.h5"
    names, classes = ["input_1"] + [s["name"] for s in specs], ["InputLayer"] + [s["cls"] for s in specs]
    write_keras2_h5(path, sequential(specs, (10, 4), False), names, classes, weights)
    with pytest.raises(FormatError, match=match):
        load_keras(path)


def test_weights_only_h5_asks_for_the_architecture(tmp_path):
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as fh:
        write_keras2_weights(fh, ["conv1d"], ["Conv1D"], {"conv1d": []})
    with pytest.raises(FormatError, match="weights only"):
        load_keras(path)


# ------------------------------------------------------------------------------------- CLI
def test_cli_attribute_on_a_keras_h5_matches_numpy_ism(tmp_path, run_cli):
    """``seqlens attribute --model model.h5``: the ISM map is the numpy Keras model's output change."""
    from seqlens.io.hdf5 import Dataset, Split, save_dataset

    rng = np.random.default_rng(5)
    L = 24
    path, _, weights = save_sequential(tmp_path, RELU_SAME, (L, 4), rng, "h5")
    Xk = one_hot(rng, 3, L)
    X = Xk.transpose(0, 2, 1).astype(np.float32)
    split = Split(X, np.zeros((3, 2), np.float32))
    data = save_dataset(tmp_path / "d.h5", Dataset(split, split, split))
    out = tmp_path / "attr.h5"
    code, stdout, err, _ = run_cli(["attribute", "--model", path, "--data", data, "--method", "saliency,ism",
                                    "--target", "1", "--out", out, "--quiet", "--device", "cpu"], tmp_path)
    assert code == 0, err
    with h5py.File(out) as fh:
        ism = fh["ism"][()]
        assert fh["saliency"].shape == (3, 4, L)

    def f(x):
        for spec in RELU_SAME:
            x = np_layer(spec, [w.astype(np.float64) for w in weights[spec["name"]]], x)
        return x[:, 1]

    i, pos = 1, 5
    wt = f(Xk[i:i + 1])[0]
    for letter in range(4):
        mutant = Xk[i:i + 1].copy()
        mutant[0, pos] = np.eye(4)[letter]
        assert ism[i, letter, pos] == pytest.approx(f(mutant)[0] - wt, abs=1e-4)


def test_cli_unsupported_keras_layer_is_one_line(tmp_path, run_cli):
    from seqlens.io.hdf5 import Dataset, Split, save_dataset

    path = write_unsupported(tmp_path)
    X = np.eye(4, dtype=np.float32)[np.zeros((2, 12), int)].transpose(0, 2, 1)
    split = Split(X, np.zeros((2, 1), np.float32))
    data = save_dataset(tmp_path / "d.h5", Dataset(split, split, split))
    code, _, err, added = run_cli(["attribute", "--model", path, "--data", data, "--out", tmp_path / "a.h5"],
                                  tmp_path)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "layer 'lstm_7' (LSTM): layer type LSTM is not supported by the Keras converter" in err
    assert not [p for p in added if p.name.startswith("a.h5")]


def test_cli_filters_reads_the_keras_layers_by_name(tmp_path, run_cli):
    """``seqlens filters --model model.keras --layer conv1d_1``: motifs of the second conv layer,
    whose windows span its receptive field: 7 columns, + (3 - 1) taps x 2 (after a pool of 2) + 1
    for the pool = 12, starting 5 columns before (3 of conv1d's padding + 1 x 2 of conv1d_1's)."""
    from seqlens.interpret.filters import receptive_field
    from seqlens.io.hdf5 import Dataset, Split, save_dataset
    from seqlens.io.motifs import read_meme, write_meme
    from seqlens.motifs.motif import Motif

    rng = np.random.default_rng(2)
    L = 24
    path, _, _ = save_sequential(tmp_path, RELU_SAME, (L, 4), rng, "keras")
    assert receptive_field(load_keras(path), "conv1d_1") == (12, 2, -5)
    X = one_hot(rng, 40, L).transpose(0, 2, 1).astype(np.float32)
    split = Split(X, np.zeros((40, 2), np.float32))
    data = save_dataset(tmp_path / "d.h5", Dataset(split, split, split))
    write_meme(tmp_path / "db.meme", [Motif.from_probabilities(np.full((4, 5), 0.25), name="flat")])
    for layer, n_filters in ((None, 6), ("conv1d_1", 5)):
        out = tmp_path / f"filters_{layer}"
        argv = ["filters", "--model", path, "--data", data, "--jaspar", tmp_path / "db.meme", "--out", out,
                "--quiet", "--device", "cpu"] + (["--layer", layer] if layer else [])
        code, _, err, _ = run_cli(argv, tmp_path)
        assert code == 0, err
        motifs = read_meme(out / "motifs.meme")
        assert len(motifs) == n_filters and all(m.matrix.shape[0] == 4 for m in motifs)
