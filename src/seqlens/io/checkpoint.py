"""One integrity scheme for every saved model: a folder with ``weights.pt`` and ``config.json``.

``weights.pt`` is a plain dict of tensors written with ``torch.save`` (byte-identical for the
same tensors) and read with ``torch.load(weights_only=True)``: nothing but tensors is unpickled
and no code is ever loaded. ``config.json`` holds the format tag, the version, the payload (model
config, metadata) and ``sha256``: the SHA-256 of the canonical JSON of everything else in the
config followed by the bytes of ``weights.pt``. Editing either file, or pairing files of two
different saves, is refused. The hash guards against accidents (corruption, truncation, edits,
mix-ups), not against someone who recomputes it; loading stays safe either way because only
tensors and JSON are read.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from seqlens.errors import SeqlensError
from seqlens.io.atomic import (
    MANIFEST,
    OutputError,
    atomic_path,
    check_output_folder,
    plain_json,
    write_manifest,
)

VERSION = 2
WEIGHTS = "weights.pt"
CONFIG = "config.json"
MAX_CONFIG_BYTES = 64 << 20


class CheckpointError(SeqlensError):
    """A checkpoint is missing, corrupt, tampered with, or does not match its model."""


def _digest(payload: dict, weights: bytes) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode() + b"\0" + weights).hexdigest()


def _tensor_bytes(tensors: dict) -> bytes:
    if all(type(v).__module__ == "numpy" for v in tensors.values()):
        from seqlens.io.tensor_archive import archive_bytes  # the same format, without torch

        return archive_bytes(tensors)
    import torch

    buffer = io.BytesIO()  # a file object: the archive's inner folder name is fixed ("archive")
    torch.save({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, buffer)
    return buffer.getvalue()


def save_checkpoint(folder: str | Path, tensors: dict, payload: dict, fmt: str) -> Path:
    """Write ``tensors`` (name -> tensor, or name -> numpy array for all of them: then torch is
    not imported) and the JSON-able ``payload`` to ``folder``.

    The config is written after the weights and the folder's manifest last; a save cut short
    leaves a folder without a manifest, which loaders refuse.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = _tensor_bytes(tensors)
    payload = plain_json(payload)
    config = {"format": fmt, "version": VERSION, **payload}
    config["sha256"] = _digest(config, weights)
    (folder / MANIFEST).unlink(missing_ok=True)
    with atomic_path(folder / WEIGHTS) as tmp:
        tmp.write_bytes(weights)
    with atomic_path(folder / CONFIG) as tmp:
        tmp.write_text(json.dumps(config, indent=2, allow_nan=False) + "\n")
    write_manifest(folder)
    return folder


def read_config(folder: str | Path, fmt: str, keys: set[str] | None = None) -> dict:
    """The validated ``config.json`` of a checkpoint folder (or the file itself), without
    checking the weights. ``keys``: the top-level keys allowed besides format/version/sha256."""
    path = Path(folder)
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint folder")
    if path.is_file() and path.name != CONFIG:
        raise CheckpointError(f"{path}: a file; expected a checkpoint folder ({CONFIG} + {WEIGHTS})")
    cfg_path = path / CONFIG if path.is_dir() else path
    if not cfg_path.is_file():
        raise CheckpointError(f"{path}: not a checkpoint folder (no {CONFIG})")
    if cfg_path.stat().st_size > MAX_CONFIG_BYTES:
        raise CheckpointError(f"{cfg_path}: checkpoint config larger than {MAX_CONFIG_BYTES} bytes")
    try:
        config = json.loads(cfg_path.read_bytes().decode("utf-8"),
                            parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise CheckpointError(f"{cfg_path}: corrupt checkpoint config ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != fmt:
        found = config.get("format") if isinstance(config, dict) else None
        raise CheckpointError(f"{cfg_path}: not a {fmt} checkpoint (format {found!r})")
    if config.get("version") != VERSION:
        raise CheckpointError(f"{cfg_path}: unsupported checkpoint version "
                              f"{config.get('version')!r} (this seqlens reads {VERSION}); re-save it")
    if keys is not None:
        unknown = sorted(set(config) - set(keys) - {"format", "version", "sha256"})
        if unknown:
            raise CheckpointError(f"{cfg_path}: unknown keys {unknown}")
    return config


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def load_checkpoint(folder: str | Path, fmt: str, keys: set[str] | None = None,
                    numpy: bool = False) -> tuple[dict, dict]:
    """``(config, tensors)`` of a checkpoint folder after checking the hash over both files.
    ``numpy=True``: the tensors as numpy arrays, read without torch
    (:func:`seqlens.io.tensor_archive.read_archive`, no unpickling)."""
    path = Path(folder)
    config = read_config(path, fmt, keys)
    folder = path if path.is_dir() else path.parent
    weights_path = folder / WEIGHTS
    if not weights_path.is_file():
        raise CheckpointError(f"{weights_path}: weights file missing")
    weights = weights_path.read_bytes()
    expected = config.pop("sha256", None)
    if expected != _digest(config, weights):
        raise CheckpointError(
            f"{folder}: SHA-256 of {CONFIG} + {WEIGHTS} does not match the one recorded at save "
            "time; the checkpoint was modified or is corrupt, refusing to load it")
    try:
        check_output_folder(folder)
    except OutputError as exc:
        raise CheckpointError(str(exc)) from None
    if numpy:
        from seqlens.io.tensor_archive import ArchiveError, read_archive

        try:
            return config, read_archive(weights)
        except ArchiveError as exc:
            raise CheckpointError(f"{weights_path}: cannot read weights safely ({exc})") from None
    import torch

    try:
        tensors = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError, EOFError for corrupt archives
        raise CheckpointError(f"{weights_path}: cannot read weights safely ({exc})") from None
    if not isinstance(tensors, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in tensors.items()):
        raise CheckpointError(f"{weights_path}: not a dict of named tensors")
    return config, tensors
