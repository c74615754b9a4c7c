"""Numpy arrays written as a torch.save archive without torch read back exactly with torch.load."""

import io
import pickle
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


def test_read_archive_gives_the_arrays_back_without_torch():
    from seqlens.io.tensor_archive import read_archive

    rng = np.random.default_rng(1)
    arrays = {"h_": rng.normal(size=(3, 4)).astype(np.float32),
              "J_": rng.normal(size=(2, 3, 2, 3)).astype(np.float32)[:, ::2],
              "counts": np.arange(5), "x": rng.normal(size=7), "mask": np.array([True, False]),
              "empty": np.zeros((0, 3), np.float32), "scalar": np.full((), 2.5, np.float32),
              "codes": np.array([[1, 255]], np.uint8), "half": np.array([0.5], np.float16)}
    back = read_archive(archive_bytes(arrays))
    assert list(back) == list(arrays)
    for name, a in arrays.items():
        assert back[name].dtype == a.dtype and back[name].shape == a.shape, name
        np.testing.assert_array_equal(back[name], a)
        assert back[name].flags.writeable and back[name].flags.c_contiguous


def test_read_archive_reads_what_torch_save_writes():
    """Strided views and two tensors sharing one storage, as torch.save writes them."""
    from seqlens.io.tensor_archive import read_archive

    base = torch.arange(12, dtype=torch.float64).reshape(3, 4)
    tensors = {"t": base.t(), "row": base[1], "col": base[:, 2], "i": torch.tensor([3, -1]),
               "b": torch.tensor([True])}
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    back = read_archive(buffer.getvalue())
    for name, t in tensors.items():
        assert back[name].dtype == t.numpy().dtype, name
        np.testing.assert_array_equal(back[name], t.numpy())


class _Evil:
    def __reduce__(self):
        return (print, ("PWNED",))


def _with_pickle(payload: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive_bytes({"x": np.zeros(2, np.float32)}))) as zin, \
            zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, payload if item.filename.endswith("data.pkl") else data)
    return out.getvalue()


@pytest.mark.parametrize("data,pattern", [
    (_with_pickle(pickle.dumps(_Evil(), protocol=2)),
     r"refusing the global (__builtin__|builtins)\.print"),
    (_with_pickle(pickle.dumps({"x": [1, 2]}, protocol=2)), "unexpected pickle opcode"),
    (_with_pickle(b"\x80\x02}q\x00."[:-1]), "corrupt data.pkl"),
    (archive_bytes({"x": np.zeros(2)})[:200], "not a tensor archive|corrupt"),
    (b"not a zip", "not a tensor archive"),
])
def test_read_archive_refuses_what_is_not_a_dict_of_tensors(data, pattern, capsys):
    from seqlens.io.tensor_archive import ArchiveError, read_archive

    with pytest.raises(ArchiveError, match=pattern):
        read_archive(data)
    assert "PWNED" not in capsys.readouterr().out


def test_read_archive_refuses_a_storage_of_the_wrong_size():
    from seqlens.io.tensor_archive import ArchiveError, read_archive

    good = archive_bytes({"x": np.zeros(4, np.float32)})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, data[:8] if item.filename.endswith("data/0") else data)
    with pytest.raises(ArchiveError, match="8 bytes for 4"):
        read_archive(out.getvalue())
