"""Potts model (fields + pairwise couplings) fitted by weighted pseudo-likelihood.

Objective (plmc convention, minimised)::

    F(h, J) = - sum_n w_n sum_i log P(x_ni | x_n,-i)  +  lambda_h ||h||^2
              + lambda_J sum_{i<j} ||J_ij||^2

with ``P(a | rest) = softmax_a(h_i(a) + sum_{j != i} J_ij(a, x_j))``. The sum is *not* divided by
Neff. ``gaps="ignore"`` (plmc ``-g``) models only the q-1 residue states: gapped positions are
neither predicted nor used as context. ``gaps="state"`` keeps the gap as the q-th state.

Presets (``Potts(preset=...)``):

* ``"plmc"``: lambda_h 0.01, lambda_J 16 (absolute), gaps ignored, L-BFGS, 100 iterations
  (``plmc -le 16 -lh 0.01 -m 100 -g``);
* ``"evcouplings"``: as plmc but ``lambda_J = 0.01 * (q - 1) * (L - 1)`` (q counts the states
  modelled, so 20 for proteins with gaps ignored);
* ``"gremlin"``: lambda_h 0.01, ``lambda_J = 0.2 * (L - 1)`` (CCMpred/GREMLIN scale), gaps as a
  state, Adam on minibatches.

Identical sequences are merged (weights summed). On the CPU, L-BFGS fits do not load torch:
:mod:`seqlens.msa.plm_cpu` computes the value and the analytic gradient site by site in numba
(``dS = w (softmax - onehot)`` summed back into each ``(Q, Q)`` block, no ``(L Q, L Q)`` matrix)
and :mod:`seqlens.msa.lbfgs` runs L-BFGS with a strong-Wolfe line search on ``2 m + 3``
parameter-sized float32 vectors (DHFR, 5M parameters: ~260 MB; the objective's scratch is the
optimiser's idle vector). CUDA and Adam fits take the torch path of
:mod:`seqlens.msa.plm_torch` (embedding-bag logits and autograd).
"""

from __future__ import annotations

import time

import numpy as np

from seqlens.errors import FitMemoryError, ParameterError
from seqlens.expressions import check_expression, parse_expression
from seqlens.msa._threads import device_type, thread_limit
from seqlens.msa.alignment import Alignment
from seqlens.msa.models import MSAModel, ThreadLimitedFit
from seqlens.resources import available_memory

ROW_BYTES = 48.0  # bytes per alignment entry in the numba fit's estimate (see memory_estimate)
# typical alignment sizes at which a lambda_J formula is checked before the alignment is read
LAMBDA_EXAMPLE = {"q": 21.0, "L": 1013.0}


def lambda_J_value(lambda_J, Q: int, L: int) -> float:
    """The absolute coupling L2 strength: a number, or a formula in ``q`` and ``L`` (>= 0)."""
    return parse_expression(lambda_J, {"q": Q, "L": L}, name="lambda_J", low=0.0)

PRESETS = {
    "plmc": dict(lambda_h=0.01, lambda_J=16.0, gaps="ignore", optimizer="lbfgs", max_iter=100),
    "evcouplings": dict(lambda_h=0.01, lambda_J="0.01*(q-1)*(L-1)", gaps="ignore",
                        optimizer="lbfgs", max_iter=100),
    "gremlin": dict(lambda_h=0.01, lambda_J="0.2*(L-1)", gaps="state", optimizer="adam",
                    max_iter=100),
}


class PottsLayout(MSAModel):
    """Shared methods of models whose fitted state is Potts fields ``h_`` ``(L, Q)`` and couplings
    ``J_`` ``(L, Q, L, Q)`` (:class:`Potts`, :class:`~seqlens.msa.attention.FactoredAttention`)."""

    def couplings(self) -> np.ndarray:
        """``(L, Q, L, Q)`` couplings."""
        self._check_fitted()
        return self.J_

    def contacts(self, apc: bool = True, zero_sum_gauge: bool = False) -> np.ndarray:
        """``(L, L)`` Frobenius norms of the coupling blocks over residue states (gap excluded
        when modelled as a state), optionally in the zero-sum gauge, then APC."""
        from seqlens.msa.contacts import frobenius

        self._check_fitted()
        J = self.J_
        if self.gaps == "state":
            J = J[:, : self.Q_ - 1, :, : self.Q_ - 1]
        return frobenius(J, apc=apc, zero_sum_gauge=zero_sum_gauge)

    def energy(self, X: np.ndarray) -> np.ndarray:
        """``(N,)`` statistical energy ``sum_i h_i(x_i) + sum_{i<j} J_ij(x_i, x_j)`` of coded rows
        (gapped positions contribute 0 when gaps are ignored)."""
        self._check_fitted()
        X = np.asarray(X, dtype=np.int64)
        L, Q = self.h_.shape
        present = X < Q
        Xc = np.where(present, X, 0)
        e = (self.h_[np.arange(L), Xc] * present).sum(1)
        Jflat = self.J_.reshape(L * Q, L * Q)
        idx = np.arange(L) * Q + Xc
        for n in range(X.shape[0]):
            ids = idx[n][present[n]]
            e[n] += 0.5 * Jflat[np.ix_(ids, ids)].sum()
        return e

    def pseudo_log_likelihood(self, X: np.ndarray, batch_bytes: int = 2 ** 23) -> np.ndarray:
        """``(N,)`` pseudo-log-likelihood of coded rows under the fitted model:
        ``sum_i log softmax_a(h_i(a) + sum_{j != i} J_ij(a, x_j))[x_i]`` over the positions
        with a modelled state (codes ``>= Q``, ignored gaps, neither predicted nor context).
        NumPy: the context sums are a float32 product of one-hot rows with the ``(L Q, L Q)``
        couplings, in batches of about ``batch_bytes``; the softmax is float64."""
        self._check_fitted()
        X = np.asarray(X, dtype=np.int64)
        L, Q = self.h_.shape
        Jflat = self.J_.reshape(L * Q, L * Q)
        present = X < Q
        Xc = np.where(present, X, 0)
        flat = np.arange(L) * Q + Xc  # (N, L) one-hot positions
        out = np.zeros(len(X))
        step = max(1, batch_bytes // (4 * L * Q))
        for lo in range(0, len(X), step):
            sl = slice(lo, lo + step)
            n = len(flat[sl])
            onehot = np.zeros((n, L * Q), dtype=Jflat.dtype)
            rows = np.repeat(np.arange(n), L)
            onehot[rows, flat[sl].reshape(-1)] = present[sl].reshape(-1)
            e = (onehot @ Jflat).reshape(n, L, Q).astype(np.float64) + self.h_
            m = e.max(axis=2, keepdims=True)
            lse = m[..., 0] + np.log(np.exp(e - m).sum(axis=2))
            picked = np.take_along_axis(e, Xc[sl][..., None], axis=2)[..., 0]
            out[sl] = ((picked - lse) * present[sl]).sum(axis=1)
        return out

    def _score_codes(self, X: np.ndarray) -> np.ndarray:
        return self.pseudo_log_likelihood(X)

    def _delta_codes(self, wt: np.ndarray, mut: np.ndarray) -> np.ndarray:
        return self.energy(mut) - self.energy(wt)



class Potts(ThreadLimitedFit, PottsLayout):
    """Potts model by weighted pseudo-likelihood.

    Parameters
    ----------
    preset : ``"plmc"`` (default), ``"evcouplings"``, ``"gremlin"`` or None; explicit arguments
        override it.
    lambda_h : L2 strength on fields.
    lambda_J : L2 strength on couplings: a number (absolute, plmc ``-le``) or a formula string in
        ``q`` (states modelled) and ``L`` (columns), e.g. ``"0.01*(q-1)*(L-1)"``.
    gaps : ``"ignore"`` (gap = missing data, q-1 states) or ``"state"``.
    optimizer : ``"lbfgs"`` (full batch, strong-Wolfe line search) or ``"adam"`` (minibatches).
    max_iter : L-BFGS iterations or Adam epochs.
    identity : sequence-weight identity threshold (None: no weighting).
    batch_size : sequences per bag batch (memory); Adam minibatch size.
    lr : Adam learning rate.
    max_memory_gb : refuse to fit (with an estimate) when the parameters and working arrays would
        exceed this; None: the memory available now (or 80% of the GPU's), see
        :meth:`memory_limit`.
    device, random_state, verbose : as everywhere in seqlens.

    Attributes (after fit)
    ----------------------
    h_ : ``(L, Q)`` fields; J_ : ``(L, Q, L, Q)`` symmetric couplings (zero diagonal blocks);
    Q_ : states modelled; lambda_J_ : the absolute coupling strength used; neff_ ; n_iter_ ;
    loss_ ; fit_seconds_ ; columns_ (the alignment's column table); alphabet_.
    """

    def __init__(self, preset: str | None = "plmc", lambda_h=None, lambda_J=None, gaps=None,
                 optimizer=None, max_iter=None, identity: float | None = 0.8,
                 batch_size: int | None = 2048, lr: float = 0.01, history_size: int = 5,
                 max_memory_gb: float | None = None, device=None, random_state=0,
                 verbose: bool = False, n_threads: int | None = None):
        if preset is not None and preset not in PRESETS:
            raise ParameterError(f"Potts: unknown preset {preset!r}; choose one of {list(PRESETS)}")
        base = dict(PRESETS[preset or "plmc"])
        given = dict(lambda_h=lambda_h, lambda_J=lambda_J, gaps=gaps, optimizer=optimizer,
                     max_iter=max_iter)
        base.update({k: v for k, v in given.items() if v is not None})
        self.preset = preset
        self.lambda_h = base["lambda_h"]
        self.lambda_J = base["lambda_J"]
        self.gaps = base["gaps"]
        self.optimizer = base["optimizer"]
        self.max_iter = base["max_iter"]
        if self.gaps not in ("ignore", "state"):
            raise ParameterError(f"Potts: gaps must be 'ignore' or 'state', got {self.gaps!r}")
        if self.optimizer not in ("lbfgs", "adam"):
            raise ParameterError(f"Potts: optimizer must be 'lbfgs' or 'adam', got {self.optimizer!r}")
        check_expression(self.lambda_J, LAMBDA_EXAMPLE, name="lambda_J", low=0.0)
        self.identity = identity
        self.batch_size = batch_size
        self.lr = lr
        self.history_size = history_size
        self.max_memory_gb = max_memory_gb
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def memory_estimate(N: int, L: int, Q: int, batch_size: int | None = None,
                        optimizer: str = "lbfgs", history_size: int = 5,
                        backend: str = "torch", n_threads: int = 2) -> float:
        """Bytes needed to fit (on top of the Python runtime: ~150 MB for numpy and numba's
        compiler and runtime on the numba path).

        ``backend="numba"`` (CPU L-BFGS): ``2 m + 3`` float32 parameter vectors (x, gradient,
        direction, trial gradient, scratch, ``m`` pairs s/y) of ``L Q + L (L - 1) / 2 Q^2``
        values; per thread the tables of a group of ``S`` sites
        (:func:`~seqlens.msa.plm_cpu.sites_per_task`): two ``(L, Q + 1, S Q)`` and two
        ``(BLOCK_ROWS, S Q)``, float32; and the alignment as read and encoded, the rows in
        chain order and their changes with the index arrays that build them (``ROW_BYTES`` =
        48 bytes per entry of the ``(N, L)`` alignment; measured at L = 500, N = 3000, 60% of
        the entries changing between chained rows: 4 reading, 28 building the objective).
        E.g. ``N=4, L=3, Q=2``, one thread:
        ``13 x 18 x 4 + 2 (3 x 3 + 512) x 1 x 2 x 4 + 4 x 3 x 48 = 9848``. The peak of a
        process that fits is this plus its memory before reading (numpy, numba's compiler and
        runtime: ~150 MB). ``"torch"``: float32 couplings
        (+ gradient, optimiser state), the symmetric ``(L Q + 1, L Q)`` matrix and its gradient,
        and the logits of one batch (x6 for softmax and gradients).
        """
        params = (L * (L - 1) / 2 * Q * Q + L * Q) * 4.0  # packed parameters, float32
        if backend == "numba":
            from seqlens.msa.plm_cpu import BLOCK_ROWS, sites_per_task

            S = sites_per_task(L, Q, 4, n_threads)
            tables = 2 * (L * (Q + 1) + BLOCK_ROWS) * S * Q * 4.0
            return (params * (2 * history_size + 3) + min(n_threads, -(-L // S)) * tables
                    + N * L * ROW_BYTES)
        full = (L * Q + 1) * L * Q * 4.0  # symmetric matrix used by the bag sums (+ its gradient)
        copies = 2 + (2 * history_size + 4 if optimizer == "lbfgs" else 3)
        n = min(N, batch_size or N)
        return params * copies + 3 * full + n * L * Q * 4.0 * 6 + n * L * 8 * 4

    def check_memory(self, n_sequences: int, n_columns: int, q: int = 21) -> float:
        """Bytes a fit on ``n_sequences`` rows of ``n_columns`` model columns over ``q`` letters
        (gap included) needs; raises :class:`~seqlens.errors.FitMemoryError` with the estimate
        when it exceeds :meth:`memory_limit`. Cheap: call it with a file's dimensions
        (:func:`~seqlens.msa.alignment.alignment_dimensions`) before reading."""
        Q = q - 1 if self.gaps == "ignore" else q
        return self._check_memory(int(n_sequences), int(n_columns), Q, device_type(self.device))

    def memory_limit(self, kind: str | None = None) -> tuple[float, str]:
        """``(bytes, what)``: the memory a fit may use: ``max_memory_gb``, else 80% of the
        GPU's memory (CUDA), else the memory available now (Linux ``MemAvailable``; 80% of the
        machine's memory where that cannot be read)."""
        kind = device_type(self.device) if kind is None else kind
        if self.max_memory_gb is not None:
            return self.max_memory_gb * 1e9, "max_memory_gb"
        if kind == "cuda":
            import torch

            from seqlens.msa.models import resolve_device

            props = torch.cuda.get_device_properties(resolve_device(self.device))
            return 0.8 * props.total_memory, "80% of the GPU's memory"
        return available_memory()

    def _backend(self, kind: str) -> str:
        """``"numba"`` (CPU L-BFGS, no torch) or ``"torch"`` for a device of type ``kind``."""
        return "numba" if kind == "cpu" and self.optimizer == "lbfgs" else "torch"

    def _threads(self, backend: str) -> int:
        if self.n_threads:
            return self.n_threads
        if backend == "numba":
            import numba

            return numba.get_num_threads()
        import torch

        return torch.get_num_threads()

    def _check_memory(self, N, L, Q, kind: str):
        backend = self._backend(kind)
        need = self.memory_estimate(N, L, Q, self.batch_size, self.optimizer, self.history_size,
                                    backend, self._threads(backend))
        limit, what = self.memory_limit(kind)
        if need > limit:
            torch_path = backend == "torch"
            batch = f", batch of {min(N, self.batch_size or N)} sequences" if torch_path else ""
            raise FitMemoryError(
                f"Potts fit needs about {need / 1e9:.3g} GB (L={L} columns x Q={Q} states: "
                f"{L * L * Q * Q / 1e6:.0f}M couplings, float32, {self.optimizer} state{batch}) "
                f"but the limit is {limit / 1e9:.3g} GB ({what}); use fewer columns (focus "
                f"mode, gap filters), a smaller history_size (L-BFGS keeps 2 x history_size "
                f"copies of the parameters)"
                + (", a smaller batch_size or optimizer='adam'" if torch_path else "")
            )
        return need

    def _encode(self, X: np.ndarray, gap_code: int) -> tuple[np.ndarray, int]:
        """Codes (the alignment's small integers, not copied) and the states modelled."""
        if self.gaps == "ignore":
            return X, gap_code  # gap code == Q -> missing
        return X, gap_code + 1

    # ------------------------------------------------------------------ fit
    def _fit(self, msa: Alignment) -> Potts:
        """Fit on an :class:`Alignment` (weights at ``identity``). Returns self."""
        t0 = time.perf_counter()
        kind = device_type(self.device)
        N, L = msa.X.shape
        Xnp, Q = self._encode(msa.X, msa.gap_code)
        self._check_memory(N, L, Q, kind)
        w_np = msa.weights(self.identity)
        # merge identical rows (their weights add up)
        uniq, inverse = np.unique(Xnp, axis=0, return_inverse=True)
        w_u = np.bincount(inverse.reshape(-1), weights=w_np, minlength=len(uniq))
        lam_J = lambda_J_value(self.lambda_J, Q, L)
        self.lambda_J_ = lam_J
        self.Q_ = Q
        self.neff_ = float(w_np.sum())
        self.columns_ = msa.column_table()
        self.alignment_width_ = msa.width
        self.alphabet_ = msa.alphabet
        self.gap_code_ = msa.gap_code

        # field initialisation as plmc: log(f * Neff + 1), zero-sum
        present = uniq < Q
        counts = np.zeros((L, Q))
        for i in range(L):
            counts[i] = np.bincount(uniq[present[:, i], i], weights=w_u[present[:, i]], minlength=Q)
        h0 = np.log(counts + 1.0)
        h0 -= h0.mean(axis=1, keepdims=True)
        if self._backend(kind) == "numba":
            self._fit_numba(uniq, w_u, Q, h0, lam_J)
        else:
            with thread_limit(self.n_threads, torch_threads=True):
                self._fit_torch(uniq, w_u, Q, h0, lam_J)
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _fit_torch(self, uniq: np.ndarray, w_u: np.ndarray, Q: int, h0: np.ndarray, lam_J: float):
        """L-BFGS or Adam on the torch pseudo-likelihood (:mod:`seqlens.msa.plm_torch`)."""
        import torch

        from seqlens.msa.models import resolve_device
        from seqlens.msa.plm_torch import PseudoLikelihood, build_couplings, pair_index

        device = resolve_device(self.device)
        torch.manual_seed(self.random_state)
        L = uniq.shape[1]
        X = torch.from_numpy(uniq.astype(np.int64)).to(device)
        w = torch.tensor(w_u, dtype=torch.float32, device=device)
        h = torch.tensor(h0, dtype=torch.float32, device=device, requires_grad=True)
        index = pair_index(L, Q, device=device)
        theta = torch.zeros(L * (L - 1) // 2 * Q * Q, dtype=torch.float32, device=device,
                            requires_grad=True)

        if self.optimizer == "lbfgs":
            pl = PseudoLikelihood(X, w, Q, self.batch_size)
            self.loss_, self.n_iter_ = self._fit_lbfgs(pl, h, theta, index, lam_J)
        else:
            self.loss_, self.n_iter_ = self._fit_adam(X, w, Q, h, theta, index, lam_J)
        with torch.no_grad():
            Jm = build_couplings(theta, index, L, Q)[:-1].cpu().numpy().reshape(L, Q, L, Q)
        self.h_ = h.detach().cpu().numpy()
        self.J_ = Jm

    def _fit_numba(self, X: np.ndarray, w: np.ndarray, Q: int, h0: np.ndarray, lam_J: float):
        """CPU L-BFGS on the numba pseudo-likelihood (see the module docstring)."""
        from seqlens.msa import lbfgs
        from seqlens.msa.plm_cpu import PLObjective, unpack_couplings

        L = X.shape[1]
        obj = PLObjective(X, w, Q, self.lambda_h, lam_J)
        x = np.zeros(obj.size, dtype=np.float32)
        x[: L * Q] = h0.reshape(-1)
        bar = _progress(self.verbose, self.max_iter, "Potts L-BFGS")

        def callback(it, loss):
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.1f}")

        res = lbfgs.minimize(obj, x, max_iter=self.max_iter,
                             max_eval=int(self.max_iter * 1.5) + 5,
                             history_size=self.history_size, tolerance_grad=1e-5,
                             tolerance_change=1e-9, callback=callback, lend=obj.lend,
                             fun_slope=obj.value_and_slope)
        if bar is not None:
            bar.close()
        obj.release()
        self.loss_, self.n_iter_, self.n_evals_ = res.fun, res.n_iter, res.n_evals
        self.h_ = x[: L * Q].reshape(L, Q).copy()
        self.J_ = unpack_couplings(x[L * Q:], L, Q)

    def _fit_lbfgs(self, pl, h, theta, index, lam_J):
        import torch

        from seqlens.msa.plm_torch import objective

        L, Q = h.shape
        buffer = theta.new_zeros(L * Q + 1, L * Q)
        opt = torch.optim.LBFGS([h, theta], lr=1.0, max_iter=self.max_iter,
                                max_eval=int(self.max_iter * 1.5) + 5,
                                history_size=self.history_size, line_search_fn="strong_wolfe",
                                tolerance_grad=1e-5, tolerance_change=1e-9)
        bar = _progress(self.verbose, self.max_iter, "Potts L-BFGS")
        n_eval = [0]

        def closure():
            opt.zero_grad()
            loss = objective(pl, h, theta, index, self.lambda_h, lam_J, buffer)
            n_eval[0] += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{float(loss):.1f}")
            return loss

        loss = opt.step(closure)
        if bar is not None:
            bar.close()
        state = opt.state[opt._params[0]]
        return float(loss), int(state.get("n_iter", n_eval[0]))

    def _fit_adam(self, X, w, Q, h, theta, index, lam_J):
        import torch

        from seqlens.msa.plm_torch import PseudoLikelihood, objective

        N = X.shape[0]
        L = h.shape[0]
        bs = self.batch_size or min(N, 1024)
        gen = torch.Generator().manual_seed(self.random_state)
        opt = torch.optim.Adam([h, theta], lr=self.lr)
        buffer = theta.new_zeros(L * Q + 1, L * Q)
        wsum = float(w.sum())
        loss_val = float("nan")
        bar = _progress(self.verbose, self.max_iter, "Potts Adam")
        for _ in range(self.max_iter):
            perm = torch.randperm(N, generator=gen).to(X.device)
            for start in range(0, N, bs):
                sel = perm[start:start + bs]
                pl = PseudoLikelihood(X[sel], w[sel], Q)
                frac = float(w[sel].sum()) / wsum  # the penalty is shared out over minibatches
                opt.zero_grad()
                loss_val = float(objective(pl, h, theta, index, self.lambda_h * frac, lam_J * frac,
                                           buffer))
                opt.step()
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        return loss_val, self.max_iter

    # ------------------------------------------------------------------ use
    def sample(self, n: int, n_sweeps: int = 200, random_state=None) -> list[str]:
        """``n`` sequences by Gibbs sampling (``n_sweeps`` sweeps from uniform random starts)."""
        self._check_fitted()
        rng = np.random.default_rng(self.random_state if random_state is None else random_state)
        L, Q = self.h_.shape
        Jflat = self.J_.reshape(L * Q, L * Q)
        X = rng.integers(0, Q, size=(n, L))
        for _ in range(n_sweeps):
            for i in range(L):
                idx = np.arange(L) * Q + X
                field = self.h_[i][None, :] + Jflat[idx, i * Q:(i + 1) * Q].sum(1)
                p = np.exp(field - field.max(1, keepdims=True))
                p /= p.sum(1, keepdims=True)
                u = rng.random((n, 1))
                X[:, i] = np.minimum((p.cumsum(1) < u).sum(1), Q - 1)
        return self._decode(X)


def _progress(verbose, total, desc):
    if not verbose:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc)
