"""Alphabets and one-hot encoding.

One-hot batches are ``(N, A, L)`` float32 (PyTorch Conv1d order). DNA is ``ACGT``, RNA ``ACGU``,
protein ``ACDEFGHIKLMNPQRSTVWY`` with an optional gap state ``-`` as the 21st letter.

Policy for ambiguous nucleotides (``N`` and the other IUPAC codes), chosen by ``ambiguous=``:

* ``"uniform"`` (default): the column spreads 1 evenly over the letters the code stands for
  (``N`` -> 0.25 each, ``R`` -> 0.5 A + 0.5 G);
* ``"zeros"``: the column is all zeros;
* ``"error"``: a ``SequenceError`` naming the record and position.

Any other character is an error. Lowercase is accepted everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from seqlens.errors import SequenceError

AMBIGUOUS_POLICIES = ("uniform", "zeros", "error")

_IUPAC_DNA = {
    "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
    "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}


@dataclass(frozen=True)
class Alphabet:
    """An ordered set of letters with optional ambiguity codes.

    ``letters`` are the one-hot states in order; ``ambiguity`` maps extra codes to the letters
    they stand for; ``complement`` (nucleotides only) maps each letter to its complement.
    """

    name: str
    letters: str
    ambiguity: dict[str, str] = field(default_factory=dict)
    complement: dict[str, str] | None = None

    def __len__(self) -> int:
        return len(self.letters)

    @property
    def size(self) -> int:
        return len(self.letters)

    def lookup_table(self, ambiguous: str = "uniform") -> np.ndarray:
        """``(256, A)`` float32 table from byte value to one-hot row; invalid bytes are NaN."""
        if ambiguous not in AMBIGUOUS_POLICIES:
            raise ValueError(f"ambiguous must be one of {AMBIGUOUS_POLICIES}, got {ambiguous!r}")
        table = np.full((256, self.size), np.nan, dtype=np.float32)
        for i, letter in enumerate(self.letters):
            for case in {letter.upper(), letter.lower()}:
                table[ord(case)] = 0.0
                table[ord(case), i] = 1.0
        if ambiguous != "error":
            for code, meaning in self.ambiguity.items():
                row = np.zeros(self.size, dtype=np.float32)
                if ambiguous == "uniform":
                    idx = [self.letters.index(m) for m in meaning]
                    row[idx] = 1.0 / len(idx)
                table[ord(code.upper())] = row
                table[ord(code.lower())] = row
        return table


DNA = Alphabet(
    "DNA", "ACGT", ambiguity={**_IUPAC_DNA},
    complement={"A": "T", "C": "G", "G": "C", "T": "A"},
)
RNA = Alphabet(
    "RNA", "ACGU", ambiguity={k: v.replace("T", "U") for k, v in _IUPAC_DNA.items()},
    complement={"A": "U", "C": "G", "G": "C", "U": "A"},
)
PROTEIN = Alphabet("PROTEIN", "ACDEFGHIKLMNPQRSTVWY", ambiguity={"X": "ACDEFGHIKLMNPQRSTVWY"})
PROTEIN_GAP = Alphabet(
    "PROTEIN_GAP", "ACDEFGHIKLMNPQRSTVWY-", ambiguity={"X": "ACDEFGHIKLMNPQRSTVWY"}
)

_BY_NAME = {a.name: a for a in (DNA, RNA, PROTEIN, PROTEIN_GAP)}


def get_alphabet(alphabet: str | Alphabet) -> Alphabet:
    """Return an :class:`Alphabet` from itself or its name (``"DNA"``, ``"RNA"``, ``"PROTEIN"``,
    ``"PROTEIN_GAP"``; case-insensitive)."""
    if isinstance(alphabet, Alphabet):
        return alphabet
    try:
        return _BY_NAME[str(alphabet).upper()]
    except KeyError:
        raise ValueError(f"unknown alphabet {alphabet!r}; choose one of {list(_BY_NAME)}") from None


def _as_list(seqs: str | Iterable[str]) -> list[str]:
    return [seqs] if isinstance(seqs, str) else list(seqs)


def one_hot(
    seqs: str | Sequence[str],
    alphabet: str | Alphabet = DNA,
    ambiguous: str = "uniform",
    names: Sequence[str] | None = None,
    source: str | None = None,
) -> np.ndarray:
    """One-hot encode sequences of equal length.

    Parameters
    ----------
    seqs : a string or a sequence of N strings, all of length L.
    alphabet : ``DNA`` (default), ``RNA``, ``PROTEIN``, ``PROTEIN_GAP`` or an :class:`Alphabet`.
    ambiguous : ``"uniform"``, ``"zeros"`` or ``"error"`` (see module docstring).
    names, source : record names and file name used in error messages.

    Returns
    -------
    ``(N, A, L)`` float32 array (``N = 1`` for a single string).
    """
    alphabet = get_alphabet(alphabet)
    seqs = _as_list(seqs)
    if not seqs:
        return np.zeros((0, alphabet.size, 0), dtype=np.float32)
    where = f" in {source}" if source else ""
    lengths = {len(s) for s in seqs}
    if len(lengths) != 1:
        first = len(seqs[0])
        bad = next(i for i, s in enumerate(seqs) if len(s) != first)
        name = names[bad] if names is not None else f"#{bad}"
        raise SequenceError(
            f"ragged lengths{where}: record {name!r} has length {len(seqs[bad])}, "
            f"but the first record has length {first}; one-hot encoding needs equal lengths"
        )
    # non-ASCII characters become "?" (one byte each), so byte offsets equal string positions
    codes = np.frombuffer("".join(seqs).encode("ascii", errors="replace"), dtype=np.uint8)
    table = alphabet.lookup_table(ambiguous)
    rows = table[codes]
    bad = np.isnan(rows[:, 0])
    if bad.any():
        flat = int(np.argmax(bad))
        length = lengths.pop()
        rec, pos = divmod(flat, length) if length else (0, 0)
        name = names[rec] if names is not None else f"#{rec}"
        char = seqs[rec][pos]
        raise SequenceError(
            f"invalid character {char!r}{where}: record {name!r}, position {pos + 1} "
            f"(1-based); alphabet {alphabet.name} allows {alphabet.letters}"
            + (f" and ambiguity codes {''.join(alphabet.ambiguity)}" if alphabet.ambiguity
               and ambiguous != "error" else "")
        )
    length = len(seqs[0])
    return rows.reshape(len(seqs), length, alphabet.size).transpose(0, 2, 1).copy()


def decode(
    X: np.ndarray, alphabet: str | Alphabet = DNA, ambiguous_letter: str = "N"
) -> list[str]:
    """Decode ``(N, A, L)`` or ``(A, L)`` one-hot (or scores) to strings by argmax.

    Columns whose values are all equal (all zeros, uniform ``N``) decode to ``ambiguous_letter``.
    Returns a list of N strings (one string in a list for a 2-D input).
    """
    alphabet = get_alphabet(alphabet)
    X = _to_numpy(X)
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3 or X.shape[1] != alphabet.size:
        raise ValueError(
            f"expected shape (N, {alphabet.size}, L) for {alphabet.name}, got {X.shape}"
        )
    letters = np.array(list(alphabet.letters) + [ambiguous_letter])
    idx = X.argmax(axis=1)
    flat = X.max(axis=1) == X.min(axis=1)
    idx[flat] = alphabet.size
    return ["".join(row) for row in letters[idx]]


def reverse_complement(X, alphabet: str | Alphabet = DNA):
    """Reverse complement.

    Accepts a string, a list of strings, or a one-hot array/tensor ``(N, A, L)`` / ``(A, L)`` in
    ``ACGT``/``ACGU`` order (reversing both axes). Returns the same kind.
    """
    alphabet = get_alphabet(alphabet)
    if alphabet.complement is None:
        raise ValueError(f"alphabet {alphabet.name} has no complement")
    if isinstance(X, str):
        table = str.maketrans(_complement_map(alphabet))
        return X.translate(table)[::-1]
    if isinstance(X, (list, tuple)):
        return [reverse_complement(s, alphabet) for s in X]
    if X.shape[-2] != alphabet.size:
        raise ValueError(f"expected alphabet axis of size {alphabet.size} at -2, got {X.shape}")
    perm = [alphabet.letters.index(alphabet.complement[c]) for c in alphabet.letters]
    if _is_tensor(X):
        return X[..., perm, :].flip(-1)
    return np.ascontiguousarray(np.asarray(X)[..., perm, ::-1])


def _complement_map(alphabet: Alphabet) -> dict[str, str]:
    comp = dict(alphabet.complement)
    pairs = {"R": "Y", "Y": "R", "S": "S", "W": "W", "K": "M", "M": "K",
             "B": "V", "V": "B", "D": "H", "H": "D", "N": "N"}
    comp.update(pairs)
    comp.update({k.lower(): v.lower() for k, v in list(comp.items())})
    return comp


def _is_tensor(X) -> bool:
    return type(X).__module__.startswith("torch")


def _to_numpy(X) -> np.ndarray:
    if _is_tensor(X):
        return X.detach().cpu().numpy()
    return np.asarray(X)
