"""Helpers shared by CLI commands."""

from __future__ import annotations

import json
from pathlib import Path

from seqlens.io.atomic import write_json


def report_metrics(metrics: dict, where: str | Path | None, title: str | None = None) -> None:
    """Print flat ``key: value`` metrics as an aligned table and write them as JSON to ``where``:
    a folder (``<where>/metrics.json``) or a ``.json`` file path (``<file>.metrics.json`` for
    a command whose output is a file)."""
    if title:
        print(title)
    width = max((len(k) for k in metrics), default=0)
    for key, value in metrics.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        print(f"  {key:<{width}}  {shown}")
    if where is not None:
        where = Path(where)
        write_json(where if where.suffix == ".json" else where / "metrics.json", metrics)


def metrics_path(work: str | Path, out: str | Path) -> Path:
    """Where a command whose output is the file ``out`` writes its metrics, inside its working
    folder ``work`` (``<name>.metrics.json``; published beside ``out``)."""
    return Path(work) / f"{Path(out).name}.metrics.json"


def idle_cores() -> tuple[int, float]:
    """``(cores, load)``: CPU cores not busy right now (the cores this process may use minus the
    1-minute load average, at least 1) and that load average (0 where the system gives none)."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        return cores, 0.0
    return max(1, min(cores, round(cores - load))), load


def set_torch_threads(threads: int | None) -> int:
    """Set PyTorch's CPU threads to ``threads``, or, when None, to the idle cores
    (:func:`idle_cores`): on a busy machine, OpenMP threads that wait for a core spin and make a run
    several times slower than one thread. Says so when it picks fewer threads than cores; returns
    the count."""
    import torch

    if threads is None:
        threads, load = idle_cores()
        if threads < torch.get_num_threads():
            print(f"using {threads} CPU thread(s): the machine is busy (load average {load:.1f}); "
                  "--threads N to choose")
    torch.set_num_threads(threads)
    return threads


def add_resume_option(parser) -> None:
    """``--resume``: continue the unfinished run left in ``<out>.partial/``."""
    parser.add_argument("--resume", action="store_true",
                        help="continue the unfinished run in <out>.partial/ (default: start over)")


def _number(kind, low: float, high: float = float("inf"), low_inclusive: bool = True,
            high_inclusive: bool = True, off=None, what: str = ""):
    """An argparse ``type`` that parses ``kind`` and refuses values outside the range; ``off``
    is one more accepted value (e.g. ``-1`` for "off")."""
    import argparse
    import math

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if off is not None and value == off:
            return value
        below = value < low if low_inclusive else value <= low
        above = value > high if high_inclusive else value >= high
        if below or above or (isinstance(value, float) and not math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = what
    return parse


def int_or_off(low: int):
    """An argparse ``type``: ``-1`` (off) or an integer ``>= low``."""
    return _number(int, low, off=-1, what=f"-1 (off) or an integer >= {low}")


positive_int = _number(int, 1, what="an integer >= 1")
nonnegative_int = _number(int, 0, what="an integer >= 0")
positive_float = _number(float, 0.0, low_inclusive=False, what="a number > 0")
nonnegative_float = _number(float, 0.0, what="a number >= 0")
unit_interval = _number(float, 0.0, 1.0, what="a number in [0, 1]")
open_unit_interval = _number(float, 0.0, 1.0, low_inclusive=False, high_inclusive=False,
                             what="a number in (0, 1)")


def position_window(text: str) -> tuple[int, int]:
    """argparse ``type`` of ``--logo-window START:END``: 0-based positions, END excluded,
    ``0 <= START < END``. The sequence length is checked where it is known
    (:func:`seqlens.plot.tracks.check_window`)."""
    import argparse

    start, sep, end = text.partition(":")
    try:
        window = int(start), int(end)
    except ValueError:
        window = None
    if not sep or window is None or not 0 <= window[0] < window[1]:
        raise argparse.ArgumentTypeError(f"expected START:END with 0 <= START < END (0-based, END "
                                         f"excluded), got {text!r}")
    return window


def target_option(text: str):
    """argparse ``type`` of ``--target``: an output index ``N`` (>= 0), or ``HEAD:INDEX`` for a
    model with several outputs (``counts:0``, ``1:0``): the head's name or position and an index
    in it. Returns an int or a ``(head, index)`` tuple, as the library's ``target``."""
    import argparse

    head, sep, index = text.rpartition(":")
    try:
        index = int(index)
    except ValueError:
        index = -1
    if index < 0 or (sep and not head):
        raise argparse.ArgumentTypeError(f"expected an output index >= 0 or HEAD:INDEX (e.g. counts:0), "
                                         f"got {text!r}")
    if not sep:
        return index
    return (int(head) if head.isdigit() else head), index


def check_target_option(model, X, target, device=None) -> None:
    """Refuse a ``--target`` that the model's output does not have (a one-line error naming its
    heads), by running the model on the first sequence of ``X``."""
    from seqlens.attribution._utils import check_target
    from seqlens.errors import SeqlensError

    shown = target if isinstance(target, int) else f"{target[0]}:{target[1]}"
    try:
        check_target(model, X, target, device=device)
    except SeqlensError as exc:
        raise SeqlensError(f"--target {shown}: {exc}") from None


def device_option(text: str) -> str:
    """argparse ``type`` of ``--device``: a torch device that exists on this machine."""
    import argparse

    import torch

    try:
        device = torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"expected cpu, cuda, cuda:N or mps, got {text!r}") from None
    if device.type == "cuda" and not (torch.cuda.is_available() and
                                      (device.index or 0) < torch.cuda.device_count()):
        raise argparse.ArgumentTypeError(f"{text!r}: no such CUDA device on this machine")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise argparse.ArgumentTypeError(f"{text!r}: MPS is not available on this machine")
    return text


MODEL_HELP = ("a seqlens run folder; file.py:function or package.module:function returning an "
              "nn.Module (imports and runs that code) with --weights; a TorchScript, torch.export "
              "(.pt2) or ONNX file; or a Keras .h5/.keras file (or .json with --weights)")


def add_model_option(parser, help: str = MODEL_HELP) -> None:
    """``--model`` (any model :func:`seqlens.models.loading.open_model` reads), ``--weights`` and
    ``--layout``."""
    parser.add_argument("--model", required=True, help=help)
    parser.add_argument("--weights", help="weights for a factory --model (a state dict: torch.save, read "
                                          "with weights_only=True, or .safetensors) or for a Keras .json")
    parser.add_argument("--layout", choices=("NCL", "NLC", "auto"), default="NCL",
                        help="input the model reads: (N, A, L) (NCL, default) or channels last (N, L, A) "
                             "(NLC); auto tries both and refuses when both run")


def load_cli_model(args, device=None):
    """The :class:`~seqlens.models.loading.LoadedModel` of ``--model``/``--weights``/``--layout``;
    call its ``check_input(X.shape, data)`` once the sequences are read."""
    from seqlens.models.loading import open_model

    return open_model(args.model, weights=getattr(args, "weights", None),
                      layout=getattr(args, "layout", "NCL"), device=device)


def check_input(path, option: str) -> Path:
    """``path`` as an existing file; a one-line error naming ``option`` otherwise."""
    from seqlens.errors import SeqlensError

    path = Path(path)
    if not path.exists():
        raise SeqlensError(f"{option} {path}: no such file")
    if path.is_dir():
        raise SeqlensError(f"{option} {path}: a folder, not a file")
    return path


def is_hdf5(path: Path) -> bool:
    """HDF5 by suffix or by content (an HDF5 file named ``.dat`` is not read as FASTA)."""
    import h5py

    return path.suffix.lower() in (".h5", ".hdf5") or h5py.is_hdf5(path)


def save_finished(path: Path, key: dict, **arrays) -> None:
    """Keep a finished piece of a run in its working folder: an ``.npz`` of ``arrays`` written
    atomically, with the settings ``key`` it was made with (read back by :func:`load_finished`)."""
    import numpy as np

    from seqlens.io.atomic import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, settings=np.array(json.dumps(key, sort_keys=True)), **arrays)


def load_finished(path: Path, key: dict) -> dict | None:
    """The arrays kept by :func:`save_finished` at ``path`` if they were made with the settings
    ``key``; None when there are none, they are unreadable or their settings differ."""
    import zipfile

    import numpy as np

    if not path.is_file():
        return None
    try:
        with np.load(path) as z:
            if str(z["settings"]) != json.dumps(key, sort_keys=True):
                print(f"seqlens: {path} was made with other settings; computing it again")
                return None
            return {k: z[k] for k in z.files if k != "settings"}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
