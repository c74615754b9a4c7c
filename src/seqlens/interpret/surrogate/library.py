"""In-silico mutagenesis libraries around one sequence, and batched model queries.

A library is stored compactly as integer letter codes ``(n, L)`` (``uint8``) and expanded to one-hot
``(B, A, L)`` batch by batch when the model is queried, so that a 100,000-variant library of a
200-nt sequence costs 20 MB rather than 320 MB.

* :func:`mutagenesis_library` -- random mutagenesis inside a window ``[start, end)``: the number
  of mutations of a variant is Poisson(``rate * window length``) (or fixed with ``n_mutations``),
  the positions are drawn without replacement and each goes to one of the other letters
  uniformly. Variant 0 is the wild type. ``mode="local"`` keeps the flanks; ``mode="global"``
  replaces them by dinucleotide shuffles of the wild type, so that the surrogate explains the
  window across contexts.
* :func:`combinatorial_library` -- the wild type, all single and all double mutants of a window.
* :func:`predict_library` -- query a model on a library (or any one-hot array) in batches, with a
  task index or a reduction function for profile outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import torch
from torch import nn

from seqlens.alphabet import DNA, Alphabet, _to_numpy, get_alphabet, one_hot
from seqlens.errors import SeqlensError, SequenceError

MODES = ("local", "global")


@dataclass
class MutagenesisLibrary:
    """A library of variants of one wild-type sequence.

    Attributes
    ----------
    codes : ``(n, L)`` uint8 letter indices of every variant (row 0 is the wild type).
    wild_type : ``(L,)`` uint8 letter indices of the wild type.
    window : ``(start, end)`` of the mutated window (0-based, end exclusive).
    alphabet : the :class:`~seqlens.alphabet.Alphabet`.
    mode : ``"local"``, ``"global"`` or ``"combinatorial"``.
    n_mutations : ``(n,)`` number of window positions that differ from the wild type.
    """

    codes: np.ndarray
    wild_type: np.ndarray
    window: tuple[int, int]
    alphabet: Alphabet = DNA
    mode: str = "local"
    n_mutations: np.ndarray = field(default=None)

    def __post_init__(self):
        if self.n_mutations is None:
            s, e = self.window
            self.n_mutations = (self.codes[:, s:e] != self.wild_type[None, s:e]).sum(1)

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def length(self) -> int:
        return self.codes.shape[1]

    def one_hot(self, index=None, window_only: bool = False) -> np.ndarray:
        """One-hot ``(n, A, L)`` float32 of the variants ``index`` (all by default); with
        ``window_only`` only the window columns ``(n, A, end - start)``."""
        codes = self.codes if index is None else self.codes[index]
        if window_only:
            codes = codes[:, self.window[0]:self.window[1]]
        return codes_to_one_hot(codes, self.alphabet.size)

    @property
    def window_codes(self) -> np.ndarray:
        """``(n, W)`` letter indices inside the window."""
        return self.codes[:, self.window[0]:self.window[1]]

    @property
    def window_wild_type(self) -> np.ndarray:
        return self.wild_type[self.window[0]:self.window[1]]

    def sequences(self, index=None) -> list[str]:
        """The variants as strings."""
        codes = self.codes if index is None else self.codes[index]
        letters = np.frombuffer(self.alphabet.letters.encode(), dtype=np.uint8)
        return [bytes(row).decode() for row in letters[codes]]


def codes_to_one_hot(codes, n_letters: int) -> np.ndarray:
    """Integer codes ``(n, L)`` -> one-hot ``(n, A, L)`` float32."""
    codes = np.asarray(codes)
    out = np.zeros((codes.shape[0], n_letters, codes.shape[1]), dtype=np.float32)
    np.put_along_axis(out, codes[:, None, :].astype(np.int64), 1.0, axis=1)
    return out


def one_hot_to_codes(X, source: str = "input") -> np.ndarray:
    """One-hot ``(N, A, L)`` or ``(A, L)`` -> integer codes ``(N, L)`` / ``(L,)`` (uint8).

    Raises :class:`SequenceError` for columns that are not one-hot (e.g. ``N``)."""
    Xn = _to_numpy(X)
    Xn = np.asarray(Xn)
    squeeze = Xn.ndim == 2
    if squeeze:
        Xn = Xn[None]
    if Xn.ndim != 3:
        raise SeqlensError(f"expected one-hot of shape (N, A, L), got {Xn.shape}")
    ok = (np.abs(Xn.sum(1) - 1) < 1e-6) & (np.abs(Xn.max(1) - 1) < 1e-6)
    if not ok.all():
        i, pos = np.argwhere(~ok)[0]
        raise SequenceError(f"{source}: sequence {i} position {pos} is not one-hot (ambiguous letter?)")
    codes = Xn.argmax(1).astype(np.uint8)
    return codes[0] if squeeze else codes


def _wild_type_codes(sequence, alphabet: Alphabet) -> np.ndarray:
    if isinstance(sequence, str):
        return one_hot_to_codes(one_hot(sequence, alphabet, ambiguous="error"), "sequence")[0]
    X = _to_numpy(sequence)
    if X.ndim == 3:
        if X.shape[0] != 1:
            raise SeqlensError(f"expected one sequence, got a batch of {X.shape[0]}")
        X = X[0]
    if X.ndim != 2 or X.shape[0] != alphabet.size:
        raise SeqlensError(f"expected a string or a one-hot (A={alphabet.size}, L) sequence, got {X.shape}")
    return one_hot_to_codes(X, "sequence")


def parse_window(window, length: int) -> tuple[int, int]:
    """``None`` (whole sequence), ``(start, end)`` or ``"a:b"`` -> checked ``(start, end)``."""
    if window is None:
        return 0, length
    if isinstance(window, str):
        try:
            a, b = window.split(":")
            window = (int(a) if a else 0, int(b) if b else length)
        except ValueError:
            raise SeqlensError(f"window must look like 'start:end', got {window!r}") from None
    start, end = (int(v) for v in window)
    if not 0 <= start < end <= length:
        raise SeqlensError(f"window {start}:{end} is outside the sequence of length {length}")
    return start, end


def _mutate(codes: np.ndarray, k: np.ndarray, n_letters: int, rng: np.random.Generator) -> np.ndarray:
    """Mutate ``k[i]`` distinct positions of row ``i`` of ``codes`` ``(n, W)`` to another letter."""
    n, W = codes.shape
    ranks = rng.random((n, W)).argsort(axis=1).argsort(axis=1)
    hit = ranks < k[:, None]
    shift = rng.integers(1, n_letters, size=(n, W), dtype=np.uint8)
    return np.where(hit, (codes + shift) % n_letters, codes).astype(np.uint8)


def mutagenesis_library(sequence, n: int = 10000, rate: float = 0.1, window=None,
                        n_mutations: int | None = None, mode: str = "local",
                        alphabet: str | Alphabet = DNA, random_state=None) -> MutagenesisLibrary:
    """Random mutagenesis library of ``sequence`` inside ``window``.

    Parameters
    ----------
    sequence : a string or a one-hot ``(A, L)`` / ``(1, A, L)`` wild type (no ambiguous letters).
    n : number of variants, including the wild type as variant 0.
    rate : expected mutations per window position; a variant has Poisson(``rate * W``) mutations
        (capped at ``W``).
    window : ``(start, end)``, ``"start:end"`` or ``None`` (the whole sequence).
    n_mutations : if given, every variant (except the wild type) has exactly this many mutations.
    mode : ``"local"`` keeps the wild-type flanks; ``"global"`` replaces the whole sequence outside
        the window by a dinucleotide shuffle of the wild type (a new one per variant).
    random_state : seed.

    Returns
    -------
    :class:`MutagenesisLibrary` with ``n`` variants.
    """
    alphabet = get_alphabet(alphabet)
    if mode not in MODES:
        raise SeqlensError(f"mode must be one of {MODES}, got {mode!r}")
    if n < 1:
        raise SeqlensError(f"n must be >= 1, got {n}")
    wt = _wild_type_codes(sequence, alphabet)
    L = len(wt)
    start, end = parse_window(window, L)
    W = end - start
    rng = np.random.default_rng(random_state)
    if n_mutations is None:
        if rate < 0:
            raise SeqlensError(f"rate must be >= 0, got {rate}")
        k = np.minimum(rng.poisson(rate * W, size=n), W)
    else:
        if not 0 <= n_mutations <= W:
            raise SeqlensError(f"n_mutations must be in [0, {W}], got {n_mutations}")
        k = np.full(n, n_mutations)
    k[0] = 0
    codes = np.repeat(wt[None], n, axis=0)
    codes[:, start:end] = _mutate(codes[:, start:end], k, alphabet.size, rng)
    if mode == "global" and n > 1 and (start > 0 or end < L):
        from seqlens.shuffle import dinucleotide_shuffle

        seed = int(rng.integers(0, 2**31 - 1))
        background = dinucleotide_shuffle(codes_to_one_hot(wt[None], alphabet.size), n - 1, seed)[0]
        bg = background.argmax(1).astype(np.uint8)
        codes[1:, :start] = bg[:, :start]
        codes[1:, end:] = bg[:, end:]
    return MutagenesisLibrary(codes, wt, (start, end), alphabet, mode, k)


def combinatorial_library(sequence, window=None, max_order: int = 2,
                          alphabet: str | Alphabet = DNA) -> MutagenesisLibrary:
    """The wild type, all single mutants and (``max_order=2``) all double mutants of ``window``.

    Size ``1 + W(A-1) + W(W-1)/2 (A-1)^2``; order: wild type, singles by position then letter,
    doubles by position pair then letters.
    """
    alphabet = get_alphabet(alphabet)
    if max_order not in (1, 2):
        raise SeqlensError(f"max_order must be 1 or 2, got {max_order}")
    wt = _wild_type_codes(sequence, alphabet)
    start, end = parse_window(window, len(wt))
    A = alphabet.size
    rows = [wt.copy()]
    for pos in range(start, end):
        for s in range(1, A):
            v = wt.copy()
            v[pos] = (wt[pos] + s) % A
            rows.append(v)
    if max_order == 2:
        pairs = np.array(list(combinations(range(start, end), 2)), dtype=np.int64).reshape(-1, 2)
        shifts = np.array([(a, b) for a in range(1, A) for b in range(1, A)], dtype=np.int64)
        P, S = len(pairs), len(shifts)
        doubles = np.repeat(wt[None], P * S, axis=0)
        pi = np.repeat(pairs, S, axis=0)
        si = np.tile(shifts, (P, 1))
        r = np.arange(P * S)
        doubles[r, pi[:, 0]] = (wt[pi[:, 0]] + si[:, 0]) % A
        doubles[r, pi[:, 1]] = (wt[pi[:, 1]] + si[:, 1]) % A
        codes = np.concatenate([np.stack(rows), doubles]).astype(np.uint8)
    else:
        codes = np.stack(rows).astype(np.uint8)
    return MutagenesisLibrary(codes, wt, (start, end), alphabet, "combinatorial")


def _select_output(out: torch.Tensor, target, reduce: Callable | None) -> torch.Tensor:
    if reduce is not None:
        out = reduce(out)
        out = torch.as_tensor(out)
        if out.ndim != 1:
            raise SeqlensError(f"reduce must return one value per sequence, got shape {tuple(out.shape)}")
        return out
    if out.ndim == 1:
        return out
    if out.ndim == 2 and out.shape[1] == 1 and target in (0, None):
        return out[:, 0]
    if target is None:
        raise SeqlensError(f"model output has shape {tuple(out.shape)}; give target= or reduce=")
    out = out[:, target] if not isinstance(target, (list, tuple)) else out[:, list(target)].sum(1)
    if out.ndim != 1:
        raise SeqlensError(f"model output per sequence is {tuple(out.shape[1:])} after target; give reduce=")
    return out


@torch.no_grad()
def predict_library(model: nn.Module, library, target=0, reduce: Callable | None = None,
                    batch_size: int = 512, device=None, verbose: bool = False) -> np.ndarray:
    """Query ``model`` on every variant, batch by batch, in eval mode.

    Parameters
    ----------
    model : any ``torch.nn.Module`` with ``y = model(X)``, ``X`` one-hot ``(B, A, L)``.
    library : a :class:`MutagenesisLibrary`, or a one-hot array ``(N, A, L)``.
    target : output index (or list of indices, summed) for ``(B, T)`` outputs; ignored for ``(B,)``.
    reduce : function of the raw batch output returning ``(B,)`` (e.g. ``lambda p: p.sum((1, 2))``
        for profile outputs); overrides ``target``.
    batch_size, device, verbose : as everywhere (``device=None``: CUDA if available, else CPU).

    Returns
    -------
    ``(N,)`` float64 numpy array.
    """
    from tqdm.auto import tqdm

    device = torch.device(device) if device is not None else torch.device(
        "cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(library, MutagenesisLibrary):
        n = len(library)

        def batch(i):
            return library.one_hot(slice(i, i + batch_size))
    else:
        Xn = _to_numpy(library)
        if Xn.ndim != 3:
            raise SeqlensError(f"expected one-hot of shape (N, A, L), got {Xn.shape}")
        n = len(Xn)

        def batch(i):
            return Xn[i:i + batch_size]
    was_training = model.training
    model.eval()
    model.to(device)
    out = np.empty(n, dtype=np.float64)
    try:
        for i in tqdm(range(0, n, batch_size), disable=not verbose, desc="query model", leave=False):
            xb = torch.as_tensor(np.ascontiguousarray(batch(i)), dtype=torch.float32, device=device)
            out[i:i + len(xb)] = _select_output(model(xb), target, reduce).double().cpu().numpy()
    finally:
        model.train(was_training)
    return out
