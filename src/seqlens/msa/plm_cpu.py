"""CPU kernels (numba) for the Potts pseudo-likelihood: value and analytic gradient.

Parameters live in one flat vector ``x`` of length ``L Q + P Q^2`` (``P = L(L-1)/2``): the fields
``h`` ``(L, Q)`` first, then each pair block ``J_ij`` ``(Q, Q)``, ``i < j``, once, rows = state
at ``i``, in :func:`numpy.triu_indices` order (the same packing as
:func:`seqlens.msa.plm_torch.pair_index`).

The pass is site-major (as plmc): for each site ``i`` the logits of every sequence
``e[n] = h_i + sum_{j != i} J_ij(., x_nj)`` are turned into ``dS[n] = w_n (softmax(e[n]) -
onehot(x_ni))`` and summed back into the ``(Q, Q)`` gradient of each block. No ``(L Q, L Q)``
matrix, no autograd: the only large arrays are ``x``, ``g`` and one scratch vector of ``P Q^2``
values (the gradient contributions of the larger site of each pair, so that no two threads ever
write the same block), which an optimiser can lend (:meth:`PLObjective.lend`). Rows are visited
along a nearest-neighbour chain and both the logits and the gradient change only where
consecutive rows differ (~22% of the entries on DHFR); each change costs one pass over a row of
``S Q`` values for a group of ``S`` sites handled together, and the rows are taken block by block
and column by column, so that the working set of a task (two ``(L, Q + 1, S Q)`` tables and two
``(block, S Q)`` ones) is read in order. On DHFR (N = 3469 distinct rows, L = 159) an evaluation
is about twice as fast as one site at a time over rows in chain order.
"""

from __future__ import annotations

import numba
import numpy as np

from seqlens.msa._threads import run_tasks, split_range
from seqlens.msa.lbfgs import CHUNK


@numba.njit(cache=True)
def _pair_table(L):
    """``(L, L)`` int64: packed index of pair ``(i, j)``, ``i < j`` (triu order); -1 elsewhere."""
    out = np.full((L, L), -1, dtype=np.int64)
    k = 0
    for i in range(L):
        for j in range(i + 1, L):
            out[i, j] = k
            k += 1
    return out


def _pack_rows(X: np.ndarray) -> tuple[np.ndarray, int]:
    """Rows of ``X`` ``(N, L)`` (non-negative codes) packed into ``(N, W)`` uint64 words of
    8-bit lanes (codes < 256) or 16-bit ones (codes < 65536), zero-padded. Returns the words and
    the lane width in bits."""
    N, L = X.shape
    bits = 8 if X.size == 0 or X.max() < 256 else 16
    if bits == 16 and X.max() >= 65536:
        raise ValueError("codes must be below 65536")
    lanes = 64 // bits
    n_words = max(1, -(-L // lanes))
    packed = np.zeros((N, n_words * lanes), dtype=np.uint8 if bits == 8 else np.uint16)
    packed[:, :L] = X
    return packed.view(np.uint64), bits


@numba.njit(cache=True)
def _chain(words, bits, window):
    """:func:`chain_order` on rows packed by :func:`_pack_rows`: the Hamming distance of two rows
    is the number of non-zero lanes of the XOR of their words."""
    N, n_words = words.shape
    if bits == 8:
        ones = np.uint64(0x0101010101010101)
        top = np.uint64(56)
    else:
        ones = np.uint64(0x0001000100010001)
        top = np.uint64(48)
    used = np.zeros(N, dtype=np.bool_)
    order = np.empty(N, dtype=np.int64)
    if N == 0:
        return order
    cur = 0
    used[0] = True
    order[0] = 0
    lo = 1
    for k in range(1, N):
        while lo < N and used[lo]:
            lo += 1
        best = n_words * 8 + 1
        bi = -1
        seen = 0
        t = lo
        while t < N and seen < window:
            if not used[t]:
                seen += 1
                d = 0
                for c in range(n_words):
                    v = words[cur, c] ^ words[t, c]
                    if bits == 16:
                        v |= v >> np.uint64(8)
                    v |= v >> np.uint64(4)
                    v |= v >> np.uint64(2)
                    v |= v >> np.uint64(1)
                    d += int(((v & ones) * ones) >> top)
                    if d >= best:
                        break
                if d < best:
                    best = d
                    bi = t
            t += 1
        used[bi] = True
        order[k] = bi
        cur = bi
    return order


def chain_order(X: np.ndarray, window: int = 2048) -> np.ndarray:
    """Greedy nearest-neighbour chain through the rows of ``X`` ``(N, L)`` (non-negative integer
    codes): each step picks the closest unused row, in Hamming distance (first of ties), among
    the next ``window`` unused rows of the input order; lexicographically sorted input works
    well. ``(N,)`` int64 permutation. Distances are taken on rows packed 8 (or 4) codes to a
    64-bit word."""
    words, bits = _pack_rows(np.asarray(X))
    return _chain(words, bits, int(window))


def chain_changes(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Changes between consecutive rows of ``X`` ``(N, L)``: ``ptr`` ``(N,)`` (the changes into
    row ``n`` are ``ptr[n-1]:ptr[n]``, ``ptr[0] = 0``) and, per change, column, old and new code
    (int32 arrays)."""
    diff = X[1:] != X[:-1]
    rows, cols = np.nonzero(diff)
    ptr = np.zeros(len(X), dtype=np.int64)
    np.cumsum(diff.sum(1), out=ptr[1:])
    return (ptr, cols.astype(np.int32), X[rows, cols].astype(np.int32),
            X[rows + 1, cols].astype(np.int32))


def block_changes(X: np.ndarray, block: int) -> tuple[np.ndarray, ...]:
    """The changes of :func:`chain_changes` grouped by blocks of ``block`` rows, without those
    into a block's first row, sorted by column within a block: ``bptr`` ``(n_blocks + 1,)``
    (block ``b`` owns ``bptr[b]:bptr[b+1]``) and, per change, row within the block, column, old
    and new code (int32)."""
    ptr, cols, old, new = chain_changes(X)
    rows = np.repeat(np.arange(1, len(X)), np.diff(ptr))
    keep = rows % block != 0
    rows, cols, old, new = rows[keep], cols[keep], old[keep], new[keep]
    order = np.lexsort((cols, rows // block))
    n_blocks = -(-len(X) // block)
    bptr = np.zeros(n_blocks + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows // block, minlength=n_blocks), out=bptr[1:])
    return (bptr, (rows[order] % block).astype(np.int32), cols[order], old[order], new[order])


BLOCK_ROWS = 512  # default rows per block of :func:`_site_groups`
MAX_SITES = 16  # default largest group of sites per task
# default size of a task's coupling table (L, Q + 1, S Q): tables of about 2 MiB run fastest
# (measured on DHFR, L = 159: S = 8 takes 0.70x the time per evaluation of S = 16, 4.3 MB; on
# PF00595, L = 75, S = 16 (2 MB) and S = 8 are level)
TABLE_BYTES = 2 ** 21


def sites_per_task(L: int, Q: int, itemsize: int, n_threads: int) -> int:
    """Sites per task of :func:`_site_groups`: a coupling table ``(L, Q + 1, S Q)`` of about
    :data:`TABLE_BYTES`, at most :data:`MAX_SITES`, at least two tasks per thread, at least 1."""
    fit = round(TABLE_BYTES / (L * (Q + 1) * Q * itemsize))
    return max(1, min(MAX_SITES, fit, L // (2 * n_threads)))


_POW2 = 2.0 ** -np.arange(128.0)  # 2^-k, k = 0..127
_LOG2E = 1.4426950408889634
_LN2 = 0.6931471805599453


@numba.njit(cache=True, fastmath=True)
def _exp_nonpositive(v, out, n):
    """``out[:n] = exp(v[:n])`` for ``v <= 0``, float64, to 1e-8 relative (arguments below
    -80 count as -80: negligible next to the largest term, 1), in a loop without calls that
    vectorises: ``exp(t) = 2^k exp(r)``, ``k = round(t log2 e)``, ``|r| <= ln2 / 2``, ``exp(r)``
    by its Taylor polynomial of degree 7."""
    for c in range(n):
        t = max(v[c], -80.0)
        k = np.floor(t * _LOG2E + 0.5)
        r = t - k * _LN2
        p = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (
            1.0 / 120 + r * (1.0 / 720 + r * (1.0 / 5040)))))))
        out[c] = p * _POW2[int(-k)]


@numba.njit(cache=True, fastmath=True, nogil=True)
def _site_groups(X, R, bptr, kr, kj, ka, kb, w, x, Q, S, pidx, g, B, loss, fast_exp, grp0, grp1):
    """Unregularised negative pseudo-log-likelihood, per site, and its gradient, for the groups
    ``grp0 <= grp < grp1`` of ``S`` sites (:meth:`PLObjective.value_and_slope` runs the groups
    on the threads, one task each).

    ``X`` ``(N, L)`` rows in chain order (codes ``>= Q``: missing), ``w`` ``(N,)`` their weights,
    ``bptr``/``kr``/``kj``/``ka``/``kb`` their changes by blocks of ``R`` rows
    (:func:`block_changes`); ``fast_exp``: exponentials by :func:`_exp_nonpositive` (float32
    fits) instead of ``np.exp``. One task per group of ``S`` consecutive sites, whose ``(Q, Q)``
    blocks lie side by side, ``T[j, a, s Q + c] = J_{i_s j}(c, a)``, so that every change costs
    one pass over ``S Q`` values; row ``Q`` of ``T`` is zero and row ``Q`` of ``G`` a dump, so
    that missing codes need no branch.

    Per block of rows: the logit differences ``D[r]`` that the changes into row ``r`` make,
    column by column; the logits (a running sum from an exact one at the block's first row),
    ``dS = w (softmax - onehot)`` and its running sum ``P[r]`` over the block's rows before
    ``r``; the coupling gradient ``G[j, a] = sum_{n: x_nj = a} dS[n]`` telescoped over the runs
    of each code (a change into row ``r`` adds ``P[r]`` to the old code's row and subtracts it
    from the new one's; a block's end adds ``P`` to the current code's row). Writes ``loss``
    ``(L,)`` float64, the field gradient and the smaller-site block gradients into ``g``, the
    larger-site block gradients into ``B``.
    """
    N, L = X.shape
    nh = L * Q
    QQ = Q * Q
    n_blocks = bptr.shape[0] - 1
    for grp in range(grp0, grp1):
        i0 = grp * S
        ns = min(S, L - i0)
        W = ns * Q
        T = np.zeros((L, Q + 1, W), dtype=x.dtype)
        for s in range(ns):
            i = i0 + s
            for j in range(L):
                if j < i:
                    off = nh + pidx[j, i] * QQ
                    for a in range(Q):
                        for c in range(Q):
                            T[j, a, s * Q + c] = x[off + a * Q + c]
                elif j > i:
                    off = nh + pidx[i, j] * QQ
                    for a in range(Q):
                        for c in range(Q):
                            T[j, a, s * Q + c] = x[off + c * Q + a]
        G = np.zeros((L, Q + 1, W), dtype=x.dtype)
        D = np.empty((R, W), dtype=x.dtype)
        P = np.empty((R + 1, W), dtype=x.dtype)
        cur = np.empty(W)
        run = np.empty(W)
        tot = np.zeros(W)
        t = np.empty(W)
        e = np.empty(W)
        mx = np.empty(ns)
        li = np.zeros(ns)
        for blk in range(n_blocks):
            b0 = blk * R
            nr = min(R, N - b0)
            D[:nr] = 0.0
            for k in range(bptr[blk], bptr[blk + 1]):
                j = kj[k]
                r = kr[k]
                a = ka[k]
                b = kb[k]
                for c in range(W):
                    D[r, c] += T[j, b, c] - T[j, a, c]
            for c in range(W):
                cur[c] = x[i0 * Q + c]
                run[c] = 0.0
                P[0, c] = 0.0
            for j in range(L):
                a = X[b0, j]
                for c in range(W):
                    cur[c] += T[j, a, c]
            for r in range(nr):
                if r > 0:
                    for c in range(W):
                        cur[c] += D[r, c]
                wn = np.float64(w[b0 + r])
                # logits less their site's maximum, then the exponentials of the whole row at once
                for s in range(ns):
                    o = s * Q
                    m = cur[o]
                    for c in range(1, Q):
                        m = max(m, cur[o + c])
                    mx[s] = m
                    for c in range(Q):
                        t[o + c] = cur[o + c] - m
                if fast_exp:
                    _exp_nonpositive(t, e, W)
                else:
                    for c in range(W):
                        e[c] = np.exp(t[c])
                for s in range(ns):
                    xi = X[b0 + r, i0 + s]
                    if xi >= Q:
                        continue
                    o = s * Q
                    z = 0.0
                    for c in range(Q):
                        z += e[o + c]
                    li[s] += wn * (mx[s] - cur[o + xi] + np.log(z))
                    f = wn / z
                    for c in range(Q):
                        run[o + c] += f * e[o + c]
                    run[o + xi] -= wn
                for c in range(W):
                    P[r + 1, c] = run[c]
            for k in range(bptr[blk], bptr[blk + 1]):
                j = kj[k]
                r = kr[k]
                a = ka[k]
                b = kb[k]
                for c in range(W):
                    p = P[r, c]
                    G[j, a, c] += p
                    G[j, b, c] -= p
            last = b0 + nr - 1
            for j in range(L):
                a = X[last, j]
                for c in range(W):
                    G[j, a, c] += P[nr, c]
            for c in range(W):
                tot[c] += run[c]
        for s in range(ns):
            i = i0 + s
            loss[i] = li[s]
            for c in range(Q):
                g[i * Q + c] = tot[s * Q + c]
            for j in range(L):
                if j < i:
                    off = pidx[j, i] * QQ
                    for a in range(Q):
                        for c in range(Q):
                            B[off + a * Q + c] = G[j, a, s * Q + c]
                elif j > i:
                    off = nh + pidx[i, j] * QQ
                    for a in range(Q):
                        for c in range(Q):
                            g[off + c * Q + a] = G[j, a, s * Q + c]


@numba.njit(cache=True, fastmath=True, nogil=True)
def _finish_range(x, g, B, d, nh, lambda_h, lambda_J, lo_all, hi_all, part):
    """``g += B`` (couplings) and the L2 gradient on ``[lo_all, hi_all)``, in one pass over
    chunks. Writes ``(sum h^2, sum J^2, g . d)`` of each chunk ``c`` into ``part[c]`` for the
    finished ``g`` (``d``: a vector of the same size, e.g. a search direction; float64 sums)."""
    for lo in range(lo_all, hi_all, CHUNK):
        hi = min(hi_all, lo + CHUNK)
        pen_h = 0.0
        pen_j = 0.0
        gd = 0.0
        # unsigned indices: no wraparound checks, so the loops vectorise
        for k in range(np.uint64(lo), np.uint64(max(lo, min(hi, nh)))):
            v = x[k]
            gk = g[k] + 2.0 * lambda_h * v
            g[k] = gk
            pen_h += np.float64(v) * v
            gd += np.float64(gk) * d[k]
        unh = np.uint64(nh)
        for k in range(np.uint64(max(lo, nh)), np.uint64(max(hi, nh))):
            v = x[k]
            gk = g[k] + (B[k - unh] + 2.0 * lambda_J * v)
            g[k] = gk
            pen_j += np.float64(v) * v
            gd += np.float64(gk) * d[k]
        c = lo // CHUNK
        part[c, 0] = pen_h
        part[c, 1] = pen_j
        part[c, 2] = gd


def _finish(x, g, B, d, nh, lambda_h, lambda_J):
    """:func:`_finish_range` over the whole vectors, on the threads (sums per chunk, then over
    the chunks in order: independent of the thread count). Returns the penalty and ``g . d``."""
    part = np.zeros((max(1, -(-g.shape[0] // CHUNK)), 3))
    run_tasks(_finish_range, [(x, g, B, d, nh, lambda_h, lambda_J, lo, hi, part)
                              for lo, hi in split_range(g.shape[0])])
    return (lambda_h * part[:, 0].sum() + lambda_J * part[:, 1].sum(), part[:, 2].sum())


class PLObjective:
    """Regularised weighted negative pseudo-log-likelihood on the CPU.

    Parameters
    ----------
    X : ``(N, L)`` integer codes, ``>= Q`` for a missing (ignored) position.
    w : ``(N,)`` sequence weights.
    Q : states modelled; lambda_h, lambda_J : L2 strengths (plmc convention, pairs counted once).
    dtype : float32 (fits) or float64 (gradient checks).
    block : rows per block of the kernel; sites : sites per task (see :func:`_site_groups`;
        None: a table of about :data:`TABLE_BYTES`, at most :data:`MAX_SITES`, at least two
        tasks per numba thread).

    Call ``f = obj(x, g)``: returns the objective (float) and writes its gradient into ``g``
    (both ``(L Q + P Q^2,)``); :meth:`value_and_slope` also returns ``g . d``.
    """

    def __init__(self, X, w, Q: int, lambda_h: float, lambda_J: float, dtype=np.float32,
                 block: int = BLOCK_ROWS, sites: int | None = None):
        X = np.minimum(np.asarray(X), Q).astype(np.int32)
        self.N, self.L = X.shape
        self.Q = int(Q)
        self.dtype = np.dtype(dtype)
        order = chain_order(X)
        X = X[order]
        self.w = np.ascontiguousarray(np.asarray(w)[order], dtype=self.dtype)
        self.X = X
        self.block = int(block)
        if sites is None:
            sites = sites_per_task(self.L, self.Q, self.dtype.itemsize, numba.get_num_threads())
        self.sites = max(1, int(sites))
        self.changes = block_changes(X, self.block)
        self.change_fraction = len(self.changes[1]) / max(1, X.size)
        self.lambda_h = float(lambda_h)
        self.lambda_J = float(lambda_J)
        self.nh = self.L * self.Q
        self.n_pairs = self.L * (self.L - 1) // 2
        self.size = self.nh + self.n_pairs * self.Q * self.Q
        self.pidx = _pair_table(self.L)
        self._B = None
        self._loss = np.zeros(self.L)
        self.n_evals = 0

    def lend(self, buf: np.ndarray | None):
        """Use ``buf`` (a vector of ``size`` that is idle, e.g. an optimiser's free history slot)
        as scratch instead of an own one; None: allocate one when needed."""
        self._B = None if buf is None else buf[self.nh:]

    def __call__(self, x: np.ndarray, g: np.ndarray) -> float:
        return self.value_and_slope(x, g, g)[0]

    def value_and_slope(self, x: np.ndarray, g: np.ndarray, d: np.ndarray) -> tuple[float, float]:
        """As a call, and ``g . d`` for a vector ``d`` ``(size,)`` (a search direction), taken in
        the pass that finishes ``g``. Returns ``(f, g . d)``."""
        if self._B is None:
            self._B = np.empty(self.size - self.nh, dtype=self.dtype)
        args = (self.X, self.block, *self.changes, self.w, x, self.Q, self.sites, self.pidx, g,
                self._B, self._loss, self.dtype == np.float32)
        n_groups = -(-self.L // self.sites)
        if numba.get_num_threads() == 1:
            _site_groups(*args, 0, n_groups)
        else:
            run_tasks(_site_groups, [(*args, k, k + 1) for k in range(n_groups)])
        pen, slope = _finish(x, g, self._B, d, self.nh, self.lambda_h, self.lambda_J)
        self.n_evals += 1
        return float(self._loss.sum() + pen), slope

    def release(self):
        """Free the scratch vector."""
        self._B = None


def unpack_couplings(theta: np.ndarray, L: int, Q: int) -> np.ndarray:
    """Packed pair blocks ``(P Q^2,)`` -> symmetric ``(L, Q, L, Q)`` couplings, zero diagonal."""
    J = np.zeros((L, Q, L, Q), dtype=theta.dtype)
    ii, jj = np.triu_indices(L, 1)
    blocks = theta.reshape(-1, Q, Q)
    J[ii, :, jj, :] = blocks
    J[jj, :, ii, :] = blocks.transpose(0, 2, 1)
    return J
