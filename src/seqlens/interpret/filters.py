"""Convolutional filters as motifs.

Activation-based extraction (Koo & Eddy 2019; Koo & Ploenzke 2021): for each filter of a
convolutional layer, collect the input windows (width = the filter's receptive field) of the
sequences where the filter's activation exceeds ``threshold`` times its maximum activation over the
data set, and count the letters of those windows into a position count matrix (one count per
window, or the activation as weight). The matrix is clipped to its informative span.

Weight-based conversion turns the ``(F, A, K)`` weights of the first layer directly into
probabilities (softmax over letters, or shifted and normalised columns).

Matching and statistics: :func:`match_filters` compares filter motifs with a motif database by
Tomtom and returns a tidy table; :func:`filter_statistics` reduces such a table to the
design-principle figures (match fraction, match-any, false-positive rate, coverage).

Shapes: one-hot ``X`` is ``(N, A, L)``; activations are ``(N, F, L')``; motifs are ``(A, W)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from seqlens.errors import SeqlensError
from seqlens.models.base import first_layer as first_conv_layer
from seqlens.motifs.motif import Motif

__all__ = [
    "activation_motifs", "clip_motif", "filter_activations", "filter_statistics",
    "filter_weight_motifs", "first_conv_layer", "informative", "match_filters", "motif_base_id",
    "receptive_field", "truth_hits",
]


# ----------------------------------------------------------------------------------------------
# layers, receptive fields and activations
# ----------------------------------------------------------------------------------------------


def _resolve_layer(model: nn.Module, layer) -> tuple[str, nn.Module]:
    names = dict(model.named_modules())
    if isinstance(layer, str):
        if layer not in names:
            conv = [n for n, m in names.items() if isinstance(m, nn.Conv1d)]
            raise SeqlensError(f"no module named {layer!r} in {type(model).__name__}; "
                               f"its Conv1d layers are {conv}")
        return layer, names[layer]
    for name, module in names.items():
        if module is layer:
            return name, module
    raise SeqlensError(f"layer {layer!r} is not a module of {type(model).__name__}")


def _as_int(v) -> int:
    return int(v[0]) if isinstance(v, (tuple, list)) else int(v)


def receptive_field(model: nn.Module, layer=None) -> tuple[int, int, int]:
    """``(width, jump, start)`` of the input span seen by position ``j`` of ``layer``'s output:
    input positions ``start + j * jump`` to ``start + j * jump + width - 1`` (``start`` may be
    negative where padding adds columns before the sequence).

    ``layer`` is a module of ``model`` or its name (``None`` = the first ``Conv1d``). The span is
    computed by walking ``model.modules()`` in registration order up to and including ``layer``
    through ``Conv1d`` and ``MaxPool1d``/``AvgPool1d`` modules, so the registration order must be
    the order of the forward pass (true of the zoo and of ``nn.Sequential`` models).
    """
    if layer is None:
        layer = first_conv_layer(model)[0]
    _, target = _resolve_layer(model, layer)
    leaves = [m for m in model.modules() if not list(m.children())]
    target_leaves = [m for m in target.modules() if not list(m.children())] or [target]
    last = max(i for i, m in enumerate(leaves) if any(m is t for t in target_leaves))
    width, jump, start = 1, 1, 0
    for module in leaves[:last + 1]:
        if isinstance(module, nn.Conv1d):
            k, s, d = _as_int(module.kernel_size), _as_int(module.stride), _as_int(module.dilation)
            span = d * (k - 1)
            if module.padding == "same":
                left = span // 2
            elif module.padding == "valid":
                left = 0
            else:
                left = _as_int(module.padding)
            start -= left * jump
            width += span * jump
            jump *= s
        elif isinstance(module, (nn.MaxPool1d, nn.AvgPool1d)):
            k = _as_int(module.kernel_size)
            s = _as_int(module.stride if module.stride is not None else k)
            p = _as_int(module.padding)
            d = _as_int(getattr(module, "dilation", 1))
            start -= p * jump
            width += d * (k - 1) * jump
            jump *= s
    return width, jump, start


def _device(device) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _activation_fn(model: nn.Module, layer) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function ``X -> (N, F, L')`` activations of ``layer`` (``None`` = first layer)."""
    if layer is None and hasattr(model, "first_layer_activations") and \
            isinstance(getattr(model, "conv1", None), nn.Conv1d):
        return lambda X: model.first_layer_activations(X, pooled=False)
    if layer is None:
        conv, _ = first_conv_layer(model)
        _, module = _resolve_layer(model, conv)
    else:
        _, module = _resolve_layer(model, layer)

    def run(X):
        store = {}

        def hook(_m, _inp, out):
            store["out"] = out
            raise _Stop

        handle = module.register_forward_hook(hook)
        try:
            model(X)
        except _Stop:
            pass
        finally:
            handle.remove()
        if "out" not in store:
            raise SeqlensError("the chosen layer was not called in the forward pass")
        out = store["out"]
        if out.ndim != 3:
            raise SeqlensError(f"layer output must be (N, C, L), got shape {tuple(out.shape)}")
        return out

    return run


class _Stop(Exception):
    """Raised by a forward hook to end the forward pass once the wanted layer has run."""


def _batches(X, batch_size: int, device: torch.device):
    for i in range(0, len(X), batch_size):
        xb = X[i:i + batch_size]
        xb = xb if isinstance(xb, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(xb))
        yield i, xb.to(device=device, dtype=torch.float32)


def filter_activations(model: nn.Module, X, layer=None, batch_size: int = 256, device=None,
                       verbose: bool = False) -> np.ndarray:
    """``(N, F, L')`` activations of ``layer`` (default: the first layer after its activation,
    before pooling; for non-zoo models the output of the first ``Conv1d``) for ``X`` ``(N, A, L)``.
    """
    dev = _device(device)
    model = model.to(dev).eval()
    fn = _activation_fn(model, layer)
    out = []
    with torch.no_grad():
        for _, xb in _progress(_batches(X, batch_size, dev), len(X), batch_size, verbose):
            out.append(fn(xb).float().cpu().numpy())
    return np.concatenate(out)


def _progress(it, n, batch_size, verbose):
    if not verbose:
        return it
    from tqdm.auto import tqdm

    return tqdm(it, total=math.ceil(n / batch_size), desc="filters")


# ----------------------------------------------------------------------------------------------
# activation-based motifs
# ----------------------------------------------------------------------------------------------


def clip_motif(motif: Motif, min_information: float = 0.5, pad: int = 3) -> Motif:
    """Keep the span from the first to the last column with information > ``min_information``
    bits, widened by ``pad`` columns each side (within the motif); records ``clip_start`` and
    ``clip_stop`` (column slice of the unclipped motif) and ``informative`` (whether any column
    passed) in ``metadata``. A motif without
    informative columns is returned whole."""
    info = motif.information()
    keep = np.flatnonzero(info > min_information)
    if keep.size == 0:
        start, stop = 0, motif.width
    else:
        start = max(int(keep[0]) - pad, 0)
        stop = min(int(keep[-1]) + 1 + pad, motif.width)
    out = motif[start:stop]
    out.metadata.update(clip_start=start, clip_stop=stop, informative=bool(keep.size))
    return out


def activation_motifs(model: nn.Module, X, layer=None, threshold: float = 0.5,
                      weighted: bool = False, edges: str = "pad", clip: bool = True,
                      min_information: float = 0.5, pad: int = 3, batch_size: int = 256,
                      device=None, verbose: bool = False, prefix: str = "filter") -> list[Motif]:
    """One motif per filter of ``layer`` from the windows that activate it.

    Parameters
    ----------
    model : any ``nn.Module``; zoo models give first-layer activations after their activation
        function (before pooling); for other modules the output of ``layer`` is used.
    X : ``(N, A, L)`` one-hot sequences (numpy or torch).
    layer : ``None`` (first ``Conv1d``) or a module of ``model`` / its name for deeper filters;
        windows then span the layer's receptive field (:func:`receptive_field`).
    threshold : a window is collected where the activation exceeds ``threshold`` times the
        filter's maximum activation over ``X`` (filters whose maximum is <= 0 get no windows).
    weighted : weight each window by its activation instead of counting it once.
    edges : ``"pad"`` counts windows that hang over the sequence ends, with background
        (uniform, ``1/A`` per letter) for the missing columns; ``"skip"`` drops them.
    clip : trim each motif to its informative span (:func:`clip_motif` with ``min_information``
        and ``pad``).

    Returns
    -------
    list of ``F`` count :class:`Motif` objects named ``f"{prefix}{i}"``. ``metadata`` holds
    ``filter`` (index), ``n_sites`` (windows collected), ``max_activation``, ``threshold``
    (absolute), ``weighted``, ``clip_start``/``clip_stop``. A filter with no windows gets a
    uniform probability motif with ``n_sites`` 0 and ``empty`` True.
    """
    if edges not in ("pad", "skip"):
        raise SeqlensError(f"edges must be 'pad' or 'skip', got {edges!r}")
    if not 0 <= threshold <= 1:
        raise SeqlensError(f"threshold must be a fraction in [0, 1], got {threshold}")
    if len(X) == 0:
        raise SeqlensError("X holds no sequences")
    dev = _device(device)
    model = model.to(dev).eval()
    fn = _activation_fn(model, layer)
    width, jump, start0 = receptive_field(model, layer)
    n_letters, length = int(X.shape[1]), int(X.shape[2])

    # pass 1: maximum activation of each filter over the data set
    max_act = None
    with torch.no_grad():
        for _, xb in _progress(_batches(X, batch_size, dev), len(X), batch_size, verbose):
            m = fn(xb).amax(dim=(0, 2))
            max_act = m if max_act is None else torch.maximum(max_act, m)
    n_filters = int(max_act.numel())
    cut = torch.where(max_act > 0, threshold * max_act, torch.full_like(max_act, math.inf))

    # pass 2: count the windows above the cut
    counts = torch.zeros(n_filters, n_letters, width, dtype=torch.float64, device=dev)
    n_sites = torch.zeros(n_filters, dtype=torch.float64, device=dev)
    with torch.no_grad():
        for _, xb in _progress(_batches(X, batch_size, dev), len(X), batch_size, verbose):
            act = fn(xb)
            n_pos = act.shape[2]
            starts = start0 + jump * torch.arange(n_pos, device=dev)
            inside = (starts >= 0) & (starts + width <= length)
            mask = act > cut[None, :, None]
            if edges == "skip":
                mask &= inside[None, None, :]
            w = torch.where(mask, act, torch.zeros_like(act)) if weighted else mask.to(act.dtype)
            # pad the sequences so that every window start maps to a non-negative index
            left = max(0, -start0)
            right = max(0, int(starts[-1]) + width - length)
            xp = torch.nn.functional.pad(xb, (left, right), value=1.0 / n_letters)
            win = xp.unfold(2, width, 1)  # (B, A, L + left + right - width + 1, width)
            idx = starts + left
            win = win[:, :, idx, :]  # (B, A, n_pos, width)
            counts += torch.einsum("bfl,balk->fak", w.double(), win.double())
            n_sites += mask.sum(dim=(0, 2)).double()

    counts = counts.cpu().numpy()
    n_sites = n_sites.cpu().numpy()
    max_np = max_act.float().cpu().numpy()
    cut_np = cut.float().cpu().numpy()
    motifs = []
    for f in range(n_filters):
        meta = dict(filter=f, n_sites=int(n_sites[f]), max_activation=float(max_np[f]),
                    threshold=float(cut_np[f]) if np.isfinite(cut_np[f]) else None,
                    weighted=bool(weighted), clip_start=0, clip_stop=width, empty=False)
        if n_sites[f] == 0 or not (counts[f].sum(axis=0) > 0).all():
            meta["empty"] = True
            m = Motif.from_probabilities(np.full((n_letters, width), 1.0 / n_letters),
                                         name=f"{prefix}{f}", alphabet=_alphabet(n_letters),
                                         metadata=meta)
        else:
            m = Motif.from_counts(counts[f], name=f"{prefix}{f}", alphabet=_alphabet(n_letters),
                                  metadata=meta)
            if clip:
                m = clip_motif(m, min_information, pad)
        motifs.append(m)
    return motifs


def _alphabet(n_letters: int):
    from seqlens.alphabet import DNA, PROTEIN

    if n_letters == DNA.size:
        return DNA
    if n_letters == PROTEIN.size:
        return PROTEIN
    raise SeqlensError(f"no alphabet with {n_letters} letters")


# ----------------------------------------------------------------------------------------------
# weight-based motifs
# ----------------------------------------------------------------------------------------------


def filter_weight_motifs(model_or_weights, method: str = "softmax", base: float = 2.0,
                         clip: bool = False, min_information: float = 0.5, pad: int = 3,
                         prefix: str = "filter") -> list[Motif]:
    """Motifs straight from first-layer weights ``(F, A, K)``.

    ``method="softmax"``: ``p[a, k] ∝ base ** w[a, k]`` per column (with ``base=2`` log-odds
    weights in bits against a uniform background give back their probabilities);
    ``"normalise"``: subtract each column's minimum and divide by the column sum (all-equal
    columns become uniform). ``model_or_weights`` is a model (its first ``Conv1d``) or an array.
    """
    if isinstance(model_or_weights, nn.Module):
        w = first_conv_layer(model_or_weights)[0].weight.detach().cpu().double().numpy()
    else:
        w = np.asarray(model_or_weights.detach().cpu() if isinstance(model_or_weights, torch.Tensor)
                       else model_or_weights, dtype=np.float64)
    if w.ndim == 2:
        w = w[None]
    if w.ndim != 3:
        raise SeqlensError(f"weights must be (F, A, K), got shape {w.shape}")
    if method == "softmax":
        z = w * math.log(base)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
    elif method in ("normalise", "normalize"):
        p = w - w.min(axis=1, keepdims=True)
        flat = p.sum(axis=1, keepdims=True) == 0
        p = np.where(flat, 1.0, p)
    else:
        raise SeqlensError(f"method must be 'softmax' or 'normalise', got {method!r}")
    p = p / p.sum(axis=1, keepdims=True)
    alphabet = _alphabet(w.shape[1])
    out = []
    for f in range(len(p)):
        m = Motif.from_probabilities(p[f], name=f"{prefix}{f}", alphabet=alphabet,
                                     metadata=dict(filter=f, method=method))
        out.append(clip_motif(m, min_information, pad) if clip else m)
    return out


# ----------------------------------------------------------------------------------------------
# matching and statistics
# ----------------------------------------------------------------------------------------------

MATCH_COLUMNS = ["filter", "query", "target", "target_name", "p_value", "e_value", "q_value",
                 "offset", "overlap", "strand", "truth"]


def motif_base_id(motif_id: str) -> str:
    """The version-free matrix ID: ``"MA0079.3"`` -> ``"MA0079"`` (other names unchanged)."""
    head, dot, tail = str(motif_id).partition(".")
    return head if dot and tail.isdigit() else str(motif_id)


def _same_tf(a: str, b: str, synonyms) -> bool:
    if a == b or motif_base_id(a) == motif_base_id(b):
        return True
    if synonyms is None:
        return False
    if callable(synonyms):
        return bool(synonyms(a, b))
    for x, y in ((a, b), (b, a)):
        group = set(synonyms.get(x, ())) | set(synonyms.get(motif_base_id(x), ()))
        if y in group or motif_base_id(y) in {motif_base_id(g) for g in group}:
            return True
    return False


def truth_hits(target_ids: Iterable[str], truth_ids: Iterable[str], synonyms=None) -> list[str | None]:
    """For each target ID, the ground-truth ID it stands for (same ID, any version of it, or a
    synonym), else ``None``. ``synonyms`` maps an ID (or base ID) to the IDs that count as the
    same motif, or is a callable ``(target, truth) -> bool``."""
    _mapping_check(synonyms)
    truth = list(truth_ids)
    out = []
    for t in target_ids:
        out.append(next((g for g in truth if _same_tf(str(t), str(g), synonyms)), None))
    return out


MIN_MATCH_BITS = 2.0  # total information (bits) below which a filter motif is not matched


def informative(motif: Motif, min_bits: float = MIN_MATCH_BITS) -> bool:
    """Whether ``motif`` holds enough information to be compared with a database: not empty, not
    found uninformative by :func:`clip_motif`, and at least ``min_bits`` bits in total (a uniform
    or near-uniform matrix is none of these: Tomtom would otherwise report significant hits to
    long, low-information database motifs such as CTCF)."""
    return not (motif.metadata.get("empty", False) or motif.metadata.get("informative") is False
                or motif.total_information() < min_bits)


def match_filters(motifs: list[Motif], targets: list[Motif], truth_ids: Iterable[str] = (),
                  synonyms=None, n_nearest: int | None = 10, pseudocount: float = 0.0,
                  n_jobs: int = -1, skip_uninformative: bool = True,
                  distance: str = "euclidean", min_bits: float = MIN_MATCH_BITS) -> pd.DataFrame:
    """Tomtom (:func:`seqlens.motifs.tomtom.tomtom`, column score ``distance``: ``"euclidean"``
    as MEME 5's default or ``"pearson"`` as MEME 4's) of filter motifs against ``targets``; one
    row per (filter, hit).

    Returns a DataFrame with columns ``filter`` (index of the motif in ``motifs``), ``query``
    (its name), ``target`` (matrix ID), ``target_name`` (TF name), ``p_value``, ``e_value``
    (p x number of targets), ``q_value`` (Benjamini-Hochberg over all targets of that query, as
    Tomtom does), ``offset``, ``overlap``, ``strand`` and ``truth`` (the ground-truth ID the target
    stands for, see :func:`truth_hits`, or ``None``). The ``n_nearest`` best hits of each filter
    are kept (``None`` keeps all). Empty motifs (no collected windows) get no rows, nor, with
    ``skip_uninformative``, motifs that are not :func:`informative` (no column kept by
    :func:`clip_motif`, or less than ``min_bits`` bits in total): near-uniform matrices otherwise
    draw significant Tomtom hits to long, low-information database motifs.
    """
    from seqlens.motifs.tomtom import tomtom

    truth_ids = list(truth_ids)
    targets = list(targets)
    keep = [i for i, m in enumerate(motifs) if not m.metadata.get("empty", False)
            and not (skip_uninformative and not informative(m, min_bits))]
    if not keep or not targets:
        return pd.DataFrame(columns=MATCH_COLUMNS)
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*target motifs.*")
        table = tomtom([motifs[i] for i in keep], targets, top_n=n_nearest,
                       pseudocount=pseudocount, n_jobs=n_jobs, distance=distance)
    table["filter"] = np.asarray(keep)[table["query_index"].to_numpy()]
    ids = list(dict.fromkeys(table["target"]))
    truth_of = dict(zip(ids, truth_hits(ids, truth_ids, synonyms)))
    table["truth"] = pd.Series([truth_of[t] for t in table["target"]], index=table.index,
                               dtype=object)
    return table[MATCH_COLUMNS].reset_index(drop=True)


def filter_statistics(matches: pd.DataFrame, n_filters: int, truth_ids: Iterable[str] = (),
                      metric: str = "q_value", cutoff: float = 0.1) -> dict:
    """Design-principle statistics of a match table (from :func:`match_filters`).

    A hit is significant when ``matches[metric] <= cutoff`` (``metric`` is ``"q_value"``,
    ``"e_value"`` or ``"p_value"``); a hit is a ground-truth hit when its ``truth`` column names
    a ground-truth motif.

    Returns
    -------
    dict with ``n_filters``; ``match_fraction`` (filters with a significant ground-truth hit /
    all filters); ``match_any`` (filters with any significant hit / all filters);
    ``false_positive_rate`` (``match_any - match_fraction``: filters whose significant hits are
    all outside the ground truth / all filters); ``coverage`` (ground-truth motifs hit by at
    least one filter / ground-truth motifs), ``n_truth``, ``n_truth_covered``, and
    ``metric``/``cutoff``. Without ground truth (real data, empty ``truth_ids``) only the database
    figures: ``n_filters``, ``match_any``, ``n_matched`` (filters with a significant hit),
    ``metric``, ``cutoff`` (a "false positive" or a match fraction of 0 would mislead there).
    """
    if metric not in ("q_value", "e_value", "p_value"):
        raise SeqlensError(f"metric must be q_value, e_value or p_value, got {metric!r}")
    if n_filters <= 0:
        raise SeqlensError("n_filters must be positive")
    truth_ids = list(dict.fromkeys(truth_ids))
    sig = matches[matches[metric] <= cutoff]
    any_hit = set(sig["filter"])
    if not truth_ids:
        return dict(n_filters=int(n_filters), match_any=len(any_hit) / n_filters,
                    n_matched=len(any_hit), metric=metric, cutoff=float(cutoff))
    truth_col = sig["truth"] if "truth" in sig else pd.Series([None] * len(sig), index=sig.index)
    is_truth = truth_col.notna() & truth_col.isin(truth_ids)
    truth_filters = set(sig.loc[is_truth, "filter"])
    covered = set(truth_col[is_truth])
    n_truth = len(truth_ids)
    return dict(
        n_filters=int(n_filters),
        match_fraction=len(truth_filters) / n_filters,
        match_any=len(any_hit) / n_filters,
        false_positive_rate=len(any_hit - truth_filters) / n_filters,
        coverage=len(covered) / n_truth,
        n_truth=n_truth,
        n_truth_covered=len(covered),
        metric=metric,
        cutoff=float(cutoff),
    )


def best_matches(matches: pd.DataFrame, n_filters: int) -> pd.DataFrame:
    """The best hit (smallest p-value) of each filter ``0 .. n_filters - 1``; filters without
    hits get a row of missing values."""
    if len(matches):
        best = matches.sort_values(["filter", "p_value"], kind="stable").groupby("filter").head(1)
        best = best.set_index("filter")
    else:
        best = matches.set_index("filter")
    return best.reindex(range(n_filters)).rename_axis("filter").reset_index()


def save_filter_matches(directory, motifs: list[Motif], matches: pd.DataFrame) -> None:
    """Write ``motifs.meme`` (the filter motifs) and ``matches.csv`` (the :func:`match_filters`
    table) to ``directory``, each atomically, so a run can be rescored or inspected later."""
    from seqlens.io.atomic import atomic_path
    from seqlens.io.motifs import write_meme

    write_meme(Path(directory) / "motifs.meme", motifs)
    with atomic_path(Path(directory) / "matches.csv") as tmp:
        matches.to_csv(tmp, index=False)


def _mapping_check(synonyms) -> None:
    if synonyms is not None and not callable(synonyms) and not isinstance(synonyms, Mapping):
        raise TypeError("synonyms must be a mapping ID -> IDs or a callable (target, truth)")
