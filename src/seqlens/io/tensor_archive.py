"""Write and read named numpy arrays as a PyTorch checkpoint archive, without importing torch.

The bytes are those ``torch.load(..., weights_only=True)`` reads back as a dict of tensors (the
zip layout of ``torch.save``: ``archive/data.pkl`` with one ``_rebuild_tensor_v2`` call per
array, ``archive/data/<k>`` the raw little-endian storage of array ``k``, ``archive/version``,
``archive/byteorder``), so a model whose learned state is numpy arrays (the MSA models) can be
saved by a process that never loads torch (~200 MB and ~2 s). The pickle holds nothing but the
globals the weights-only unpickler allows. Entries are stored uncompressed, with a fixed
timestamp and 64-byte aligned data (as torch writes them): the same arrays give the same bytes.

:func:`read_archive` reads such an archive (or one ``torch.save`` wrote of a dict of dense CPU
tensors) back as numpy arrays without torch and without unpickling: ``data.pkl`` is walked
opcode by opcode (:func:`pickletools.genops`) by a small stack machine that knows only the
opcodes of a dict of tensors and only the globals :data:`ALLOWED` (each mapped to a function
of this module); anything else is refused, and no object is built by the pickle module.
"""

from __future__ import annotations

import io
import pickle
import pickletools
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


class ArchiveError(ValueError):
    """An archive that :func:`read_archive` cannot read as a dict of named tensors."""


_DTYPES = {name: dtype for dtype, name in STORAGES.items()}


class _StorageRef:
    def __init__(self, name: str, key: str, numel: int):
        self.name, self.key, self.numel = name, key, numel


def _rebuild_tensor(storage, offset, shape, stride, requires_grad=False, hooks=None, *extra):
    """``torch._utils._rebuild_tensor_v2`` for numpy: a view checked to lie in its storage."""
    if not isinstance(storage, np.ndarray):
        raise ArchiveError("a tensor without a storage")
    if not (isinstance(offset, int) and all(isinstance(v, int) for v in (*shape, *stride))
            and len(shape) == len(stride) and offset >= 0 and min(shape, default=0) >= 0
            and min(stride, default=0) >= 0):
        raise ArchiveError(f"a tensor of shape {shape}, stride {stride}, offset {offset}")
    if 0 in shape:
        return np.zeros(shape, dtype=storage.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(shape, stride))
    if last >= storage.size:
        raise ArchiveError(f"a tensor of shape {shape} runs past its storage of {storage.size}")
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=shape,
                                           strides=[s * item for s in stride], writeable=False)
    return np.array(view)  # a copy of its own, C-contiguous


# the only globals an archive may name, and what each becomes
ALLOWED = {("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
           ("collections", "OrderedDict"): dict,
           **{("torch", name): name for name in _DTYPES}}

# opcodes of a pickled dict of tensors (protocol 2, as torch.save and archive_bytes write it)
_PUSH_CONST = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
_INTS = {"BININT", "BININT1", "BININT2", "LONG1", "INT", "LONG"}
_STRINGS = {"BINUNICODE", "SHORT_BINUNICODE", "UNICODE", "BINUNICODE8", "SHORT_BINSTRING",
            "BINSTRING"}


def _walk_pickle(data: bytes, load_storage) -> object:
    """The object of a pickle made of a dict of tensors, without the pickle module's loader:
    globals outside :data:`ALLOWED` and opcodes outside the short list below are refused."""
    stack: list = []
    marks: list[int] = []
    memo: dict = {}

    def pop_mark():
        if not marks:
            raise ArchiveError("unbalanced pickle")
        at = marks.pop()
        items = stack[at:]
        del stack[at:]
        return items

    try:
        ops = list(pickletools.genops(data))
    except Exception as exc:  # ValueError for truncated or unknown opcodes
        raise ArchiveError(f"corrupt data.pkl ({exc})") from None
    for op, arg, _ in ops:
        name = op.name
        if name in ("PROTO", "FRAME"):
            continue
        if name == "STOP":
            if len(stack) != 1:
                raise ArchiveError("corrupt data.pkl (stack at STOP)")
            return stack[0]
        if name in _PUSH_CONST:
            stack.append(_PUSH_CONST[name])
        elif name in _INTS or name in _STRINGS or name in ("BINFLOAT", "BINBYTES", "SHORT_BINBYTES"):
            stack.append(arg)
        elif name == "EMPTY_DICT":
            stack.append({})
        elif name == "EMPTY_TUPLE":
            stack.append(())
        elif name == "MARK":
            marks.append(len(stack))
        elif name == "TUPLE":
            stack.append(tuple(pop_mark()))
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            n = int(name[-1])
            if len(stack) < n:
                raise ArchiveError("corrupt data.pkl (short stack)")
            items = tuple(stack[-n:])
            del stack[-n:]
            stack.append(items)
        elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[arg] = stack[-1]
        elif name == "MEMOIZE":
            memo[len(memo)] = stack[-1]
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            if arg not in memo:
                raise ArchiveError("corrupt data.pkl (memo)")
            stack.append(memo[arg])
        elif name in ("GLOBAL", "STACK_GLOBAL"):
            if name == "GLOBAL":
                module, _, attr = str(arg).partition(" ")
            else:
                module, attr = stack.pop(-2), stack.pop()
            if (module, attr) not in ALLOWED:
                raise ArchiveError(f"refusing the global {module}.{attr}")
            stack.append(ALLOWED[(module, attr)])
        elif name == "BINPERSID":
            pid = stack.pop()
            if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                    and pid[1] in _DTYPES and isinstance(pid[2], str) and isinstance(pid[4], int)):
                raise ArchiveError(f"unknown storage reference {pid!r}")
            stack.append(load_storage(_StorageRef(pid[1], pid[2], pid[4])))
        elif name == "REDUCE":
            args, func = stack.pop(), stack.pop()
            if not (callable(func) and isinstance(args, tuple)):
                raise ArchiveError("corrupt data.pkl (reduce)")
            stack.append(func(*args))
        elif name in ("SETITEM", "SETITEMS"):
            items = [stack.pop(-2), stack.pop()] if name == "SETITEM" else pop_mark()
            target = stack[-1]
            if not isinstance(target, dict) or len(items) % 2:
                raise ArchiveError("corrupt data.pkl (setitems)")
            for k in range(0, len(items), 2):
                target[items[k]] = items[k + 1]
        else:
            raise ArchiveError(f"unexpected pickle opcode {name}")
    raise ArchiveError("corrupt data.pkl (no STOP)")


def read_archive(data: bytes) -> dict[str, np.ndarray]:
    """The ``{name: array}`` of a ``torch.save`` archive of a dict of dense CPU tensors (as
    :func:`archive_bytes` writes), read without torch and without unpickling; raises
    :class:`ArchiveError` for anything else."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        names = z.namelist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ArchiveError(f"not a tensor archive ({exc})") from None
    pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pkl) != 1:
        raise ArchiveError("not a tensor archive (no single <folder>/data.pkl)")
    root = pkl[0][: -len("data.pkl")]
    try:
        if root + "byteorder" in names and z.read(root + "byteorder") != b"little":
            raise ArchiveError("big-endian tensor archives are not supported")
        storages: dict[str, np.ndarray] = {}

        def load_storage(ref: _StorageRef) -> np.ndarray:
            if ref.key not in storages:
                raw = z.read(f"{root}data/{ref.key}")
                dtype = _DTYPES[ref.name].newbyteorder("<")
                if len(raw) != ref.numel * dtype.itemsize:
                    raise ArchiveError(f"storage {ref.key}: {len(raw)} bytes for {ref.numel} "
                                       f"{dtype} values")
                storages[ref.key] = np.frombuffer(raw, dtype=dtype)
            return storages[ref.key]

        obj = _walk_pickle(z.read(pkl[0]), load_storage)
    except (KeyError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ArchiveError(f"corrupt tensor archive ({exc})") from None
    except (TypeError, IndexError) as exc:
        raise ArchiveError(f"corrupt data.pkl ({exc})") from None
    if not isinstance(obj, dict) or not all(
            isinstance(k, str) and isinstance(v, np.ndarray) for k, v in obj.items()):
        raise ArchiveError("not a dict of named tensors")
    return {k: v.astype(v.dtype.newbyteorder("="), copy=False) for k, v in obj.items()}
