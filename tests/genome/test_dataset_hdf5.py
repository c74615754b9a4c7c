"""The optional ``profile`` array of the HDF5 layout (profile models): saved, read back, checked."""

import h5py
import numpy as np
import pytest

from seqlens.errors import FormatError
from seqlens.io.hdf5 import Dataset, Split, load_dataset, save_dataset


def _split(n, with_profile=True):
    rng = np.random.default_rng(n)
    X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, 10))].transpose(0, 2, 1)
    profile = rng.poisson(2.0, (n, 2, 6)).astype(np.float32) if with_profile else None
    Y = np.log1p(profile.sum(2)) if with_profile else np.zeros((n, 1), np.float32)
    return Split(X, Y.astype(np.float32), None, profile)


def test_profile_round_trip(tmp_path):
    ds = Dataset(_split(5), _split(3), _split(4), metadata={"kind": "profile", "tracks": ["+", "-"],
                                                             "output_length": 6})
    back = load_dataset(save_dataset(tmp_path / "p.h5", ds))
    for name in ("train", "valid", "test"):
        np.testing.assert_array_equal(back.split(name).profile, ds.split(name).profile)
        assert back.split(name).profile.dtype == np.float32
    assert "profile_train" not in back.extras
    assert back.metadata["output_length"] == 6


def test_no_profile_stays_none(tmp_path):
    ds = Dataset(_split(5, False), _split(3, False), _split(4, False))
    back = load_dataset(save_dataset(tmp_path / "p.h5", ds))
    assert back.train.profile is None


def test_profile_row_count_and_rank_checked(tmp_path):
    p = tmp_path / "bad.h5"
    with h5py.File(p, "w") as fh:
        fh["X_train"], fh["Y_train"] = np.zeros((3, 4, 5), np.float32), np.zeros((3, 2), np.float32)
        fh["profile_train"] = np.zeros((2, 2, 5), np.float32)
    with pytest.raises(FormatError, match="profile_train has 2 rows, expected 3"):
        load_dataset(p, splits=("train",))
    with h5py.File(p, "a") as fh:
        del fh["profile_train"]
        fh["profile_train"] = np.zeros((3, 5), np.float32)
    with pytest.raises(FormatError, match=r"profile_train must be \(N, S, L_out\)"):
        load_dataset(p, splits=("train",))
