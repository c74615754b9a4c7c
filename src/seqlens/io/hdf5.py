"""The HDF5 dataset layout of published genomics work.

Keys ``X_train/Y_train/X_valid/Y_valid/X_test/Y_test`` with ``X`` as ``(N, A, L)`` one-hot and
``Y`` as ``(N, T)`` labels or targets. Optional per-sequence ground truth ``model_train``,
``model_valid``, ``model_test``: the generating probability matrix ``(N, A, L)`` of simulated data
(uniform 0.25 columns for background, the motif's probabilities where a motif was embedded).
Optional ``profile_train``, ``profile_valid``, ``profile_test``: float32 ``(N, S, L_out)`` raw
counts per track (strand) for profile models (``Y`` then holds ``log(1 + total counts)`` per track,
``(N, S)``; metadata ``{"kind": "profile", "tracks": [...], "output_length": L_out}``).
Extra arrays (e.g. ``names_test``) and file attributes (JSON metadata) are kept as they are.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from seqlens.errors import FormatError
from seqlens.io.atomic import atomic_path
from seqlens.io.text import one_line

SPLITS = ("train", "valid", "test")


@dataclass
class Split:
    """One split: ``X`` ``(N, A, L)`` float32, ``Y`` ``(N, T)``, optional ``truth`` ``(N, A, L)``
    and optional ``profile`` ``(N, S, L_out)`` float32 counts per track."""

    X: np.ndarray
    Y: np.ndarray
    truth: np.ndarray | None = None
    profile: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.X)


@dataclass
class Dataset:
    """Train/valid/test splits plus free-form ``metadata`` (JSON-able) and ``extras`` arrays."""

    train: Split
    valid: Split
    test: Split
    metadata: dict = field(default_factory=dict)
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def split(self, name: str) -> Split:
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {name!r}")
        return getattr(self, name)

    @property
    def n_tasks(self) -> int:
        return self.train.Y.shape[1]

    @property
    def seq_length(self) -> int:
        return self.train.X.shape[2]


def open_hdf5(path: str | Path) -> h5py.File:
    """Open an HDF5 file for reading; clear errors for a missing or non-HDF5 file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        return h5py.File(path, "r")
    except Exception as exc:  # OSError mostly; h5py raises other types for some corrupt files
        raise FormatError(f"{path}: not a readable HDF5 file ({one_line(exc)})") from None


def load_dataset(path: str | Path, splits=SPLITS, truth: bool = True) -> Dataset:
    """Read a dataset in the layout above; ``splits`` not asked for are left empty.

    Raises :class:`FormatError` naming the file and key when a key is missing, unreadable, not
    numeric or of the wrong rank, when shapes disagree (X vs Y counts, X vs truth shapes, X vs
    profile counts), when X, Y, truth or profile hold NaN or Inf (naming the first record), or
    when the ``metadata`` attribute is not a JSON object.
    """
    path = Path(path)
    with open_hdf5(path) as fh:
        with _reading(path, "the list of keys"):
            keys = sorted(fh.keys())
        parts = {}
        for name in SPLITS:
            if name not in splits:
                parts[name] = Split(np.zeros((0, 4, 0), np.float32), np.zeros((0, 0), np.float32))
                continue
            X = _array(fh, path, keys, f"X_{name}", "(N, A, L)", np.float32)
            Y = _array(fh, path, keys, f"Y_{name}", "(N,) or (N, T)")
            if Y.ndim == 1:
                Y = Y[:, None]
            if len(Y) != len(X):
                raise FormatError(
                    f"{path}: label count mismatch: X_{name} has {len(X)} sequences but "
                    f"Y_{name} has {len(Y)} rows"
                )
            gt = None
            if truth and f"model_{name}" in keys:
                gt = _array(fh, path, keys, f"model_{name}", "(N, A, L)", np.float32)
                if gt.shape != X.shape:
                    raise FormatError(
                        f"{path}: model_{name} has shape {gt.shape}, expected {X.shape} like "
                        f"X_{name}"
                    )
            profile = None
            if f"profile_{name}" in keys:
                profile = _array(fh, path, keys, f"profile_{name}", "(N, S, L_out)", np.float32)
                if len(profile) != len(X):
                    raise FormatError(
                        f"{path}: profile_{name} has {len(profile)} rows, expected {len(X)} like "
                        f"X_{name}"
                    )
            parts[name] = Split(X, Y, gt, profile)
        known = {f"{p}_{s}" for p in ("X", "Y", "model", "profile") for s in SPLITS}
        extras = {}
        for key in keys:
            with _reading(path, f"key {key!r}"):
                is_array = isinstance(fh[key], h5py.Dataset)
            if key not in known and is_array:
                extras[key] = _read(fh, path, keys, key)
        metadata = _metadata(fh, path)
    return Dataset(parts["train"], parts["valid"], parts["test"], metadata, extras)


def save_dataset(path: str | Path, dataset: Dataset, compression: str | None = "gzip") -> Path:
    """Write ``dataset`` in the layout above (atomically). One-hot X is stored as float32,
    ground truth as float32, metadata as a JSON string attribute."""
    path = Path(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as fh:
        for name in SPLITS:
            split = dataset.split(name)
            fh.create_dataset(f"X_{name}", data=split.X.astype(np.float32),
                              compression=compression)
            fh.create_dataset(f"Y_{name}", data=split.Y, compression=compression)
            if split.truth is not None:
                fh.create_dataset(f"model_{name}", data=split.truth.astype(np.float32),
                                  compression=compression)
            if split.profile is not None:
                fh.create_dataset(f"profile_{name}", data=split.profile.astype(np.float32),
                                  compression=compression)
        for key, value in dataset.extras.items():
            fh.create_dataset(key, data=value)
        fh.attrs["metadata"] = json.dumps(dataset.metadata)
    return path


@contextmanager
def _reading(path: Path, what: str):
    """Turn any error of h5py while reading ``what`` into a :class:`FormatError`."""
    try:
        yield
    except Exception as exc:  # h5py raises OSError, KeyError, RuntimeError, ... for corrupt data
        raise FormatError(f"{path}: {what} is unreadable ({one_line(exc)})") from None


def _read(fh: h5py.File, path: Path, keys: list[str], key: str) -> np.ndarray:
    if key not in keys:
        raise FormatError(f"{path}: missing key {key!r}; found keys {keys}")
    with _reading(path, f"key {key!r}"):
        return fh[key][()]


_RANKS = {"(N, A, L)": (3,), "(N,) or (N, T)": (1, 2), "(N, S, L_out)": (3,)}


def _array(fh: h5py.File, path: Path, keys: list[str], key: str, shape: str,
           dtype=None) -> np.ndarray:
    """Dataset ``key`` as a numeric array of the given ``shape`` (optionally cast to ``dtype``)
    with no NaN or Inf."""
    arr = np.asarray(_read(fh, path, keys, key))
    if arr.dtype.kind not in "biuf":
        raise FormatError(f"{path}: {key} must be numeric, got dtype {arr.dtype}")
    if arr.ndim not in _RANKS[shape]:
        raise FormatError(f"{path}: {key} must be {shape}, got shape {arr.shape}")
    if dtype is not None:
        with np.errstate(over="ignore"):  # values out of range become inf, refused below
            arr = arr.astype(dtype, copy=False)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        rec = int(np.argwhere(~np.isfinite(arr))[0, 0])
        raise FormatError(f"{path}: {key} has NaN or Inf values (first in record {rec})")
    return arr


def _metadata(fh: h5py.File, path: Path) -> dict:
    """The JSON ``metadata`` file attribute as a dict (empty when absent)."""
    with _reading(path, "attribute 'metadata'"):
        raw = fh.attrs.get("metadata")
    if raw is None:
        return {}
    try:
        metadata = json.loads(raw)
    except (TypeError, ValueError, RecursionError) as exc:
        raise FormatError(f"{path}: attribute 'metadata' is not valid JSON ({one_line(exc)})") \
            from None
    if not isinstance(metadata, dict):
        raise FormatError(f"{path}: attribute 'metadata' must be a JSON object, got "
                          f"{type(metadata).__name__}")
    return metadata
