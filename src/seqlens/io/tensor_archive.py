"""Write named numpy arrays as a PyTorch checkpoint archive, without importing torch.

The bytes are those ``torch.load(..., weights_only=True)`` reads back as a dict of tensors (the
zip layout of ``torch.save``: ``archive/data.pkl`` with one ``_rebuild_tensor_v2`` call per
array, ``archive/data/<k>`` the raw little-endian storage of array ``k``, ``archive/version``,
``archive/byteorder``), so a model whose learned state is numpy arrays (the MSA models) can be
saved by a process that never loads torch (~200 MB and ~2 s). The pickle holds nothing but the
globals the weights-only unpickler allows. Entries are stored uncompressed, with a fixed
timestamp and 64-byte aligned data (as torch writes them): the same arrays give the same bytes.
"""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np

# numpy dtype -> torch storage class (the dtypes the MSA models save)
STORAGES = {np.dtype(np.float32): "FloatStorage", np.dtype(np.float64): "DoubleStorage",
            np.dtype(np.float16): "HalfStorage", np.dtype(np.int64): "LongStorage",
            np.dtype(np.int32): "IntStorage", np.dtype(np.int16): "ShortStorage",
            np.dtype(np.int8): "CharStorage", np.dtype(np.uint8): "ByteStorage",
            np.dtype(np.bool_): "BoolStorage"}
_STAMP = (1980, 1, 1, 0, 0, 0)
_ALIGN = 64


class _Global:
    """A ``module.name`` reference written as a pickle GLOBAL without importing the module."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle requires a callable; never called
        raise TypeError(f"{self.module}.{self.name} is a reference only")


class _Tensor:
    def __init__(self, key: str, array: np.ndarray):
        self.key, self.array = key, array


class _Storage:
    def __init__(self, key: str, array: np.ndarray):
        self.key, self.array = key, array


class _Pickler(pickle._Pickler):
    """Protocol-2 pickler that writes tensors as torch's ``_rebuild_tensor_v2`` calls."""

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_global(self, obj: _Global):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("ascii"))
        self.memoize(obj)

    dispatch[_Global] = _save_global

    def __init__(self, file):
        super().__init__(file, protocol=2)
        self._globals: dict[tuple[str, str], _Global] = {}

    def ref(self, module: str, name: str) -> _Global:
        return self._globals.setdefault((module, name), _Global(module, name))

    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", self.ref("torch", STORAGES[obj.array.dtype]), obj.key, "cpu",
                    obj.array.size)
        return None

    def reducer_override(self, obj):
        if isinstance(obj, _Tensor):
            a = obj.array
            stride = tuple(s // a.itemsize for s in a.strides)
            hooks = (self.ref("collections", "OrderedDict"), ())
            return (self.ref("torch._utils", "_rebuild_tensor_v2"),
                    (_Storage(obj.key, a), 0, a.shape, stride, False, _Reduced(*hooks)))
        if isinstance(obj, _Reduced):
            return obj.func, obj.args
        return NotImplemented


class _Reduced:
    def __init__(self, func, args):
        self.func, self.args = func, args


def archive_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """The bytes of a ``torch.save`` archive of ``{name: tensor}`` for numpy ``arrays``
    (C-contiguous copies, little-endian; dtypes of :data:`STORAGES`)."""
    items = {}
    for k, (name, value) in enumerate(arrays.items()):
        a = np.asarray(value)
        a = a if a.flags.c_contiguous else a.copy(order="C")  # (ascontiguousarray makes 0-d 1-d)
        if a.dtype not in STORAGES:
            raise TypeError(f"{name}: cannot save dtype {a.dtype} as a tensor")
        items[name] = _Tensor(str(k), a.astype(a.dtype.newbyteorder("<"), copy=False))
    buf = io.BytesIO()
    _Pickler(buf).dump(items)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        def add(name: str, data: bytes):
            info = zipfile.ZipInfo(f"archive/{name}", date_time=_STAMP)
            # pad the local header's extra field so that the data starts 64-byte aligned
            header = 30 + len(info.filename.encode())
            pad = -(out.tell() + header + 4) % _ALIGN
            info.extra = b"FB" + pad.to_bytes(2, "little") + b"Z" * pad
            z.writestr(info, data)

        add("data.pkl", buf.getvalue())
        add("byteorder", b"little")
        for t in items.values():
            add(f"data/{t.key}", t.array.tobytes())
        add("version", b"3\n")
    return out.getvalue()
