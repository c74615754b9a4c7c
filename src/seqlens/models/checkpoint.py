"""Genomics model checkpoints: a folder with ``weights.pt`` (a plain state dict) and ``config.json``
(the zoo config under ``model`` and free-form ``metadata``: task, metrics, training settings).

The integrity scheme is :mod:`seqlens.io.checkpoint` (one hash over config and weights, tensors
only). Loading rebuilds the model from its config and loads the weights with ``strict=True``.
Tampered, corrupt or mismatched checkpoints raise :class:`CheckpointError`.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from seqlens.io.checkpoint import (
    CONFIG,
    WEIGHTS,
    CheckpointError,
    load_checkpoint,
    read_config,
    save_checkpoint,
)

FORMAT = "seqlens-model"
KEYS = {"model", "metadata"}

__all__ = ["FORMAT", "CONFIG", "WEIGHTS", "CheckpointError", "save_model", "load_model",
           "read_checkpoint_info"]


def save_model(model: nn.Module, path: str | Path, metadata: dict | None = None,
               config: dict | None = None) -> Path:
    """Save ``model`` to folder ``path`` (created); returns the folder.

    ``config`` defaults to ``model.config`` (zoo models). A user module without a config is
    saved too, but must then be loaded with ``load_model(path, model=instance)``.
    """
    config = config if config is not None else getattr(model, "config", None)
    return save_checkpoint(path, model.state_dict(), {"model": config, "metadata": metadata or {}},
                           FORMAT)


def read_checkpoint_info(path: str | Path) -> dict:
    """The parsed ``config.json`` of a checkpoint folder (format and keys validated; the hash is
    checked by :func:`load_model`)."""
    return _checked(read_config(path, FORMAT, KEYS), path)


def _checked(info: dict, path) -> dict:
    """``info`` after checking that ``model`` and ``metadata`` are JSON objects."""
    if info.get("model") is not None and not isinstance(info["model"], dict):
        raise CheckpointError(f"{path}: 'model' must be a JSON object")
    if not isinstance(info.get("metadata", {}), dict):
        raise CheckpointError(f"{path}: 'metadata' must be a JSON object")
    return info


def load_model(path: str | Path, model: nn.Module | None = None, device=None) -> nn.Module:
    """Rebuild a model from a checkpoint folder (eval mode).

    Parameters
    ----------
    path : the folder written by :func:`save_model` (or its ``config.json``).
    model : an instance to load the weights into (needed for user modules without a config).
    device : where to put the model (``None``: CPU).
    """
    from seqlens.models.zoo import build_model

    path = Path(path)
    info, state = load_checkpoint(path, FORMAT, KEYS)
    _checked(info, path)
    folder = path if path.is_dir() else path.parent
    if model is None:
        if not info.get("model"):
            raise CheckpointError(
                f"{folder}: the checkpoint has no model config; pass model=<instance>")
        try:
            model = build_model(info["model"])
        except (ValueError, TypeError, RuntimeError, OverflowError) as exc:
            raise CheckpointError(f"{folder / CONFIG}: cannot rebuild model ({exc})") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise CheckpointError(
            f"{folder / WEIGHTS}: weights do not match the model ({' '.join(first[:3])})") from None
    model.eval()
    if device is not None:
        model.to(device)
    return model
