"""Thread counts and devices of the MSA models, without importing torch where it is not used.

Sits below every other module of :mod:`seqlens.msa` (it imports none of them), so that sequence
weights, the CPU Potts kernels and the models share it without an import circle.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

# a CUDA device needs the NVIDIA kernel driver: without these files there is none to ask torch about
_NVIDIA_DRIVER = ("/proc/driver/nvidia/version", "/dev/nvidiactl")


@contextmanager
def thread_limit(n_threads: int | None, torch_threads: bool | None = None):
    """Run the block on ``n_threads`` numba threads and, when ``torch_threads`` (None: when torch
    is already imported), as many torch threads (None: as they are); the thread counts are
    restored afterwards, so a model's ``n_threads`` never leaks into later work."""
    if not n_threads:
        yield
        return
    import numba

    if torch_threads is None:
        torch_threads = "torch" in sys.modules
    numba_before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n_threads, numba.config.NUMBA_NUM_THREADS)))
    if torch_threads:
        import torch

        torch_before = torch.get_num_threads()
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        numba.set_num_threads(numba_before)
        if torch_threads:
            torch.set_num_threads(torch_before)


def device_type(device) -> str:
    """``"cpu"``, ``"cuda"``, ...: the kind of ``device`` (None = CUDA if available, else CPU).
    Imports torch only to ask about CUDA on a machine with an NVIDIA driver, or for a device
    other than the CPU."""
    if device is None:
        if "torch" not in sys.modules and not any(os.path.exists(p) for p in _NVIDIA_DRIVER):
            return "cpu"
    elif str(device) == "cpu":
        return "cpu"
    from seqlens.msa.models import resolve_device

    return resolve_device(device).type


_POOLS: dict = {}


def run_tasks(fn, tasks: list[tuple]) -> list:
    """``[fn(*args) for args in tasks]``, on up to ``numba.get_num_threads()`` threads (the count
    that :func:`thread_limit` sets), in order. ``fn`` is a numba kernel compiled with
    ``nogil=True``, so the threads run at once; such kernels compile several times faster than
    ``parallel=True`` ones (no parfor lowering), which is what a first run pays."""
    import numba

    n = min(len(tasks), numba.get_num_threads())
    if n <= 1:
        return [fn(*args) for args in tasks]
    if n not in _POOLS:
        from concurrent.futures import ThreadPoolExecutor

        _POOLS[n] = ThreadPoolExecutor(max_workers=n, thread_name_prefix="seqlens-msa")
    return list(_POOLS[n].map(lambda args: fn(*args), tasks))


def split_range(n: int, parts: int | None = None) -> list[tuple[int, int]]:
    """``[lo, hi)`` bounds of ``parts`` (default: the numba thread count) near-equal pieces of
    ``range(n)``, each a multiple of 4096 elements long except the last."""
    import numba

    parts = max(1, parts or numba.get_num_threads())
    step = -(-max(n, 1) // parts)
    step = -(-step // 4096) * 4096
    return [(lo, min(n, lo + step)) for lo in range(0, n, step)] or [(0, 0)]
