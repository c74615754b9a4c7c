"""Gradient-based attributions: saliency, gradient x input, SmoothGrad, integrated gradients,
expected integrated gradients; gradient correction and off-simplex angle statistics.

Every method takes the model first and one-hot ``X`` of shape ``(N, A, L)`` (numpy or tensor) and
returns ``(N, A, L)`` of the same kind. ``target`` picks the output (see
:func:`~seqlens.attribution._utils.select_output`: an index, a list or slice summed, a
``(head, index)`` tuple for models with several outputs, or a callable over the whole output),
``activation`` the output scale (None = logit, "sigmoid", "softmax", "exp", or a callable),
``args`` extra model inputs (``model(X, *args)``, not attributed) and ``correct=True`` applies
gradient correction (Majdandzic et al. 2023) to the gradients before they are used (for gradient x
input and IG, before multiplying by the input difference). ``alphabet`` names the alphabet when
it is not one of 4, 20 or 21 letters.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from seqlens.attribution._utils import (
    args_for,
    as_tensor,
    batches,
    captum_aliases,
    center_columns,
    check_alphabet_axis,
    check_args,
    check_count,
    eval_mode,
    like,
    model_dtype,
    model_output,
    per_batch_target,
    repeat_args,
    repeat_target,
    resolve_device,
)
from seqlens.errors import SeqlensError


def _gradients(model, X: torch.Tensor, target, activation, args=()) -> torch.Tensor:
    """Gradient of the target output w.r.t. a batch ``X`` (extra inputs ``args`` row-aligned)."""
    x = X.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        out = model_output(model, x, target, activation, args)
        (grad,) = torch.autograd.grad(out.sum(), x)
    return grad


def _run(model, X, T, args, fn, batch_size, device, verbose, desc):
    """``fn(x, sl, args_batch)`` over batches of the checked tensor ``T``; result like ``X``."""
    device = resolve_device(device)
    with eval_mode(model, device):
        dtype = model_dtype(model)
        parts = []
        for sl in batches(len(T), batch_size, verbose, desc):
            parts.append(fn(T[sl].to(device, dtype), sl, args_for(args, sl, 1, device, dtype))
                         .detach().cpu())
    out = torch.cat(parts) if parts else torch.zeros(T.shape, dtype=dtype)
    return like(out, X)


def saliency(model: nn.Module, X, target=0, activation=None, correct: bool = False, args=None,
             alphabet=None, batch_size: int = 128, device=None, verbose: bool = False):
    """Input gradient ``d f / d x`` (Simonyan et al. 2013). Returns ``(N, A, L)`` (signed; captum's
    ``Saliency`` returns its absolute value by default)."""
    check_count("batch_size", batch_size)
    T = as_tensor(X, alphabet=alphabet)
    extra = check_args(args, len(T))

    def fn(x, sl, a):
        g = _gradients(model, x, per_batch_target(target, sl), activation, a)
        return center_columns(g) if correct else g

    return _run(model, X, T, extra, fn, batch_size, device, verbose, "saliency")


def grad_x_input(model: nn.Module, X, target=0, activation=None, correct: bool = False, args=None,
                 alphabet=None, batch_size: int = 128, device=None, verbose: bool = False):
    """Gradient times input. Returns ``(N, A, L)`` (non-zero only at observed bases)."""
    check_count("batch_size", batch_size)
    T = as_tensor(X, alphabet=alphabet)
    extra = check_args(args, len(T))

    def fn(x, sl, a):
        g = _gradients(model, x, per_batch_target(target, sl), activation, a)
        return (center_columns(g) if correct else g) * x

    return _run(model, X, T, extra, fn, batch_size, device, verbose, "grad x input")


@captum_aliases(nt_samples="n_samples", stdevs="sigma")
def smoothgrad(model: nn.Module, X, target=0, activation=None, n_samples: int = 50,
               sigma: float = 0.1, correct: bool = False, args=None, alphabet=None,
               batch_size: int = 128, device=None, random_state=None, verbose: bool = False):
    """SmoothGrad (Smilkov et al. 2017): the mean gradient over ``n_samples`` copies of each
    sequence with Gaussian noise of standard deviation ``sigma`` added. Returns ``(N, A, L)``.

    Noise is drawn from ``random_state`` in a fixed order, so results do not depend on
    ``batch_size``.
    """
    check_count("n_samples", n_samples)
    check_count("batch_size", batch_size)
    if not sigma >= 0:
        raise SeqlensError(f"sigma must be >= 0, got {sigma!r}")
    rng = np.random.default_rng(random_state)
    T = as_tensor(X, alphabet=alphabet)
    extra = check_args(args, len(T))
    noise_all = rng.standard_normal((len(T), n_samples) + tuple(T.shape[1:])).astype(np.float32)
    per = max(1, batch_size // max(n_samples, 1))

    def fn(x, sl, a):
        n, A, L = x.shape
        noise = torch.from_numpy(noise_all[sl]).to(x.device, x.dtype) * sigma
        xs = (x[:, None] + noise).reshape(n * n_samples, A, L)
        tgt = repeat_target(per_batch_target(target, sl), n_samples)
        g = _gradients(model, xs, tgt, activation, repeat_args(a, n_samples))
        g = g.reshape(n, n_samples, A, L).mean(1)
        return center_columns(g) if correct else g

    return _run(model, X, T, extra, fn, per, device, verbose, "smoothgrad")


def _baselines(X: torch.Tensor, baseline, n: int, random_state) -> torch.Tensor:
    """``(N, n, A, L)`` baselines: zeros, shuffles of X, or given arrays."""
    from seqlens.shuffle import dinucleotide_shuffle, shuffle

    N, A, L = X.shape
    if baseline is None or (isinstance(baseline, str) and baseline == "zeros"):
        return torch.zeros((N, n, A, L), dtype=X.dtype)
    if isinstance(baseline, str):
        if baseline in ("shuffle", "dinucleotide", "dinuc_shuffle"):
            return torch.as_tensor(dinucleotide_shuffle(X.cpu().numpy(), n=n, random_state=random_state)
                                   ).to(X.dtype)
        if baseline in ("mono_shuffle", "mononucleotide"):
            return torch.as_tensor(shuffle(X.cpu().numpy(), n=n, random_state=random_state)).to(X.dtype)
        if baseline == "uniform":
            return torch.full((N, n, A, L), 1.0 / A, dtype=X.dtype)
        raise SeqlensError(f"unknown baseline {baseline!r}; use 'zeros', 'shuffle', 'mono_shuffle', "
                         f"'uniform' or an array")
    B = as_tensor(baseline, "baseline", ndim=None).to(X.dtype).cpu()
    if B.ndim == 2:
        B = B[None, None].expand(N, n, A, L)
    elif B.ndim == 3:
        if B.shape[0] != N:
            raise SeqlensError(f"baseline has {B.shape[0]} sequences, X has {N}")
        B = B[:, None].expand(N, n, A, L)
    elif B.ndim != 4 or B.shape[0] != N:
        raise SeqlensError(f"baseline must be (A, L), (N, A, L) or (N, n, A, L), got {tuple(B.shape)}")
    if B.shape[-2:] != (A, L):
        raise SeqlensError(f"baseline columns {tuple(B.shape[-2:])} do not match X {(A, L)}")
    return B


def _ig_batch(model, x, b, target, activation, steps, correct, chunk, args=(), times_delta=True):
    """IG of ``x`` ``(n, A, L)`` against baselines ``b`` ``(n, A, L)`` with the midpoint rule (the
    path-averaged gradient alone when not ``times_delta``); ``args`` row-aligned with ``x``."""
    n, a, l = x.shape
    alphas = (torch.arange(steps, device=x.device, dtype=x.dtype) + 0.5) / steps
    total = torch.zeros_like(x)
    tgt_rep = repeat_target(target, steps)
    per_row = isinstance(tgt_rep, np.ndarray) or (isinstance(tgt_rep, tuple)
                                                  and isinstance(tgt_rep[1], np.ndarray))
    # interpolate sequence by sequence-chunk so one forward holds at most ~chunk rows
    per = max(1, chunk // steps)
    for s in range(0, n, per):
        xs, bs = x[s:s + per], b[s:s + per]
        path = bs[:, None] + alphas[None, :, None, None] * (xs - bs)[:, None]
        t = per_batch_target(tgt_rep, slice(s * steps, (s + per) * steps)) if per_row else tgt_rep
        g = _gradients(model, path.reshape(-1, a, l), t, activation,
                       repeat_args(tuple(e[s:s + per] for e in args), steps))
        total[s:s + per] = g.reshape(len(xs), steps, a, l).mean(1)
    if correct:
        total = center_columns(total)
    return total * (x - b) if times_delta else total


@captum_aliases(baselines="baseline", n_steps="steps", internal_batch_size="batch_size")
def integrated_gradients(model: nn.Module, X, target=0, activation=None, baseline=None,
                         steps: int = 50, correct: bool = False, args=None, alphabet=None,
                         batch_size: int = 128, device=None, random_state=None, verbose: bool = False):
    """Integrated gradients (Sundararajan et al. 2017), midpoint rule with ``steps`` points.

    ``baseline``: None/"zeros" (all-zero), "shuffle" (one dinucleotide shuffle of each sequence),
    "mono_shuffle", "uniform" (0.25), or an array ``(A, L)`` / ``(N, A, L)``. ``batch_size``: rows
    (path points) per forward pass. Returns ``(N, A, L)`` whose sum per sequence approximates
    ``f(x) - f(baseline)`` (completeness; exact as ``steps`` grows, and not kept under
    ``correct=True``).
    """
    check_count("steps", steps)
    check_count("batch_size", batch_size)
    T = as_tensor(X, alphabet=alphabet)
    extra = check_args(args, len(T))
    B = _baselines(T, baseline, 1, random_state)[:, 0]

    def fn(x, sl, a):
        b = B[sl].to(x.device, x.dtype)
        return _ig_batch(model, x, b, per_batch_target(target, sl), activation, steps, correct,
                         batch_size, a)

    per = max(1, batch_size // steps)
    return _run(model, X, T, extra, fn, per, device, verbose, "integrated gradients")


@captum_aliases(baselines="baseline", n_steps="steps", internal_batch_size="batch_size")
def expected_integrated_gradients(model: nn.Module, X, target=0, activation=None, n_baselines: int = 10,
                                  steps: int = 25, baseline="shuffle", correct: bool = False,
                                  times_delta: bool = True, args=None, alphabet=None,
                                  batch_size: int = 128, device=None, random_state=None,
                                  verbose: bool = False):
    """Integrated gradients averaged over ``n_baselines`` baselines per sequence (by default
    dinucleotide shuffles; ``baseline`` as in :func:`integrated_gradients` or ``(N, n, A, L)``).
    The sum per sequence approximates ``f(x) - mean f(baselines)``. With ``times_delta=False``
    the result is the gradient averaged over all paths, not multiplied by ``x - baseline``: the
    form Koo & Ploenzke 2021 scored (times the input) as "integrated gradients"."""
    check_count("steps", steps)
    check_count("n_baselines", n_baselines)
    check_count("batch_size", batch_size)
    T = as_tensor(X, alphabet=alphabet)
    extra = check_args(args, len(T))
    B = _baselines(T, baseline, n_baselines, random_state)
    nb = B.shape[1]

    def fn(x, sl, a):
        n, A, L = x.shape
        xr = x[:, None].expand(n, nb, A, L).reshape(n * nb, A, L)
        b = B[sl].to(x.device, x.dtype).reshape(n * nb, A, L)
        tgt = repeat_target(per_batch_target(target, sl), nb)
        out = _ig_batch(model, xr, b, tgt, activation, steps, correct, batch_size, repeat_args(a, nb),
                        times_delta)
        return out.reshape(n, nb, A, L).mean(1)

    per = max(1, batch_size // (steps * nb))
    return _run(model, X, T, extra, fn, per, device, verbose, "expected integrated gradients")


def gradient_angles(grad, alphabet=None) -> np.ndarray:
    """Per-position angle (degrees) between the gradient vector and the probability simplex
    (Majdandzic et al. 2023): ``arcsin(|sum_a g_a| / (sqrt(A) * ||g||))``. ``(N, A, L)`` -> ``(N, L)``;
    0 for an all-zero column."""
    g = grad.detach().cpu().numpy() if hasattr(grad, "detach") else np.asarray(grad)
    check_alphabet_axis(g.shape, alphabet, "grad")
    g = g.astype(np.float64)
    a = g.shape[-2]
    norm = np.sqrt((g ** 2).sum(-2))
    orth = np.abs(g.sum(-2)) / np.sqrt(a)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(norm > 0, orth / np.where(norm > 0, norm, 1.0), 0.0)
    return np.degrees(np.arcsin(np.clip(ratio, 0.0, 1.0)))


def angle_statistics(grad, thresholds=(30, 45, 60), alphabet=None) -> dict:
    """Summary of off-simplex gradient angles: mean and median angle (degrees) and the fraction
    of positions whose angle exceeds each threshold (keys ``frac_over_30`` ...)."""
    ang = gradient_angles(grad, alphabet)
    out = {"mean_angle": float(ang.mean()), "median_angle": float(np.median(ang))}
    for t in thresholds:
        out[f"frac_over_{int(t)}"] = float((ang > t).mean())
    return out
