"""Keras models converted to torch modules without TensorFlow.

:func:`load_keras` reads a saved Keras model and returns an equivalent :class:`KerasModel` (an
``nn.Module`` in eval mode) that takes seqlens' one-hot ``(N, A, L)`` batches. The architecture
comes from the saved JSON config, the weights from the HDF5 datasets (h5py); TensorFlow is never
imported and no saved code is executed.

Files read
----------
* ``model.h5``: a whole model saved in the Keras 2 HDF5 layout (``tf.keras`` 2.x and Keras 3's
  legacy ``model.save("m.h5")``): the root attribute ``model_config`` (JSON) and the group
  ``model_weights``, whose attribute ``layer_names`` lists one group per layer; each layer group
  lists its datasets in the attribute ``weight_names`` (e.g. ``conv1d/kernel:0``).
* ``model.keras``: a Keras 3 zip with ``config.json`` and ``model.weights.h5``, where layer
  ``i`` of a class keeps its variables at ``layers/<class in snake case>[_<i>]/vars/<j>`` (Keras
  2.13's ``_layer_checkpoint_dependencies/...`` is read too).
* ``model.json`` (``model.to_json()``) plus a weights file (``save_weights``) in either layout,
  as DeepSTARR and other published models are distributed.

Layout
------
Keras reads ``(N, L, A)`` (channels last); the converted module reads ``(N, A, L)`` and keeps
every 3-D tensor in ``(N, C, L)`` order inside, so each layer acts on the axis Keras meant:
Conv1D kernels ``(k, in, out)`` become ``(out, in, k)``; Dense on a 3-D tensor acts on the
channels; Flatten flattens in Keras' ``(L, C)`` order (position-major); Concatenate, Softmax and
Reshape map their axes. A 3-D model output ``(N, L', C)`` comes out as ``(N, C, L')``; several
outputs come out as a tuple in the order of the model's ``output_layers`` (their names in
``model.output_names``).

Semantics kept exactly: ``padding="same"`` pads ``(k - 1) * d`` columns with the extra one on
the right for even kernels (and TensorFlow's length-dependent rule for strides > 1),
``"causal"`` pads on the left; pooling with ``"same"`` pads with -inf (max) or leaves padded
columns out of the mean (average); BatchNormalization uses its saved ``epsilon`` and ``momentum``
(torch momentum = 1 - Keras momentum); the ``exponential`` activation is not clamped below
float32's overflow point.

Layers converted: InputLayer, Conv1D, Dense, BatchNormalization, MaxPooling1D, AveragePooling1D,
GlobalAveragePooling1D, GlobalMaxPooling1D, Flatten, Reshape, Activation, ReLU (plain),
LeakyReLU, Softmax, Dropout, SpatialDropout1D, GaussianNoise, GaussianDropout,
ActivityRegularization, ZeroPadding1D, Cropping1D, Add, Subtract, Multiply, Average, Maximum,
Minimum, Concatenate. Activations: linear, relu, sigmoid, softplus, tanh, softmax, exponential,
elu, selu, gelu, swish/silu, softsign, relu6, leaky_relu. Anything else (recurrent, attention,
2-D, Lambda, nested models, shared layers, channels_first) raises :class:`FormatError` naming
the layer class and name.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from seqlens.errors import FormatError

__all__ = ["KerasModel", "SUPPORTED_LAYERS", "convert_keras", "is_keras_file", "load_keras",
           "read_keras"]

_FLOAT32_EXP_MAX = math.log(torch.finfo(torch.float32).max)  # exp() overflows float32 above this

_NO_OP = ("Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
          "ActivityRegularization")
_MERGE = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate")
SUPPORTED_LAYERS = ("InputLayer", "Conv1D", "Dense", "BatchNormalization", "MaxPooling1D",
                    "AveragePooling1D", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "Flatten",
                    "Reshape", "Activation", "ReLU", "LeakyReLU", "Softmax", "ZeroPadding1D",
                    "Cropping1D", *_NO_OP, *_MERGE)
_ALIASES = {"Convolution1D": "Conv1D", "MaxPool1D": "MaxPooling1D", "AvgPool1D": "AveragePooling1D",
            "GlobalAvgPool1D": "GlobalAveragePooling1D", "GlobalMaxPool1D": "GlobalMaxPooling1D"}
_MODEL_CLASSES = ("Sequential", "Functional", "Model")


# ---------------------------------------------------------------------------------- modules
class _Softmax(nn.Module):
    """Softmax over one axis of the internal tensor."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return torch.softmax(x, dim=self.dim)


def _activation(spec, where: str) -> nn.Module:
    """The torch module of a Keras activation (a name, or Keras 3's serialized function)."""
    from seqlens.models.layers import Exponential

    name = spec
    if isinstance(spec, dict):
        name = spec.get("config") if isinstance(spec.get("config"), str) else spec.get("class_name")
    key = str(name).lower() if name is not None else "linear"
    table = {
        "linear": nn.Identity, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "softplus": nn.Softplus,
        "tanh": nn.Tanh, "softmax": _Softmax, "elu": nn.ELU, "selu": nn.SELU, "gelu": nn.GELU,
        "swish": nn.SiLU, "silu": nn.SiLU, "softsign": nn.Softsign, "relu6": nn.ReLU6,
        "leaky_relu": lambda: nn.LeakyReLU(0.2),
        "exponential": lambda: Exponential(max_value=_FLOAT32_EXP_MAX),
    }
    if key not in table:
        raise FormatError(f"{where}: activation {name!r} is not supported by the Keras converter "
                          f"(supported: {', '.join(sorted(table))})")
    return table[key]()


def _same_pads(length: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's ``SAME`` padding ``(left, right)``: output ``ceil(L / s)``, extra on the right."""
    out = -(-length // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - length, 0)
    return total // 2, total - total // 2


class _TFSamePad(nn.Module):
    """Zero-pads ``(N, C, L)`` by TensorFlow's ``SAME`` rule for a strided window."""

    def __init__(self, kernel: int, stride: int, dilation: int = 1):
        super().__init__()
        self.kernel, self.stride, self.dilation = kernel, stride, dilation

    def forward(self, x):
        return F.pad(x, _same_pads(x.shape[-1], self.kernel, self.stride, self.dilation))


class KerasConv1D(nn.Module):
    """Conv1D: optional padding module, ``conv`` (``nn.Conv1d``) and ``activation``."""

    def __init__(self, conv: nn.Conv1d, pad: nn.Module | None, activation: nn.Module):
        super().__init__()
        self.pad = pad
        self.conv = conv
        self.activation = activation

    def forward(self, x):
        if self.pad is not None:
            x = self.pad(x)
        return self.activation(self.conv(x))


class KerasDense(nn.Module):
    """Dense: ``linear`` over the last Keras axis (the channels of an ``(N, C, L)`` tensor)."""

    def __init__(self, linear: nn.Linear, activation: nn.Module):
        super().__init__()
        self.linear = linear
        self.activation = activation

    def forward(self, x):
        if x.ndim == 3:
            return self.activation(self.linear(x.transpose(1, 2)).transpose(1, 2))
        return self.activation(self.linear(x))


class _SameMaxPool1d(nn.MaxPool1d):
    """Max pooling with TensorFlow's ``SAME`` padding (padded columns never win). A ``MaxPool1d``,
    so receptive-field walks count its width and stride."""

    def forward(self, x):
        pads = _same_pads(x.shape[-1], self.kernel_size, self.stride)
        return F.max_pool1d(F.pad(x, pads, value=-math.inf), self.kernel_size, self.stride)


class _SameAvgPool1d(nn.AvgPool1d):
    """Average pooling with TensorFlow's ``SAME`` padding (padded columns left out of the mean)."""

    def forward(self, x):
        k, s = self.kernel_size[0], self.stride[0]
        pads = _same_pads(x.shape[-1], k, s)
        sums = F.avg_pool1d(F.pad(x, pads), k, s) * k
        counts = F.avg_pool1d(F.pad(torch.ones_like(x[:1, :1]), pads), k, s) * k
        return sums / counts


class _GlobalPool(nn.Module):
    def __init__(self, kind: str, keepdims: bool):
        super().__init__()
        self.kind, self.keepdims = kind, keepdims

    def forward(self, x):
        if self.kind == "max":
            return x.amax(dim=2, keepdim=self.keepdims)
        return x.mean(dim=2, keepdim=self.keepdims)


class KerasFlatten(nn.Module):
    """Flatten in Keras' order: a ``(N, C, L)`` tensor is flattened as ``(N, L, C)``."""

    def forward(self, x):
        return x.transpose(1, 2).flatten(1) if x.ndim == 3 else x.flatten(1)


class _Reshape(nn.Module):
    """Keras Reshape: in Keras order, then back to ``(N, C, L)`` for a 3-D result."""

    def __init__(self, target: tuple[int, ...]):
        super().__init__()
        self.target = target

    def forward(self, x):
        if x.ndim == 3:
            x = x.transpose(1, 2)
        x = x.reshape(x.shape[0], *self.target)
        return x.transpose(1, 2) if x.ndim == 3 else x


class _Crop(nn.Module):
    """ZeroPadding1D (positive) or Cropping1D (negative) along the length."""

    def __init__(self, left: int, right: int, crop: bool):
        super().__init__()
        self.left, self.right, self.crop = left, right, crop

    def forward(self, x):
        if self.crop:
            return x[..., self.left: x.shape[-1] - self.right]
        return F.pad(x, (self.left, self.right))


class _Merge(nn.Module):
    """Add, Subtract, Multiply, Average, Maximum, Minimum or Concatenate of several tensors."""

    def __init__(self, kind: str, axis: int = -1):
        super().__init__()
        self.kind, self.axis = kind, axis

    def forward(self, *xs):
        if self.kind == "Concatenate":
            dim = _internal_axis(self.axis, xs[0].ndim)
            return torch.cat(xs, dim=dim)
        if self.kind == "Subtract":
            return xs[0] - xs[1]
        out = xs[0]
        for x in xs[1:]:
            if self.kind in ("Add", "Average"):
                out = out + x
            elif self.kind == "Multiply":
                out = out * x
            elif self.kind == "Maximum":
                out = torch.maximum(out, x)
            else:
                out = torch.minimum(out, x)
        return out / len(xs) if self.kind == "Average" else out


class _KerasSoftmax(nn.Module):
    def __init__(self, axis: int):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        return torch.softmax(x, dim=_internal_axis(self.axis, x.ndim))


def _internal_axis(axis: int, ndim: int) -> int:
    """The ``(N, C, L)`` dimension of Keras axis ``axis`` of an ``(N, L, C)`` tensor."""
    axis = axis % ndim
    if ndim == 3 and axis in (1, 2):
        return 3 - axis
    return axis


class KerasModel(nn.Module):
    """A converted Keras model: ``(N, A, L)`` one-hot in, Keras' outputs out (see module doc).

    Each Keras layer is a child module named after it (``model.conv1d_1``, in forward order, so
    ``seqlens filters --layer conv1d_1`` finds it); ``input_shape`` is ``(A, L)`` (``L`` None when
    free); ``output_names`` and ``keras_version`` come from the saved model.
    """

    def __init__(self, layers: dict[str, nn.Module], inputs: dict[str, list[str]], input_name: str,
                 output_names: list[str], input_shape: tuple, keras_version: str | None = None):
        super().__init__()
        for key, module in layers.items():
            self.add_module(key, module)
        self._inputs = inputs
        self._input_name = input_name
        self.output_names = list(output_names)
        self.input_shape = input_shape
        self.keras_version = keras_version

    @property
    def in_channels(self) -> int:
        return int(self.input_shape[0])

    @property
    def seq_length(self) -> int | None:
        return self.input_shape[1]

    def forward(self, x: torch.Tensor):
        values = {self._input_name: x}
        for name, module in self.named_children():
            values[name] = module(*(values[i] for i in self._inputs[name]))
        outs = tuple(values[n] for n in self.output_names)
        return outs[0] if len(outs) == 1 else outs


# ---------------------------------------------------------------------------------- reading
def is_keras_file(path: str | Path) -> bool:
    """A ``.keras`` zip, an HDF5 file with a Keras ``model_config``, or a Keras JSON config."""
    import h5py

    path = Path(path)
    if not path.is_file():
        return False
    if path.suffix.lower() == ".keras":
        return True
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError):
            return False
        return isinstance(doc, dict) and doc.get("class_name") in _MODEL_CLASSES
    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as fh:
            return "model_config" in fh.attrs
    return False


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_keras(path: str | Path, weights: str | Path | None = None):
    """``(config, weights, keras_version)`` of a saved model: the model config dict (``class_name``
    and ``config``) and a function ``weights(layer_names) -> {name: [(weight name, array)]}``
    already evaluated; see the module doc for the layouts read."""
    import h5py

    path = Path(path)
    suffix = path.suffix.lower()
    version = None
    if suffix == ".keras":
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
                if "config.json" not in names:
                    raise FormatError(f"{path}: no config.json inside; not a Keras 3 .keras file")
                config = _json(zf.read("config.json"), f"{path}: config.json")
                try:
                    meta = json.loads(zf.read("metadata.json")) if "metadata.json" in names else {}
                except ValueError:
                    meta = {}
                version = meta.get("keras_version") if isinstance(meta, dict) else None
                if weights is None:
                    if "model.weights.h5" not in names:
                        raise FormatError(f"{path}: no model.weights.h5 inside (weights saved as "
                                          f"{[n for n in names if n.startswith('model.weights')]})")
                    import io

                    with h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as fh:
                        return config, _read_weights(fh, config, f"{path}: model.weights.h5"), version
        except zipfile.BadZipFile:
            raise FormatError(f"{path}: not a zip archive; a .keras file is one") from None
    elif suffix == ".json":
        config = _json(path.read_bytes(), str(path))
        version = config.get("keras_version")
        if weights is None:
            raise FormatError(f"{path}: a Keras architecture without weights; pass the weights file "
                              "(model.save_weights) with --weights")
    else:
        if not h5py.is_hdf5(path):
            raise FormatError(f"{path}: not an HDF5 file; a Keras .h5 model is one")
        with h5py.File(path, "r") as fh:
            if "model_config" not in fh.attrs:
                raise FormatError(f"{path}: HDF5 without a 'model_config' attribute: weights only "
                                  "(save_weights)? Give the architecture JSON (model.to_json()) as "
                                  "--model and this file as --weights")
            config = _json(fh.attrs["model_config"], f"{path}: model_config")
            version = _text(fh.attrs.get("keras_version", "")) or None
            if weights is None:
                group = fh["model_weights"] if "model_weights" in fh else fh
                return config, _read_weights(group, config, str(path)), version
    weights = Path(weights)
    if not h5py.is_hdf5(weights):
        raise FormatError(f"--weights {weights}: not an HDF5 Keras weights file")
    with h5py.File(weights, "r") as fh:
        group = fh["model_weights"] if "model_weights" in fh else fh
        return config, _read_weights(group, config, str(weights)), version


def _attr_list(attrs, name: str) -> list[str]:
    """A list attribute, also when Keras split a long one into ``name0``, ``name1``, ..."""
    if name in attrs:
        return [_text(v) for v in attrs[name]]
    out, i = [], 0
    while f"{name}{i}" in attrs:
        out += [_text(v) for v in attrs[f"{name}{i}"]]
        i += 1
    return out


def _json(raw, where: str) -> dict:
    try:
        doc = json.loads(_text(raw))
    except ValueError as exc:
        raise FormatError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or "class_name" not in doc:
        raise FormatError(f"{where}: not a Keras model config (no 'class_name')")
    return doc


def _read_weights(group, config: dict, where: str) -> dict[str, list[tuple[str, np.ndarray]]]:
    """``{layer name: [(weight name, array), ...]}`` from the Keras 2 layout (``layer_names`` /
    ``weight_names`` attributes) or the Keras 3 layout (``layers/<class>/vars/<i>``)."""
    layer_names = _attr_list(group.attrs, "layer_names")
    if layer_names:
        out = {}
        for name in layer_names:
            if name not in group:
                raise FormatError(f"{where}: layer_names lists {name!r}, but there is no such group")
            layer = group[name]
            try:
                out[name] = [(w, np.asarray(layer[w][()])) for w in _attr_list(layer.attrs, "weight_names")]
            except KeyError as exc:
                raise FormatError(f"{where}: layer {name!r}: weight {exc} listed in weight_names "
                                  "is missing") from None
        return out
    root = "layers" if "layers" in group else "_layer_checkpoint_dependencies"
    if root not in group:
        raise FormatError(f"{where}: neither 'layer_names' (Keras 2 layout) nor 'layers' (Keras 3 "
                          "layout) inside; not a Keras weights file")
    out, used = {}, {}
    for layer in _layer_list(config, where):
        key = _snake(_class(layer))
        used[key] = used.get(key, -1) + 1
        path = f"{root}/{key}" if used[key] == 0 else f"{root}/{key}_{used[key]}"
        vars_ = group.get(f"{path}/vars")
        arrays = []
        if vars_ is not None:
            arrays = [(k, np.asarray(vars_[k][()])) for k in sorted(vars_, key=_index_key)]
        out[_name(layer)] = arrays
    return out


def _index_key(key: str):
    return (0, int(key)) if key.isdigit() else (1, key)


def _snake(name: str) -> str:
    """Keras 3's ``to_snake_case`` of a class name (``Conv1D`` -> ``conv1d``)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


# ---------------------------------------------------------------------------------- conversion
def _class(layer: dict) -> str:
    cls = str(layer.get("class_name", "?"))
    return _ALIASES.get(cls, cls)


def _name(layer: dict) -> str:
    return str(layer.get("name") or layer.get("config", {}).get("name") or "")


def _layer_list(config: dict, where: str) -> list[dict]:
    if config.get("class_name") not in _MODEL_CLASSES:
        raise FormatError(f"{where}: the saved model is a {config.get('class_name')!r}; the converter "
                          "reads Sequential and functional models")
    inner = config.get("config")
    layers = inner if isinstance(inner, list) else (inner or {}).get("layers")
    if not isinstance(layers, list) or not layers:
        raise FormatError(f"{where}: the model config lists no layers")
    return layers


def _one(value, default=None) -> int:
    if value is None:
        return default
    return int(value[0]) if isinstance(value, (list, tuple)) else int(value)


def _input_shape(layer: dict) -> list | None:
    cfg = layer.get("config", {})
    for key in ("batch_shape", "batch_input_shape"):
        if cfg.get(key) is not None:
            return list(cfg[key])[1:]
    for key in ("input_shape", "shape"):
        if cfg.get(key) is not None:
            return list(cfg[key])
    return None


def _tensor_sources(node) -> list[str]:
    """Names of the layers feeding one inbound node (Keras 2 lists or Keras 3 dicts)."""
    if isinstance(node, dict):
        if node.get("class_name") == "__keras_tensor__":
            history = node["config"]["keras_history"]
            if history[2] != 0:
                raise FormatError(f"the second output of layer {history[0]!r} is used; not supported")
            return [str(history[0])]
        found = []
        for value in (node.get("args", []), node.get("kwargs", {})) if "args" in node else node.values():
            found += _tensor_sources(value)
        return found
    if isinstance(node, list):
        if len(node) >= 3 and isinstance(node[0], str) and isinstance(node[1], int):
            if node[2] != 0:
                raise FormatError(f"the second output of layer {node[0]!r} is used; not supported")
            return [node[0]]
        return [s for item in node for s in _tensor_sources(item)]
    return []


def _endpoints(value) -> list[str]:
    """Layer names of ``input_layers`` / ``output_layers`` (one ``[name, 0, 0]`` or a list)."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [value[0]]
    return [str(v[0]) for v in value or []]


def convert_keras(config: dict, weights: dict[str, list[tuple[str, np.ndarray]]],
                  where: str = "Keras model", keras_version: str | None = None) -> KerasModel:
    """A :class:`KerasModel` from a model config and per-layer weights (see :func:`read_keras`)."""
    layers = _layer_list(config, where)
    sequential = config.get("class_name") == "Sequential"
    graph: dict[str, list[str]] = {}
    specs: list[dict] = []
    shape = None
    input_name = None
    previous = None
    for layer in layers:
        cls, name = _class(layer), _name(layer)
        if cls in _MODEL_CLASSES:
            raise FormatError(f"{where}: layer {name!r} is a nested {cls} model; not supported by the "
                              "Keras converter (save the inner model on its own)")
        if cls == "InputLayer":
            if input_name is not None:
                raise FormatError(f"{where}: several inputs ({input_name!r}, {name!r}); the converter "
                                  "reads models with one sequence input")
            input_name, shape = name, _input_shape(layer)
            previous = name
            continue
        if shape is None:
            shape = _input_shape(layer)
        if input_name is None:
            input_name = previous = "input"
        if sequential:
            graph[name] = [previous]
        else:
            nodes = layer.get("inbound_nodes") or []
            if len(nodes) != 1:
                raise FormatError(f"{where}: layer {name!r} ({cls}) is called {len(nodes)} times; shared "
                                  "layers are not supported")
            try:
                graph[name] = _tensor_sources(nodes[0])
            except (KeyError, IndexError, TypeError):
                raise FormatError(f"{where}: layer {name!r}: unreadable inbound_nodes") from None
        specs.append(layer)
        previous = name
    if shape is None or len(shape) != 2 or shape[1] is None:
        raise FormatError(f"{where}: input shape {shape} is not (length, letters); the converter reads "
                          "models of one-hot sequences (N, L, A)")
    outputs = [previous] if sequential else _endpoints(config["config"].get("output_layers"))
    if not sequential:
        inputs = _endpoints(config["config"].get("input_layers"))
        if inputs != [input_name]:
            raise FormatError(f"{where}: inputs {inputs}; the converter reads models with one sequence "
                              "input")
    modules = {}
    keys = {name: _key(name) for name in [input_name, *graph]}
    if len(set(keys.values())) < len(keys):
        raise FormatError(f"{where}: layer names {sorted(keys)} collide once made module names")
    for layer in specs:
        name = _name(layer)
        modules[keys[name]] = _convert_layer(layer, weights.get(name, []), f"{where}: layer {name!r}")
    unknown = [s for srcs in graph.values() for s in srcs if s not in keys]
    if unknown:
        raise FormatError(f"{where}: layers take input from unknown layers {unknown[:3]}")
    model = KerasModel(modules, {keys[n]: [keys[s] for s in srcs] for n, srcs in graph.items()},
                       keys[input_name], [keys[o] for o in outputs],
                       (int(shape[1]), None if shape[0] is None else int(shape[0])), keras_version)
    model.eval()
    _probe(model, where, specs)
    return model


def _key(name: str) -> str:
    """A module name for a Keras layer name (no dots, no clash with the model's attributes)."""
    key = re.sub(r"[^0-9A-Za-z_]", "_", name) or "layer"
    clash = hasattr(KerasModel, key) or key in ("output_names", "input_shape", "keras_version")
    return f"{key}_layer" if clash or key.startswith("_") else key


def _weights(arrays, names: list[str], where: str) -> dict[str, np.ndarray]:
    """The arrays of a layer keyed by ``names`` (matched by saved name, else by order)."""
    found = {}
    for wname, value in arrays:
        base = wname.split("/")[-1].split(":")[0]
        if base in names and base not in found:
            found[base] = value
    if len(found) != len(arrays) or set(found) != set(names):
        if len(arrays) != len(names):
            raise FormatError(f"{where}: expected weights {names}, the file has "
                              f"{[w for w, _ in arrays]}")
        found = {n: value for n, (_, value) in zip(names, arrays)}
    return found


def _tensor(array) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(array, dtype=np.float32))


def _convert_layer(layer: dict, arrays, where: str) -> nn.Module:
    cls, cfg = _class(layer), layer.get("config", {})
    where = f"{where} ({cls})"
    if cfg.get("data_format", "channels_last") != "channels_last":
        raise FormatError(f"{where}: data_format {cfg['data_format']!r} is not supported (channels_last "
                          "only)")
    if cls in _NO_OP:
        return nn.Identity()
    if cls == "Conv1D":
        return _conv(cfg, arrays, where)
    if cls == "Dense":
        names = ["kernel", "bias"] if cfg.get("use_bias", True) else ["kernel"]
        w = _weights(arrays, names, where)
        kernel = w["kernel"]
        if kernel.ndim != 2 or kernel.shape[1] != int(cfg["units"]):
            raise FormatError(f"{where}: kernel shape {kernel.shape}, expected (in, {cfg['units']})")
        linear = nn.Linear(kernel.shape[0], kernel.shape[1], bias="bias" in w)
        with torch.no_grad():
            linear.weight.copy_(_tensor(kernel.T))
            if "bias" in w:
                linear.bias.copy_(_tensor(w["bias"]))
        return KerasDense(linear, _activation(cfg.get("activation"), where))
    if cls == "BatchNormalization":
        return _batch_norm(cfg, arrays, where)
    if cls in ("MaxPooling1D", "AveragePooling1D"):
        kind = "max" if cls == "MaxPooling1D" else "avg"
        k = _one(cfg.get("pool_size"), 2)
        s = _one(cfg.get("strides"), k)
        if str(cfg.get("padding", "valid")).lower() == "same":
            return _SameMaxPool1d(k, s) if kind == "max" else _SameAvgPool1d(k, s)
        return nn.MaxPool1d(k, s) if kind == "max" else nn.AvgPool1d(k, s)
    if cls in ("GlobalAveragePooling1D", "GlobalMaxPooling1D"):
        return _GlobalPool("max" if "Max" in cls else "avg", bool(cfg.get("keepdims", False)))
    if cls == "Flatten":
        return KerasFlatten()
    if cls == "Reshape":
        target = tuple(int(t) for t in cfg["target_shape"])
        if len(target) not in (1, 2):
            raise FormatError(f"{where}: target_shape {list(target)} is not 1-D or 2-D; not supported")
        return _Reshape(target)
    if cls == "Activation":
        return _activation(cfg.get("activation"), where)
    if cls == "ReLU":
        if cfg.get("max_value") is not None or float(cfg.get("threshold", 0) or 0) != 0:
            raise FormatError(f"{where}: ReLU with max_value or threshold is not supported")
        slope = float(cfg.get("negative_slope", 0) or 0)
        return nn.LeakyReLU(slope) if slope else nn.ReLU()
    if cls == "LeakyReLU":
        return nn.LeakyReLU(float(cfg.get("negative_slope", cfg.get("alpha", 0.3))))
    if cls == "Softmax":
        return _KerasSoftmax(_one(cfg.get("axis"), -1))
    if cls in ("ZeroPadding1D", "Cropping1D"):
        key = "padding" if cls == "ZeroPadding1D" else "cropping"
        value = cfg.get(key, 1)
        left, right = (value, value) if isinstance(value, int) else (int(value[0]), int(value[-1]))
        return _Crop(int(left), int(right), crop=cls == "Cropping1D")
    if cls in _MERGE:
        return _Merge(cls, int(cfg.get("axis", -1)))
    raise FormatError(f"{where}: layer type {cls} is not supported by the Keras converter (supported: "
                      f"{', '.join(SUPPORTED_LAYERS)})")


def _conv(cfg: dict, arrays, where: str) -> KerasConv1D:
    names = ["kernel", "bias"] if cfg.get("use_bias", True) else ["kernel"]
    w = _weights(arrays, names, where)
    kernel = w["kernel"]
    k, s, d = _one(cfg["kernel_size"]), _one(cfg.get("strides"), 1), _one(cfg.get("dilation_rate"), 1)
    groups = int(cfg.get("groups", 1) or 1)
    if kernel.ndim != 3 or kernel.shape[0] != k or kernel.shape[2] != int(cfg["filters"]):
        raise FormatError(f"{where}: kernel shape {kernel.shape}, expected ({k}, in, {cfg['filters']})")
    padding = str(cfg.get("padding", "valid")).lower()
    pad, torch_padding = None, 0
    if padding == "same" and s == 1:
        # (k - 1) * d columns, the odd one on the right: symmetric in the conv, the extra one before it
        torch_padding = (k - 1) * d // 2
        if (k - 1) * d % 2:
            pad = nn.ConstantPad1d((0, 1), 0.0)
    elif padding == "same":
        pad = _TFSamePad(k, s, d)
    elif padding == "causal":
        pad = nn.ConstantPad1d(((k - 1) * d, 0), 0.0)
    elif padding != "valid":
        raise FormatError(f"{where}: padding {padding!r} is not supported")
    conv = nn.Conv1d(kernel.shape[1] * groups, kernel.shape[2], k, stride=s, padding=torch_padding,
                     dilation=d, groups=groups, bias="bias" in w)
    with torch.no_grad():
        conv.weight.copy_(_tensor(kernel.transpose(2, 1, 0)))
        if "bias" in w:
            conv.bias.copy_(_tensor(w["bias"]))
    return KerasConv1D(conv, pad, _activation(cfg.get("activation"), where))


def _batch_norm(cfg: dict, arrays, where: str) -> nn.BatchNorm1d:
    if _bn_axis(cfg) not in (-1, 1, 2):
        raise FormatError(f"{where}: axis {cfg.get('axis')} is not the channel axis; not supported")
    names = ((["gamma"] if cfg.get("scale", True) else []) + (["beta"] if cfg.get("center", True) else [])
             + ["moving_mean", "moving_variance"])
    w = _weights(arrays, names, where)
    n = len(w["moving_mean"])
    bn = nn.BatchNorm1d(n, eps=float(cfg.get("epsilon", 1e-3)),
                        momentum=round(1.0 - float(cfg.get("momentum", 0.99)), 12))
    with torch.no_grad():
        bn.weight.copy_(_tensor(w["gamma"]) if "gamma" in w else torch.ones(n))
        bn.bias.copy_(_tensor(w["beta"]) if "beta" in w else torch.zeros(n))
        bn.running_mean.copy_(_tensor(w["moving_mean"]))
        bn.running_var.copy_(_tensor(w["moving_variance"]))
    return bn


def _bn_axis(cfg: dict):
    axis = cfg.get("axis", -1)
    return axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis


def _probe(model: KerasModel, where: str, specs: list[dict]) -> None:
    """Run zeros of the saved input shape through the layers one by one, so that weights that do
    not fit the shapes fail here with the layer's name (a free length is probed at 64)."""
    A, L = model.input_shape
    values = {model._input_name: torch.zeros(1, A, L or 64)}
    classes = {_key(_name(s)): _class(s) for s in specs}
    bn_axes = {_key(_name(s)): _bn_axis(s.get("config", {})) for s in specs
               if _class(s) == "BatchNormalization"}
    with torch.no_grad():
        for name, module in model.named_children():
            try:
                values[name] = module(*(values[i] for i in model._inputs[name]))
            except (RuntimeError, ValueError, IndexError) as exc:
                shapes = [tuple(values[i].shape) for i in model._inputs[name]]
                raise FormatError(f"{where}: layer {name!r} ({classes.get(name)}) cannot take its input "
                                  f"of shape {shapes} (in (N, C, L) order): "
                                  f"{str(exc).splitlines()[0][:200]}") from None
            axis = bn_axes.get(name)
            if axis is not None and axis != -1 and axis != values[name].ndim - 1:
                raise FormatError(f"{where}: layer {name!r} (BatchNormalization) normalises axis {axis} "
                                  f"of a {values[name].ndim}-D tensor, not its channels; not supported")


def load_keras(path: str | Path, weights: str | Path | None = None) -> KerasModel:
    """Convert the Keras model saved at ``path`` (``.h5``, ``.keras``, or a ``.json`` architecture
    with ``weights``) into a :class:`KerasModel` in eval mode taking ``(N, A, L)`` input."""
    path = Path(path)
    config, arrays, version = read_keras(path, weights)
    return convert_keras(config, arrays, where=str(path), keras_version=version)
