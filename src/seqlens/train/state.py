"""The resumable state of a training run, written by :func:`seqlens.train.fit` after every epoch.

A state folder holds ``state-<epoch>.pt`` (tensors and plain numbers only: model and best weights,
optimizer and scheduler state, RNG states; written with ``torch.save`` and read with
``torch.load(weights_only=True)``, so nothing but tensors and builtins is ever unpickled) and
``state.json`` (epoch counters, early-stopping state, history, numpy RNG state, the fit settings,
and the SHA-256 of the ``.pt`` file). ``state.json`` is written last and names its ``.pt``
file, so a run killed at any moment leaves a consistent pair; older ``.pt`` files are removed
afterwards.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from pathlib import Path

import torch

from seqlens.errors import SeqlensError
from seqlens.io.atomic import atomic_path, write_json

STATE = "state.json"
FORMAT = "seqlens-training-state"


class TrainingStateError(SeqlensError):
    """A saved training state is corrupt or belongs to a run with other settings."""


def save_state(folder: str | Path, info: dict, tensors: dict) -> Path:
    """Write one epoch's state (``info`` must hold ``epoch``); returns the ``state.json`` path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"state-{int(info['epoch']):06d}.pt"
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    data = buffer.getvalue()
    with atomic_path(folder / name) as tmp:
        tmp.write_bytes(data)
    path = write_json(folder / STATE, {"format": FORMAT, **info, "tensors": name,
                                       "tensors_sha256": hashlib.sha256(data).hexdigest()})
    for old in folder.glob("state-*.pt"):
        if old.name != name:
            old.unlink(missing_ok=True)
    return path


def _flat(settings, prefix: str = "") -> dict:
    """Nested settings as ``{"a.b": leaf}``."""
    if not isinstance(settings, dict):
        return {prefix.rstrip("."): settings} if prefix else {}
    out = {}
    for k, v in settings.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def load_state(folder: str | Path, settings: dict) -> tuple[dict, dict] | None:
    """``(info, tensors)`` of the state in ``folder``, or ``None`` when there is none.

    Refuses (:class:`TrainingStateError`) a corrupt state and one saved with other ``settings``.
    Leftover temporary files of a killed write are removed.
    """
    folder = Path(folder)
    for tmp in folder.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)
    path = folder / STATE
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(info, dict) and info.get("format") == FORMAT
        pt = folder / str(info["tensors"])
        assert pt.parent == folder and pt.is_file()
    except (ValueError, KeyError, AssertionError, UnicodeDecodeError):
        raise TrainingStateError(f"{path}: corrupt training state; rerun without --resume to "
                                 "start over") from None
    data = pt.read_bytes()
    if hashlib.sha256(data).hexdigest() != info.get("tensors_sha256"):
        raise TrainingStateError(f"{pt}: does not match {path} (SHA-256); rerun without "
                                 "--resume to start over")
    was, now = _flat(info.get("settings")), _flat(settings)
    changed = [f"{k} {was.get(k)} -> {now.get(k)}" for k in sorted(was.keys() | now.keys())
               if was.get(k) != now.get(k)]
    if changed:
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        raise TrainingStateError(f"{path}: the unfinished run was started with other settings "
                                 f"({', '.join(changed[:3])}{more}); rerun without --resume to "
                                 "start over")
    try:
        tensors = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError, EOFError for corrupt archives
        raise TrainingStateError(f"{pt}: cannot read training state safely ({exc})") from None
    info["history"] = [{k: math.nan if v is None else v for k, v in row.items()}
                       for row in info.get("history", [])]
    info["best"] = math.nan if info.get("best") is None else info["best"]
    return info, tensors
