"""What this machine can give a job: the memory available now, batch sizes that fit in it, and
the peak memory a process used."""

from __future__ import annotations


def available_memory() -> tuple[float, str]:
    """``(bytes, what)``: memory available now (``MemAvailable`` of ``/proc/meminfo``), else 80%
    of the machine's memory, else infinity."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024, "available memory"
    except OSError:
        pass
    import os

    try:
        return 0.8 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "80% of the memory"
    except (ValueError, OSError, AttributeError):
        return float("inf"), "no limit known"


def device_memory(device) -> float:
    """Bytes free now on ``device`` (a :class:`torch.device`): the CUDA allocator's free memory
    on a GPU, :func:`available_memory` otherwise."""
    if device.type == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info(device)
        return float(free)
    return available_memory()[0]


def batch_size_for(bytes_per_item: float, device, cap: int = 1024, share: float = 0.25) -> int:
    """The largest batch (1 to ``cap``) whose ``bytes_per_item * batch`` fits in ``share`` of the
    memory free on ``device``."""
    if bytes_per_item <= 0:
        return cap
    return int(max(1, min(cap, share * device_memory(device) // bytes_per_item)))


def peak_memory() -> float:
    """Peak resident memory of this process in bytes: ``VmHWM`` of ``/proc/self/status`` (the
    process image's own peak; ``ru_maxrss`` where that cannot be read, which after fork + exec
    can be the parent's)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0


_HEAP_KEPT = False


def keep_freed_memory() -> None:
    """Let glibc's ``malloc`` keep freed blocks of up to ~31 MB for reuse (once per process; no
    effect with another C library, or when its thresholds were set by ``mallopt`` or
    ``MALLOC_*_`` variables).

    glibc returns the free top of its heap to the kernel once it exceeds a threshold that starts
    at 128 kB and rises to twice the largest memory-mapped block freed so far (at most 32 MB).
    A job that allocates and frees tens of MB per batch (DeepSHAP, ISM on CPU) then gets its
    memory back page by page on every batch: on cnn_attention (8 sequences of 200 nt, one thread)
    about 6 thousand page faults per DeepSHAP call and 11% of its CPU time (0.183 against 0.162
    CPU-s). Freeing one mapped 31 MB block (never written, so it
    costs no page faults) sets the thresholds to 31 MB (mapped) and 62 MB (kept), what glibc
    would reach after any program's 31 MB array; the process may then hold up to 62 MB of freed
    memory."""
    global _HEAP_KEPT
    if _HEAP_KEPT:
        return
    _HEAP_KEPT = True
    import os

    try:
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
            return
    except (ValueError, OSError, AttributeError):
        return
    import torch

    block = torch.empty(31 << 20, dtype=torch.uint8)
    del block
