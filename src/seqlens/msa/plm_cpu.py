"""CPU kernels (numba) for the Potts pseudo-likelihood: value and analytic gradient.

Parameters live in one flat vector ``x`` of length ``L Q + P Q^2`` (``P = L(L-1)/2``): the fields
``h`` ``(L, Q)`` first, then each pair block ``J_ij`` ``(Q, Q)``, ``i < j``, once, rows = state
at ``i``, in :func:`numpy.triu_indices` order (the same packing as
:func:`seqlens.msa.potts.pair_index`).

The pass is site-major (as plmc): for each site ``i`` (one numba thread per site), the logits of
all ``N`` sequences ``e[n] = h_i + sum_{j != i} J_ij(., x_nj)`` are accumulated block by block
into an ``(N, Q)`` array (a few hundred kB, kept in cache), turned into
``dS[n] = w_n (softmax(e[n]) - onehot(x_ni))`` and summed back into the ``(Q, Q)`` gradient of
each block. No ``(L Q, L Q)`` matrix, no autograd: the only large arrays are ``x``, ``g`` and one
scratch vector of ``P Q^2`` values (the gradient contributions of the larger site of each
pair, so that no two threads ever write the same block), which an optimiser can lend
(:meth:`PLObjective.lend`). Rows are visited along a nearest-neighbour chain and both the logits
and the gradient are updated only where consecutive rows differ (~25% of the sites on DHFR).
"""

from __future__ import annotations

import numba
import numpy as np


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


@numba.njit(cache=True)
def chain_order(X, window=256):
    """Greedy nearest-neighbour chain through the rows of ``X`` ``(N, L)`` (each step picks the
    closest unused row, in Hamming distance, among the next ``window`` unused rows of the
    input order; lexicographically sorted input works well). ``(N,)`` int64 permutation."""
    N, L = X.shape
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
        best = L + 1
        bi = -1
        seen = 0
        t = lo
        while t < N and seen < window:
            if not used[t]:
                seen += 1
                d = 0
                for c in range(L):
                    if X[cur, c] != X[t, c]:
                        d += 1
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


@numba.njit(parallel=True, cache=True)
def _site_pass(X0, XN, Xi, ptr, cj, cold, cnew, w, x, Q, pidx, g, B, loss, resync=32):
    """Unregularised negative pseudo-log-likelihood, per site, and its gradient.

    Rows are in chain order and given as differences: ``X0``/``XN`` ``(L,)`` first and last row,
    ``Xi`` ``(L, N)`` the code of every row at every site (``>= Q``: missing), the changes
    ``ptr``/``cj``/``cold``/``cnew`` (:func:`chain_changes`). Logits of row ``n`` at site ``i``
    are those of row ``n - 1`` updated at the changed columns (summed afresh every ``resync``
    rows); the coupling gradient
    ``sum_{n: x_nj = a} dS[n]`` is a difference of prefix sums of ``dS`` at the ends of each run
    of ``a`` in column ``j``. Writes ``loss`` ``(L,)`` float64, the field gradient and the
    smaller-site block gradients into ``g``, the larger-site block gradients into ``B``.
    """
    L, N = Xi.shape
    nh = L * Q
    QQ = Q * Q
    for i in numba.prange(L):
        # Ti[j, a, c] = J_ij(c, a): c at site i, a at site j (zero for j == i)
        Ti = np.zeros((L, Q, Q), dtype=x.dtype)
        for j in range(L):
            if j < i:
                off = nh + pidx[j, i] * QQ
                for a in range(Q):
                    for c in range(Q):
                        Ti[j, a, c] = x[off + a * Q + c]
            elif j > i:
                off = nh + pidx[i, j] * QQ
                for a in range(Q):
                    for c in range(Q):
                        Ti[j, a, c] = x[off + c * Q + a]
        acc = np.empty((N, Q), dtype=x.dtype)
        cur = np.empty(Q, dtype=x.dtype)
        for n in range(N):
            if n % resync == 0:  # exact sum now and then: no drift from the updates
                for c in range(Q):
                    cur[c] = x[i * Q + c]
                for j in range(L):
                    a = Xi[j, n]
                    if a < Q:
                        for c in range(Q):
                            cur[c] += Ti[j, a, c]
            else:
                for k in range(ptr[n - 1], ptr[n]):
                    j = cj[k]
                    a = cold[k]
                    b = cnew[k]
                    if a < Q:
                        for c in range(Q):
                            cur[c] -= Ti[j, a, c]
                    if b < Q:
                        for c in range(Q):
                            cur[c] += Ti[j, b, c]
            for c in range(Q):
                acc[n, c] = cur[c]
        # log-softmax, loss and dS = w (p - onehot), in place
        li = 0.0
        for n in range(N):
            xi = Xi[i, n]
            if xi >= Q:
                continue
            m = acc[n, 0]
            for c in range(1, Q):
                if acc[n, c] > m:
                    m = acc[n, c]
            wn = np.float64(w[n])
            li += wn * (m - acc[n, xi])
            s = 0.0
            for c in range(Q):
                e = np.exp(np.float64(acc[n, c]) - m)
                acc[n, c] = e
                s += e
            li += wn * np.log(s)
            f = wn / s
            for c in range(Q):
                acc[n, c] *= f
            acc[n, xi] -= wn
        loss[i] = li
        # gradient: a run rows s..e-1 of state a in column j adds P[e] - P[s], P = prefix sums
        # of dS (float64, so the differences are exact enough in float32)
        P = np.zeros((N + 1, Q))
        for n in range(N):
            if Xi[i, n] < Q:
                for c in range(Q):
                    P[n + 1, c] = P[n, c] + acc[n, c]
            else:
                for c in range(Q):
                    P[n + 1, c] = P[n, c]
        G = np.zeros((L, Q, Q), dtype=x.dtype)
        start = np.zeros(L, dtype=np.int64)
        for n in range(1, N):
            for k in range(ptr[n - 1], ptr[n]):
                j = cj[k]
                a = cold[k]
                if a < Q:
                    s0 = start[j]
                    for c in range(Q):
                        G[j, a, c] += P[n, c] - P[s0, c]
                start[j] = n
        for j in range(L):
            a = XN[j]
            if a < Q:
                s0 = start[j]
                for c in range(Q):
                    G[j, a, c] += P[N, c] - P[s0, c]
        for c in range(Q):
            g[i * Q + c] = P[N, c]
        for j in range(L):
            if j < i:
                off = pidx[j, i] * QQ
                for a in range(Q):
                    for c in range(Q):
                        B[off + a * Q + c] = G[j, a, c]
            elif j > i:
                off = nh + pidx[i, j] * QQ
                for a in range(Q):
                    for c in range(Q):
                        g[off + c * Q + a] = G[j, a, c]


@numba.njit(parallel=True, cache=True)
def _finish(x, g, B, nh, lambda_h, lambda_J):
    """``g += B`` (couplings) and the L2 gradient; returns the penalty (float64)."""
    pen_h = 0.0
    for k in numba.prange(nh):
        pen_h += np.float64(x[k]) * x[k]
        g[k] += 2.0 * lambda_h * x[k]
    pen_j = 0.0
    for k in numba.prange(B.shape[0]):
        v = x[nh + k]
        pen_j += np.float64(v) * v
        g[nh + k] += B[k] + 2.0 * lambda_J * v
    return lambda_h * pen_h + lambda_J * pen_j


class PLObjective:
    """Regularised weighted negative pseudo-log-likelihood on the CPU.

    Parameters
    ----------
    X : ``(N, L)`` integer codes, ``>= Q`` for a missing (ignored) position.
    w : ``(N,)`` sequence weights.
    Q : states modelled; lambda_h, lambda_J : L2 strengths (plmc convention, pairs counted once).
    dtype : float32 (fits) or float64 (gradient checks).

    Call ``f = obj(x, g)``: returns the objective (float) and writes its gradient into ``g``
    (both ``(L Q + P Q^2,)``).
    """

    def __init__(self, X, w, Q: int, lambda_h: float, lambda_J: float, dtype=np.float32):
        X = np.minimum(np.asarray(X), Q).astype(np.int32)
        self.N, self.L = X.shape
        self.Q = int(Q)
        self.dtype = np.dtype(dtype)
        order = chain_order(X.astype(np.uint8) if Q < 255 else X)
        X = X[order]
        self.w = np.ascontiguousarray(np.asarray(w)[order], dtype=self.dtype)
        self.X0, self.XN = X[0].copy(), X[-1].copy()
        self.Xi = np.ascontiguousarray(X.T)
        self.changes = chain_changes(X)
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
        if self._B is None:
            self._B = np.empty(self.size - self.nh, dtype=self.dtype)
        _site_pass(self.X0, self.XN, self.Xi, *self.changes, self.w, x, self.Q, self.pidx, g,
                   self._B, self._loss)
        pen = _finish(x, g, self._B, self.nh, self.lambda_h, self.lambda_J)
        self.n_evals += 1
        return float(self._loss.sum() + pen)

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
