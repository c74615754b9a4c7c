"""Encoded alignments with focus-sequence numbering, filters and sequence weights.

An :class:`Alignment` holds ``X``, an ``(N, L)`` uint8 array of state codes in the order of its
alphabet (protein ``ACDEFGHIKLMNPQRSTVWY`` then gap ``-`` = code 20; RNA ``ACGU-``), and
``columns``, a table mapping each model column to the original alignment column, the focus
residue number and the focus letter.

Focus mode (``focus=True`` for the first sequence or a name / name prefix) keeps the columns where
the focus has an uppercase residue, as plmc does. Residue numbers start at ``start`` from a
``NAME/start-end`` header (1 otherwise). NB: plmc's DHFR output counts *alignment* columns
(``alignment_column`` + start - 1: 1..171 for DHFR), not focus residues (1..159).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from seqlens.alphabet import Alphabet
from seqlens.errors import ParameterError, SequenceError
from seqlens.io.msa import read_msa

PROTEIN_MSA = Alphabet("PROTEIN_GAP", "ACDEFGHIKLMNPQRSTVWY-")
RNA_MSA = Alphabet("RNA_GAP", "ACGU-")
_ALPHABETS = {"protein": PROTEIN_MSA, "rna": RNA_MSA}

_REGION = re.compile(r"/(\d+)-(\d+)$")


def msa_alphabet(alphabet: str | Alphabet) -> Alphabet:
    """``"protein"`` / ``"rna"`` / an Alphabet whose last letter is the gap ``-``."""
    if isinstance(alphabet, Alphabet):
        if not alphabet.letters.endswith("-"):
            raise ParameterError(f"an MSA alphabet must end with the gap '-', got {alphabet.letters!r}")
        return alphabet
    try:
        return _ALPHABETS[str(alphabet).lower()]
    except KeyError:
        raise ParameterError(f"unknown MSA alphabet {alphabet!r}; choose 'protein' or 'rna'") from None


def _lookup(alphabet: Alphabet) -> np.ndarray:
    lut = np.full(256, 255, dtype=np.uint8)
    for i, c in enumerate(alphabet.letters):
        lut[ord(c)] = i
        lut[ord(c.lower())] = i
    lut[ord(".")] = len(alphabet.letters) - 1
    if "U" in alphabet.letters:  # DNA letters in RNA alignments
        lut[ord("T")] = lut[ord("t")] = alphabet.letters.index("U")
    return lut


def encode(rows: list[str], alphabet: str | Alphabet = "protein") -> np.ndarray:
    """Rows of equal length -> ``(N, L)`` uint8 codes; characters outside the alphabet -> 255."""
    alphabet = msa_alphabet(alphabet)
    if not rows:
        return np.zeros((0, 0), dtype=np.uint8)
    codes = np.frombuffer("".join(rows).encode("ascii", errors="replace"), dtype=np.uint8)
    return _lookup(alphabet)[codes].reshape(len(rows), -1)


COLUMN_NAMES = ("column", "alignment_column", "residue", "focus_letter")
DROPPED_NAMES = ("name", "record", "reason")


class Alignment:
    """An encoded alignment.

    Attributes
    ----------
    names : N record names (kept sequences).
    X : ``(N, L)`` uint8 state codes; ``alphabet.letters[-1]`` (gap) is code ``q - 1``.
    alphabet : the MSA alphabet (gap last).
    columns : DataFrame, one row per model column: ``column`` (0-based), ``alignment_column``
        (1-based, in the file), ``residue`` (focus residue number, or column + 1 without focus),
        ``focus_letter``. Built on first use (a fit does not need pandas):
        :meth:`column_table` gives the same as numpy arrays.
    focus : name of the focus sequence or None; ``focus_index`` its row.
    source_index : ``(N,)`` index of each kept row among the file's records.
    n_records : number of records in the file.
    dropped : DataFrame ``name, record, reason`` of sequences removed (invalid characters,
        filters), by record; built on first use, :attr:`dropped_records` holds the same tuples.
    source : file name (for messages).
    width : columns of the file's rows before any column is dropped (A2M: insert columns
        included); ``columns['alignment_column']`` counts within it.

    ``columns`` may be given as a DataFrame or a dict of the four columns, ``dropped`` as a
    DataFrame or a list of ``(name, record, reason)``.
    """

    def __init__(self, names: list[str], X: np.ndarray, alphabet: Alphabet = PROTEIN_MSA,
                 columns=None, focus: str | None = None, focus_index: int | None = None,
                 source_index: np.ndarray | None = None, n_records: int | None = None,
                 dropped=None, source: str | None = None, width: int | None = None):
        self.names = names
        self.X = np.ascontiguousarray(X, dtype=np.uint8)
        self.alphabet = alphabet
        self.focus, self.focus_index, self.source = focus, focus_index, source
        n, length = self.X.shape
        if len(self.names) != n:
            raise ValueError(f"{len(self.names)} names for {n} rows")
        if columns is None:
            columns = {"column": np.arange(length), "alignment_column": np.arange(1, length + 1),
                       "residue": np.arange(1, length + 1), "focus_letter": ["-"] * length}
        self._columns = columns
        self._dropped = [] if dropped is None else dropped
        self.source_index = np.arange(n) if source_index is None else source_index
        self.n_records = n if n_records is None else n_records
        if width is None:
            aln = self.column_table()["alignment_column"]
            width = int(aln.max()) if len(aln) else length
        self.width = width
        self._weights: dict = {}

    @property
    def columns(self):
        """The column table as a DataFrame (pandas is imported on first use)."""
        if isinstance(self._columns, dict):
            import pandas as pd

            self._columns = pd.DataFrame(self._columns)
        return self._columns

    @columns.setter
    def columns(self, table) -> None:
        self._columns = table

    def column_table(self) -> dict[str, np.ndarray]:
        """The column table as ``{name: (L,) array}`` (copies), without pandas."""
        return {k: np.array(self._columns[k]) for k in COLUMN_NAMES}

    @property
    def dropped(self):
        """The dropped records as a DataFrame ``name, record, reason``."""
        if isinstance(self._dropped, list):
            import pandas as pd

            self._dropped = pd.DataFrame(self._dropped, columns=list(DROPPED_NAMES))
        return self._dropped

    @property
    def dropped_records(self) -> list[tuple[str, int, str]]:
        """The dropped records as ``(name, record, reason)`` tuples, by record."""
        if isinstance(self._dropped, list):
            return list(self._dropped)
        return list(self._dropped[list(DROPPED_NAMES)].itertuples(index=False, name=None))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_rows(cls, rows: list[str], names: list[str] | None = None, alphabet="protein",
                  **kwargs) -> Alignment:
        """Build from aligned strings (all the same length); keyword arguments as :meth:`read`."""
        names = list(names) if names is not None else [f"seq{i + 1}" for i in range(len(rows))]
        return cls._build(names, list(rows), alphabet, source=None, a2m=False, **kwargs)

    @classmethod
    def read(cls, path: str | Path, format: str | None = None, alphabet="protein",
             focus: bool | str | None = None, invalid: str = "drop",
             max_gap_fraction_column: float | None = None,
             max_gap_fraction_sequence: float | None = None,
             min_focus_coverage: float | None = None) -> Alignment:
        """Read and encode an alignment file.

        Parameters
        ----------
        path, format : file and format (see :func:`seqlens.io.msa.read_msa`).
        alphabet : ``"protein"`` or ``"rna"``.
        focus : None/False (all columns), True (the first sequence) or a name or name prefix.
        invalid : ``"drop"`` sequences with characters outside the alphabet (listed in
            ``dropped``) or ``"error"``.
        max_gap_fraction_column : drop columns with a larger gap fraction (after row filters).
        max_gap_fraction_sequence : drop sequences with a larger gap fraction.
        min_focus_coverage : drop sequences covering (non-gap) less than this fraction of the
            focus columns.
        """
        from seqlens.io.msa import guess_format

        fmt = (format or guess_format(path)).lower()
        names, rows = read_msa(path, fmt, keep_insertions=(fmt == "a2m"))
        return cls._build(names, rows, alphabet, source=str(path), a2m=(fmt == "a2m"), focus=focus,
                          invalid=invalid, max_gap_fraction_column=max_gap_fraction_column,
                          max_gap_fraction_sequence=max_gap_fraction_sequence,
                          min_focus_coverage=min_focus_coverage)

    @classmethod
    def _build(cls, names, rows, alphabet, source, a2m, focus=None, invalid="drop",
               max_gap_fraction_column=None, max_gap_fraction_sequence=None,
               min_focus_coverage=None) -> Alignment:
        alphabet = msa_alphabet(alphabet)
        where = f"{source}: " if source else ""
        if not rows:
            raise SequenceError(f"{where}alignment has no sequences")
        length = len(rows[0])
        for name, row in zip(names, rows):
            if len(row) != length:
                raise SequenceError(
                    f"{where}ragged alignment: record {name!r} has {len(row)} columns, "
                    f"the first has {length}"
                )
        if invalid not in ("drop", "error"):
            raise ParameterError(f"invalid must be 'drop' or 'error', got {invalid!r}")
        focus_index = _find_focus(names, focus, where)
        ref = rows[focus_index if focus_index is not None else 0]
        ref_arr = np.frombuffer(ref.encode("ascii", errors="replace"), dtype=np.uint8)
        is_lower = (ref_arr >= ord("a")) & (ref_arr <= ord("z"))
        is_gap = (ref_arr == ord("-")) | (ref_arr == ord("."))
        keep = np.ones(length, dtype=bool)
        if a2m:  # insert columns: lowercase or '.' in the reference row
            keep &= ~is_lower & ~(ref_arr == ord("."))
        if focus_index is not None:
            keep &= ~is_lower & ~is_gap
        start = 1
        if focus_index is not None:
            m = _REGION.search(names[focus_index])
            if m:
                start = int(m.group(1))
        residue_of_col = start + np.cumsum(~is_gap) - 1  # residue number at each raw column
        X_raw = encode(rows, alphabet)
        X = X_raw[:, keep]
        cols = np.flatnonzero(keep)
        columns = {
            "column": np.arange(len(cols)),
            "alignment_column": cols + 1,
            "residue": residue_of_col[cols] if focus_index is not None else np.arange(1, len(cols) + 1),
            "focus_letter": [ref[c].upper() for c in cols],
        }
        # invalid characters (only in the kept columns matter)
        bad_rows = np.flatnonzero((X == 255).any(axis=1))
        dropped = []
        for r in bad_rows:
            c = int(np.argmax(X[r] == 255))
            char = rows[r][cols[c]]
            msg = (f"invalid character {char!r} at alignment column {cols[c] + 1} "
                   f"(alphabet {alphabet.letters})")
            if invalid == "error" or r == focus_index:
                raise SequenceError(f"{where}record {names[r]!r} (#{r + 1}): {msg}")
            dropped.append((names[r], int(r), msg))
        valid = np.ones(len(rows), dtype=bool)
        valid[bad_rows] = False
        gap = len(alphabet.letters) - 1
        if max_gap_fraction_sequence is not None:
            frac = (X == gap).mean(axis=1)
            for r in np.flatnonzero(valid & (frac > max_gap_fraction_sequence)):
                if r != focus_index:
                    dropped.append((names[r], int(r), f"gap fraction {frac[r]:.3f} > "
                                                       f"{max_gap_fraction_sequence}"))
                    valid[r] = False
        if min_focus_coverage is not None:
            cov = (X != gap).mean(axis=1)
            for r in np.flatnonzero(valid & (cov < min_focus_coverage)):
                if r != focus_index:
                    dropped.append((names[r], int(r), f"focus coverage {cov[r]:.3f} < "
                                                       f"{min_focus_coverage}"))
                    valid[r] = False
        idx = np.flatnonzero(valid)
        X = X[idx]
        if max_gap_fraction_column is not None and len(idx):
            colfrac = (X == gap).mean(axis=0)
            ok = colfrac <= max_gap_fraction_column
            X = X[:, ok]
            columns = {k: np.asarray(v)[ok] for k, v in columns.items()}
            columns["focus_letter"] = columns["focus_letter"].tolist()
            columns["column"] = np.arange(int(ok.sum()))
        new_focus = int(np.searchsorted(idx, focus_index)) if focus_index is not None else None
        return cls(names=[names[i] for i in idx], X=X, alphabet=alphabet, columns=columns,
                   focus=names[focus_index] if focus_index is not None else None,
                   focus_index=new_focus, source_index=idx, n_records=len(rows),
                   dropped=sorted(dropped, key=lambda d: d[1]), source=source,
                   width=length)

    # ------------------------------------------------------------------ properties
    @property
    def n_sequences(self) -> int:
        return self.X.shape[0]

    @property
    def length(self) -> int:
        return self.X.shape[1]

    @property
    def q(self) -> int:
        """Number of states including the gap."""
        return len(self.alphabet.letters)

    @property
    def gap_code(self) -> int:
        return self.q - 1

    def __len__(self) -> int:
        return self.n_sequences

    def __repr__(self) -> str:
        return (f"Alignment(N={self.n_sequences}, L={self.length}, alphabet={self.alphabet.name}, "
                f"focus={self.focus!r}, dropped={len(self._dropped)})")

    def rows(self) -> list[str]:
        letters = np.frombuffer(self.alphabet.letters.encode(), dtype=np.uint8)
        return [bytes(letters[r]).decode() for r in self.X]

    def subset(self, index) -> Alignment:
        """Alignment of some rows (weights are recomputed on demand)."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        fi = None
        if self.focus_index is not None and self.focus_index in set(index.tolist()):
            fi = int(np.flatnonzero(index == self.focus_index)[0])
        return Alignment(names=[self.names[i] for i in index], X=self.X[index],
                         alphabet=self.alphabet, columns=self.column_table(),
                         focus=self.focus if fi is not None else None, focus_index=fi,
                         source_index=self.source_index[index], n_records=self.n_records,
                         dropped=self._dropped, source=self.source, width=self.width)

    # ------------------------------------------------------------------ weights
    def weights(self, identity: float | None = 0.8) -> np.ndarray:
        """Sequence weights ``(N,)``: 1/(1 + #neighbours with identity >= ``identity``), gap == gap
        counted as identical (plmc); None gives all ones. Cached per threshold."""
        if identity is None:
            return np.ones(self.n_sequences)
        if identity not in self._weights:
            from seqlens.msa.weights import sequence_weights

            self._weights[identity] = sequence_weights(self.X, identity)
        return self._weights[identity]

    def neff(self, identity: float | None = 0.8) -> float:
        """Effective number of sequences: the sum of the weights."""
        return float(self.weights(identity).sum())

    def weights_full(self, identity: float | None = 0.8) -> np.ndarray:
        """Weights for every record of the file, 0 for dropped ones (plmc's weights file)."""
        out = np.zeros(self.n_records)
        out[self.source_index] = self.weights(identity)
        return out

    def focus_sequence(self) -> str:
        return "".join(self._columns["focus_letter"])


def _find_focus(names: list[str], focus, where: str) -> int | None:
    if focus is None or focus is False:
        return None
    if focus is True:
        return 0
    focus = str(focus)
    for i, n in enumerate(names):
        if n == focus:
            return i
    matches = [i for i, n in enumerate(names) if n.startswith(focus)]
    if len(matches) > 1:
        shown = ", ".join(repr(names[i]) for i in matches[:5])
        more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
        raise SequenceError(f"{where}focus {focus!r} is ambiguous: {len(matches)} records start "
                            f"with it ({shown}{more}); give the full name")
    if matches:
        return matches[0]
    raise SequenceError(f"{where}focus sequence {focus!r} not found among {len(names)} records")


def alignment_dimensions(path: str | Path, format: str | None = None,
                         focus: bool | str | None = None) -> tuple[int, int]:
    """``(records, columns)`` of an alignment file from one streaming pass that keeps one row
    at a time: the columns are those :meth:`Alignment.read` would model (the focus's uppercase
    residues with ``focus``, the match columns without).

    Much cheaper than reading (nothing is kept or encoded), so a fit can be refused from the
    dimensions before the file is read. A malformed file gives rough figures (``(0, 0)`` when
    nothing looks like a record); :meth:`Alignment.read` then reports what is wrong with it.
    """
    from seqlens.io.msa import guess_format

    fmt = (format or guess_format(path)).lower()
    want = None if focus is None or isinstance(focus, bool) else str(focus)
    records = _fasta_records(path) if fmt in ("fasta", "a2m", "a3m") else _block_records(
        path, fmt, want)
    n, first, exact, prefix = 0, None, None, None
    for name, row in records:
        n += 1
        first = row if first is None else first
        if want is not None and exact is None and name == want:
            exact = row
        elif want is not None and prefix is None and name.startswith(want):
            prefix = row
    row = exact if exact is not None else prefix if prefix is not None else first
    if not row:
        return n, 0
    if focus is not None and focus is not False:
        return n, sum(c.isupper() for c in row)
    if fmt in ("a2m", "a3m"):
        return n, sum(not (c.islower() or c == ".") for c in row)
    return n, len(row)


def _fasta_records(path):
    """``(name, row)`` of each record of a FASTA-like file, one at a time."""
    from seqlens.io.text import iter_lines

    name, parts = None, []
    for line in iter_lines(path):
        line = line.strip()
        if line.startswith(">"):
            if name is not None:
                yield name, "".join(parts)
            name, parts = (line[1:].split(None, 1) or [""])[0], []
        elif name is not None and line and not line.startswith(";"):
            parts.append(line.replace(" ", ""))
    if name is not None:
        yield name, "".join(parts)


def _block_records(path, fmt: str, want: str | None):
    """``(name, row)`` of a Stockholm or plain file; only the first row and rows whose name
    starts with ``want`` are assembled (the others are empty)."""
    from seqlens.io.text import iter_lines

    rows: dict[str, list[str]] = {}
    lines = iter_lines(path)
    if fmt == "stockholm":
        next(lines, None)
    for line in lines:
        s = line.strip()
        if fmt == "stockholm" and s == "//":
            break
        if not s or s.startswith("#"):
            continue
        fields = s.split() if fmt == "stockholm" else [f"seq{len(rows) + 1}", s]
        if len(fields) == 2:
            parts = rows.setdefault(fields[0], [])
            if len(rows) == 1 or (want is not None and fields[0].startswith(want)):
                parts.append(fields[1])
    return ((name, "".join(parts)) for name, parts in rows.items())


def read_alignment(path: str | Path, **kwargs) -> Alignment:
    """Shortcut for :meth:`Alignment.read`."""
    return Alignment.read(path, **kwargs)
