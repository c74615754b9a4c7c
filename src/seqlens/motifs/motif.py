"""The :class:`Motif` type: a position x letter matrix with counts or probabilities.

A motif stores a ``(A, W)`` matrix (alphabet x width, the same orientation as one-hot batches).
``counts`` are kept when known (e.g. JASPAR PFMs, filter activations); ``probabilities`` are always
available. Information is in bits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from seqlens.alphabet import DNA, Alphabet, get_alphabet, reverse_complement


@dataclass(eq=False)
class Motif:
    """A position-specific matrix over an alphabet.

    Parameters
    ----------
    matrix : ``(A, W)`` array of non-negative counts or probabilities (columns need not sum to 1).
    name : identifier (e.g. JASPAR matrix ID ``MA0079.3``).
    alt_name : second name (e.g. the TF name ``SP1``).
    alphabet : the alphabet of the rows (default DNA).
    is_counts : whether ``matrix`` holds counts (kept in ``counts``) or probabilities.
    metadata : free-form annotations (e.g. JASPAR release, collection, MEME nsites).

    Motifs compare by identity (``==`` is ``is``); compare ``matrix`` arrays explicitly.
    """

    matrix: np.ndarray
    name: str = "motif"
    alt_name: str = ""
    alphabet: Alphabet = DNA
    is_counts: bool = False
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        self.alphabet = get_alphabet(self.alphabet)
        m = np.asarray(self.matrix, dtype=np.float64)
        if m.ndim != 2 or m.shape[0] != self.alphabet.size:
            raise ValueError(
                f"motif {self.name!r}: matrix must be (A={self.alphabet.size}, W), got {m.shape}"
            )
        if m.shape[1] == 0:
            raise ValueError(f"motif {self.name!r}: matrix has width 0")
        if not np.all(np.isfinite(m)) or (m < 0).any():
            raise ValueError(f"motif {self.name!r}: matrix must be finite and non-negative")
        if (m.sum(axis=0) == 0).any():
            col = int(np.argmax(m.sum(axis=0) == 0))
            raise ValueError(f"motif {self.name!r}: column {col + 1} sums to zero")
        self.matrix = m

    @classmethod
    def from_counts(cls, counts, **kw) -> Motif:
        return cls(np.asarray(counts, dtype=np.float64), is_counts=True, **kw)

    @classmethod
    def from_probabilities(cls, probs, **kw) -> Motif:
        return cls(np.asarray(probs, dtype=np.float64), is_counts=False, **kw)

    @property
    def width(self) -> int:
        return self.matrix.shape[1]

    def __len__(self) -> int:
        return self.width

    @property
    def counts(self) -> np.ndarray | None:
        """``(A, W)`` counts, or None when the motif was built from probabilities."""
        return self.matrix if self.is_counts else None

    @property
    def n_sites(self) -> float | None:
        """Number of sites (column sum of counts), or None without counts."""
        return float(self.matrix.sum(axis=0).max()) if self.is_counts else None

    def probabilities(self, pseudocount: float = 0.0) -> np.ndarray:
        """``(A, W)`` column-normalised probabilities; ``pseudocount`` is added to every cell
        (to counts, or to probabilities if there are no counts)."""
        m = self.matrix + pseudocount
        return m / m.sum(axis=0, keepdims=True)

    def information(self, background=None, pseudocount: float = 0.0) -> np.ndarray:
        """``(W,)`` information content per column in bits: ``sum_a p log2(p / b)``
        (``log2(A) - entropy`` for a uniform background)."""
        p = self.probabilities(pseudocount)
        b = self._background(background)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * np.log2(p / b), 0.0)
        return terms.sum(axis=0)

    def total_information(self, background=None) -> float:
        return float(self.information(background).sum())

    def weights(self, background=None, pseudocount: float = 0.01) -> np.ndarray:
        """``(A, W)`` log-odds weights ``log2(p / b)`` in bits, with a pseudocount on probabilities
        (applied after normalisation so counts and probabilities behave alike)."""
        p = self.probabilities()
        p = (p + pseudocount) / (1 + pseudocount * p.shape[0])
        with np.errstate(divide="ignore"):  # pseudocount 0: a letter never seen scores -inf
            return np.log2(p / self._background(background)[:, None])

    def consensus(self) -> str:
        """Most probable letter per column."""
        letters = np.array(list(self.alphabet.letters))
        return "".join(letters[self.probabilities().argmax(axis=0)])

    def reverse_complement(self) -> Motif:
        """The motif on the other strand (reversed columns, complemented rows)."""
        return self._replace(reverse_complement(self.matrix, self.alphabet), suffix="_rc")

    def trim(self, min_information: float = 0.5, pad: int = 0) -> Motif:
        """Keep the span from the first to the last column with information > ``min_information``
        bits, widened by ``pad`` columns on each side (within the motif). A motif with no such
        column is returned whole."""
        info = self.information()
        keep = np.flatnonzero(info > min_information)
        if keep.size == 0:
            return self
        start = max(int(keep[0]) - pad, 0)
        stop = min(int(keep[-1]) + 1 + pad, self.width)
        return self[start:stop]

    def __getitem__(self, sl: slice) -> Motif:
        if not isinstance(sl, slice):
            raise TypeError("index a Motif with a slice of columns, e.g. motif[2:10]")
        return self._replace(self.matrix[:, sl])

    def to_dataframe(self, kind: str = "probability", background=None) -> pd.DataFrame:
        """A position x letter DataFrame (logomaker layout) of ``kind``: ``"counts"``,
        ``"probability"``, ``"information"`` (probability x column information) or ``"weight"``."""
        if kind == "counts":
            if not self.is_counts:
                raise ValueError(f"motif {self.name!r} has no counts")
            m = self.matrix
        elif kind == "probability":
            m = self.probabilities()
        elif kind == "information":
            m = self.probabilities() * self.information(background)[None, :]
        elif kind == "weight":
            m = self.weights(background)
        else:
            raise ValueError(f"kind must be counts/probability/information/weight, got {kind!r}")
        return pd.DataFrame(m.T, columns=list(self.alphabet.letters))

    def sample(self, n: int, random_state=None) -> np.ndarray:
        """Sample ``n`` instances from the column probabilities; returns ``(n, A, W)`` one-hot."""
        rng = np.random.default_rng(random_state)
        p = self.probabilities()
        cum = np.cumsum(p, axis=0)
        u = rng.random((n, 1, self.width))
        idx = (u > cum[None]).sum(axis=1).clip(max=p.shape[0] - 1)
        return np.eye(p.shape[0], dtype=np.float32)[idx].transpose(0, 2, 1)

    def _background(self, background) -> np.ndarray:
        a = self.alphabet.size
        if background is None:
            return np.full(a, 1.0 / a)
        b = np.asarray(background, dtype=np.float64)
        if b.shape != (a,):
            raise ValueError(f"background must have shape ({a},), got {b.shape}")
        return b / b.sum()

    def _replace(self, matrix, suffix: str = "") -> Motif:
        return Motif(
            matrix, name=self.name + suffix, alt_name=self.alt_name, alphabet=self.alphabet,
            is_counts=self.is_counts, metadata=dict(self.metadata),
        )

    def __repr__(self) -> str:
        label = f"{self.name} {self.alt_name}".strip()
        return f"Motif({label!r}, width={self.width}, consensus={self.consensus()!r})"
