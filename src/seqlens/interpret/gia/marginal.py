"""tangermeme's ``marginalize`` and ``space``: call shapes and values, so users can switch.

Both apply ``func`` (default :func:`~seqlens.interpret.gia.core.model_outputs`, the raw model
outputs, like tangermeme's ``predict``) to background sequences before and after substituting
motifs (:func:`~seqlens.interpret.gia.interventions.substitute`: ``N`` keeps the background) and
return both. The difference ``y_after - y_before`` averaged over the backgrounds is the global
importance of :func:`~seqlens.interpret.gia.global_importance`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from seqlens.alphabet import DNA, Alphabet, _is_tensor, get_alphabet
from seqlens.errors import ParameterError
from seqlens.interpret.gia.core import model_outputs
from seqlens.interpret.gia.interventions import substitute


class MarginalizeResult(NamedTuple):
    """``func`` before and after the substitution (``y_before, y_after = marginalize(...)``)."""

    y_before: Any
    y_after: Any


class SpaceResult(NamedTuple):
    """``func`` before the substitutions, and after them for each spacing, stacked on axis 1:
    ``(N, n_spacings, ...)``."""

    y_before: Any
    y_afters: Any


def _call(func, model, X, kwargs, extra):
    return func(model, X, **kwargs, **dict(extra or {}))


def _like_input(y, X):
    """Outputs (a tensor, or a list/dict of them) as numpy when ``X`` is numpy."""
    if _is_tensor(X):
        return y
    if isinstance(y, torch.Tensor):
        return y.detach().cpu().numpy()
    if isinstance(y, dict):
        return {k: _like_input(v, X) for k, v in y.items()}
    if isinstance(y, (list, tuple)):
        return [_like_input(v, X) for v in y]
    return y


def marginalize(model: nn.Module, X, motif, start: int | None = None,
                alphabet: str | Alphabet = DNA, func: Callable = model_outputs,
                additional_func_kwargs: dict | None = None, **kwargs) -> MarginalizeResult:
    """Apply ``func`` to background sequences before and after substituting ``motif``.

    Parameters
    ----------
    X : background sequences ``(N, A, L)`` (numpy or tensor).
    motif : a string (``N`` keeps the background letter) or one-hot ``(A, W)`` / ``(1 or N, A, W)``.
    start : where the motif starts; None centres it (``L // 2 - W // 2``, as tangermeme).
    func : ``func(model, X, **kwargs)``; default the raw model outputs. Any seqlens attribution
        function fits (e.g. :func:`~seqlens.attribution.saturation_mutagenesis`).
    kwargs, additional_func_kwargs : passed to ``func`` (e.g. ``args=``, ``batch_size=``,
        ``device=``).

    Returns
    -------
    ``(y_before, y_after)``: tensors when ``X`` is a tensor, numpy arrays otherwise.
    """
    X_after = substitute(X, motif, start=start, alphabet=alphabet)
    before = _call(func, model, X, kwargs, additional_func_kwargs)
    after = _call(func, model, X_after, kwargs, additional_func_kwargs)
    return MarginalizeResult(_like_input(before, X), _like_input(after, X))


def _stack(ys: list):
    """Stack per-spacing outputs on axis 1 (for each head of multi-output models)."""
    first = ys[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(ys, 1)
    if isinstance(first, np.ndarray):
        return np.stack(ys, 1)
    if isinstance(first, dict):
        return {k: _stack([y[k] for y in ys]) for k in first}
    return [_stack([y[j] for y in ys]) for j in range(len(first))]


def space(model: nn.Module, X, motifs, spacing, start: int | None = None,
          alphabet: str | Alphabet = DNA, func: Callable = model_outputs,
          additional_func_kwargs: dict | None = None, verbose: bool = False, **kwargs) -> SpaceResult:
    """Apply ``func`` to background sequences before and after substituting several motifs at
    given spacings.

    Parameters
    ----------
    X : background sequences ``(N, A, L)``.
    motifs : list of motifs (strings with ``N`` for "keep", or one-hot arrays), in order.
    spacing : ``(n_spacings, len(motifs) - 1)`` gaps in bp: row ``s`` puts motif ``i + 1``
        ``spacing[s, i]`` positions after the end of motif ``i``. For two motifs a 1-D list of gaps
        is accepted too (tangermeme wants 2-D).
    start : start of the first motif; None centres the whole arrangement of each row
        (``L // 2 - span // 2``, as tangermeme).
    func, kwargs, additional_func_kwargs : as in :func:`marginalize`.

    Returns
    -------
    ``(y_before (N, ...), y_afters (N, n_spacings, ...))``.
    """
    from tqdm.auto import tqdm

    alphabet = get_alphabet(alphabet)
    motifs = list(motifs)
    if len(motifs) < 2:
        raise ParameterError(f"space needs at least two motifs, got {len(motifs)}")
    S = np.asarray(spacing)
    if S.ndim <= 1 and len(motifs) == 2:
        S = S.reshape(-1, 1)
    if S.ndim != 2 or S.shape[1] != len(motifs) - 1 or not len(S):
        raise ParameterError(f"spacing must be (n_spacings, {len(motifs) - 1}) gaps, one column per "
                             f"adjacent pair of motifs, got shape {S.shape}")
    if S.dtype.kind not in "iu" or S.min() < 0:
        raise ParameterError("spacing must hold integer gaps >= 0")
    widths = [len(m) if isinstance(m, str) else int(np.shape(m)[-1]) for m in motifs]
    L = int(np.shape(X)[-1])
    before = _call(func, model, X, kwargs, additional_func_kwargs)
    afters = []
    for row in tqdm(S, disable=not verbose, desc="space", leave=False):
        span = int(row.sum()) + sum(widths)
        pos = L // 2 - span // 2 if start is None else int(start)
        if pos < 0 or pos + span > L:
            raise ParameterError(f"motifs of widths {widths} with gaps {row.tolist()} starting at {pos} "
                                 f"do not fit in length {L}")
        Xs = X
        for m, w, gap in zip(motifs, widths, list(row) + [0]):
            Xs = substitute(Xs, m, start=pos, alphabet=alphabet)
            pos += w + int(gap)
        afters.append(_call(func, model, Xs, kwargs, additional_func_kwargs))
    return SpaceResult(_like_input(before, X), _like_input(_stack(afters), X))
