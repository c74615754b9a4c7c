"""Numpy arrays written as a torch.save archive without torch read back exactly with torch.load."""

import io
import zipfile

import numpy as np
import pytest
import torch

from seqlens.io.tensor_archive import archive_bytes


def test_arrays_load_back_exactly_with_weights_only_torch_load(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"h_": rng.normal(size=(3, 4)).astype(np.float32),
              "J_": rng.normal(size=(2, 3, 2, 3)).astype(np.float32)[:, ::2],  # not contiguous
              "counts": np.arange(5), "x": rng.normal(size=7), "mask": np.array([True, False]),
              "empty": np.zeros((0, 3), np.float32), "scalar": np.full((), 2.5, np.float32),
              "codes": np.array([[1, 255]], np.uint8), "half": np.array([0.5], np.float16)}
    data = archive_bytes(arrays)
    assert data == archive_bytes(arrays)  # the same arrays give the same bytes
    path = tmp_path / "w.pt"
    path.write_bytes(data)
    for loaded in (torch.load(io.BytesIO(data), weights_only=True),
                   torch.load(path, weights_only=True, mmap=True)):  # mmap needs aligned data
        assert list(loaded) == list(arrays)
        for name, a in arrays.items():
            t = loaded[name]
            assert t.dtype == torch.from_numpy(np.array(a)).dtype, name
            assert tuple(t.shape) == a.shape, name
            np.testing.assert_array_equal(t.numpy(), a)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names[0] == "archive/data.pkl" and "archive/version" in names


def test_unsupported_dtype_is_refused():
    with pytest.raises(TypeError, match="complex"):
        archive_bytes({"z": np.zeros(2, np.complex64)})
