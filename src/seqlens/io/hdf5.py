"""The HDF5 dataset layout of published genomics work.

Keys ``X_train/Y_train/X_valid/Y_valid/X_test/Y_test`` with ``X`` as ``(N, A, L)`` one-hot and
``Y`` as ``(N, T)`` labels or targets. Optional per-sequence ground truth ``model_train``,
``model_valid``, ``model_test``: the generating probability matrix ``(N, A, L)`` of simulated data
(uniform 0.25 columns for background, the motif's probabilities where a motif was embedded).
Extra arrays (e.g. ``names_test``) and file attributes (JSON metadata) are kept as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from seqlens.errors import FormatError
from seqlens.io.atomic import atomic_path

SPLITS = ("train", "valid", "test")


@dataclass
class Split:
    """One split: ``X`` ``(N, A, L)`` float32, ``Y`` ``(N, T)``, optional ``truth`` ``(N, A, L)``."""

    X: np.ndarray
    Y: np.ndarray
    truth: np.ndarray | None = None

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
    except OSError as exc:
        raise FormatError(f"{path}: not a readable HDF5 file ({exc})") from None


def load_dataset(path: str | Path, splits=SPLITS, truth: bool = True) -> Dataset:
    """Read a dataset in the layout above; ``splits`` not asked for are left empty.

    Raises :class:`FormatError` naming the file and key when a key is missing or unreadable, when
    shapes disagree (X vs Y counts, X vs truth shapes), or when X has NaNs.
    """
    path = Path(path)
    with open_hdf5(path) as fh:
        parts = {}
        for name in SPLITS:
            if name not in splits:
                parts[name] = Split(np.zeros((0, 4, 0), np.float32), np.zeros((0, 0), np.float32))
                continue
            X = _read(fh, path, f"X_{name}").astype(np.float32, copy=False)
            Y = _read(fh, path, f"Y_{name}")
            if X.ndim != 3:
                raise FormatError(f"{path}: X_{name} must be (N, A, L), got shape {X.shape}")
            if Y.ndim == 1:
                Y = Y[:, None]
            if len(Y) != len(X):
                raise FormatError(
                    f"{path}: label count mismatch: X_{name} has {len(X)} sequences but "
                    f"Y_{name} has {len(Y)} rows"
                )
            if np.isnan(X).any():
                rec = int(np.argwhere(np.isnan(X))[0, 0])
                raise FormatError(f"{path}: X_{name} has NaN values (first in record {rec})")
            gt = None
            if truth and f"model_{name}" in fh:
                gt = _read(fh, path, f"model_{name}").astype(np.float32, copy=False)
                if gt.shape != X.shape:
                    raise FormatError(
                        f"{path}: model_{name} has shape {gt.shape}, expected {X.shape} like "
                        f"X_{name}"
                    )
            parts[name] = Split(X, Y, gt)
        known = {f"{p}_{s}" for p in ("X", "Y", "model") for s in SPLITS}
        extras = {k: fh[k][()] for k in fh if k not in known and isinstance(fh[k], h5py.Dataset)}
        metadata = json.loads(fh.attrs["metadata"]) if "metadata" in fh.attrs else {}
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
        for key, value in dataset.extras.items():
            fh.create_dataset(key, data=value)
        fh.attrs["metadata"] = json.dumps(dataset.metadata)
    return path


def _read(fh: h5py.File, path: Path, key: str) -> np.ndarray:
    if key not in fh:
        raise FormatError(f"{path}: missing key {key!r}; found keys {sorted(fh.keys())}")
    try:
        return fh[key][()]
    except Exception as exc:  # h5py raises several types for corrupt data
        raise FormatError(f"{path}: key {key!r} is unreadable ({exc})") from None
