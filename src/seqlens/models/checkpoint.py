"""Safe checkpoints: a folder with ``weights.pt`` (a plain state dict) and ``config.json``.

``config.json`` holds the model config, the SHA-256 of ``weights.pt``, free-form ``metadata``
(task, metrics, training settings). Loading checks the format tag and the digest, then reads the
weights with ``torch.load(..., weights_only=True)`` (no arbitrary unpickling) and loads them with
``strict=True``. Tampered, corrupt or mismatched checkpoints raise :class:`CheckpointError`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from torch import nn

from seqlens.errors import SeqlensError
from seqlens.io.atomic import atomic_path, write_json

FORMAT = "seqlens-model"
VERSION = 1
WEIGHTS = "weights.pt"
CONFIG = "config.json"


class CheckpointError(SeqlensError):
    """A checkpoint is missing, corrupt, tampered with, or does not match its model."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_model(model: nn.Module, path: str | Path, metadata: dict | None = None,
               config: dict | None = None) -> Path:
    """Save ``model`` to folder ``path`` (created); returns the folder.

    ``config`` defaults to ``model.config`` (zoo models). A user module without a config is
    saved too, but must then be loaded with ``load_model(path, model=instance)``.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = config if config is not None else getattr(model, "config", None)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(path / WEIGHTS) as tmp:
        torch.save(state, tmp)
        digest = _sha256(tmp)
    write_json(path / CONFIG, {
        "format": FORMAT, "version": VERSION, "model": config, "sha256": digest,
        "metadata": metadata or {},
    })
    return path


def read_checkpoint_info(path: str | Path) -> dict:
    """The parsed ``config.json`` of a checkpoint folder (validated)."""
    path = Path(path)
    cfg_path = path / CONFIG if path.is_dir() else path
    if not cfg_path.exists():
        raise CheckpointError(f"{cfg_path}: no checkpoint config (expected {CONFIG} in {path})")
    try:
        info = json.loads(cfg_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{cfg_path}: corrupt checkpoint config ({exc})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise CheckpointError(f"{cfg_path}: not a seqlens model checkpoint")
    if info.get("version") != VERSION:
        raise CheckpointError(f"{cfg_path}: unsupported checkpoint version {info.get('version')}")
    return info


def load_model(path: str | Path, model: nn.Module | None = None, device=None,
               verify: bool = True) -> nn.Module:
    """Rebuild a model from a checkpoint folder (eval mode).

    Parameters
    ----------
    path : the folder written by :func:`save_model` (or its ``config.json``).
    model : an instance to load the weights into (needed for user modules without a config).
    device : where to put the model (``None``: CPU).
    verify : check the SHA-256 of the weights against the config.
    """
    from seqlens.models.zoo import build_model

    path = Path(path)
    folder = path if path.is_dir() else path.parent
    info = read_checkpoint_info(folder)
    weights = folder / WEIGHTS
    if not weights.exists():
        raise CheckpointError(f"{weights}: weights file missing")
    if verify and _sha256(weights) != info.get("sha256"):
        raise CheckpointError(
            f"{weights}: SHA-256 does not match {folder / CONFIG}; the checkpoint was modified "
            "or is corrupt, refusing to load it")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError, EOFError for corrupt files
        raise CheckpointError(f"{weights}: cannot read weights safely ({exc})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{weights}: not a state dict of tensors")
    if model is None:
        if not info.get("model"):
            raise CheckpointError(
                f"{folder}: the checkpoint has no model config; pass model=<instance>")
        try:
            model = build_model(info["model"])
        except ValueError as exc:
            raise CheckpointError(f"{folder / CONFIG}: cannot rebuild model ({exc})") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise CheckpointError(
            f"{weights}: weights do not match the model ({' '.join(first[:3])})") from None
    model.eval()
    if device is not None:
        model.to(device)
    return model
