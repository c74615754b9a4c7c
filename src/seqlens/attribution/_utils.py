"""Shared plumbing for attribution methods: input conversion, devices, batching, targets."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from seqlens.alphabet import _is_tensor
from seqlens.errors import SeqlensError


def check_count(name: str, value, low: int = 1) -> int:
    """``value`` as an int ``>= low``; a :class:`SeqlensError` naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise SeqlensError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def resolve_device(device=None) -> torch.device:
    """``None`` means CUDA when available, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def as_tensor(X, name: str = "X", ndim: int = 3) -> torch.Tensor:
    """A float tensor (on its own device) from numpy or torch; checks ``(N, A, L)``."""
    T = X.detach() if _is_tensor(X) else torch.as_tensor(np.asarray(X))
    if not torch.is_floating_point(T):
        T = T.float()
    if ndim is not None and T.ndim != ndim:
        raise SeqlensError(f"{name} must have {ndim} dimensions (N, A, L), got shape {tuple(T.shape)}")
    return T


def like(out: torch.Tensor, X):
    """Return ``out`` as the same kind as ``X`` (numpy array or tensor on X's device)."""
    out = out.detach()
    if _is_tensor(X):
        return out.to(X.device)
    return out.cpu().numpy()


def batches(n: int, batch_size: int, verbose: bool = False, desc: str = "") -> Iterator[slice]:
    starts = range(0, n, max(int(batch_size), 1))  # callers check batch_size >= 1
    if verbose:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc=desc, total=len(starts))
    for s in starts:
        yield slice(s, min(s + batch_size, n))


def model_dtype(model: nn.Module) -> torch.dtype:
    for p in model.parameters():
        if torch.is_floating_point(p):
            return p.dtype
    return torch.float32


@contextlib.contextmanager
def eval_mode(model: nn.Module, device: torch.device):
    """Put ``model`` in eval mode on ``device`` and freeze its parameters; restore afterwards."""
    was_training = model.training
    flags = [(p, p.requires_grad) for p in model.parameters()]
    model.eval()
    model.to(device)
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
        model.train(was_training)


ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sigmoid": torch.sigmoid,
    "softmax": lambda y: torch.softmax(y, dim=-1),
    "exp": torch.exp,
    "softplus": torch.nn.functional.softplus,
}


def model_output(model: nn.Module, X: torch.Tensor, target=0, activation=None) -> torch.Tensor:
    """``(N,)`` scalar per sequence: the model output (a tuple's first element), optionally passed
    through ``activation`` ("sigmoid", "softmax", "exp", "softplus", a callable or None for the
    logit), reduced by ``target``.

    ``target``: an output index, a sequence of indices (summed), None (sum of all outputs), or a
    callable mapping the ``(N, ...)`` output to ``(N,)``.
    """
    y = model(X)
    if isinstance(y, (tuple, list)):
        y = y[0]
    if activation is not None:
        fn = ACTIVATIONS.get(activation) if isinstance(activation, str) else activation
        if fn is None:
            raise SeqlensError(f"activation must be one of {sorted(ACTIVATIONS)}, a callable or None, "
                             f"got {activation!r}")
        y = fn(y)
    return select_target(y, target)


def select_target(y: torch.Tensor, target) -> torch.Tensor:
    if callable(target):
        out = target(y)
    elif target is None:
        out = y.reshape(len(y), -1).sum(-1)
    else:
        y2 = y.reshape(len(y), -1)
        if isinstance(target, (int, np.integer)):
            if not -y2.shape[1] <= int(target) < y2.shape[1]:
                raise SeqlensError(f"target {target} out of range for {y2.shape[1]} outputs")
            out = y2[:, int(target)]
        elif isinstance(target, Sequence) or _is_tensor(target) or isinstance(target, np.ndarray):
            idx = torch.as_tensor(np.asarray(target), device=y.device).long()
            if idx.ndim == 1 and len(idx) == len(y2) and not isinstance(target, (list, tuple)):
                out = y2.gather(1, idx[:, None])[:, 0]  # one index per sequence
            else:
                out = y2[:, idx.reshape(-1)].sum(-1)
        else:
            raise TypeError(f"target must be an int, a sequence of ints, None or a callable, "
                            f"got {type(target).__name__}")
    if out.ndim != 1 or len(out) != len(y):
        raise SeqlensError(f"target must reduce the output to shape (N,), got {tuple(out.shape)}")
    return out


def per_batch_target(target, sl: slice):
    """Slice a per-sequence target array to the batch; pass other targets through."""
    if isinstance(target, np.ndarray) or _is_tensor(target):
        t = np.asarray(target.cpu() if _is_tensor(target) else target)
        if t.ndim == 1 and t.dtype.kind in "iu":
            return t[sl]
    return target


def generator(random_state) -> np.random.Generator:
    return np.random.default_rng(random_state)


def correct_gradients(grad):
    """Gradient correction (Majdandzic et al. 2023): subtract, at each position, the mean of the
    gradient over the alphabet, removing the component orthogonal to the one-hot simplex.

    grad : ``(N, A, L)`` (numpy or tensor). Returns the same kind; every column then sums to 0.
    """
    if _is_tensor(grad):
        return grad - grad.mean(dim=-2, keepdim=True)
    g = np.asarray(grad)
    return g - g.mean(axis=-2, keepdims=True)
