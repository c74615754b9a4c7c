"""One call from a network and a sequence to a fitted surrogate with held-out fit quality.

:func:`surrogate_analysis` builds the library, queries the network, fits the surrogate (and by
default the ridge baseline) on the window of a training split, and scores both on held-out
variants. :func:`surrogate_attributions` turns per-sequence additive surrogates into an
attribution map ``(N, A, L)`` so that they can be scored like any attribution method.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from torch import nn

from seqlens.alphabet import DNA, Alphabet, get_alphabet
from seqlens.errors import SeqlensError
from seqlens.interpret.surrogate.library import (
    MutagenesisLibrary,
    mutagenesis_library,
    one_hot_to_codes,
    predict_library,
)
from seqlens.interpret.surrogate.models import RidgeSurrogate, Surrogate


@dataclass
class SurrogateResult:
    """Everything :func:`surrogate_analysis` produced.

    library : the :class:`MutagenesisLibrary`; y : ``(n,)`` network outputs;
    surrogate : the fitted :class:`Surrogate`; ridge : the :class:`RidgeSurrogate` baseline or None;
    train_index, test_index : variants used to fit and to score; metrics : flat dict
    (``surrogate_pearson_r``, ``ridge_pearson_r``, ``seconds_query``, ...);
    variant_effects : single-mutant table in the wild-type gauge (full-sequence positions).
    """

    library: MutagenesisLibrary
    y: np.ndarray
    surrogate: Surrogate
    ridge: RidgeSurrogate | None
    train_index: np.ndarray
    test_index: np.ndarray
    metrics: dict = field(default_factory=dict)
    variant_effects: pd.DataFrame | None = None

    @property
    def window(self) -> tuple[int, int]:
        return self.library.window


def surrogate_analysis(model: nn.Module, sequence, window=None, n: int = 100000, rate: float = 0.1,
                       kind: str = "additive", mode: str = "local", n_mutations: int | None = None,
                       target=0, reduce: Callable | None = None, noise: str = "gaussian",
                       gauge: str = "empirical", test_fraction: float = 0.1, ridge: bool = True,
                       ridge_max_features: int = 6000, alphabet: str | Alphabet = DNA,
                       batch_size: int = 512, device=None, random_state=0, verbose: bool = False,
                       library=None, y=None, **surrogate_kwargs) -> SurrogateResult:
    """Library -> network outputs -> surrogate (+ ridge) fitted on the window -> held-out scores.

    Parameters
    ----------
    model : network, ``y = model(X)`` with ``X`` one-hot ``(B, A, L)``.
    sequence : string or one-hot ``(A, L)`` wild type.
    window, n, rate, mode, n_mutations : see :func:`mutagenesis_library`.
    kind : ``"additive"`` or ``"pairwise"``.
    target, reduce : see :func:`predict_library`.
    noise, gauge, surrogate_kwargs : passed to :class:`Surrogate`.
    test_fraction : share of variants held out for the fit-quality scores.
    ridge : also fit the cross-validated ridge baseline (skipped when it would have more than
        ``ridge_max_features`` features).
    batch_size, device, random_state, verbose : as everywhere.
    library : the :func:`mutagenesis_library` of these arguments, when already built.
    y : the network outputs of this library (same arguments and seed), when already known: the
        query is skipped (e.g. a resumed run).
    """
    alphabet = get_alphabet(alphabet)
    metrics: dict = {}
    t0 = time.perf_counter()
    lib = library if library is not None else mutagenesis_library(
        sequence, n=n, rate=rate, window=window, n_mutations=n_mutations, mode=mode,
        alphabet=alphabet, random_state=random_state)
    metrics["seconds_library"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if y is None:
        y = predict_library(model, lib, target=target, reduce=reduce, batch_size=batch_size,
                            device=device, verbose=verbose)
    else:
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (len(lib),):
            raise SeqlensError(f"y has shape {y.shape}, but the library has {len(lib)} variants")
    metrics["seconds_query"] = time.perf_counter() - t0
    rng = np.random.default_rng(random_state)
    perm = 1 + rng.permutation(len(lib) - 1)  # the wild type always trains
    n_test = int(round(test_fraction * (len(lib) - 1)))
    test, train = np.sort(perm[:n_test]), np.concatenate([[0], np.sort(perm[n_test:])])
    codes = lib.window_codes.astype(np.int64)
    wt = lib.window_wild_type
    t0 = time.perf_counter()
    sur = Surrogate(kind=kind, noise=noise, gauge=gauge, alphabet=alphabet, random_state=random_state,
                    verbose=verbose, **surrogate_kwargs)
    sur.fit(codes[train], y[train], wild_type=wt)
    metrics["seconds_fit"] = time.perf_counter() - t0
    metrics.update({"n_variants": len(lib), "n_train": len(train), "n_test": len(test),
                    "window_start": lib.window[0], "window_end": lib.window[1],
                    "mean_mutations": float(lib.n_mutations[1:].mean()) if len(lib) > 1 else 0.0,
                    "n_duplicates": int(sur.n_duplicates_), "n_epochs": int(sur.n_epochs_)})
    if len(test) >= 3:
        for key, v in sur.fit_quality(codes[test], y[test]).items():
            if key != "n":
                metrics[f"surrogate_{key}"] = v
    rid = None
    W, A = codes.shape[1], alphabet.size
    n_feat = W * A + (W * (W - 1) // 2 * A * A if kind == "pairwise" else 0)
    if ridge and n_feat <= ridge_max_features:
        t0 = time.perf_counter()
        rid = RidgeSurrogate(kind=kind, gauge=gauge, alphabet=alphabet, max_features=ridge_max_features,
                             random_state=random_state).fit(codes[train], y[train], wild_type=wt)
        metrics["seconds_ridge"] = time.perf_counter() - t0
        metrics["ridge_alpha"] = rid.alpha_
        if len(test) >= 3:
            for key, v in rid.fit_quality(codes[test], y[test]).items():
                if key != "n":
                    metrics[f"ridge_{key}"] = v
    effects = sur.variant_effects(position_offset=lib.window[0])
    return SurrogateResult(lib, y, sur, rid, train, test, metrics, effects)


def surrogate_attributions(model: nn.Module, X, window=None, n: int = 10000, rate: float = 0.1,
                           kind: str = "additive", gauge: str = "uniform", target=0,
                           reduce: Callable | None = None, batch_size: int = 512, device=None,
                           alphabet: str | Alphabet = DNA, random_state=0, verbose: bool = False,
                           **surrogate_kwargs) -> np.ndarray:
    """Additive-surrogate parameters of each sequence of ``X`` ``(N, A, L)`` as an attribution map.

    For every sequence a library of ``n`` variants is queried and a GE surrogate is fitted on the
    window; its ``theta_lc_`` (in ``gauge``) fills the window columns of the returned ``(N, A, L)``
    float32 array (zeros outside the window). Score positions with
    ``seqlens.interpret.metrics.position_scores(attr, reduce="l2")`` (letter-independent).
    """
    from tqdm.auto import tqdm

    from seqlens.alphabet import _to_numpy

    Xn = _to_numpy(X)
    codes = one_hot_to_codes(Xn, "X")
    N, L = codes.shape
    A = Xn.shape[1]
    alphabet = get_alphabet(alphabet)
    out = np.zeros((N, A, L), dtype=np.float32)
    rng = np.random.default_rng(random_state)
    seeds = rng.integers(0, 2**31 - 1, size=N)
    for i in tqdm(range(N), disable=not verbose, desc="surrogates", leave=False):
        lib = mutagenesis_library(Xn[i], n=n, rate=rate, window=window, alphabet=alphabet,
                                  random_state=int(seeds[i]))
        y = predict_library(model, lib, target=target, reduce=reduce, batch_size=batch_size, device=device)
        sur = Surrogate(kind=kind, gauge=gauge, alphabet=alphabet, random_state=int(seeds[i]),
                        **surrogate_kwargs)
        sur.fit(lib.window_codes.astype(np.int64), y, wild_type=lib.window_wild_type)
        s, e = lib.window
        out[i, :, s:e] = sur.theta_lc_.T
    return out
