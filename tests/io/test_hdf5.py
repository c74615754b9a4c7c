import h5py
import numpy as np
import pytest

from seqlens.errors import FormatError
from seqlens.io.hdf5 import Dataset, Split, load_dataset, save_dataset


def test_reads_published_zbed2_file(shared_data):
    ds = load_dataset(shared_data / "genomics" / "ZBED2_400_h3k27ac.h5")
    assert ds.train.X.shape == (3431, 4, 400) and ds.valid.X.shape == (490, 4, 400)
    assert ds.test.Y.shape == (981, 1) and ds.train.truth is None
    np.testing.assert_allclose(ds.train.X[:10].sum(1), 1.0)
    assert 0.3 < ds.train.Y.mean() < 0.7
    assert ds.n_tasks == 1 and ds.seq_length == 400


def _toy(n=6, L=8):
    rng = np.random.default_rng(0)
    X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, L))].transpose(0, 2, 1)
    return Split(X, rng.integers(0, 2, (n, 2)).astype(np.int8), np.full_like(X, 0.25))


def test_round_trip_with_truth_metadata_extras(tmp_path):
    ds = Dataset(_toy(), _toy(3), _toy(4), metadata={"name": "toy", "seed": 3},
                 extras={"names_test": np.arange(4)})
    path = save_dataset(tmp_path / "d.h5", ds)
    back = load_dataset(path)
    np.testing.assert_array_equal(back.test.X, ds.test.X)
    np.testing.assert_array_equal(back.train.truth, ds.train.truth)
    assert back.metadata == {"name": "toy", "seed": 3}
    np.testing.assert_array_equal(back.extras["names_test"], np.arange(4))
    assert not list(tmp_path.glob(".*tmp"))


def test_bad_files_give_clear_errors(tmp_path):
    p = tmp_path / "bad.h5"
    with h5py.File(p, "w") as fh:
        fh["X_train"] = np.zeros((3, 4, 5), np.float32)
        fh["Y_train"] = np.zeros((2, 1))
    with pytest.raises(FormatError, match="label count mismatch.*3 sequences.*2 rows"):
        load_dataset(p, splits=("train",))
    with h5py.File(p, "a") as fh:
        del fh["Y_train"]
        fh["Y_train"] = np.zeros(3)
    with pytest.raises(FormatError, match="missing key 'X_valid'"):
        load_dataset(p)
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    with pytest.raises(FormatError, match="not a readable HDF5"):
        load_dataset(junk)
    with h5py.File(p, "w") as fh:
        X = np.zeros((2, 4, 5), np.float32)
        X[1, 0, 0] = np.nan
        fh["X_train"], fh["Y_train"] = X, np.zeros(2)
    with pytest.raises(FormatError, match="NaN.*record 1"):
        load_dataset(p, splits=("train",))
