"""Surrogate models of a network's output around a sequence (PyTorch, CPU).

Genotype-phenotype maps on a window of ``L`` positions and ``A`` letters:

* additive: ``phi(x) = theta_0 + sum_l theta_l(x_l)``;
* pairwise: additionally ``sum_{l < l'} theta_{l l'}(x_l, x_l')``.

:class:`Surrogate` adds a global-epistasis (GE) link ``y_hat = g(phi)`` with ``g`` a learned
monotone sum of sigmoids, ``g(phi) = a + sum_k b_k sigmoid(c_k phi + d_k)`` with ``b_k, c_k > 0``,
and a noise model for ``y`` around ``y_hat``: ``"gaussian"``, ``"heteroscedastic"`` (Gaussian
whose log standard deviation is a quadratic in ``y_hat``) or ``"skewt"`` (the skewed t of Jones
& Faddy 2003, with its mode at ``y_hat``). ``link="linear"`` gives the linear-regression baseline
``y_hat = phi``. Training: Adam on the negative log-likelihood plus ``l2 * ||theta||^2``,
early stopping on a held-out split, best weights kept, duplicate ``(x, y)`` pairs dropped.

:class:`RidgeSurrogate` is the ridge-regression baseline (closed form on one-hot features, alpha
chosen by K-fold cross-validation from sufficient statistics, so it never holds the feature
matrix).

After fitting, every surrogate is put in a gauge (:func:`fix_gauge`): ``"empirical"`` (each
``theta_l`` and each pairwise block has zero mean under the library's letter frequencies),
``"uniform"`` (same with uniform frequencies) or ``"wild_type"`` (every entry involving a
wild-type letter is zero, so ``theta_0 = phi(wild type)`` and ``theta_l(c)`` is the effect of the
single mutant). The GE ``phi`` is also normalised to mean 0 and standard deviation 1 on the training
variants, so that parameters of different fits are comparable. Gauge changes leave ``phi``
unchanged.

Learned attributes: ``theta_0_``, ``theta_lc_`` ``(L, A)``, ``theta_lclc_`` ``(L, L, A, A)``
(pairwise; entries with ``l >= l'`` are zero), ``wild_type_`` ``(L,)`` codes or ``None``,
``letter_frequencies_`` ``(L, A)``, ``history_`` (per-epoch losses), ``n_train_``, ``n_duplicates_``.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from seqlens.alphabet import DNA, Alphabet, get_alphabet
from seqlens.errors import SeqlensError
from seqlens.interpret.surrogate.library import one_hot_to_codes
from seqlens.interpret.surrogate.quality import fit_quality

KINDS = ("additive", "pairwise")
LINKS = ("ge", "linear")
NOISES = ("gaussian", "heteroscedastic", "skewt")
GAUGES = ("empirical", "uniform", "wild_type", "none")
DEFAULT_ALPHAS = tuple(float(a) for a in np.logspace(-3, 4, 15))


# ----------------------------------------------------------------------------------------------
# input handling


def as_codes(X, n_letters: int | None = None) -> np.ndarray:
    """Integer codes ``(N, L)`` from one-hot ``(N, A, L)`` or from codes themselves."""
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    X = np.asarray(X)
    if X.ndim == 2 and np.issubdtype(X.dtype, np.integer):
        codes = X.astype(np.int64)
        if n_letters is not None and (codes.min(initial=0) < 0 or codes.max(initial=0) >= n_letters):
            raise SeqlensError(f"letter codes must lie in [0, {n_letters}), got {codes.min()}..{codes.max()}")
        return codes
    if X.ndim != 3:
        raise SeqlensError(f"expected one-hot (N, A, L) or integer codes (N, L), got shape {X.shape}")
    if n_letters is not None and X.shape[1] != n_letters:
        raise SeqlensError(f"expected {n_letters} letters on axis 1, got {X.shape[1]}")
    return one_hot_to_codes(X, "X").astype(np.int64)


def _pairs(L: int) -> np.ndarray:
    i, j = np.triu_indices(L, k=1)
    return np.stack([i, j], axis=1)


def deduplicate(codes: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Drop repeated ``(x, y)`` pairs (keeping first occurrences, in order). Returns
    ``(codes, y, n_dropped)``. Identical sequences with different ``y`` (e.g. the same window in
    different global-mode flanks) are kept."""
    key = np.concatenate([codes.astype(np.int64), y.view(np.int64)[:, None]], axis=1)
    _, first = np.unique(key, axis=0, return_index=True)
    first = np.sort(first)
    return codes[first], y[first], len(codes) - len(first)


# ----------------------------------------------------------------------------------------------
# gauge fixing


def gauge_probabilities(gauge: str, L: int, A: int, codes=None, wild_type=None) -> np.ndarray:
    """``(L, A)`` letter probabilities defining a gauge: ``"uniform"``, ``"empirical"`` (frequencies
    in ``codes``) or ``"wild_type"`` (a point mass on ``wild_type``)."""
    if gauge == "uniform":
        return np.full((L, A), 1.0 / A)
    if gauge == "empirical":
        if codes is None:
            raise SeqlensError("the empirical gauge needs the variants (codes)")
        counts = np.stack([np.bincount(codes[:, l], minlength=A) for l in range(L)]).astype(np.float64)
        return counts / counts.sum(1, keepdims=True)
    if gauge == "wild_type":
        if wild_type is None:
            raise SeqlensError("the wild-type gauge needs wild_type")
        p = np.zeros((L, A))
        p[np.arange(L), np.asarray(wild_type, dtype=np.int64)] = 1.0
        return p
    raise SeqlensError(f"gauge must be one of {GAUGES[:3]}, got {gauge!r}")


def fix_gauge(theta_0: float, theta_lc: np.ndarray, theta_lclc: np.ndarray | None, p: np.ndarray):
    """Move a parameter set into the hierarchical gauge defined by letter probabilities ``p`` (L, A).

    Afterwards ``sum_b p_{l'}(b) theta_{ll'}(a, b) = sum_a p_l(a) theta_{ll'}(a, b) = 0`` and
    ``sum_a p_l(a) theta_l(a) = 0``; the removed parts move to lower orders, so ``phi`` of every
    sequence is unchanged. With ``p`` a point mass on the wild type all wild-type entries are zero.

    Returns ``(theta_0, theta_lc, theta_lclc)`` (new arrays).
    """
    th0 = float(theta_0)
    lc = np.array(theta_lc, dtype=np.float64)
    lclc = None
    if theta_lclc is not None:
        T = np.array(theta_lclc, dtype=np.float64)  # (L, L, A, A), used for l < l'
        L = T.shape[0]
        iu = np.triu(np.ones((L, L), dtype=bool), k=1)
        T[~iu] = 0.0
        # r[l, l', b] = sum_a p_l(a) T(a, b);  c[l, l', a] = sum_b p_l'(b) T(a, b)
        r = np.einsum("ia,ijab->ijb", p, T)
        c = np.einsum("jb,ijab->ija", p, T)
        m = np.einsum("ia,jb,ijab->ij", p, p, T)
        T = T - r[:, :, None, :] - c[:, :, :, None] + m[:, :, None, None]
        T[~iu] = 0.0
        lc += (c - m[:, :, None]).sum(axis=1)   # theta_l(a) += c_{l l'}(a) - m over l' > l
        lc += (r - m[:, :, None]).sum(axis=0)   # theta_l'(b) += r_{l l'}(b) - m over l < l'
        th0 += float(m.sum())
        lclc = T
    mu = (p * lc).sum(1)
    lc -= mu[:, None]
    th0 += float(mu.sum())
    return th0, lc, lclc


# ----------------------------------------------------------------------------------------------
# torch modules


class _GPMap(nn.Module):
    """phi(codes) for additive or pairwise maps; codes ``(B, L)`` long."""

    def __init__(self, L: int, A: int, pairwise: bool):
        super().__init__()
        self.L, self.A = L, A
        self.theta_0 = nn.Parameter(torch.zeros(()))
        self.theta_lc = nn.Parameter(torch.zeros(L, A))
        self.register_buffer("offset", torch.arange(L) * A)
        self.pairwise = pairwise
        if pairwise:
            pairs = torch.as_tensor(_pairs(L))
            self.register_buffer("pi", pairs[:, 0].contiguous())
            self.register_buffer("pj", pairs[:, 1].contiguous())
            self.register_buffer("poff", torch.arange(len(pairs)) * A * A)
            self.theta_pair = nn.Parameter(torch.zeros(len(pairs), A, A))

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        phi = self.theta_0 + self.theta_lc.reshape(-1)[codes + self.offset].sum(1)
        if self.pairwise:
            idx = self.poff + codes[:, self.pi] * self.A + codes[:, self.pj]
            phi = phi + self.theta_pair.reshape(-1)[idx].sum(1)
        return phi

    def penalty(self) -> torch.Tensor:
        pen = (self.theta_lc ** 2).sum()
        if self.pairwise:
            pen = pen + (self.theta_pair ** 2).sum()
        return pen


class _SigmoidSum(nn.Module):
    """Monotone increasing g(phi) = a + sum_k softplus(rb_k) sigmoid(softplus(rc_k) phi + d_k)."""

    def __init__(self, K: int, y_low: float, y_high: float, phi_range=(-2.5, 2.5)):
        super().__init__()
        centers = torch.linspace(phi_range[0], phi_range[1], K)
        slope = 4.0 * K / (phi_range[1] - phi_range[0]) / 2.0
        span = max(y_high - y_low, 1e-3)
        self.a = nn.Parameter(torch.tensor(float(y_low)))
        self.rb = nn.Parameter(torch.full((K,), math.log(math.expm1(span / K))))
        self.rc = nn.Parameter(torch.full((K,), math.log(math.expm1(slope))))
        self.d = nn.Parameter(-slope * centers)

    def forward(self, phi: torch.Tensor) -> torch.Tensor:
        b, c = F.softplus(self.rb), F.softplus(self.rc)
        return self.a + (b * torch.sigmoid(phi[:, None] * c + self.d)).sum(1)


class _Identity(nn.Module):
    def forward(self, phi):
        return phi


def _skewt_logpdf(t, a, b):
    """log density of the Jones-Faddy skewed t at t (a, b > 0), numerically stable."""
    s = a + b
    r = torch.sqrt(s + t * t)
    lp = torch.log(r + t.abs())
    lm = torch.log(s) - lp                        # log(r - |t|)
    l_plus = torch.where(t >= 0, lp, lm)          # log(r + t)
    l_minus = torch.where(t >= 0, lm, lp)         # log(r - t)
    logc = (s - 1) * math.log(2.0) + torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(s) + 0.5 * torch.log(s)
    return (a + 0.5) * (l_plus - torch.log(r)) + (b + 0.5) * (l_minus - torch.log(r)) - logc


def _skewt_mode(a, b):
    return (a - b) * torch.sqrt(a + b) / torch.sqrt((2 * a + 1) * (2 * b + 1))


class _Noise(nn.Module):
    def __init__(self, kind: str, log_sigma: float):
        super().__init__()
        self.kind = kind
        if kind == "gaussian":
            self.log_sigma = nn.Parameter(torch.tensor(float(log_sigma)))
        elif kind == "heteroscedastic":
            self.coef = nn.Parameter(torch.tensor([float(log_sigma), 0.0, 0.0]))
        elif kind == "skewt":
            self.log_scale = nn.Parameter(torch.tensor(float(log_sigma)))
            self.log_a = nn.Parameter(torch.tensor(math.log(5.0)))
            self.log_b = nn.Parameter(torch.tensor(math.log(5.0)))
        else:
            raise SeqlensError(f"noise must be one of {NOISES}, got {kind!r}")

    def nll(self, y, y_hat):
        if self.kind == "gaussian":
            ls = self.log_sigma
            return (ls + 0.5 * ((y - y_hat) / ls.exp()) ** 2).mean() + 0.5 * math.log(2 * math.pi)
        if self.kind == "heteroscedastic":
            ls = self.coef[0] + self.coef[1] * y_hat + self.coef[2] * y_hat ** 2
            ls = ls.clamp(-10, 10)
            return (ls + 0.5 * ((y - y_hat) / ls.exp()) ** 2).mean() + 0.5 * math.log(2 * math.pi)
        a, b = self.log_a.exp(), self.log_b.exp()
        t = (y - y_hat) / self.log_scale.exp() + _skewt_mode(a, b)
        return (self.log_scale - _skewt_logpdf(t, a, b)).mean()

    def params(self) -> dict:
        if self.kind == "gaussian":
            return {"sigma": float(self.log_sigma.detach().exp())}
        if self.kind == "heteroscedastic":
            return {"log_sigma_coefficients": self.coef.detach().tolist()}
        return {"scale": float(self.log_scale.detach().exp()), "a": float(self.log_a.detach().exp()),
                "b": float(self.log_b.detach().exp())}


# ----------------------------------------------------------------------------------------------
# shared estimator behaviour


class _SurrogateBase:
    """Parameters, evaluation, gauge and outputs shared by the surrogate estimators."""

    kind: str
    gauge: str
    alphabet: Alphabet

    # --- helpers -------------------------------------------------------------------------------
    def _check_fitted(self):
        if not hasattr(self, "theta_lc_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet; call fit(X, y) first")

    def _prepare(self, X, y, wild_type):
        self.alphabet = get_alphabet(self.alphabet)
        A = self.alphabet.size
        codes = as_codes(X, A)
        y = np.asarray(y, dtype=np.float64).ravel()
        if len(codes) != len(y):
            raise SeqlensError(f"X has {len(codes)} variants but y has {len(y)} values")
        if not np.isfinite(y).all():
            raise SeqlensError("y contains NaN or infinite values")
        if self.kind not in KINDS:
            raise SeqlensError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.gauge not in GAUGES:
            raise SeqlensError(f"gauge must be one of {GAUGES}, got {self.gauge!r}")
        if wild_type is not None:
            if isinstance(wild_type, str):
                from seqlens.alphabet import one_hot

                wild_type = one_hot_to_codes(one_hot(wild_type, self.alphabet, ambiguous="error"))[0]
            else:
                if isinstance(wild_type, torch.Tensor):
                    wild_type = wild_type.detach().cpu().numpy()
                wt = np.asarray(wild_type)
                wild_type = as_codes(wt[None] if wt.ndim in (1, 2) else wt, A)[0]
            if len(wild_type) != codes.shape[1]:
                raise SeqlensError(f"wild_type has length {len(wild_type)}, variants have {codes.shape[1]}")
        elif self.gauge == "wild_type":
            wild_type = codes[0]  # libraries put the wild type first
        self.wild_type_ = None if wild_type is None else np.asarray(wild_type, dtype=np.int64)
        self.letter_frequencies_ = gauge_probabilities("empirical", codes.shape[1], A, codes)
        return codes, y

    def set_gauge(self, gauge: str, wild_type=None):
        """Re-express the parameters in another gauge (``phi`` is unchanged). Returns ``self``."""
        self._check_fitted()
        if gauge == "none":
            self.gauge = gauge
            return self
        L, A = self.theta_lc_.shape
        if wild_type is not None:
            self.wild_type_ = as_codes(np.asarray(wild_type)[None] if np.ndim(wild_type) == 1
                                       else wild_type, A)[0]
        p = (self.letter_frequencies_ if gauge == "empirical"
             else gauge_probabilities(gauge, L, A, wild_type=self.wild_type_))
        self.theta_0_, self.theta_lc_, lclc = fix_gauge(self.theta_0_, self.theta_lc_,
                                                        getattr(self, "theta_lclc_", None), p)
        if lclc is not None:
            self.theta_lclc_ = lclc
        self.gauge = gauge
        return self

    # --- evaluation ----------------------------------------------------------------------------
    def phi(self, X) -> np.ndarray:
        """Latent phenotype ``phi`` of variants ``X`` (one-hot ``(N, A, L)`` or codes ``(N, L)``)."""
        self._check_fitted()
        L, A = self.theta_lc_.shape
        codes = as_codes(X, A)
        if codes.shape[1] != L:
            raise SeqlensError(f"surrogate has {L} positions, X has {codes.shape[1]}")
        phi = self.theta_0_ + self.theta_lc_[np.arange(L), codes].sum(1)
        if getattr(self, "theta_lclc_", None) is not None:
            pr = _pairs(L)
            T = self.theta_lclc_[pr[:, 0], pr[:, 1]]  # (P, A, A)
            for s in range(0, len(codes), 4096):
                c = codes[s:s + 4096]
                phi[s:s + 4096] += T[np.arange(len(pr)), c[:, pr[:, 0]], c[:, pr[:, 1]]].sum(1)
        return phi

    def g(self, phi) -> np.ndarray:
        """The link ``g`` (identity for linear surrogates), in units of ``y``."""
        return np.asarray(phi, dtype=np.float64)

    def predict(self, X) -> np.ndarray:
        """Predicted ``y`` of variants ``X``."""
        return self.g(self.phi(X))

    def score(self, X, y) -> float:
        """Pearson r between ``predict(X)`` and ``y``."""
        return fit_quality(y, self.predict(X), predictive_info=False)["pearson_r"]

    def fit_quality(self, X, y, predictive_info: bool = True) -> dict:
        """``pearson_r``, ``r2``, ``predictive_information_bits`` and ``n`` on variants ``X``."""
        return fit_quality(y, self.predict(X), predictive_info=predictive_info)

    # --- outputs -------------------------------------------------------------------------------
    def additive_matrix(self) -> np.ndarray:
        """``(A, L)`` additive parameters in the current gauge (attribution-map layout)."""
        self._check_fitted()
        return self.theta_lc_.T.copy()

    def position_scores(self) -> np.ndarray:
        """``(L,)`` importance of each position: the L2 norm of ``theta_l`` in the uniform gauge
        (independent of the current gauge)."""
        self._check_fitted()
        lc = self.theta_lc_ - self.theta_lc_.mean(1, keepdims=True)
        return np.sqrt((lc ** 2).sum(1))

    def pairwise_norms(self) -> np.ndarray:
        """``(L, L)`` symmetric matrix of ``||theta_{l l'}||`` (Frobenius, uniform gauge); zeros
        for additive surrogates."""
        self._check_fitted()
        L, A = self.theta_lc_.shape
        T = getattr(self, "theta_lclc_", None)
        if T is None:
            return np.zeros((L, L))
        _, _, Tu = fix_gauge(0.0, np.zeros((L, A)), T, np.full((L, A), 1.0 / A))
        n = np.sqrt((Tu ** 2).sum((2, 3)))
        return n + n.T

    def variant_effects(self, position_offset: int = 0, wild_type=None) -> pd.DataFrame:
        """Single-mutant effects in the wild-type gauge, one row per (position, mutant letter).

        Columns: ``position`` (0-based, plus ``position_offset`` so that window coordinates map to
        the full sequence), ``wt``, ``mut``, ``variant`` (e.g. ``A12G``, 1-based), ``delta_phi``
        (``theta_l(mut)`` in the wild-type gauge) and ``delta_y`` (``g(phi_wt + delta_phi) -
        g(phi_wt)``). The surrogate's own gauge is not changed.
        """
        self._check_fitted()
        L, A = self.theta_lc_.shape
        wt = self.wild_type_ if wild_type is None else as_codes(np.asarray(wild_type)[None], A)[0]
        if wt is None:
            raise SeqlensError("no wild type known; pass wild_type= here or to fit()")
        p = gauge_probabilities("wild_type", L, A, wild_type=wt)
        th0, lc, _ = fix_gauge(self.theta_0_, self.theta_lc_, getattr(self, "theta_lclc_", None), p)
        letters = self.alphabet.letters
        pos, mut = np.nonzero(np.arange(A)[None, :] != np.asarray(wt)[:, None])
        dphi = lc[pos, mut]
        dy = self.g(th0 + dphi) - self.g(np.array([th0]))[0]
        return pd.DataFrame({
            "position": pos + position_offset,
            "wt": [letters[wt[i]] for i in pos],
            "mut": [letters[m] for m in mut],
            "variant": [f"{letters[wt[i]]}{i + position_offset + 1}{letters[m]}" for i, m in zip(pos, mut)],
            "delta_phi": dphi,
            "delta_y": dy,
        })

    def _finish(self, codes, gauge):
        if gauge != "none":
            self.set_gauge(gauge)
        self.gauge = gauge


# ----------------------------------------------------------------------------------------------
# global-epistasis / linear surrogates trained by gradient descent


class Surrogate(_SurrogateBase):
    """Additive or pairwise surrogate with a global-epistasis link, trained with PyTorch.

    Parameters
    ----------
    kind : ``"additive"`` or ``"pairwise"``.
    link : ``"ge"`` (monotone sum of ``n_sigmoids`` sigmoids) or ``"linear"`` (``y_hat = phi``).
    noise : ``"gaussian"``, ``"heteroscedastic"`` or ``"skewt"``.
    n_sigmoids : number of sigmoids in ``g``.
    l2 : weight of ``||theta||^2`` (theta in units of the standardised ``phi``).
    learning_rate, batch_size, max_epochs : Adam settings.
    patience : epochs without improvement of the validation loss before stopping.
    validation_fraction : share of the (deduplicated) variants held out for early stopping.
    deduplicate : drop repeated ``(x, y)`` pairs before fitting.
    gauge : ``"empirical"``, ``"uniform"``, ``"wild_type"`` or ``"none"``.
    alphabet : alphabet of the one-hot input (DNA by default).
    random_state, device, verbose : as everywhere (``device=None`` means CPU here: the surrogate is
        small and gather-bound).
    """

    def __init__(self, kind: str = "additive", link: str = "ge", noise: str = "gaussian",
                 n_sigmoids: int = 20, l2: float = 1e-4, learning_rate: float = 2e-2,
                 batch_size: int = 1000, max_epochs: int = 200, patience: int = 10,
                 validation_fraction: float = 0.1, deduplicate: bool = True, gauge: str = "empirical",
                 alphabet: str | Alphabet = DNA, random_state=None, device=None, verbose: bool = False):
        self.kind = kind
        self.link = link
        self.noise = noise
        self.n_sigmoids = n_sigmoids
        self.l2 = l2
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.deduplicate = deduplicate
        self.gauge = gauge
        self.alphabet = alphabet
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def __repr__(self) -> str:
        return f"Surrogate(kind={self.kind!r}, link={self.link!r}, noise={self.noise!r})"

    def fit(self, X, y, wild_type=None):
        """Fit to variants ``X`` (one-hot ``(N, A, L)`` or codes ``(N, L)``) and outputs ``y`` (N,).

        ``wild_type`` (string, one-hot ``(A, L)`` or codes) is used by the wild-type gauge and the
        variant-effect table; by default the first variant is taken as the wild type.
        """
        from tqdm.auto import tqdm

        if self.link not in LINKS:
            raise SeqlensError(f"link must be one of {LINKS}, got {self.link!r}")
        if self.noise not in NOISES:
            raise SeqlensError(f"noise must be one of {NOISES}, got {self.noise!r}")
        gauge = self.gauge
        codes, y = self._prepare(X, y, wild_type)
        n_dup = 0
        if self.deduplicate:
            codes, y, n_dup = deduplicate(codes, y)
        self.n_duplicates_ = n_dup
        N, L = codes.shape
        A = self.alphabet.size
        if N < 10:
            raise SeqlensError(f"need at least 10 distinct variants to fit, got {N}")
        t0 = time.perf_counter()
        rng = np.random.default_rng(self.random_state)
        torch_gen = torch.Generator().manual_seed(int(rng.integers(0, 2**31 - 1)))
        perm = rng.permutation(N)
        n_val = int(round(self.validation_fraction * N)) if self.validation_fraction else 0
        n_val = min(max(n_val, 1 if self.validation_fraction else 0), N - 5)
        val, train = perm[:n_val], perm[n_val:]
        self.n_train_ = len(train)

        y_mean, y_scale = float(y[train].mean()), float(y[train].std()) or 1.0
        ys = (y - y_mean) / y_scale
        device = torch.device(self.device) if self.device is not None else torch.device("cpu")

        gp = _GPMap(L, A, self.kind == "pairwise")
        # initialise the additive part with a ridge fit (fast, convex); for GE standardise phi
        ridge = RidgeSurrogate(kind="additive", alphas=(1.0,), cv=None, gauge="none",
                               alphabet=self.alphabet).fit(codes[train], ys[train])
        m0, s0 = 0.0, 1.0
        if self.link == "ge":
            phi0 = ridge.phi(codes[train])
            m0, s0 = float(phi0.mean()), float(phi0.std()) or 1.0
            lo, hi = np.quantile(ys[train], [0.01, 0.99])
            pad = 0.25 * (hi - lo)
            link = _SigmoidSum(self.n_sigmoids, lo - pad, hi + pad)
        else:
            link = _Identity()
        with torch.no_grad():
            gp.theta_lc.copy_(torch.as_tensor(ridge.theta_lc_ / s0))
            gp.theta_0.fill_((ridge.theta_0_ - m0) / s0)
        noise = _Noise(self.noise, math.log(0.5))
        modules = nn.ModuleList([gp, link, noise]).to(device)
        # Adam moves every parameter by about the learning rate per step, and phi sums L additive
        # (and L(L-1)/2 pairwise) active terms: scale their rates so phi moves by O(learning_rate)
        lr = float(self.learning_rate)
        groups = [{"params": [gp.theta_0], "lr": lr},
                  {"params": [gp.theta_lc], "lr": lr * min(1.0, math.sqrt(10.0 / L))},
                  {"params": list(link.parameters()) + list(noise.parameters()), "lr": lr}]
        if gp.pairwise:
            P = max(1, L * (L - 1) // 2)
            groups.append({"params": [gp.theta_pair], "lr": lr * min(1.0, math.sqrt(10.0 / P))})
        groups = [g for g in groups if g["params"]]
        opt = torch.optim.Adam(groups)

        C = torch.as_tensor(codes, dtype=torch.long, device=device)
        Y = torch.as_tensor(ys, dtype=torch.float32, device=device)
        tr = torch.as_tensor(train, device=device)
        va = torch.as_tensor(val, device=device)
        l2 = float(self.l2)

        def loss_on(idx, penalty=True):
            loss = noise.nll(Y[idx], link(gp(C[idx])))
            return loss + l2 * gp.penalty() if penalty else loss

        best, best_state, wait = math.inf, None, 0
        self.history_ = {"train_loss": [], "val_loss": []}
        bs = int(self.batch_size)
        pbar = tqdm(range(int(self.max_epochs)), disable=not self.verbose, desc="fit surrogate", leave=False)
        for _ in pbar:
            modules.train()
            order = tr[torch.randperm(len(tr), generator=torch_gen).to(device)]
            total = 0.0
            for s in range(0, len(order), bs):
                idx = order[s:s + bs]
                opt.zero_grad()
                loss = loss_on(idx)
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            self.history_["train_loss"].append(total / len(order))
            with torch.no_grad():
                v = float(loss_on(va if len(va) else tr, penalty=False))
            self.history_["val_loss"].append(v)
            pbar.set_postfix(val=f"{v:.4f}")
            if v < best - 1e-5:
                best, wait = v, 0
                best_state = {k: t.detach().clone() for k, t in modules.state_dict().items()}
            else:
                wait += 1
                if wait >= self.patience:
                    break
        if not math.isfinite(best):
            raise RuntimeError("surrogate training diverged (non-finite loss); lower learning_rate")
        modules.load_state_dict(best_state)
        self.n_epochs_ = len(self.history_["val_loss"])
        if self.n_epochs_ >= self.max_epochs and wait < self.patience:
            warnings.warn(f"surrogate did not converge in {self.max_epochs} epochs; raise max_epochs",
                          RuntimeWarning, stacklevel=2)

        # export to numpy, normalising phi on the training set (GE) or to units of y (linear)
        self.theta_0_ = float(gp.theta_0.detach())
        self.theta_lc_ = gp.theta_lc.detach().cpu().double().numpy().copy()
        if gp.pairwise:
            T = np.zeros((L, L, A, A))
            pr = _pairs(L)
            T[pr[:, 0], pr[:, 1]] = gp.theta_pair.detach().cpu().double().numpy()
            self.theta_lclc_ = T
        else:
            self.theta_lclc_ = None
        self.noise_params_ = noise.params()
        self.y_mean_, self.y_scale_ = y_mean, y_scale
        if self.link == "ge":
            phi_tr = self.phi(codes[train])
            m, s = float(phi_tr.mean()), float(phi_tr.std()) or 1.0
            self.theta_0_ = (self.theta_0_ - m) / s
            self.theta_lc_ /= s
            if self.theta_lclc_ is not None:
                self.theta_lclc_ /= s
            c = F.softplus(link.rc).detach().double().numpy()
            self.g_params_ = {
                "a": float(link.a.detach()),
                "b": F.softplus(link.rb).detach().double().numpy(),
                "c": c * s,
                "d": link.d.detach().double().numpy() + c * m,
            }
        else:
            self.theta_0_ = self.theta_0_ * y_scale + y_mean
            self.theta_lc_ *= y_scale
            if self.theta_lclc_ is not None:
                self.theta_lclc_ *= y_scale
            self.g_params_ = None
        self._finish(codes, gauge)
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def g(self, phi) -> np.ndarray:
        """``g(phi)`` in units of ``y`` (identity for ``link="linear"``)."""
        phi = np.asarray(phi, dtype=np.float64)
        if self.g_params_ is None:
            return phi
        p = self.g_params_
        z = phi[..., None] * p["c"] + p["d"]
        ys = p["a"] + (p["b"] / (1.0 + np.exp(-np.clip(z, -500, 500)))).sum(-1)
        return ys * self.y_scale_ + self.y_mean_


def AdditiveSurrogate(**kwargs) -> Surrogate:
    """``Surrogate(kind="additive", ...)``."""
    return Surrogate(kind="additive", **kwargs)


def PairwiseSurrogate(**kwargs) -> Surrogate:
    """``Surrogate(kind="pairwise", ...)``."""
    return Surrogate(kind="pairwise", **kwargs)


# ----------------------------------------------------------------------------------------------
# ridge baseline


class RidgeSurrogate(_SurrogateBase):
    """Ridge regression of ``y`` on one-hot features, alpha chosen by K-fold cross-validation.

    Parameters
    ----------
    kind : ``"additive"`` (``L*A`` features) or ``"pairwise"`` (plus ``L(L-1)/2 * A^2``; at most
        ``max_features`` features in all, since the solve is dense).
    alphas : candidate penalties; the one with the smallest cross-validated squared error is kept
        (``alpha_``; per-alpha errors in ``cv_mse_``).
    cv : number of folds (``None`` or 1: use ``alphas[0]`` without cross-validation).
    gauge, alphabet, random_state : as for :class:`Surrogate`.
    """

    def __init__(self, kind: str = "additive", alphas=DEFAULT_ALPHAS, cv: int | None = 5,
                 gauge: str = "empirical", alphabet: str | Alphabet = DNA, max_features: int = 6000,
                 batch_size: int = 4096, random_state=None):
        self.kind = kind
        self.alphas = alphas
        self.cv = cv
        self.gauge = gauge
        self.alphabet = alphabet
        self.max_features = max_features
        self.batch_size = batch_size
        self.random_state = random_state

    def __repr__(self) -> str:
        return f"RidgeSurrogate(kind={self.kind!r}, cv={self.cv!r})"

    def _features(self, codes: np.ndarray, A: int) -> np.ndarray:
        n, L = codes.shape
        Xa = np.zeros((n, L * A))
        Xa[np.arange(n)[:, None], np.arange(L) * A + codes] = 1.0
        if self.kind != "pairwise":
            return Xa
        pr = _pairs(L)
        Xp = np.zeros((n, len(pr) * A * A))
        cols = np.arange(len(pr)) * A * A + codes[:, pr[:, 0]] * A + codes[:, pr[:, 1]]
        Xp[np.arange(n)[:, None], cols] = 1.0
        return np.concatenate([Xa, Xp], axis=1)

    def fit(self, X, y, wild_type=None):
        """Fit to variants ``X`` (one-hot or codes) and ``y``; see :class:`Surrogate`."""
        t0 = time.perf_counter()
        gauge = self.gauge
        codes, y = self._prepare(X, y, wild_type)
        N, L = codes.shape
        A = self.alphabet.size
        n_feat = L * A + (len(_pairs(L)) * A * A if self.kind == "pairwise" else 0)
        if n_feat > self.max_features:
            raise SeqlensError(f"ridge with {n_feat} features exceeds max_features={self.max_features}; "
                             f"use a smaller window or Surrogate(kind={self.kind!r})")
        K = int(self.cv) if self.cv and self.cv > 1 else 1
        rng = np.random.default_rng(self.random_state)
        fold = rng.permutation(N) % K if K > 1 else np.zeros(N, dtype=np.int64)
        # sufficient statistics per fold: Gram, X'y, column sums, y sums, y'y, counts
        G = np.zeros((K, n_feat, n_feat))
        b = np.zeros((K, n_feat))
        s = np.zeros((K, n_feat))
        sy, yy, cnt = np.zeros(K), np.zeros(K), np.zeros(K)
        for k in range(K):
            idx = np.nonzero(fold == k)[0]
            for st in range(0, len(idx), self.batch_size):
                j = idx[st:st + self.batch_size]
                Xb, yb = self._features(codes[j], A), y[j]
                G[k] += Xb.T @ Xb
                b[k] += Xb.T @ yb
                s[k] += Xb.sum(0)
                sy[k] += yb.sum()
                yy[k] += yb @ yb
                cnt[k] += len(j)
        alphas = np.atleast_1d(np.asarray(self.alphas, dtype=np.float64))

        def solve(Gt, bt, st, syt, nt, alist):
            mu, ybar = st / nt, syt / nt
            Gc = Gt - nt * np.outer(mu, mu)
            bc = bt - nt * mu * ybar
            evals, V = np.linalg.eigh(Gc)
            proj = V.T @ bc
            out = []
            for a in alist:
                w = V @ (proj / (np.maximum(evals, 0) + a))
                out.append((w, ybar - mu @ w))
            return out

        if K > 1 and len(alphas) > 1:
            sse = np.zeros(len(alphas))
            for k in range(K):
                rest = np.arange(K) != k
                sols = solve(G[rest].sum(0), b[rest].sum(0), s[rest].sum(0), sy[rest].sum(), cnt[rest].sum(),
                             alphas)
                for i, (w, c) in enumerate(sols):
                    sse[i] += (yy[k] - 2 * (w @ b[k] + c * sy[k]) + w @ G[k] @ w + 2 * c * (w @ s[k])
                               + cnt[k] * c * c)
            self.cv_mse_ = sse / N
            self.alpha_ = float(alphas[int(np.argmin(sse))])
        else:
            self.cv_mse_ = None
            self.alpha_ = float(alphas[0])
        (w, c), = solve(G.sum(0), b.sum(0), s.sum(0), sy.sum(), cnt.sum(), [self.alpha_])
        self.theta_0_ = float(c)
        self.theta_lc_ = w[:L * A].reshape(L, A).copy()
        if self.kind == "pairwise":
            T = np.zeros((L, L, A, A))
            pr = _pairs(L)
            T[pr[:, 0], pr[:, 1]] = w[L * A:].reshape(len(pr), A, A)
            self.theta_lclc_ = T
        else:
            self.theta_lclc_ = None
        self.n_train_ = N
        self._finish(codes, gauge)
        self.fit_seconds_ = time.perf_counter() - t0
        return self
