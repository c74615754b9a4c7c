"""Any trained model in: one function for the CLI's ``--model`` and for Python users.

:func:`load_any_model` takes what a user has and returns an ``nn.Module`` that reads seqlens'
one-hot ``(N, A, L)`` batches (eval mode):

* a seqlens run folder or checkpoint (``config.json`` + ``weights.pt``, hash checked), or a
  folder holding exactly one;
* a Python factory ``path/to/file.py:make_model`` or ``package.module:make_model`` (called with
  no arguments; must return an ``nn.Module``) plus optionally a state-dict file ``weights``
  (``torch.load(weights_only=True)`` or ``.safetensors``) loaded with ``strict=True``. **The
  factory's file or module is imported, i.e. its code runs**: that is the user's explicit
  choice, and it happens only when a factory is named;
* a TorchScript file (``torch.jit.save``) or a ``torch.export`` archive (``.pt2``); an archive
  exported with a fixed batch size is fed in batches of that size;
* an ONNX file, through onnx2torch (the optional extra ``seqlens[onnx]``);
* a Keras model (``.h5``, ``.keras``, or a ``.json`` architecture with ``weights``), converted by
  :mod:`seqlens.models.keras` without TensorFlow.

``layout`` says what the module reads: ``"NCL"`` (``(N, A, L)``, PyTorch's Conv1d order, the
default), ``"NLC"`` (``(N, L, A)``, channels last: the module is wrapped so that it takes
``(N, A, L)``) or ``"auto"`` (decided by :meth:`LoadedModel.check_input`, which refuses to guess
when both orders run). Keras conversions read ``(N, A, L)`` already; ``layout`` does not apply.

:func:`open_model` returns the :class:`LoadedModel` record the CLI uses: the module, what it
came from, the zoo config and metadata of seqlens checkpoints, a hash of the weights (for
``--resume`` keys) and :meth:`LoadedModel.check_input`, which checks a batch shape against the
model (letters per position, length, layout) with a one-line error saying what it expects.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from seqlens.errors import FormatError, ParameterError, SeqlensError

__all__ = ["LAYOUTS", "LoadedModel", "find_checkpoint", "load_any_model", "open_model"]

LAYOUTS = ("NCL", "NLC", "auto")
_FACTORY = re.compile(r"^(?P<where>.+):(?P<func>[A-Za-z_]\w*)$")
_MODULE_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_KERAS_SUFFIXES = (".h5", ".hdf5", ".keras")
_ONNX_EXTRA = "reading ONNX models needs onnx2torch: pip install 'seqlens[onnx]' (or onnx2torch)"


class ChannelsLast(nn.Module):
    """Wraps a module that reads ``(N, L, A)`` so that it takes seqlens' ``(N, A, L)``."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x, *args):
        return self.module(x.transpose(1, 2), *args)


class ExportedModule(nn.Module):
    """A ``torch.export`` program as a module: switching between training and inference mode only
    sets the flag (the program's graph is fixed at export), and a program exported with a fixed
    batch size ``batch`` is run on zero-padded chunks of that size."""

    def __init__(self, program: nn.Module, batch: int | None):
        super().__init__()
        self.program = program
        self.batch = batch

    def train(self, mode: bool = True):
        self.training = mode
        return self

    def forward(self, x, *args):
        B = self.batch
        if B is None or x.shape[0] == B:
            return self.program(x, *args)
        outs = []
        for i in range(0, x.shape[0], B):
            chunk = x[i:i + B]
            n = chunk.shape[0]
            if n < B:
                chunk = torch.cat([chunk, chunk.new_zeros((B - n, *chunk.shape[1:]))])
            outs.append(_first(self.program(chunk, *args), n))
        if isinstance(outs[0], tuple):
            return tuple(torch.cat(parts) for parts in zip(*outs))
        return torch.cat(outs)


def _first(y, n: int):
    return tuple(t[:n] for t in y) if isinstance(y, tuple) else y[:n]


@dataclass
class LoadedModel:
    """A model ready for seqlens: ``model`` reads ``(N, A, L)``.

    ``kind``: ``seqlens``, ``factory``, ``torchscript``, ``export``, ``onnx`` or ``keras``;
    ``config``: the zoo config of a seqlens checkpoint (else the input shape the format fixes:
    ``in_channels``, ``seq_length``); ``metadata``: the checkpoint's metadata (``{}`` otherwise);
    ``sha256``: identifies the weights; ``n_outputs``: outputs per sequence (from the config, or
    from :meth:`check_input`'s probe; None for tuple or dict outputs).
    """

    model: nn.Module
    source: str
    kind: str
    layout: str = "NCL"
    config: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    sha256: str | None = None
    n_outputs: int | None = None
    raw: nn.Module | None = None  # the module before the layout wrapper

    def check_input(self, shape, data, length: bool = True) -> None:
        """Refuse batches of ``shape`` = ``(N, A, L)`` (from ``data``) that the model cannot read,
        with a one-line error saying what it expects; settles ``layout="auto"``. With ``length``
        the model is run on zeros of that shape (else only the letters per position are
        checked, for commands that use the first layer only)."""
        A, L = int(shape[1]), int(shape[2])
        channels, expected = self.config.get("in_channels"), self.config.get("seq_length")
        if channels is None and not length:  # no probe: the first conv layer tells the letters
            channels = _first_channels(self.raw if self.raw is not None else self.model)
        if channels is not None and A != channels:
            raise SeqlensError(f"{data}: sequences have {A} letters per position, but the model in "
                               f"{self.source} reads {channels}")
        if length and expected is not None and L != expected:
            raise SeqlensError(f"{data}: sequences have length {L:,}, but the model in {self.source} "
                               f"expects {expected}")
        if not length and self.layout != "auto":
            return
        device = _module_device(self.model)
        if self.layout == "auto":
            self._settle_layout(A, L, data, device)
        y = _try(self.model, torch.zeros(2, A, L, device=device))
        if isinstance(y, Exception):
            raise SeqlensError(self._diagnose(A, L, data, y, device))
        if self.n_outputs is None and isinstance(y, torch.Tensor):
            self.n_outputs = 1 if y.ndim == 1 else int(y.shape[1]) if y.ndim == 2 else None

    def layer_name(self, name: str | None) -> str | None:
        """The name inside :attr:`model` of the user's module ``name`` (the channels-last wrapper
        puts the user's module under ``module.``)."""
        return f"module.{name}" if name is not None and isinstance(self.model, ChannelsLast) else name

    def first_conv(self) -> None:
        """Refuse models whose layers cannot be hooked (TorchScript, torch.export, no Conv1d)."""
        if self.kind in ("torchscript", "export") or _first_channels(self.model) is None:
            what = f"a {self.kind} model" if self.kind in ("torchscript", "export") else "the model"
            raise SeqlensError(f"--model {self.source}: {what} shows no nn.Conv1d layer to read filters "
                               "from; load it from its code (file.py:function --weights) or a Keras file")

    def _settle_layout(self, A: int, L: int, data, device) -> None:
        module = self.raw if self.raw is not None else self.model
        ncl = not isinstance(_try(module, torch.zeros(2, A, L, device=device)), Exception)
        nlc = not isinstance(_try(module, torch.zeros(2, L, A, device=device)), Exception)
        if ncl and nlc:
            raise SeqlensError(f"--layout auto: the model in {self.source} runs on both (N, {A}, {L}) and "
                               f"(N, {L}, {A}) input from {data}; say which it reads with --layout NCL "
                               "or --layout NLC")
        self.layout = "NLC" if nlc else "NCL"
        self.raw = module
        self.model = ChannelsLast(module).eval() if nlc else module

    def _diagnose(self, A: int, L: int, data, error: Exception, device) -> str:
        """Why the probe failed, in one line: the other layout works, or torch's first line."""
        module = self.raw if self.raw is not None else self.model
        if self.layout == "NCL" and A != L and \
                not isinstance(_try(module, torch.zeros(2, L, A, device=device)), Exception):
            return (f"the model in {self.source} expects (N, L, {A}) input (channels last), not "
                    f"(N, {A}, L): pass --layout NLC")
        if self.layout == "NLC" and A != L and \
                not isinstance(_try(module, torch.zeros(2, A, L, device=device)), Exception):
            return (f"the model in {self.source} expects (N, {A}, L) input (channels first): drop "
                    "--layout NLC")
        shown = f"(N, {L}, {A})" if self.layout == "NLC" else f"(N, {A}, {L})"
        channels = _first_channels(module)
        if channels is not None and channels != A:
            return (f"{data}: sequences have {A} letters per position, but the model in {self.source} "
                    f"reads {channels} (its first Conv1d has {channels} input channels)")
        reason = str(error).strip().splitlines()[0][:240] if str(error).strip() else type(error).__name__
        return f"the model in {self.source} cannot read {shown} input from {data}: {reason}"


def _try(module: nn.Module, x: torch.Tensor):
    """``module(x)`` without gradients, or the exception it raised."""
    try:
        with torch.no_grad():
            return module(x)
    except Exception as exc:  # any failure of user code on the probe input is reported, not raised
        return exc


def _module_device(module: nn.Module) -> torch.device:
    for tensor in module.parameters():
        return tensor.device
    for tensor in module.buffers():
        return tensor.device
    return torch.device("cpu")


def _first_channels(module: nn.Module) -> int | None:
    """Input channels of the first ``nn.Conv1d`` of an eager module (None when there is none)."""
    if isinstance(module, (torch.jit.ScriptModule, ExportedModule)):
        return None
    for m in module.modules():
        if isinstance(m, nn.Conv1d):
            return int(m.in_channels)
    return None


# -------------------------------------------------------------------------------------- entry
def load_any_model(spec, *, weights=None, layout: str = "NCL", device=None) -> nn.Module:
    """A module in eval mode that takes ``(N, A, L)`` one-hot batches, from ``spec`` (see the
    module doc): a run folder, ``file.py:func`` / ``module:func`` (with ``weights``), a
    TorchScript, ``torch.export``, ONNX or Keras file, or an ``nn.Module`` (wrapped for
    ``layout="NLC"``). ``layout="auto"`` needs a probe: use :func:`open_model` and
    :meth:`LoadedModel.check_input`."""
    if layout == "auto":
        raise ParameterError("layout='auto' needs an input shape: use "
                             "open_model(...).check_input(shape, data)")
    return open_model(spec, weights=weights, layout=layout, device=device).model


def open_model(spec, *, weights=None, layout: str = "NCL", device=None) -> LoadedModel:
    """The :class:`LoadedModel` of ``spec`` (see :func:`load_any_model`)."""
    if layout not in LAYOUTS:
        raise ParameterError(f"layout {layout!r}: choose one of {', '.join(LAYOUTS)}")
    if isinstance(spec, nn.Module):
        loaded = LoadedModel(spec, type(spec).__name__, "module")
    else:
        loaded = _open(str(spec), weights)
    if weights is not None and loaded.kind not in ("factory", "keras"):
        raise ParameterError(f"--weights {weights}: only a factory (file.py:func) or a Keras "
                             f"architecture takes a separate weights file, not a {loaded.kind} model")
    raw = loaded.model
    if device is not None:
        raw.to(device)
    raw.eval()
    if loaded.kind in ("keras", "seqlens") or layout == "NCL":
        loaded.layout = "NCL"
    elif layout == "NLC":
        loaded.layout, loaded.raw, loaded.model = "NLC", raw, ChannelsLast(raw).eval()
    else:
        loaded.layout, loaded.raw = "auto", raw
    return loaded


def _open(spec: str, weights) -> LoadedModel:
    path = Path(spec)
    factory = _FACTORY.match(spec)
    if factory and not path.exists():
        where = factory["where"]
        if where.endswith(".py") or _MODULE_PATH.match(where):
            return _open_factory(spec, where, factory["func"], weights)
    if not path.exists():
        raise SeqlensError(f"--model {spec}: no such model folder or file (give a seqlens run folder, a "
                           "file.py:function or module:function factory, or a TorchScript, "
                           "torch.export, ONNX or Keras file)")
    if path.is_dir():
        return _open_seqlens(find_checkpoint(path))
    suffix = path.suffix.lower()
    if suffix == ".json":
        from seqlens.models.keras import is_keras_file

        return _open_keras(path, weights) if is_keras_file(path) else _open_seqlens(path)
    if suffix in _KERAS_SUFFIXES:
        return _open_keras(path, weights)
    if suffix == ".onnx":
        return _open_onnx(path)
    if suffix == ".py":
        raise SeqlensError(f"--model {spec}: name the function that builds the model: {spec}:make_model")
    if zipfile.is_zipfile(path):
        return _open_torch_archive(path)
    raise FormatError(f"--model {spec}: not a model file seqlens reads (TorchScript or torch.export "
                      "archive, .onnx, Keras .h5/.keras/.json, or a seqlens run folder)")


def _hash(*paths) -> str:
    digest = hashlib.sha256()
    for p in paths:
        if p is None:
            continue
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def find_checkpoint(path: str | Path) -> Path:
    """The checkpoint folder ``path`` itself (when it has ``config.json``) or the single one
    below it (searched up to two levels down)."""
    path = Path(path)
    if not path.exists():
        raise SeqlensError(f"--model {path}: no such model folder")
    if (path / "config.json").exists() or path.is_file():
        return path
    found = sorted({c.parent for c in [*path.glob("*/config.json"), *path.glob("*/*/config.json")]
                    if (c.parent / "weights.pt").exists()})
    if not found:
        raise SeqlensError(f"{path}: no model checkpoint (config.json + weights.pt) inside")
    if len(found) > 1:
        raise SeqlensError(f"{path}: several checkpoints inside ({', '.join(map(str, found))}); "
                           "pass one of them to --model")
    return found[0]


def _open_seqlens(path: Path) -> LoadedModel:
    from seqlens.models.checkpoint import load_model, read_checkpoint_info

    info = read_checkpoint_info(path)
    model = load_model(path)
    config = info.get("model") or {}
    n_out = config.get("n_outputs")
    return LoadedModel(model, str(path), "seqlens", config=config, metadata=info.get("metadata") or {},
                       sha256=info.get("sha256"), n_outputs=int(n_out) if n_out is not None else None)


def _open_factory(spec: str, where: str, func: str, weights) -> LoadedModel:
    """Import the factory (running its code: the user named it), call it and load ``weights``."""
    if where.endswith(".py"):
        file = Path(where)
        if not file.is_file():
            raise SeqlensError(f"--model {spec}: no such file {file}")
        name = f"seqlens_user_factory_{hashlib.sha256(str(file.resolve()).encode()).hexdigest()[:12]}"
        module_spec = importlib.util.spec_from_file_location(name, file)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:  # the user's file failed to run: say where, in one line
            sys.modules.pop(name, None)
            raise SeqlensError(f"--model {spec}: importing {file} failed: {type(exc).__name__}: {exc}") \
                from None
        source_files = [file]
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise SeqlensError(f"--model {spec}: cannot import module {where!r} ({exc})") from None
        source_files = [getattr(module, "__file__", None)]
    make = getattr(module, func, None)
    if not callable(make):
        defined = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                         and getattr(v, "__module__", None) == module.__name__)
        raise SeqlensError(f"--model {spec}: {where} defines no function {func!r} "
                           f"(it defines: {', '.join(defined[:8]) or 'none'})")
    try:
        model = make()
    except Exception as exc:  # user code: report its failure in one line
        raise SeqlensError(f"--model {spec}: {func}() failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(model, nn.Module):
        raise SeqlensError(f"--model {spec}: {func}() returned a {type(model).__name__}, not a torch "
                           "nn.Module")
    if weights is not None:
        _load_state(model, Path(weights), f"{func}()")
    files = [f for f in source_files if f] + ([weights] if weights is not None else [])
    return LoadedModel(model, spec, "factory", sha256=_hash(*files))


def _read_state(path: Path) -> dict:
    """A state dict from ``path`` (``torch.save`` loaded with ``weights_only=True``, or
    ``.safetensors``); nested ``state_dict`` / ``model_state_dict`` entries are unwrapped."""
    if not path.is_file():
        raise SeqlensError(f"--weights {path}: no such file")
    if path.suffix.lower() == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise SeqlensError(f"--weights {path}: reading .safetensors needs the safetensors "
                               "package (pip install safetensors)") from None
        try:
            return load_file(str(path))
        except Exception as exc:  # safetensors raises its own error types for corrupt files
            raise FormatError(f"--weights {path}: unreadable safetensors file ({exc})") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise FormatError(f"--weights {path}: not a state dict torch.load(weights_only=True) can read "
                          f"({first})") from None
    for key in ("state_dict", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise FormatError(f"--weights {path}: not a state dict (a dict of tensors)")
    return state


def _load_state(model: nn.Module, path: Path, what: str) -> None:
    """Load the state dict at ``path`` into ``model`` (strict), or a one-line error listing the
    first missing, unexpected and mis-shaped keys."""
    state = _read_state(path)
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} in the file, {tuple(own[k].shape)} in the model"
              for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    problems = []
    for label, items in (("missing keys", missing), ("unexpected keys", unexpected),
                         ("shape mismatches", shapes)):
        if items:
            more = f" and {len(items) - 3} more" if len(items) > 3 else ""
            problems.append(f"{label} {', '.join(items[:3])}{more}")
    if problems:
        raise SeqlensError(f"--weights {path} does not fit the model of {what}: {'; '.join(problems)}")
    model.load_state_dict(state, strict=True)


def _open_torch_archive(path: Path) -> LoadedModel:
    """TorchScript or ``torch.export`` by their zip contents; a bare state dict is refused."""
    names = zipfile.ZipFile(path).namelist()
    if any(n.split("/", 1)[-1] == "archive_format" for n in names):
        program = torch.export.load(str(path))
        user = [n for n in program.graph.nodes if n.op == "placeholder"
                and n.name in _user_inputs(program)]
        batch = None
        val = user[0].meta.get("val") if user else None
        if val is not None and isinstance(val.shape[0], int):
            batch = int(val.shape[0])
        return LoadedModel(ExportedModule(program.module(), batch), str(path), "export",
                           sha256=_hash(path))
    if any("/code/" in n for n in names) or any(n.endswith("constants.pkl") for n in names):
        try:
            with warnings.catch_warnings():  # torch deprecates TorchScript; users' files still load
                warnings.simplefilter("ignore", DeprecationWarning)
                module = torch.jit.load(str(path), map_location="cpu")
        except RuntimeError as exc:
            raise FormatError(f"--model {path}: unreadable TorchScript file "
                              f"({str(exc).strip().splitlines()[0][:200]})") from None
        return LoadedModel(module, str(path), "torchscript", sha256=_hash(path))
    if any(n.endswith("data.pkl") for n in names):
        raise SeqlensError(f"--model {path}: a torch.save file (weights without the architecture); "
                           f"give the code that builds the model: --model file.py:make_model "
                           f"--weights {path}")
    raise FormatError(f"--model {path}: a zip archive that is neither TorchScript nor torch.export")


def _user_inputs(program) -> set[str]:
    from torch.export.graph_signature import InputKind

    return {spec.arg.name for spec in program.graph_signature.input_specs
            if spec.kind == InputKind.USER_INPUT}


def _open_onnx(path: Path) -> LoadedModel:
    try:
        import onnx2torch
    except ImportError:
        raise SeqlensError(f"--model {path}: {_ONNX_EXTRA}") from None
    try:
        module = onnx2torch.convert(str(path))
    except Exception as exc:  # onnx / onnx2torch raise many types for unreadable or unsupported graphs
        raise FormatError(f"--model {path}: onnx2torch cannot convert it ({type(exc).__name__}: "
                          f"{str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ''})") from None
    return LoadedModel(module, str(path), "onnx", sha256=_hash(path))


def _open_keras(path: Path, weights) -> LoadedModel:
    from seqlens.models.keras import load_keras

    model = load_keras(path, weights)
    A, L = model.input_shape
    n_out = None
    return LoadedModel(model, str(path), "keras", config={"in_channels": A, "seq_length": L},
                       sha256=_hash(path, weights), n_outputs=n_out)
