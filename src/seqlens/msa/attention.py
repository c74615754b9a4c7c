"""Factored attention (Bhattacharya et al. 2021, "Single layers of attention suffice to predict
protein contacts"): a Potts model whose couplings are built from a few attention heads.

For head ``h`` with per-position queries ``Q_h`` ``(L, d)`` and keys ``K_h`` ``(L, d)``, the
attention map is ``A_h = softmax_j(Q_h[i] . K_h[j] / sqrt(d))`` (the diagonal ``j = i`` masked
out), and the value matrix ``V_h`` ``(q, q)`` is shared by all position pairs::

    W_ij(a, b) = sum_h A_h[i, j] V_h[a, b]

The couplings are symmetrised, ``J_ij(a, b) = (W_ij(a, b) + W_ji(b, a)) / 2``, so that the model
defines an energy ``E(x) = sum_i h_i(x_i) + sum_{i<j} J_ij(x_i, x_j)`` exactly like
:class:`seqlens.msa.Potts`, and is fitted with the same weighted pseudo-likelihood (same
``gaps`` conventions) plus ``lambda_h ||h||^2 + lambda_J sum_{i<j} ||J_ij||^2`` (L2 on the derived
couplings). Parameters: ``L q + H (2 L d + q^2)`` instead of ``L q + L (L - 1) / 2 q^2``.

After ``fit``, ``h_`` and ``J_`` have the Potts layout, so mutation effects (delta energy),
sampling and contacts (Frobenius + APC) work as for a Potts model.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from seqlens.errors import ParameterError
from seqlens.expressions import check_expression
from seqlens.msa.alignment import Alignment
from seqlens.msa.models import ThreadLimitedFit, resolve_device
from seqlens.msa.potts import LAMBDA_EXAMPLE, PottsLayout, lambda_J_value


def attention_maps(queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """``(H, L, d)`` queries and keys -> ``(H, L, L)`` row-softmax attention, zero diagonal."""
    H, L, d = queries.shape
    logits = torch.einsum("hid,hjd->hij", queries, keys) / math.sqrt(d)
    eye = torch.eye(L, dtype=torch.bool, device=queries.device)
    logits = logits.masked_fill(eye, float("-inf"))
    return torch.softmax(logits, dim=-1)


def factored_couplings(queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                       symmetric: bool = True) -> torch.Tensor:
    """Couplings ``(L, q, L, q)`` from queries/keys ``(H, L, d)`` and values ``(H, q, q)``.

    ``W[i, a, j, b] = sum_h A_h[i, j] V_h[a, b]``; with ``symmetric`` the result is
    ``(W + W^T) / 2`` with ``W^T[i, a, j, b] = W[j, b, i, a]``. Diagonal blocks are zero.
    """
    A = attention_maps(queries, keys)
    W = torch.einsum("hij,hab->iajb", A, values)
    if symmetric:
        W = 0.5 * (W + W.permute(2, 3, 0, 1))
    return W


class FactoredAttention(ThreadLimitedFit, PottsLayout):
    """Factored-attention Potts model fitted by weighted pseudo-likelihood.

    Parameters
    ----------
    n_heads : number of attention heads ``H``.
    head_size : query/key dimension ``d``.
    lambda_h : L2 on fields.
    lambda_J : L2 on the derived couplings (``sum_{i<j} ||J_ij||^2``); a number or a formula in
        ``q`` and ``L`` as for :class:`~seqlens.msa.Potts` (default ``"0.01*(q-1)*(L-1)"``).
    gaps : ``"ignore"`` (gap = missing, q-1 states) or ``"state"``.
    optimizer : ``"adam"`` (minibatches of ``batch_size`` unique sequences; None = full batch) or
        ``"lbfgs"`` (full batch; converges poorly from a random start, as the factored loss is not
        convex: on DHFR 100 iterations left P@L at 0.06).
    max_iter : Adam epochs (steps when full batch) or L-BFGS iterations. DHFR top-L precision
        (5 A, |i-j| >= 6): 32 heads 0.66 (20 epochs) / 0.65 (45); 128 heads 0.74 (20) / 0.78
        (40, the defaults, ~270 s on one core); 256 heads 0.75 (20).
    lr : Adam learning rate.
    identity : sequence-weight identity threshold.
    init_scale : standard deviation of the initial queries/keys (values start at 1/10 of it).
    device, random_state, verbose : as everywhere. n_threads : torch and numba threads for the
        fit (None: leave as set; on busy shared machines 1 is much faster than 2).

    Attributes (after fit)
    ----------------------
    h_ ``(L, Q)``, J_ ``(L, Q, L, Q)``, queries_ / keys_ ``(H, L, d)``, values_ ``(H, Q, Q)``,
    attention_ ``(H, L, L)``, n_parameters_, n_parameters_potts_, loss_, loss_history_, n_iter_,
    fit_seconds_, neff_, columns_, alphabet_.
    """

    def __init__(self, n_heads: int = 128, head_size: int = 16, lambda_h: float = 0.01,
                 lambda_J="0.01*(q-1)*(L-1)", gaps: str = "ignore", optimizer: str = "adam",
                 max_iter: int = 40, lr: float = 0.05, batch_size: int | None = 512,
                 identity: float | None = 0.8, init_scale: float = 0.3, device=None,
                 random_state=0, verbose: bool = False, n_threads: int | None = None):
        self.n_heads = n_heads
        self.head_size = head_size
        self.lambda_h = lambda_h
        self.lambda_J = lambda_J
        check_expression(lambda_J, LAMBDA_EXAMPLE, name="lambda_J", low=0.0)
        self.gaps = gaps
        self.optimizer = optimizer
        self.max_iter = max_iter
        self.lr = lr
        self.batch_size = batch_size
        self.identity = identity
        self.init_scale = init_scale
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads


    @staticmethod
    def parameter_count(L: int, Q: int, n_heads: int, head_size: int) -> int:
        """Fields + queries + keys + values."""
        return L * Q + n_heads * (2 * L * head_size + Q * Q)

    def _fit(self, msa: Alignment) -> FactoredAttention:
        """Fit on an :class:`Alignment`. Returns self."""
        from seqlens.msa.plm_torch import PseudoLikelihood

        if self.gaps not in ("ignore", "state"):
            raise ParameterError(f"FactoredAttention: gaps must be 'ignore' or 'state', got {self.gaps!r}")
        if self.optimizer not in ("adam", "lbfgs"):
            raise ParameterError(f"FactoredAttention: optimizer must be 'adam' or 'lbfgs', got "
                                 f"{self.optimizer!r}")
        t0 = time.perf_counter()
        device = resolve_device(self.device)
        gen = torch.Generator().manual_seed(int(self.random_state))
        N, L = msa.X.shape
        Q = msa.gap_code if self.gaps == "ignore" else msa.q
        w_np = msa.weights(self.identity)
        Xnp = msa.X.astype(np.int64)
        uniq, inverse = np.unique(Xnp, axis=0, return_inverse=True)
        w_u = np.bincount(inverse.reshape(-1), weights=w_np, minlength=len(uniq))
        X = torch.from_numpy(uniq).to(device)
        w = torch.tensor(w_u, dtype=torch.float32, device=device)
        lam_J = lambda_J_value(self.lambda_J, Q, L)
        H, d = self.n_heads, self.head_size

        present = uniq < Q
        counts = np.zeros((L, Q))
        for i in range(L):
            counts[i] = np.bincount(uniq[present[:, i], i], weights=w_u[present[:, i]], minlength=Q)
        h0 = np.log(counts + 1.0)
        h0 -= h0.mean(axis=1, keepdims=True)
        h = torch.tensor(h0, dtype=torch.float32, device=device, requires_grad=True)
        s = self.init_scale
        q_ = (torch.randn(H, L, d, generator=gen) * s).to(device).requires_grad_(True)
        k_ = (torch.randn(H, L, d, generator=gen) * s).to(device).requires_grad_(True)
        v_ = (torch.randn(H, Q, Q, generator=gen) * s * 0.1).to(device).requires_grad_(True)
        params = [h, q_, k_, v_]
        pad = torch.zeros(1, L * Q, device=device)

        def loss_on(pl, frac=1.0):
            Jc = factored_couplings(q_, k_, v_).reshape(L * Q, L * Q)
            Jfull = torch.cat([Jc, pad])
            total = 0.0
            for batch in pl.batches:
                total = total + pl.batch_loss(h, Jfull, batch)
            reg = self.lambda_h * (h * h).sum() + 0.5 * lam_J * (Jc * Jc).sum()
            return total + frac * reg

        history = []
        bar = None
        if self.verbose:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.max_iter, desc=f"factored attention {self.optimizer}")
        if self.optimizer == "lbfgs":
            pl = PseudoLikelihood(X, w, Q, self.batch_size)
            opt = torch.optim.LBFGS(params, lr=1.0, max_iter=self.max_iter, history_size=10,
                                    line_search_fn="strong_wolfe", tolerance_grad=1e-6,
                                    tolerance_change=1e-10)

            def closure():
                opt.zero_grad()
                loss = loss_on(pl)
                loss.backward()
                history.append(float(loss.detach()))
                if bar is not None:
                    bar.update(1)
                return loss

            opt.step(closure)
            n_iter = int(opt.state[opt._params[0]].get("n_iter", len(history)))
        else:
            opt = torch.optim.Adam(params, lr=self.lr)
            Nu = X.shape[0]
            bs = self.batch_size or Nu
            wsum = float(w.sum())
            pl_full = PseudoLikelihood(X, w, Q) if bs >= Nu else None
            for _ in range(self.max_iter):
                if pl_full is not None:
                    opt.zero_grad()
                    loss = loss_on(pl_full)
                    loss.backward()
                    opt.step()
                    history.append(float(loss.detach()))
                else:
                    perm = torch.randperm(Nu, generator=gen).to(device)
                    ep = 0.0
                    for start in range(0, Nu, bs):
                        sel = perm[start:start + bs]
                        pl = PseudoLikelihood(X[sel], w[sel], Q)
                        opt.zero_grad()
                        loss = loss_on(pl, float(w[sel].sum()) / wsum)
                        loss.backward()
                        opt.step()
                        ep += float(loss.detach())
                    history.append(ep)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{history[-1]:.1f}")
            n_iter = self.max_iter
        if bar is not None:
            bar.close()
        with torch.no_grad():
            pl = PseudoLikelihood(X, w, Q, self.batch_size)
            self.loss_ = float(loss_on(pl))
            J = factored_couplings(q_, k_, v_)
            self.attention_ = attention_maps(q_, k_).cpu().numpy()
        self.h_ = h.detach().cpu().numpy()
        self.J_ = J.cpu().numpy()
        self.queries_ = q_.detach().cpu().numpy()
        self.keys_ = k_.detach().cpu().numpy()
        self.values_ = v_.detach().cpu().numpy()
        self.loss_history_ = np.array(history)
        self.n_iter_ = n_iter
        self.Q_ = Q
        self.lambda_J_ = lam_J
        self.neff_ = float(w_np.sum())
        self.columns_ = msa.columns.copy()
        self.alignment_width_ = msa.width
        self.alphabet_ = msa.alphabet
        self.gap_code_ = msa.gap_code
        self.n_parameters_ = self.parameter_count(L, Q, H, d)
        self.n_parameters_potts_ = L * Q + L * (L - 1) // 2 * Q * Q
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    # ------------------------------------------------------------------ use (Potts-like)
    def sample(self, n: int, random_state=None, **kwargs) -> list[str]:
        """``n`` sequences by Gibbs sampling (:func:`seqlens.msa.sampling.sample`)."""
        from seqlens.msa.sampling import sample

        self._check_fitted()
        seed = self.random_state if random_state is None else random_state
        return sample(self, n, random_state=seed, **kwargs)
