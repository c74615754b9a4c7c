"""Sampling sequences from sequence-family models, and comparing samples with the natural MSA.

Potts convention (as plmc and :class:`seqlens.msa.Potts`): ``P(x) ∝ exp(E(x) / T)`` with
``E(x) = sum_i h_i(x_i) + sum_{i<j} J_ij(x_i, x_j)``; ``T`` is the sampling temperature (``T < 1``
concentrates on low-energy, i.e. "fitter", sequences).

* :func:`sample_potts`: Gibbs (heat-bath, site by site) or Metropolis (uniform proposal)
  Markov chains run in parallel, with fixed positions, burn-in and thinning; vectorised over
  chains with the local fields ``F[c, i, a] = h_i(a) + sum_j J_ij(a, x_cj)`` kept up to date.
* :func:`sample` dispatches on the model (Potts / factored attention / VAE / PSSM).
* :func:`exact_marginals` enumerates all ``Q**L`` sequences of a small model (tests).
* :func:`sample_statistics`: single-site frequency correlation, pairwise connected-correlation
  correlation, and the mean Hamming distance of each sample to its nearest natural sequence.
"""

from __future__ import annotations

import itertools

import numba
import numpy as np

from seqlens.errors import ParameterError
from seqlens.msa.mutations import _wildtype_codes


def _fixed_array(fixed, L: int) -> np.ndarray:
    """``{column: code}`` / ``(L,)`` array with -1 for free columns -> ``(L,)`` int array."""
    out = np.full(L, -1, dtype=np.int64)
    if fixed is None:
        return out
    if isinstance(fixed, dict):
        for k, v in fixed.items():
            if not 0 <= int(k) < L:
                raise ParameterError(f"fixed: column {k} outside 0..{L - 1}")
            out[int(k)] = int(v)
        return out
    arr = np.asarray(fixed, dtype=np.int64)
    if arr.shape != (L,):
        raise ParameterError(f"fixed must be a dict or an (L,)={L} array with -1 for free columns")
    return arr


def sample_potts(h: np.ndarray, J: np.ndarray, n: int, temperature: float = 1.0,
                 method: str = "gibbs", fixed=None, burn_in: int = 200, thin: int = 5,
                 n_chains: int | None = None, init: np.ndarray | None = None,
                 random_state=0, verbose: bool = False, return_energy: bool = False):
    """Sample ``n`` sequences from a Potts model with parallel Markov chains.

    Parameters
    ----------
    h : ``(L, Q)`` fields. J : ``(L, Q, L, Q)`` symmetric couplings, zero diagonal blocks.
    n : number of sequences returned.
    temperature : ``T`` in ``exp(E / T)``.
    method : ``"gibbs"`` (exact conditional draw at each site) or ``"metropolis"`` (uniform
        proposal of a different state, accepted with ``min(1, exp(dE / T))``).
    fixed : ``{column: code}`` or an ``(L,)`` array (-1 = free): columns held at a state.
    burn_in : sweeps (one update per free site) discarded before collecting.
    thin : sweeps between two collected samples of the same chain.
    n_chains : parallel chains (default ``min(n, 256)``); each gives ``ceil(n / n_chains)``
        samples.
    init : ``(n_chains, L)`` or ``(L,)`` starting codes (default uniform random).
    random_state, verbose : as everywhere.
    return_energy : also return the ``(n,)`` energies.

    Returns
    -------
    ``(n, L)`` int64 codes (and energies).
    """
    if method not in ("gibbs", "metropolis"):
        raise ParameterError(f"method must be 'gibbs' or 'metropolis', got {method!r}")
    if temperature <= 0:
        raise ParameterError(f"temperature must be > 0, got {temperature}")
    h = np.asarray(h, dtype=np.float64)
    L, Q = h.shape
    J = np.ascontiguousarray(np.asarray(J, dtype=np.float64).reshape(L, Q, L, Q))
    rng = np.random.default_rng(random_state)
    C = int(n_chains or min(n, 256))
    per_chain = -(-n // C)
    fixed = _fixed_array(fixed, L)
    if init is None:
        X = rng.integers(0, Q, size=(C, L))
    else:
        X = np.array(np.broadcast_to(np.asarray(init, dtype=np.int64), (C, L)))
    X[:, fixed >= 0] = fixed[fixed >= 0]
    if (X < 0).any() or (X >= Q).any():
        raise ParameterError(f"initial / fixed codes must be in 0..{Q - 1}")
    free = np.flatnonzero(fixed < 0)
    F = _local_fields(h, J, X)  # (C, L, Q); J[i, a] is the (L, Q) change when site i takes a
    beta = 1.0 / temperature
    total = burn_in + (per_chain - 1) * thin + 1
    out = []
    bar = None
    if verbose:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=f"Potts {method}")
    rows = np.arange(C)
    for sweep in range(total):
        for i in rng.permutation(free):
            old = X[:, i].copy()
            if method == "gibbs":
                logit = beta * F[:, i, :]
                p = np.exp(logit - logit.max(axis=1, keepdims=True))
                cum = p.cumsum(axis=1)
                u = rng.random((C, 1)) * cum[:, -1:]
                new = np.minimum((cum < u).sum(axis=1), Q - 1)
            else:
                prop = (old + rng.integers(1, Q, size=C)) % Q
                dE = F[rows, i, prop] - F[rows, i, old]
                accept = np.log(rng.random(C)) < beta * dE
                new = np.where(accept, prop, old)
            changed = np.flatnonzero(new != old)
            if len(changed):
                F[changed] += J[i, new[changed]] - J[i, old[changed]]
                X[changed, i] = new[changed]
        if sweep >= burn_in and (sweep - burn_in) % thin == 0:
            out.append(X.copy())
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    S = np.stack(out, axis=1).reshape(-1, L)[:n]  # chain-major: chain 0's samples first
    if return_energy:
        return S, potts_energy(h, J, S)
    return S


def _local_fields(h, J, X):
    L, Q = h.shape
    C = X.shape[0]
    Jf = J.reshape(L, Q, L * Q)  # J[j, x_j] rows
    F = np.repeat(h[None], C, axis=0).reshape(C, L * Q).copy()
    for j in range(L):
        F += Jf[j, X[:, j]]
    return F.reshape(C, L, Q)


def potts_energy(h: np.ndarray, J: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``(N,)`` energies ``sum_i h_i(x_i) + sum_{i<j} J_ij(x_i, x_j)`` of ``(N, L)`` codes < Q."""
    L, Q = h.shape
    X = np.asarray(X, dtype=np.int64)
    e = h[np.arange(L), X].sum(axis=1)
    F = _local_fields(np.zeros_like(h), J, X)  # sum_j J_ij(a, x_j)
    e += 0.5 * F[np.arange(len(X))[:, None], np.arange(L)[None], X].sum(axis=1)
    return e


def exact_marginals(h: np.ndarray, J: np.ndarray, temperature: float = 1.0
                    ) -> tuple[np.ndarray, np.ndarray, float]:
    """Exact ``fi`` ``(L, Q)``, ``fij`` ``(L, Q, L, Q)`` and ``log Z`` by enumerating ``Q**L``
    sequences (refuses above 2 million)."""
    L, Q = h.shape
    if Q ** L > 2_000_000:
        raise ValueError(f"{Q}**{L} sequences are too many to enumerate")
    X = np.array(list(itertools.product(range(Q), repeat=L)), dtype=np.int64)
    logw = potts_energy(h, J, X) / temperature
    m = logw.max()
    p = np.exp(logw - m)
    Z = p.sum()
    p /= Z
    oh = np.zeros((len(X), L, Q))
    oh[np.arange(len(X))[:, None], np.arange(L)[None], X] = 1.0
    fi = np.einsum("n,nia->ia", p, oh)
    fij = np.einsum("n,nia,njb->iajb", p, oh, oh)
    return fi, fij, float(np.log(Z) + m)


# ---------------------------------------------------------------------------- dispatch
def sample(model, n: int, random_state=0, **kwargs) -> list[str]:
    """``n`` sequences (strings over the model columns) from a fitted model.

    Potts / factored attention (``h_``, ``J_``): :func:`sample_potts` (``kwargs`` go to it; a
    Potts that ignores gaps never emits them). Models with their own ``sample`` (VAE: ancestral
    sampling; PSSM: column by column) use it.
    """
    if hasattr(model, "h_") and hasattr(model, "J_"):
        fixed = kwargs.pop("fixed", None)
        if fixed is not None and isinstance(fixed, (list, tuple)) and fixed and isinstance(fixed[0], int):
            wt = _wildtype_codes(model)
            fixed = {int(k): int(wt[k]) for k in fixed}  # keep these columns at the wild type
        X = sample_potts(model.h_, model.J_, n, fixed=fixed, random_state=random_state, **kwargs)
        letters = np.array(list(model.alphabet_.letters))
        return ["".join(r) for r in letters[X]]
    if hasattr(model, "sample"):
        return model.sample(n, random_state=random_state, **kwargs)
    raise TypeError(f"{type(model).__name__} cannot sample")


# ---------------------------------------------------------------------------- statistics
def _freqs(X: np.ndarray, q: int, w: np.ndarray | None = None):
    N, L = X.shape
    w = np.ones(N) if w is None else np.asarray(w, dtype=np.float64)
    oh = np.zeros((N, L * q), dtype=np.float32)
    oh[np.repeat(np.arange(N), L), (np.arange(L) * q + X).reshape(-1)] = 1.0
    ws = w / w.sum()
    fi = (ws.astype(np.float32) @ oh).astype(np.float64)
    fij = ((oh * ws[:, None].astype(np.float32)).T @ oh).astype(np.float64)
    return fi.reshape(L, q), fij.reshape(L, q, L, q)


def connected_correlations(fi: np.ndarray, fij: np.ndarray) -> np.ndarray:
    """``C_ij(a, b) = f_ij(a, b) - f_i(a) f_j(b)`` for ``i < j``, flattened."""
    L, q = fi.shape
    C = fij - fi[:, :, None, None] * fi[None, None, :, :]
    ii, jj = np.triu_indices(L, 1)
    return C[ii, :, jj, :].reshape(-1)


@numba.njit(parallel=True, cache=True)
def _nearest_hamming(S, X):
    n, L = S.shape
    out = np.empty(n, dtype=np.int64)
    for s in numba.prange(n):
        best = L
        for t in range(X.shape[0]):
            d = 0
            for k in range(L):
                if S[s, k] != X[t, k]:
                    d += 1
                    if d >= best:
                        break
            if d < best:
                best = d
                if best == 0:
                    break
        out[s] = best
    return out


def nearest_hamming(samples: np.ndarray, natural: np.ndarray) -> np.ndarray:
    """``(n,)`` Hamming distance of each sample row to its nearest natural row (codes)."""
    S = np.ascontiguousarray(samples, dtype=np.uint8)
    X = np.ascontiguousarray(natural, dtype=np.uint8)
    return _nearest_hamming(S, X)


def sample_statistics(samples: np.ndarray, natural: np.ndarray, q: int,
                      weights: np.ndarray | None = None) -> dict[str, float]:
    """Compare sampled and natural sequences (``(n, L)`` and ``(N, L)`` codes in ``0..q-1``).

    Returns
    -------
    ``single_site_correlation`` (Pearson r of the ``L q`` frequencies, natural ones weighted by
    ``weights``), ``pair_correlation`` (Pearson r of the connected correlations ``C_ij(a, b)``,
    ``i < j``), ``single_site_mae``, ``mean_nearest_hamming`` (count) and
    ``mean_nearest_identity`` (``1 - hamming / L``), ``n_samples``.
    """
    samples = np.asarray(samples)
    natural = np.asarray(natural)
    L = natural.shape[1]
    fs, fijs = _freqs(samples, q)
    fn, fijn = _freqs(natural, q, weights)
    cs, cn = connected_correlations(fs, fijs), connected_correlations(fn, fijn)
    ham = nearest_hamming(samples, natural)
    return {
        "single_site_correlation": float(np.corrcoef(fs.ravel(), fn.ravel())[0, 1]),
        "single_site_mae": float(np.abs(fs - fn).mean()),
        "pair_correlation": float(np.corrcoef(cs, cn)[0, 1]),
        "mean_nearest_hamming": float(ham.mean()),
        "mean_nearest_identity": float(1.0 - ham.mean() / L),
        "n_samples": int(len(samples)),
    }
