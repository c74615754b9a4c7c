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


def _write(path, metadata=None, **arrays):
    with h5py.File(path, "w") as fh:
        for key, value in arrays.items():
            fh[key] = value
        if metadata is not None:
            fh.attrs["metadata"] = metadata
    return path


def _xy(n=2):
    return {"X_train": np.zeros((n, 4, 5), np.float32), "Y_train": np.zeros((n, 1))}


@pytest.mark.parametrize("metadata, message", [
    ("{bad json", r"attribute 'metadata' is not valid JSON \(Expecting property name"),
    ("[1, 2]", "attribute 'metadata' must be a JSON object, got list"),
    (np.arange(3), "attribute 'metadata' is not valid JSON"),
])
def test_bad_metadata_attribute(tmp_path, metadata, message):
    p = _write(tmp_path / "data", metadata, **_xy())  # no .h5 suffix
    with pytest.raises(FormatError, match=message) as info:
        load_dataset(p, splits=("train",))
    assert str(info.value).startswith(f"{p}: ")


@pytest.mark.parametrize("key, record, value", [
    ("X_train", 2, np.inf), ("Y_train", 1, np.nan), ("Y_train", 0, -np.inf), ("model_train", 2, np.nan),
])
def test_nan_or_inf_names_key_and_record(tmp_path, key, record, value):
    arrays = {**_xy(3), "model_train": np.full((3, 4, 5), 0.25, np.float32)}
    arrays[key][record, 0] = value
    p = _write(tmp_path / "d.h5", **arrays)
    with pytest.raises(FormatError, match=rf"d.h5: {key} has NaN or Inf values \(first in record {record}\)"):
        load_dataset(p, splits=("train",))


@pytest.mark.parametrize("X, Y, message", [
    (np.zeros((2, 4, 5)), np.array([b"a", b"b"]), "Y_train must be numeric, got dtype"),
    (np.zeros((2, 4, 5)), np.array(1.0), r"Y_train must be \(N,\) or \(N, T\), got shape \(\)"),
    (np.zeros((2, 20)), np.zeros(2), r"X_train must be \(N, A, L\), got shape \(2, 20\)"),
    (np.full((1, 4, 2), 1e300), np.zeros(1), "X_train has NaN or Inf"),  # float32 overflow
])
def test_bad_arrays(tmp_path, X, Y, message):
    with pytest.raises(FormatError, match=message):
        load_dataset(_write(tmp_path / "d.h5", X_train=X, Y_train=Y), splits=("train",))
