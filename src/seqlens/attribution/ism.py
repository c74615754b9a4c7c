"""In-silico saturation mutagenesis (ISM).

:func:`ism` returns ``(N, A, L)``: ``f(x with letter a at position l) - f(x)`` (0 at the observed
letter). ``fast=True`` (default) reuses computation: the model is traced with ``torch.fx`` and the
position-local layers at its start (convolutions with stride 1, dilated ones included, pointwise
activations, batch norm in eval mode, dropout, max/average pooling, residual sums) are evaluated
only on the receptive field of each substitution (the first convolution as a rank-1 update of
the reference, wide max-pools from running maxima of the reference; see
:mod:`seqlens.attribution.fast_ism`); the rest of the network runs on the spliced intermediate.
Models that cannot be traced, that begin with a non-local layer, whose local part saves too little
computation to pay off (e.g. a transformer after one convolution, or dilated windows that grow to
the whole sequence) or whose plan disagrees with the model on a few check mutants fall back to the
naive batched ISM, with the same results. CNN + self-attention hybrids (``CNNAttention`` and
models that wrap one) also update their first attention layer incrementally (only the window of
pooled rows a substitution changes gets new queries, keys and values; see
:mod:`seqlens.attribution.fast_ism_attention`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from seqlens.attribution._utils import (
    args_for,
    as_tensor,
    check_alphabet_axis,
    check_args,
    check_count,
    eval_mode,
    like,
    model_dtype,
    model_output,
    per_batch_target,
    repeat_target,
    resolve_device,
    select_output,
)
from seqlens.errors import ParameterError, SeqlensError
from seqlens.resources import batch_size_for, keep_freed_memory

# the fast plan runs at most this many mutants at a time: its windows then stay in the CPU caches
# (measured at 1 thread: ResidualBind 1.5x and cnn_local 1.05x faster than 1024 at a time)
_FAST_CHUNK = 256


def _mutants(x: torch.Tensor, start: int, end: int):
    """All single substitutions of one sequence ``x`` ``(A, L)`` in ``[start, end)``.

    Returns (positions ``(M,)``, letters ``(M,)``) of mutants whose column differs from ``x``."""
    A, L = x.shape
    pos = torch.arange(start, end, device=x.device).repeat_interleave(A)
    let = torch.arange(A, device=x.device).repeat(end - start)
    keep = x[let, pos] != 1
    return pos[keep], let[keep]


def _apply(x: torch.Tensor, pos: torch.Tensor, let: torch.Tensor) -> torch.Tensor:
    M = len(pos)
    xm = x[None].repeat(M, 1, 1)
    ar = torch.arange(M, device=x.device)
    xm[ar, :, pos] = 0
    xm[ar, let, pos] = 1
    return xm


def ism(model: nn.Module, X, target=0, activation=None, start: int = 0, end: int | None = None,
        fast: bool = True, args=None, alphabet=None, batch_size: int | None = None, device=None,
        verbose: bool = False):
    """Saturation mutagenesis: every single substitution in positions ``[start, end)``.

    Parameters
    ----------
    X : ``(N, A, L)`` one-hot.
    target, activation : which output, on which scale (see ``seqlens.attribution``).
    fast : reuse computation on the local first layers (see module doc); same values. Models
        with extra inputs (``args``) run the naive ISM.
    args : extra model inputs, each ``(N, ...)``; sequence ``i``'s rows go with all its mutants.
    alphabet : the alphabet when it has not 4, 20 or 21 letters.
    batch_size : mutants per forward pass (at most 256 at a time on the fast plan); ``None``: as
        many as fit in a quarter of the memory free on ``device``, at most 1024 (from the bytes one
        sequence's forward pass produces, :func:`forward_bytes`).

    Returns
    -------
    ``(N, A, L)``: output change of each substitution (0 at observed letters and outside the
    window), same kind as ``X``. :func:`saturation_mutagenesis` gives tangermeme's mean-centred form.
    """
    if batch_size is not None:
        check_count("batch_size", batch_size)
    device = resolve_device(device)
    T = as_tensor(X, alphabet=alphabet)
    extra = check_args(args, len(T))
    N, A, L = T.shape
    end = L if end is None else int(end)
    if not 0 <= start < end <= L:
        raise SeqlensError(f"need 0 <= start < end <= L={L}, got start={start}, end={end}")
    out = torch.zeros((N, A, L), dtype=torch.float64)
    if device.type == "cpu":
        keep_freed_memory()  # each batch of mutants allocates and frees tens of MB
    with eval_mode(model, device), torch.no_grad():
        dtype = model_dtype(model)
        if batch_size is None:
            batch_size = batch_size_for(forward_bytes(model, T[:1].to(device, dtype),
                                                      args_for(extra, slice(0, 1), 1, device, dtype)),
                                        device) if N else 1
        runner = None
        if fast and not extra and N:
            from seqlens.attribution.fast_ism import LocalPlan
            from seqlens.attribution.fast_ism_attention import AttentionPlan

            x0 = T[:1].to(device, dtype)
            runner = AttentionPlan.build(model, x0) or LocalPlan.build(model, x0)
        # reference outputs of all sequences, batched
        refs = torch.cat([model_output(model, T[b].to(device, dtype), per_batch_target(target, b),
                                       activation, args_for(extra, b, 1, device, dtype)).double().cpu()
                          for b in (slice(s, s + batch_size) for s in range(0, N, batch_size))])
        it = range(N)
        if verbose:
            from tqdm.auto import tqdm

            it = tqdm(it, desc="ism")
        for i in it:
            x = T[i].to(device, dtype)
            tgt = per_batch_target(target, slice(i, i + 1))
            pos, let = _mutants(x, start, end)
            vals = []
            step = batch_size if runner is None else min(batch_size, _FAST_CHUNK)
            if runner is not None and len(pos):  # equal chunks (no short last one)
                step = -(-len(pos) // -(-len(pos) // step))
            for s in range(0, len(pos), step):
                p, a = pos[s:s + step], let[s:s + step]
                t = repeat_target(tgt, len(p))
                if runner is not None:
                    y = select_output(runner.run(x, p, a), t, activation)
                else:
                    y = model_output(model, _apply(x, p, a), t, activation,
                                     args_for(extra, i, len(p), device, dtype))
                vals.append(y.double().cpu())
            if vals:
                out[i, let.cpu(), pos.cpu()] = torch.cat(vals) - refs[i]
    return like(out.to(T.dtype if T.dtype == torch.float64 else torch.float32), X)


def saturation_mutagenesis(model: nn.Module, X, args=None, start: int = 0, end: int = -1,
                           batch_size: int = 1024, target=None, hypothetical: bool = False,
                           device=None, verbose: bool = False, func=None, fast: bool = True,
                           alphabet=None):
    """tangermeme's ``saturation_mutagenesis`` call shape and values.

    For each substitution, the change of the output (mutant minus original) is mean-centred over
    the alphabet at each position (the observed letter counts with a change of 0); outputs are
    averaged over ``target``: an index of the output's axis 1 (later axes averaged), a slice
    (averaged), or None (all outputs averaged). ``func`` maps the raw model output first (e.g.
    to pick one head of a model with several outputs).

    Parameters
    ----------
    X : ``(N, A, L)`` one-hot.
    args : extra model inputs, each ``(N, ...)``.
    start, end : positions ``[start, end)``; a negative ``end`` counts from ``L + 1`` (``-1``
        includes the last position), as in tangermeme.
    hypothetical : return the value of every letter; otherwise only the observed letter's
        (the centred values times ``X``).
    batch_size : mutants per forward pass (results do not depend on it).

    Returns
    -------
    ``(N, A, end - start)`` (the window only, as tangermeme), same kind as ``X``.
    """
    T = as_tensor(X, alphabet=alphabet)
    L = T.shape[-1]
    end = L + 1 + int(end) if int(end) < 0 else int(end)
    if not 0 <= start < end <= L:
        raise ParameterError(f"need 0 <= start < end <= L={L} (a negative end counts from L + 1), got "
                             f"start={start}, end={end}")

    def reduce(y):
        if func is not None:
            y = func(y)
        if not isinstance(y, torch.Tensor):
            raise ParameterError("saturation_mutagenesis: the model returns several outputs; pass "
                                 "func= to pick one (e.g. func=lambda y: y[1])")
        y = y[:, None] if y.ndim == 1 else y
        sel = y if target is None else y[:, target]
        return sel.reshape(len(y), -1).mean(-1)

    d = ism(model, T, target=reduce, start=start, end=end, fast=fast, args=args, alphabet=alphabet,
            batch_size=batch_size, device=device, verbose=verbose)[:, :, start:end]
    attr = d - d.mean(dim=1, keepdim=True)
    if not hypothetical:
        attr = attr * T[:, :, start:end].to(attr.dtype)
    return like(attr, X)


def forward_bytes(model: nn.Module, x: torch.Tensor, args=()) -> float:
    """Bytes per sequence of the tensors that the leaf modules of ``model`` return on ``x``
    ``(n, A, L)`` (with extra inputs ``args``): an upper bound of an inference pass's working memory.
    0 where forward hooks see nothing (e.g. TorchScript)."""
    total = 0

    def count(_module, _inputs, out):
        nonlocal total
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                total += t.numel() * t.element_size()

    handles = []
    try:
        handles = [m.register_forward_hook(count) for m in model.modules()
                   if next(m.children(), None) is None]
    except (RuntimeError, AttributeError):  # scripted modules take no Python hooks
        pass
    try:
        model(x, *args)
    finally:
        for h in handles:
            h.remove()
    return total / max(len(x), 1)


def ism_position_scores(ism_map, alphabet=None) -> np.ndarray:
    """``(N, L)`` L2 norm of the substitution effects at each position."""
    a = ism_map.detach().cpu().numpy() if hasattr(ism_map, "detach") else np.asarray(ism_map)
    check_alphabet_axis(a.shape, alphabet, "ism_map")
    return np.sqrt((a ** 2).sum(axis=-2))


def window_ism(model: nn.Module, X, width: int = 10, stride: int | None = None, replacement: str = "zeros",
               n_shuffles: int = 1, target=0, activation=None, args=None, alphabet=None,
               batch_size: int = 256, device=None, random_state=None, verbose: bool = False):
    """Window mutagenesis: replace each window of ``width`` positions (every ``stride``, default
    ``width``) and record the output change.

    replacement : ``"zeros"`` (all-zero columns), ``"uniform"`` (0.25 columns) or ``"shuffle"``
        (the window's own letters shuffled, ``n_shuffles`` times, averaged).

    Returns
    -------
    (effects ``(N, n_windows)`` of ``f(replaced) - f(x)``, window starts ``(n_windows,)``); the
    effects are the same kind as ``X``.
    """
    check_count("batch_size", batch_size)
    check_count("n_shuffles", n_shuffles)
    device = resolve_device(device)
    T = as_tensor(X, alphabet=alphabet)
    extra = check_args(args, len(T))
    N, A, L = T.shape
    stride = width if stride is None else int(stride)
    if not 0 < width <= L or stride <= 0:
        raise SeqlensError(f"need 0 < width <= L={L} and stride > 0, got width={width}, stride={stride}")
    if replacement not in ("zeros", "uniform", "shuffle"):
        raise SeqlensError(f"replacement must be zeros/uniform/shuffle, got {replacement!r}")
    starts = np.arange(0, L - width + 1, stride)
    reps = n_shuffles if replacement == "shuffle" else 1
    rng = np.random.default_rng(random_state)
    out = torch.zeros((N, len(starts)), dtype=torch.float64)
    with eval_mode(model, device), torch.no_grad():
        dtype = model_dtype(model)
        for i in range(N):
            x = T[i].to(device, dtype)
            tgt = per_batch_target(target, slice(i, i + 1))
            ref = model_output(model, x[None], tgt, activation,
                               args_for(extra, i, 1, device, dtype)).double().cpu()
            xm = x[None].repeat(len(starts) * reps, 1, 1)
            for j, s in enumerate(starts):
                for k in range(reps):
                    row = xm[j * reps + k]
                    if replacement == "zeros":
                        row[:, s:s + width] = 0
                    elif replacement == "uniform":
                        row[:, s:s + width] = 1.0 / A
                    else:
                        perm = torch.as_tensor(rng.permutation(width), device=device)
                        row[:, s:s + width] = x[:, s:s + width][:, perm]
            vals = []
            for b in range(0, len(xm), batch_size):
                chunk = xm[b:b + batch_size]
                vals.append(model_output(model, chunk, repeat_target(tgt, len(chunk)), activation,
                                         args_for(extra, i, len(chunk), device, dtype)).double().cpu())
            out[i] = torch.cat(vals).reshape(len(starts), reps).mean(1) - ref
    return like(out.float(), X), starts
