"""GIA for any input modality: model evaluation, the global importance of an intervention, and the
helpers the experiments share.

:func:`global_importance` works on tensors of any shape (sequences ``(n, A, L)``, images
``(n, C, H, W)``, tabular ``(n, F)``): given null inputs (a batch, or a generator
``null(n, rng)``) and an intervention ``intervention(X_batch, rng) -> X_batch'`` it reports
``importance = mean_i [f(intervened_i) - f(null_i)]``, its standard error and the per-input
differences.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from seqlens.alphabet import DNA, Alphabet, _is_tensor, _to_numpy
from seqlens.attribution._utils import (
    args_for,
    check_alphabet_axis,
    check_args,
    check_count,
    eval_mode,
    model_dtype,
    resolve_device,
    select_output,
)
from seqlens.errors import ParameterError, SeqlensError
from seqlens.interpret.gia.interventions import embed_patterns
from seqlens.motifs.motif import Motif

# ----------------------------------------------------------------------------------------------
# model evaluation


def _batch_tensor(xb, device, dtype) -> torch.Tensor:
    """A batch (numpy or tensor) on ``device``; floating inputs in the model's ``dtype``, integer
    inputs (e.g. token ids) kept as they are."""
    t = xb if _is_tensor(xb) else torch.as_tensor(np.ascontiguousarray(xb))
    return t.to(device, dtype) if torch.is_floating_point(t) else t.to(device)


def _forward(model: nn.Module, X, args, batch_size: int, device, verbose: bool, desc: str):
    """Yield the raw model output of each batch of ``X`` (eval mode, no gradients)."""
    from tqdm.auto import tqdm

    batch_size = check_count("batch_size", batch_size)
    device = resolve_device(device)
    extra = check_args(args, len(X))
    with eval_mode(model, device), torch.no_grad():
        dtype = model_dtype(model)
        for i in tqdm(range(0, len(X), batch_size), disable=not verbose, desc=desc, leave=False):
            sl = slice(i, i + batch_size)
            yield model(_batch_tensor(X[sl], device, dtype), *args_for(extra, sl, 1, device, dtype))


def predict(model: nn.Module, X, target=0, args=None, batch_size: int = 256, device=None,
            verbose: bool = False, desc: str = "predict") -> np.ndarray:
    """Model output for inputs ``X`` ``(N, ...)`` (numpy or tensor, any modality) in eval mode,
    batch by batch.

    target : as in :mod:`seqlens.attribution` (an output index, a list or slice summed, a
        ``(head, index)`` tuple for models with several outputs, a callable over the whole output),
        or ``None`` for all outputs.
    args : extra model inputs, each ``(N, ...)``.
    Returns ``(N,)`` (or ``(N, T)`` for ``target=None``) float64 numpy.
    """
    outs = [select_output(y, target, keep_all=target is None).double().cpu().numpy()
            for y in _forward(model, X, args, batch_size, device, verbose, desc)]
    return np.concatenate(outs) if outs else np.zeros((0,))


def model_outputs(model: nn.Module, X, args=None, batch_size: int = 256, device=None,
                  verbose: bool = False):
    """The raw outputs of ``model`` for ``X`` ``(N, ...)``, concatenated over batches on the CPU:
    a tensor, or a list (dict) of tensors for a model returning a tuple or list (dict). The
    default ``func`` of :func:`~seqlens.interpret.gia.marginalize` and
    :func:`~seqlens.interpret.gia.space`, like tangermeme's ``predict``."""
    parts = list(_forward(model, X, args, batch_size, device, verbose, "predict"))
    if not parts:
        raise ParameterError("model_outputs needs at least one input")
    first = parts[0]
    if isinstance(first, torch.Tensor):
        return torch.cat([p.detach().cpu() for p in parts])
    if isinstance(first, dict):
        return {k: torch.cat([p[k].detach().cpu() for p in parts]) for k in first}
    if isinstance(first, (tuple, list)):
        return [torch.cat([p[j].detach().cpu() for p in parts]) for j in range(len(first))]
    raise ParameterError(f"cannot read a model output of type {type(first).__name__}")


# ----------------------------------------------------------------------------------------------
# global importance


@dataclass
class GIAResult:
    """Global importance of one intervention.

    importance : mean effect over null inputs (``(T,)`` for ``target=None``).
    se : its standard error (sample std with ddof=1 / sqrt(n)).
    effects : ``(n,)`` (or ``(n, T)``) per-null-input effects ``f(intervened) - f(null)``.
    """

    importance: float | np.ndarray
    se: float | np.ndarray
    effects: np.ndarray

    @property
    def n(self) -> int:
        return len(self.effects)


def _summarise(effects: np.ndarray) -> GIAResult:
    effects = np.asarray(effects, dtype=np.float64)
    n = len(effects)
    mean = effects.mean(axis=0)
    se = effects.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros_like(mean)
    if np.ndim(mean) == 0:
        mean, se = float(mean), float(se)
    return GIAResult(mean, se, effects)


def _with_rng(fn: Callable, name: str) -> Callable:
    """``fn`` as a two-argument callable ``(x, rng)``; a one-argument ``fn(x)`` ignores the rng."""
    if not callable(fn):
        raise ParameterError(f"{name} must be a callable, got {type(fn).__name__}")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature: assume (x, rng)
        return fn
    try:
        sig.bind(None, None)
        return fn
    except TypeError:
        return lambda x, rng: fn(x)


def _null_inputs(X_null, n, rng):
    """The null batch: ``X_null`` itself, or ``X_null(n, rng)`` for a generator."""
    if callable(X_null):
        n = check_count("n (the number of null inputs to generate)", n)
        X = _with_rng(X_null, "the null generator")(n, rng)
        if not hasattr(X, "shape") or not len(X.shape) or X.shape[0] != n:
            got = tuple(X.shape) if hasattr(X, "shape") else type(X).__name__
            raise ParameterError(f"the null generator returned {got} "
                                 f"for n={n}; it must return n inputs (n, ...)")
        return X
    X = X_null if _is_tensor(X_null) else np.asarray(X_null)
    if X.ndim < 1 or not len(X):
        raise ParameterError(f"X_null must be a non-empty batch (n, ...), got shape {tuple(X.shape)}")
    if n is not None and int(n) != len(X):
        raise ParameterError(f"n={n} but X_null holds {len(X)} inputs (n= is for a null generator)")
    return X


def global_importance(model: nn.Module, X_null, patterns=None, positions=None, strands="+",
                      intervention: Callable | None = None, sample: bool = False,
                      null_predictions=None, target=0, args=None, n: int | None = None,
                      alphabet: str | Alphabet = DNA, batch_size: int = 256, device=None,
                      random_state=None, verbose: bool = False) -> GIAResult:
    """Global importance of an intervention over null inputs of any modality.

    Parameters
    ----------
    X_null : the null inputs ``(n, ...)`` (numpy or tensor: one-hot sequences, images, ...), or a
        null generator ``X_null(n, rng) -> (n, ...)`` called once with ``n=``.
    patterns, positions, strands, sample, alphabet : for one-hot sequences ``(n, A, L)``: embed
        these patterns (see :func:`embed_patterns`) as the intervention.
    intervention : any ``intervention(X_batch, rng) -> X_batch'`` (or ``intervention(X_batch)``)
        returning inputs of the same kind and number, e.g. paste a texture into images or a
        ``functools.partial`` of :func:`occlude`. It may also be given as the third positional
        argument.
    null_predictions : ``(n,)`` model outputs on the nulls, to skip re-predicting them when several
        interventions share them.
    target : the output (see :func:`predict`); None keeps all outputs.
    args : extra model inputs ``(n, ...)`` given unchanged to both passes.
    n : the number of nulls to draw from a generator.

    Returns
    -------
    :class:`GIAResult`: ``importance = mean(f(X') - f(X))``, its standard error and the per-input
    differences ``effects``.
    """
    if callable(patterns) and not isinstance(patterns, Motif) and intervention is None:
        patterns, intervention = None, patterns
    if (patterns is None) == (intervention is None):
        raise SeqlensError("give either patterns (with positions) or an intervention callable")
    if patterns is not None and positions is None:
        raise SeqlensError("patterns need positions")
    rng = np.random.default_rng(random_state)
    X = _null_inputs(X_null, n, rng)
    if patterns is not None:
        X = _onehot_nulls(X, alphabet)

        def apply(xb, r):
            return embed_patterns(xb, patterns, positions, strands, sample=sample, alphabet=alphabet,
                                  random_state=r)
    else:
        apply = _with_rng(intervention, "intervention")
    extra = check_args(args, len(X))
    kw = dict(target=target, batch_size=batch_size, device=device)
    if null_predictions is None:
        f0 = predict(model, X, args=extra, **kw)
    else:
        f0 = np.asarray(null_predictions, dtype=np.float64)
        if len(f0) != len(X):
            raise SeqlensError(f"null_predictions has {len(f0)} values for {len(X)} null inputs")

    from tqdm.auto import tqdm

    f1 = []
    for i in tqdm(range(0, len(X), batch_size), disable=not verbose, desc="GIA", leave=False):
        sl = slice(i, i + batch_size)
        xb = X[sl]
        xi = apply(xb, rng)
        if not hasattr(xi, "shape") or tuple(xi.shape) != tuple(xb.shape):
            got = tuple(xi.shape) if hasattr(xi, "shape") else type(xi).__name__
            raise ParameterError(f"the intervention returned {got} "
                                 f"for a batch of shape {tuple(xb.shape)}; it must keep the shape")
        f1.append(predict(model, xi, args=args_for(extra, sl), **kw))
    return _summarise(np.concatenate(f1) - f0)


# ----------------------------------------------------------------------------------------------
# shared by the sequence experiments


def _onehot_nulls(X_null, alphabet=DNA) -> np.ndarray:
    """Null sequences as float32 numpy ``(n, A, L)``, the alphabet axis checked."""
    Xn = _to_numpy(X_null).astype(np.float32, copy=False)
    if Xn.ndim != 3 or not len(Xn):
        raise SeqlensError(f"X_null must be a non-empty one-hot batch (n, A, L), got shape {Xn.shape}")
    check_alphabet_axis(Xn.shape, alphabet, "X_null")
    return Xn


def _many(model, Xn, f0, make: Callable[[np.ndarray, int, np.random.Generator], np.ndarray],
          n_interventions: int, target, batch_size, device, rng, verbose, desc) -> np.ndarray:
    """Effects ``(n_interventions, n)`` of many interventions, batching (intervention x null) pairs.

    ``make(X_chunk, j, rng)`` returns the intervened chunk for intervention ``j``.
    """
    from tqdm.auto import tqdm

    n = len(Xn)
    out = np.empty((n_interventions, n) + np.shape(f0)[1:], dtype=np.float64)
    per = max(1, batch_size // max(n, 1))  # interventions per model call when nulls are few
    chunk = min(n, batch_size)
    for j0 in tqdm(range(0, n_interventions, per), disable=not verbose, desc=desc, leave=False):
        js = range(j0, min(j0 + per, n_interventions))
        for c in range(0, n, chunk):
            xb = Xn[c:c + chunk]
            batch = np.concatenate([make(xb, j, rng) for j in js])
            f1 = predict(model, batch, target=target, batch_size=batch_size, device=device)
            f1 = f1.reshape(len(js), len(xb), *f1.shape[1:])
            out[j0:j0 + len(js), c:c + len(xb)] = f1 - f0[c:c + len(xb)]
    return out


def _table(effects: np.ndarray, **columns) -> pd.DataFrame:
    """DataFrame with the given columns plus ``importance`` and ``se`` from ``(J, n)`` effects."""
    n = effects.shape[1]
    df = pd.DataFrame(columns)
    df["importance"] = effects.mean(axis=1)
    df["se"] = effects.std(axis=1, ddof=1) / np.sqrt(n) if n > 1 else 0.0
    return df


def _prep(model, X_null, target, batch_size, device, alphabet=DNA):
    Xn = _onehot_nulls(X_null, alphabet)
    if target is None:
        raise SeqlensError("experiments need a single target output (an int or a list of ints)")
    return Xn, predict(model, Xn, target=target, batch_size=batch_size, device=device)


def _center(L: int, W: int) -> int:
    return max((L - W) // 2, 0)


def _check_fit(position: int, width: int, length: int) -> None:
    if not 0 <= position <= length - width:
        raise SeqlensError(f"a pattern of width {width} at position {position} does not fit in "
                           f"sequences of length {length} (positions 0..{length - width})")
