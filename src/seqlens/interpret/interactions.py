"""Motif interactions from CNN-attention networks (GLIFAC; Ghotra & Koo 2021).

A ``cnn_attention`` model scans a sequence with first-layer filters (motif detectors), pools, and
lets every pooled position attend to every other. GLIFAC (global interactions via filter activity
correlations) reads interactions off the whole data set instead of single attention maps:

1. attention maps per sequence, heads reduced by their maximum -> ``(N, L', L')``;
2. select position pairs ``(n, i, j)`` whose attention exceeds ``threshold``, plus a random fraction
   of all other pairs (so that the correlations see the background too);
3. for every filter pair ``(a, b)``: the Pearson correlation, across the selected pairs, of filter
   ``a``'s pooled activation at the query position ``i`` with filter ``b``'s at the key position ``j``
   -> a filter x filter matrix (not symmetric);
4. symmetrise by keeping, of ``(a, b)`` and ``(b, a)``, the value with the larger absolute value; zero
   the pairs of filters that stand for the same motif;
5. motif x motif: for each pair of motif labels, the filter-pair entry of largest absolute value.

:func:`evaluate_interactions` scores a motif x motif matrix against the known interacting pairs
(AUROC, AUPR and a signal-to-noise ratio over all unordered motif pairs);
:func:`naive_attention_interactions` is the per-sequence reading of attention maps that the paper
shows gives many false positives. Heatmaps are in :mod:`seqlens.plot.interactions`.

Shapes: one-hot ``X`` ``(N, A, L)``; attention ``(N, L', L')`` (rows: queries, sum to 1); pooled
activations ``(N, F, L')``; labels: one motif name (or ``None``) per filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from seqlens.alphabet import _to_numpy
from seqlens.errors import SeqlensError

__all__ = [
    "GlifacResult", "attention_maps", "attention_threshold", "pooled_activations", "select_position_pairs",
    "filter_correlations", "symmetrize", "zero_same_motif", "motif_matrix", "glifac",
    "glifac_from_model", "evaluate_interactions", "naive_attention_interactions", "pair_table",
]


def _device(device) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@torch.no_grad()
def _batched(model: nn.Module, fn, X, batch_size: int, device, verbose: bool, desc: str) -> np.ndarray:
    from tqdm.auto import tqdm

    dev = _device(device)
    was_training = model.training
    model.eval()
    model.to(dev)
    Xn = X
    out = []
    try:
        for i in tqdm(range(0, len(Xn), batch_size), disable=not verbose, desc=desc, leave=False):
            xb = Xn[i:i + batch_size]
            xb = xb if isinstance(xb, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(xb))
            out.append(fn(xb.to(dev, torch.float32)).float().cpu().numpy())
    finally:
        model.train(was_training)
    return np.concatenate(out)


def attention_maps(model: nn.Module, X, reduce: str = "max", layer: int = 0, batch_size: int = 256,
                   device=None, verbose: bool = False) -> np.ndarray:
    """Attention maps of a CNN-attention model, ``(N, L', L')`` float32.

    The model must have ``attention_maps(X, all_layers=...)`` returning ``(N, H, L', L')`` (the zoo's
    ``cnn_attention`` does). Heads are reduced by ``reduce`` (``"max"`` as in GLIFAC, ``"mean"``, or
    ``None`` to keep them: ``(N, H, L', L')``). ``layer`` picks the attention layer (0 = first).
    """
    if not hasattr(model, "attention_maps"):
        raise TypeError(f"{type(model).__name__} has no attention_maps(X); use a cnn_attention model")
    if reduce not in ("max", "mean", None):
        raise SeqlensError(f"reduce must be 'max', 'mean' or None, got {reduce!r}")

    def fn(xb):
        maps = model.attention_maps(xb, all_layers=True)[layer] if layer else model.attention_maps(xb)
        if reduce == "max":
            return maps.amax(dim=1)
        if reduce == "mean":
            return maps.mean(dim=1)
        return maps

    return _batched(model, fn, X, batch_size, device, verbose, "attention")


def pooled_activations(model: nn.Module, X, batch_size: int = 256, device=None,
                       verbose: bool = False) -> np.ndarray:
    """First-layer filter activations after pooling, ``(N, F, L')``, from
    ``model.first_layer_activations(X, pooled=True)`` (zoo models)."""
    if not hasattr(model, "first_layer_activations"):
        raise TypeError(f"{type(model).__name__} has no first_layer_activations(X, pooled=True)")
    return _batched(model, lambda xb: model.first_layer_activations(xb, pooled=True), X, batch_size,
                    device, verbose, "activations")


def attention_threshold(attention, quantile: float, diagonal: bool = False) -> float:
    """The ``quantile`` (e.g. 0.99) of the attention values (off-diagonal unless ``diagonal``),
    for a data-driven GLIFAC threshold."""
    att = _to_numpy(attention)
    valid = np.ones(att.shape[1:], bool)
    if not diagonal:
        np.fill_diagonal(valid, False)
    return float(np.quantile(att[:, valid], quantile))


def select_position_pairs(attention, threshold: float = 0.1, random_fraction: float = 0.01,
                          max_pairs: int | None = 500_000, diagonal: bool = False,
                          random_state=None, quantile: float | None = None) -> np.ndarray:
    """Position pairs for GLIFAC: ``(P, 3)`` int64 rows ``(sequence, query i, key j)``.

    All pairs with ``attention[n, i, j] > threshold`` (or at or above the ``quantile`` of all
    attention values when ``quantile`` is given, see :func:`attention_threshold`), plus ``random_fraction`` of
    the remaining pairs drawn at random; ``diagonal=False`` drops ``i == j``. At most ``max_pairs``
    rows are kept (a random subset of the attended ones and of the random ones, in proportion).
    """
    att = _to_numpy(attention)
    if att.ndim != 3 or att.shape[1] != att.shape[2]:
        raise SeqlensError(f"attention must be (N, L', L'), got shape {att.shape}")
    if not 0 <= random_fraction <= 1:
        raise SeqlensError(f"random_fraction must be in [0, 1], got {random_fraction}")
    if quantile is not None:
        threshold = attention_threshold(att, quantile, diagonal)
    rng = np.random.default_rng(random_state)
    # a quantile threshold keeps its ties (trained maps often saturate at exactly 1.0)
    mask = att >= threshold if quantile is not None else att > threshold
    valid = np.ones(att.shape[1:], bool)
    if not diagonal:
        np.fill_diagonal(valid, False)
    mask &= valid[None]
    chosen = np.argwhere(mask)
    rest_count = int((valid.sum() * len(att)) - len(chosen))
    n_random = int(round(random_fraction * rest_count))
    if n_random:
        # rejection sampling over all valid (n, i, j); attended or duplicate draws are dropped
        draws = []
        got = 0
        for _ in range(20):
            k = int((n_random - got) * 1.3) + 16
            cand = np.stack([rng.integers(0, s, size=k) for s in att.shape], axis=1)
            ok = valid[cand[:, 1], cand[:, 2]] & ~mask[cand[:, 0], cand[:, 1], cand[:, 2]]
            cand = np.unique(cand[ok], axis=0)
            draws.append(cand)
            got = len(np.unique(np.concatenate(draws), axis=0))
            if got >= n_random:
                break
        extra = np.unique(np.concatenate(draws), axis=0)
        extra = extra[rng.permutation(len(extra))[:n_random]]
    else:
        extra = np.zeros((0, 3), np.int64)
    if max_pairs is not None and len(chosen) + len(extra) > max_pairs:
        frac = max_pairs / (len(chosen) + len(extra))
        chosen = chosen[rng.permutation(len(chosen))[:int(len(chosen) * frac)]]
        extra = extra[rng.permutation(len(extra))[:int(len(extra) * frac)]]
    return np.concatenate([chosen, extra]).astype(np.int64)


def filter_correlations(activations, pairs) -> np.ndarray:
    """``(F, F)`` Pearson correlations ``C[a, b] = corr(act[n, a, i], act[n, b, j])`` over the
    selected ``pairs`` ``(P, 3)`` of :func:`select_position_pairs`. Filters without variance over
    the pairs give 0."""
    act = _to_numpy(activations)
    pairs = np.asarray(pairs, dtype=np.int64)
    if act.ndim != 3:
        raise SeqlensError(f"activations must be (N, F, L'), got shape {act.shape}")
    if pairs.ndim != 2 or pairs.shape[1] != 3:
        raise SeqlensError(f"pairs must be (P, 3) rows (sequence, i, j), got shape {pairs.shape}")
    if len(pairs) < 3:
        raise SeqlensError(f"only {len(pairs)} position pairs selected; lower the threshold")
    U = act[pairs[:, 0], :, pairs[:, 1]].astype(np.float64)  # (P, F) queries
    V = act[pairs[:, 0], :, pairs[:, 2]].astype(np.float64)  # (P, F) keys
    U -= U.mean(axis=0)
    V -= V.mean(axis=0)
    su, sv = np.sqrt((U ** 2).sum(axis=0)), np.sqrt((V ** 2).sum(axis=0))
    C = U.T @ V
    with np.errstate(divide="ignore", invalid="ignore"):
        C = C / np.outer(su, sv)
    C[~np.isfinite(C)] = 0.0
    return np.clip(C, -1.0, 1.0)


def symmetrize(C) -> np.ndarray:
    """Of ``C[a, b]`` and ``C[b, a]`` keep the one with the larger absolute value (signed)."""
    C = np.asarray(C, dtype=np.float64)
    return np.where(np.abs(C) >= np.abs(C.T), C, C.T)


def _labels(labels, n: int) -> list:
    if labels is None:
        return [f"filter{i}" for i in range(n)]
    labels = [None if (lab is None or (isinstance(lab, float) and np.isnan(lab)) or lab == "") else str(lab)
              for lab in labels]
    if len(labels) != n:
        raise SeqlensError(f"need one label per filter ({n}), got {len(labels)}")
    return labels


def zero_same_motif(C, labels) -> np.ndarray:
    """Copy of ``C`` with the diagonal and all pairs of filters with the same (non-None) label
    set to 0 (a motif does not interact with itself in this analysis)."""
    C = np.array(C, dtype=np.float64)
    labels = _labels(labels, C.shape[0])
    lab = np.array([lab if lab is not None else f"\0{i}" for i, lab in enumerate(labels)], dtype=object)
    C[lab[:, None] == lab[None, :]] = 0.0
    np.fill_diagonal(C, 0.0)
    return C


def motif_matrix(C, labels, motifs: Sequence[str] | None = None) -> pd.DataFrame:
    """Motif x motif matrix from a filter x filter matrix: for each pair of motif labels, the
    entry (signed) of largest absolute value over filters carrying those labels. Filters labelled
    ``None`` are ignored; ``motifs`` fixes the rows/columns (motifs no filter carries get 0)."""
    C = np.asarray(C, dtype=np.float64)
    labels = _labels(labels, C.shape[0])
    names = list(motifs) if motifs is not None else sorted({lab for lab in labels if lab is not None})
    idx = {m: [i for i, lab in enumerate(labels) if lab == m] for m in names}
    M = np.zeros((len(names), len(names)))
    for a, ma in enumerate(names):
        for b, mb in enumerate(names):
            if not idx[ma] or not idx[mb]:
                continue
            block = C[np.ix_(idx[ma], idx[mb])]
            k = np.unravel_index(np.argmax(np.abs(block)), block.shape)
            M[a, b] = block[k]
    return pd.DataFrame(M, index=names, columns=names)


@dataclass
class GlifacResult:
    """What :func:`glifac` returns.

    correlations : ``(F, F)`` raw filter x filter correlations (query filter x key filter).
    filter_matrix : symmetrised, same-motif pairs zeroed.
    motif_matrix : motif x motif DataFrame.
    labels : the filter labels used; n_pairs / n_attended : selected position pairs (all / above
    the threshold).
    """

    correlations: np.ndarray
    filter_matrix: np.ndarray
    motif_matrix: pd.DataFrame
    labels: list
    n_pairs: int
    n_attended: int
    params: dict = field(default_factory=dict)


def glifac(attention, activations, labels=None, motifs: Sequence[str] | None = None,
           threshold: float = 0.1, random_fraction: float = 0.01, max_pairs: int | None = 500_000,
           random_state=None, quantile: float | None = None) -> GlifacResult:
    """GLIFAC from attention maps ``(N, L', L')`` and pooled activations ``(N, F, L')``.

    labels : the motif each filter stands for (``None`` for unmatched filters), e.g. from Tomtom
        matches of the filters' activation motifs; default: each filter is its own "motif".
    See the module docstring for the steps; :func:`select_position_pairs` for ``threshold``,
    ``random_fraction``, ``max_pairs`` and ``quantile`` (a data-driven threshold, e.g. 0.99).
    """
    att = _to_numpy(attention)
    act = _to_numpy(activations)
    if att.ndim != 3 or act.ndim != 3 or att.shape[0] != act.shape[0] or att.shape[1] != act.shape[2]:
        raise SeqlensError(f"attention (N, L', L') and activations (N, F, L') disagree: {att.shape} vs "
                         f"{act.shape}")
    labels = _labels(labels, act.shape[1])
    if quantile is not None:
        threshold = attention_threshold(att, quantile)
    pairs = select_position_pairs(att, threshold, random_fraction, max_pairs, random_state=random_state,
                                  quantile=quantile)
    sel = att[pairs[:, 0], pairs[:, 1], pairs[:, 2]]
    n_att = int((sel >= threshold).sum() if quantile is not None else (sel > threshold).sum())
    C = filter_correlations(act, pairs)
    S = zero_same_motif(symmetrize(C), labels)
    return GlifacResult(C, S, motif_matrix(S, labels, motifs), labels, len(pairs), n_att,
                        dict(threshold=float(threshold), random_fraction=random_fraction,
                             quantile=quantile))


def glifac_from_model(model: nn.Module, X, labels=None, motifs: Sequence[str] | None = None,
                      threshold: float = 0.1, random_fraction: float = 0.01,
                      max_pairs: int | None = 500_000, batch_size: int = 256, device=None,
                      random_state=None, verbose: bool = False,
                      quantile: float | None = None) -> GlifacResult:
    """:func:`glifac` on a ``cnn_attention`` model's attention maps (heads reduced by max) and pooled
    first-layer activations for sequences ``X`` ``(N, A, L)``."""
    att = attention_maps(model, X, "max", batch_size=batch_size, device=device, verbose=verbose)
    act = pooled_activations(model, X, batch_size=batch_size, device=device, verbose=verbose)
    return glifac(att, act, labels, motifs, threshold, random_fraction, max_pairs, random_state, quantile)


def pair_table(matrix: pd.DataFrame, interacting_pairs=(), use_abs: bool = True) -> pd.DataFrame:
    """Unordered motif pairs ``(a < b)`` of a motif x motif matrix with their ``score`` (the larger
    absolute value of the two entries when ``use_abs``, else the larger signed one) and ``true``
    (whether the pair is among ``interacting_pairs``), sorted by score."""
    names = list(matrix.index)
    M = matrix.to_numpy(dtype=np.float64)
    truth = {frozenset(p) for p in interacting_pairs}
    rows = []
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            s = max(abs(M[a, b]), abs(M[b, a])) if use_abs else max(M[a, b], M[b, a])
            rows.append((names[a], names[b], s, frozenset((names[a], names[b])) in truth))
    df = pd.DataFrame(rows, columns=["motif_a", "motif_b", "score", "true"])
    return df.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def evaluate_interactions(matrix: pd.DataFrame, interacting_pairs, motifs: Sequence[str] | None = None,
                          use_abs: bool = True) -> dict:
    """Score a motif x motif matrix against the true interacting pairs.

    Over all unordered pairs of distinct motifs (``motifs`` default: the matrix's; motifs missing
    from the matrix score 0): ``auroc`` and ``aupr`` (average precision) of the pair scores, and
    ``snr`` = mean score of true pairs / mean score of the other pairs (NaN when the others all
    score 0); ``n_true``, ``n_pairs``, ``top_pairs_true`` (true pairs among the top ``n_true``).
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    names = list(motifs) if motifs is not None else list(matrix.index)
    for a, b in interacting_pairs:
        for m in (a, b):
            if m not in names:
                raise SeqlensError(f"interacting pair ({a}, {b}): motif {m!r} is not among {names}")
    full = matrix.reindex(index=names, columns=names, fill_value=0.0).fillna(0.0)
    df = pair_table(full, interacting_pairs, use_abs)
    y, s = df["true"].to_numpy(), df["score"].to_numpy()
    n_true = int(y.sum())
    if n_true == 0 or n_true == len(y):
        raise SeqlensError("need both interacting and non-interacting motif pairs to evaluate")
    neg = s[~y].mean()
    return {
        "auroc": float(roc_auc_score(y, s)),
        "aupr": float(average_precision_score(y, s)),
        "snr": float(s[y].mean() / neg) if neg > 0 else float("nan"),
        "n_true": n_true,
        "n_pairs": int(len(y)),
        "top_pairs_true": int(y[:n_true].sum()),
    }


def naive_attention_interactions(attention, activations, labels, motifs: Sequence[str] | None = None,
                                 top_k: int = 5, min_activation: float = 0.0) -> pd.DataFrame:
    """The naive per-sequence reading of attention maps (the baseline GLIFAC improves on).

    For each sequence, take its ``top_k`` attention entries ``(i, j)`` (``i != j``); label each
    position by the filter with the largest activation there (if that activation exceeds
    ``min_activation`` and the filter has a label); count each motif pair so found. Returns a
    symmetric motif x motif DataFrame of counts / number of sequences (same-motif pairs 0).
    """
    att = _to_numpy(attention).astype(np.float64, copy=True)
    act = _to_numpy(activations)
    labels = _labels(labels, act.shape[1])
    names = list(motifs) if motifs is not None else sorted({lab for lab in labels if lab is not None})
    pos = {m: k for k, m in enumerate(names)}
    N, Lp, _ = att.shape
    idx = np.arange(Lp)
    att[:, idx, idx] = -np.inf
    flat = att.reshape(N, -1)
    top = np.argpartition(-flat, min(top_k, flat.shape[1] - 1), axis=1)[:, :top_k]
    qi, kj = np.divmod(top, Lp)
    best = act.argmax(axis=1)  # (N, L')
    best_val = act.max(axis=1)
    lab_idx = np.array([pos.get(lab, -1) if lab is not None else -1 for lab in labels])
    rows = np.arange(N)[:, None]
    la = np.where(best_val[rows, qi] > min_activation, lab_idx[best[rows, qi]], -1)
    lb = np.where(best_val[rows, kj] > min_activation, lab_idx[best[rows, kj]], -1)
    ok = (la >= 0) & (lb >= 0) & (la != lb)
    M = np.zeros((len(names), len(names)))
    np.add.at(M, (la[ok], lb[ok]), 1.0)
    M = (M + M.T) / max(N, 1)
    return pd.DataFrame(M, index=names, columns=names)
