"""Shared plumbing for attribution methods: the input/output contract (alphabet axis, ``target``,
``args``, captum's keyword aliases), devices, batching.

The contract every entry point checks
-------------------------------------
* ``X`` is one-hot ``(N, A, L)`` with ``A`` in {4, 20, 21} (DNA/RNA, protein, protein + gap) or the
  size of the ``alphabet`` given; a channels-last ``(N, L, A)`` batch is refused with a message
  saying so, never read as ``L`` letters.
* ``target`` picks one scalar per sequence from the model output (see :func:`select_output`): an
  index on the output's axis 1, a list or slice of indices (summed), a per-sequence index array,
  None (sum of everything), a ``(head, index)`` tuple for models returning a tuple, list or dict,
  or a callable over the whole output.
* ``args``: extra model inputs ``model(X, *args)``, each with the same first dimension as ``X``;
  they are sliced (and repeated) with ``X`` and not attributed.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

from seqlens.alphabet import Alphabet, _is_tensor, get_alphabet
from seqlens.errors import ParameterError, SeqlensError

ALPHABET_SIZES = (4, 20, 21)  # DNA/RNA, protein, protein with gap


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


def alphabet_sizes(alphabet=None) -> tuple[int, ...]:
    """Allowed sizes of the alphabet axis: {4, 20, 21}, or that of ``alphabet`` (an
    :class:`~seqlens.alphabet.Alphabet`, its name, or an int for any other channel count)."""
    if alphabet is None:
        return ALPHABET_SIZES
    if isinstance(alphabet, (int, np.integer)) and not isinstance(alphabet, bool):
        return (check_count("alphabet", alphabet),)
    if isinstance(alphabet, (str, Alphabet)):
        try:
            return (get_alphabet(alphabet).size,)
        except ValueError as exc:
            raise ParameterError(str(exc)) from None
    raise ParameterError(f"alphabet must be an Alphabet, its name or a channel count, got {alphabet!r}")


def check_alphabet_axis(shape, alphabet=None, name: str = "X") -> None:
    """Refuse a batch whose axis 1 is not an alphabet: ``(N, A, L)`` with ``A`` allowed by
    :func:`alphabet_sizes`. A channels-last ``(N, L, A)`` batch gets a message saying so."""
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3:
        raise ParameterError(f"{name} must be one-hot (N, A, L), got shape {shape}")
    allowed = alphabet_sizes(alphabet)
    if shape[1] in allowed:
        return
    want = " or ".join(str(a) for a in allowed)
    if shape[2] in allowed:
        raise ParameterError(
            f"{name} looks channels-last: (N, L, {shape[2]}) = {shape}; seqlens wants (N, A, L): transpose "
            f"X (X.transpose(0, 2, 1) / X.permute(0, 2, 1)) and, for a model that reads (N, L, A), "
            f"pass layout='NLC' when loading it (seqlens.models.load_any_model, --layout NLC)")
    raise ParameterError(f"{name} has {shape[1]} entries on its alphabet axis (axis 1 of {shape}); "
                         f"expected {want}: pass alphabet= for another alphabet")


def as_tensor(X, name: str = "X", ndim: int | None = 3, alphabet=None) -> torch.Tensor:
    """A float tensor (on its own device) from numpy or torch; with ``ndim=3`` the batch must be
    ``(N, A, L)`` (see :func:`check_alphabet_axis`)."""
    T = X.detach() if _is_tensor(X) else torch.as_tensor(np.asarray(X))
    if not torch.is_floating_point(T):
        T = T.float()
    if ndim == 3:
        check_alphabet_axis(T.shape, alphabet, name)
    elif ndim is not None and T.ndim != ndim:
        raise SeqlensError(f"{name} must have {ndim} dimensions, got shape {tuple(T.shape)}")
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


# ----------------------------------------------------------------------------------------------
# extra model inputs


def check_args(args, n: int) -> tuple[torch.Tensor, ...]:
    """``args`` (None, a tensor/array, or a tuple/list of them) as a tuple of tensors, each with
    first dimension ``n`` (the number of sequences)."""
    if args is None:
        return ()
    if _is_tensor(args) or isinstance(args, np.ndarray):
        args = (args,)
    if not isinstance(args, (tuple, list)):
        raise ParameterError(f"args must be a tuple of tensors (extra model inputs), got "
                             f"{type(args).__name__}")
    out = []
    for i, a in enumerate(args):
        t = a.detach() if _is_tensor(a) else torch.as_tensor(np.asarray(a))
        if t.ndim == 0 or t.shape[0] != n:
            raise ParameterError(f"args[{i}] has shape {tuple(t.shape)}; each extra input needs the "
                                 f"same first dimension as X ({n})")
        out.append(t)
    return tuple(out)


def args_for(args: tuple, index, repeats: int = 1, device=None, dtype=None) -> tuple:
    """The rows ``index`` (slice or int) of each extra input, each row repeated ``repeats`` times
    (to line up with a batch that expands each sequence into ``repeats`` rows), on ``device``;
    floating inputs are cast to ``dtype``."""
    out = []
    for a in args:
        b = a[index:index + 1] if isinstance(index, (int, np.integer)) else a[index]
        if repeats != 1:
            b = b.repeat_interleave(repeats, 0)
        if dtype is not None and torch.is_floating_point(b):
            b = b.to(dtype)
        out.append(b.to(device) if device is not None else b)
    return tuple(out)


def repeat_args(args: tuple, repeats: int) -> tuple:
    """Each extra input with every row repeated ``repeats`` times."""
    return tuple(a.repeat_interleave(repeats, 0) for a in args) if repeats != 1 else args


# ----------------------------------------------------------------------------------------------
# targets


ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sigmoid": torch.sigmoid,
    "softmax": lambda y: torch.softmax(y, dim=-1),
    "exp": torch.exp,
    "softplus": torch.nn.functional.softplus,
}


def model_output(model: nn.Module, X: torch.Tensor, target=0, activation=None, args=()) -> torch.Tensor:
    """``(N,)`` scalar per sequence: ``model(X, *args)`` reduced by :func:`select_output`."""
    return select_output(model(X, *args), target, activation)


def _heads(y) -> list[tuple[object, torch.Tensor]] | None:
    """``[(name, tensor), ...]`` of a multi-output model's output (tuple, list, namedtuple or
    dict); None for a single tensor."""
    if isinstance(y, dict):
        return list(y.items())
    if isinstance(y, (tuple, list)):
        fields = getattr(y, "_fields", None)
        return list(zip(fields, y)) if fields else list(enumerate(y))
    return None


def _head_names(heads) -> str:
    return ", ".join(repr(k) for k, _ in heads)


def pick_head(y, target):
    """Split ``target`` against the model output ``y``: returns (the selected head tensor, the
    index part of the target). A tuple target is ``(head, index)``; other targets need a model with
    a single output (or a tuple of one)."""
    heads = _heads(y)
    if isinstance(target, tuple):
        if len(target) != 2:
            raise ParameterError(f"a tuple target names a head and an index, (head, index), got "
                                 f"{target!r}; use a list to sum several outputs")
        head, index = target
        if heads is None:
            if isinstance(head, (int, np.integer)) and int(head) in (0, -1):
                return y, index
            raise ParameterError(f"target {target!r}: the model returns a single tensor, which has no "
                                 f"head {head!r}; pass the index alone")
        names = [k for k, _ in heads]
        if isinstance(head, (int, np.integer)) and not isinstance(y, dict):
            if not -len(heads) <= int(head) < len(heads):
                raise ParameterError(f"target head {head} out of range: the model returns {len(heads)} "
                                     f"outputs ({_head_names(heads)})")
            return heads[int(head)][1], index
        if head in names:
            return heads[names.index(head)][1], index
        raise ParameterError(f"target head {head!r} is not an output of the model; its outputs are "
                             f"{_head_names(heads)}")
    if heads is None:
        return y, target
    if len(heads) == 1:
        return heads[0][1], target
    first = heads[0][0]
    raise ParameterError(
        f"the model returns {len(heads)} outputs ({_head_names(heads)}); name one with "
        f"target=(head, index), e.g. target=({first!r}, 0), or pass a callable over the whole output")


def _activate(y: torch.Tensor, activation) -> torch.Tensor:
    if activation is None:
        return y
    fn = ACTIVATIONS.get(activation) if isinstance(activation, str) else activation
    if fn is None or not callable(fn):
        raise SeqlensError(f"activation must be one of {sorted(ACTIVATIONS)}, a callable or None, "
                           f"got {activation!r}")
    return fn(y)


def select_output(y, target=0, activation=None, keep_all: bool = False) -> torch.Tensor:
    """Reduce a model output to one value per sequence.

    y : the model output: a tensor ``(N,)``, ``(N, T)`` or ``(N, T, ...)``, or a tuple, list,
        namedtuple or dict of them (several heads).
    target :
        * an int: output ``T`` index (axis 1; later axes are summed);
        * a list of ints or a slice: those outputs, summed; a 1-D integer array of length ``N``:
          one output index per sequence;
        * a tuple ``(i, j, ...)`` of indices inside a head: ``y[:, i, j, ...]`` (captum's
          multi-dimensional target), only as the index part of ``(head, (i, j))``;
        * None: the sum of all outputs (with ``keep_all``: the outputs, ``(N,)`` or flattened to
          ``(N, T)``);
        * ``(head, index)``: for a model with several outputs, the head (position in the tuple or
          key of the dict / namedtuple field) and an index as above;
        * a callable: applied to the whole output (all heads), must return ``(N,)``.
    activation : None (logit), "sigmoid", "softmax", "exp", "softplus" or a callable, applied to
        the selected head before indexing.
    """
    if callable(target) and not isinstance(target, (np.ndarray, torch.Tensor)):
        if activation is not None:
            if _heads(y) is not None:
                raise ParameterError("activation with a callable target on a model with several outputs: "
                                     "apply it inside the callable")
            y = _activate(y, activation)
        out = target(y)
        if not isinstance(out, torch.Tensor):
            raise ParameterError(f"the target callable must return a tensor (N,), got {type(out).__name__}")
        n = len(_heads(y)[0][1]) if _heads(y) is not None else len(y)
        return _check_reduced(out, n)
    head, index = pick_head(y, target)
    if not isinstance(head, torch.Tensor):
        raise ParameterError(f"the model output is a {type(head).__name__}, not a tensor")
    head = _activate(head, activation)
    n = len(head)
    h = head.reshape(n, 1) if head.ndim == 1 else head
    if index is None:
        if keep_all:
            return head if head.ndim == 1 else h.reshape(n, -1)
        return h.reshape(n, -1).sum(-1)
    if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
        if not -h.shape[1] <= int(index) < h.shape[1]:
            raise ParameterError(f"target {int(index)} out of range for {h.shape[1]} outputs")
        return _sum_rest(h[:, int(index)])
    if isinstance(index, slice):
        sel = h[:, index]
        if not sel.shape[1]:
            raise ParameterError(f"target slice {index} selects none of {h.shape[1]} outputs")
        return sel.reshape(n, -1).sum(-1)
    if isinstance(index, tuple):
        try:
            return _check_reduced(_sum_rest(head[(slice(None),) + index]), n)
        except IndexError as exc:
            raise ParameterError(f"target index {index!r} does not fit the output of shape "
                                 f"{tuple(head.shape)}: {exc}") from None
    if isinstance(index, (list, np.ndarray)) or _is_tensor(index):
        idx = torch.as_tensor(np.asarray(index.cpu() if _is_tensor(index) else index), device=h.device)
        if idx.dtype.is_floating_point or idx.dtype == torch.bool:
            raise ParameterError(f"target indices must be integers, got {idx.dtype}")
        idx = idx.long()
        if len(idx) and not (-h.shape[1] <= int(idx.min()) and int(idx.max()) < h.shape[1]):
            raise ParameterError(f"target indices {idx.tolist()[:10]} out of range for {h.shape[1]} outputs")
        if idx.ndim == 1 and len(idx) == n and not isinstance(index, list):
            rows = torch.arange(n, device=h.device)
            return _sum_rest(h[rows, idx])  # one index per sequence
        return _sum_rest(h[:, idx.reshape(-1)].sum(1))
    raise ParameterError(f"target must be an int, a list or slice of ints, a (head, index) tuple, None "
                         f"or a callable, got {type(index).__name__}")


def _sum_rest(t: torch.Tensor) -> torch.Tensor:
    return t if t.ndim == 1 else t.reshape(len(t), -1).sum(-1)


def _check_reduced(out: torch.Tensor, n: int) -> torch.Tensor:
    if out.ndim != 1 or len(out) != n:
        raise ParameterError(f"target must reduce the output to shape (N,) = ({n},), got {tuple(out.shape)}")
    return out


def check_target(model: nn.Module, X, target, args=None, device=None) -> None:
    """Run ``model`` on the first sequence of ``X`` and reduce its output by ``target``, so a wrong
    head or index is reported (as :class:`ParameterError`) before any long computation."""
    T = as_tensor(X[:1], ndim=None)
    device = resolve_device(device)
    with eval_mode(model, device), torch.no_grad():
        dtype = model_dtype(model)
        extra = args_for(check_args(args, len(X)), slice(0, 1), 1, device, dtype)
        select_output(model(T.to(device, dtype), *extra), per_batch_target(target, slice(0, 1)))


def per_batch_target(target, sl: slice):
    """Slice a per-sequence target array (alone or as the index of a ``(head, index)`` tuple) to
    the batch; pass other targets through."""
    if isinstance(target, tuple) and len(target) == 2:
        sliced = per_batch_target(target[1], sl)
        return target if sliced is target[1] else (target[0], sliced)
    if isinstance(target, np.ndarray) or _is_tensor(target):
        t = np.asarray(target.cpu() if _is_tensor(target) else target)
        if t.ndim == 1 and t.dtype.kind in "iu":
            return t[sl]
    return target


def repeat_target(target, repeats: int):
    """A per-sequence target array (alone or inside ``(head, index)``) with each entry repeated
    ``repeats`` times, to match a batch that expands each sequence into ``repeats`` rows."""
    if isinstance(target, tuple) and len(target) == 2 and isinstance(target[1], np.ndarray):
        return (target[0], np.repeat(target[1], repeats))
    if isinstance(target, np.ndarray):
        return np.repeat(target, repeats)
    return target


# ----------------------------------------------------------------------------------------------
# captum's keywords


def captum_aliases(**aliases: str):
    """Decorator: accept captum's keyword ``alias`` for our ``canonical`` one
    (``@captum_aliases(baselines="baseline", n_steps="steps")``). Passing both is an error."""
    def deco(fn):
        sig = inspect.signature(fn)
        for canon in aliases.values():
            if canon not in sig.parameters:
                raise TypeError(f"{fn.__name__} has no parameter {canon!r}")

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            used = [a for a in aliases if a in kwargs]
            if used:
                given = sig.bind_partial(*args, **{k: v for k, v in kwargs.items() if k not in aliases})
                for alias in used:
                    canon = aliases[alias]
                    if canon in given.arguments:
                        raise ParameterError(f"{fn.__name__}: pass {canon}= or captum's alias {alias}=, "
                                             f"not both")
                    kwargs[canon] = kwargs.pop(alias)
            return fn(*args, **kwargs)

        names = ", ".join(f"``{a}`` for ``{c}``" for a, c in aliases.items())
        wrapper.__doc__ = (fn.__doc__ or "").rstrip() + f"\n\n    Accepts captum's keywords {names}.\n"
        wrapper.captum_aliases = dict(aliases)
        return wrapper

    return deco


def correct_gradients(grad, alphabet=None):
    """Gradient correction (Majdandzic et al. 2023): subtract, at each position, the mean of the
    gradient over the alphabet, removing the component orthogonal to the one-hot simplex.

    grad : ``(N, A, L)`` (numpy or tensor; the alphabet axis is checked as for ``X``). Returns the
    same kind; every column then sums to 0.
    """
    check_alphabet_axis(grad.shape if _is_tensor(grad) else np.shape(grad), alphabet, "grad")
    return center_columns(grad if _is_tensor(grad) else np.asarray(grad))


def center_columns(g):
    """``g`` minus its mean over the alphabet axis (-2), for checked arrays or tensors."""
    if _is_tensor(g):
        return g - g.mean(dim=-2, keepdim=True)
    return g - g.mean(axis=-2, keepdims=True)


# maps that sum to the output difference over letters: they hold the observed letter's contribution
DELTA_METHODS = ("deepshap", "deeplift", "ig", "eig", "grad_x_input")


def hypothetical_contributions(attr, X, method: str, is_hypothetical: bool = False):
    """The map ``attr`` ``(N, A, L)`` of ``method`` as hypothetical contributions (tfmodisco-lite's
    input): maps of :data:`DELTA_METHODS` are spread onto the observed letter (``X * sum over
    letters``) unless ``is_hypothetical``; ISM becomes ``ism - mean over letters``; others are
    returned as they are."""
    if method in DELTA_METHODS and not is_hypothetical:
        return X * attr.sum(1, keepdims=True)
    if method == "ism":
        return attr - attr.mean(1, keepdims=True)
    return attr
