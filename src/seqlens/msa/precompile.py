"""Compile the MSA models' numba kernels once, ahead of a user's first fit.

numba compiles a kernel on its first call and keeps the machine code in its on-disk cache
(``cache=True``: next to the source, or under ``NUMBA_CACHE_DIR``); a Potts fit pays about 6
CPU-seconds of compilation the first time it runs (the kernels are serial ``nogil`` functions run
on a thread pool: ``parallel=True`` ones took about 27) and loads the cached code in milliseconds
after that. :func:`precompile` runs every kernel on a tiny random alignment (sequence weights, the
pseudo-likelihood and its L-BFGS with line search, nearest-neighbour distances of samples) and a
quadratic (the plain L-BFGS), with the argument types real data gives, so that the first real
run finds them all in the cache. Run it after installing (``python -m seqlens.msa.precompile``);
without it, a fit compiles what it needs by itself.
"""

from __future__ import annotations

import time


def precompile(verbose: bool = False) -> float:
    """Compile and cache every numba kernel of :mod:`seqlens.msa`; returns the CPU seconds spent
    (about 10 on a cold cache, about 1 on a warm one)."""
    import numpy as np

    from seqlens.msa.alignment import Alignment
    from seqlens.msa.lbfgs import minimize
    from seqlens.msa.potts import Potts
    from seqlens.msa.sampling import nearest_hamming

    start = time.process_time()
    rng = np.random.default_rng(0)
    letters = np.array(list("ACDEFGHIKLMNPQRSTVWY-"))
    msa = Alignment.from_rows(["".join(rng.choice(letters, 12)) for _ in range(40)])
    Potts(preset="plmc", max_iter=8, n_threads=1).fit(msa)

    def quadratic(x, g):  # the plain L-BFGS (no fused line-search product), float32 and float64
        np.multiply(x - 1, 2, out=g)
        return float(((x - 1) ** 2).sum())

    for dtype in (np.float32, np.float64):
        minimize(quadratic, np.zeros(8, dtype=dtype), max_iter=3)
    codes = rng.integers(0, 20, (6, 12))
    nearest_hamming(codes[:3], codes)
    seconds = time.process_time() - start
    if verbose:
        print(f"seqlens.msa: numba kernels compiled and cached ({seconds:.1f} CPU-s)")
    return seconds


if __name__ == "__main__":
    precompile(verbose=True)
