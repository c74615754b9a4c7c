"""Sequence + label tables (CSV/TSV): one row per sequence, a sequence column and label columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from seqlens.alphabet import DNA, Alphabet, one_hot
from seqlens.errors import FormatError, SequenceError
from seqlens.io.text import default_sep, read_csv


def read_table(
    path: str | Path,
    sequence_column: str = "sequence",
    label_columns: list[str] | None = None,
    name_column: str | None = None,
    alphabet: str | Alphabet = DNA,
    ambiguous: str = "uniform",
) -> tuple[list[str], np.ndarray, pd.DataFrame]:
    """Read a CSV/TSV, optionally gzipped (separator from the name: ``.tsv``/``.txt`` tab, else
    comma).

    Parameters
    ----------
    sequence_column : column holding the sequences (all of one length).
    label_columns : label/target columns; default all other numeric columns.
    name_column : column of record names (default: row numbers).

    Returns
    -------
    ``(names, X, Y)``: names, one-hot ``(N, A, L)`` float32, and a DataFrame ``(N, T)`` of labels.
    Raises errors naming the file, row and column for missing columns, missing or non-numeric
    labels, empty or invalid sequences, and for files that are not text tables.
    """
    path = Path(path)
    df = read_csv(path, sep=default_sep(path))
    if df.empty:
        raise FormatError(f"{path}: table has a header but no rows")
    if sequence_column not in df.columns:
        raise FormatError(f"{path}: no column {sequence_column!r}; columns are {list(df.columns)}")
    if name_column is not None and name_column not in df.columns:
        raise FormatError(f"{path}: no column {name_column!r}; columns are {list(df.columns)}")
    names = (df[name_column].astype(str).tolist() if name_column
             else [f"row {i + 2}" for i in range(len(df))])
    seqs = df[sequence_column]
    empty = seqs.isna() | (seqs.astype(str).str.len() == 0)
    if empty.any():
        i = int(np.flatnonzero(empty.to_numpy())[0])
        raise SequenceError(f"{path}: record {names[i]!r} has an empty sequence")
    if label_columns is None:
        skip = {sequence_column, name_column}
        label_columns = [c for c in df.columns if c not in skip and pd.api.types.is_numeric_dtype(df[c])]
    missing = [c for c in label_columns if c not in df.columns]
    if missing:
        raise FormatError(f"{path}: label columns {missing} not found; columns are {list(df.columns)}")
    labels = {}
    for col in label_columns:
        with np.errstate(over="ignore"):  # out-of-range values become inf and are refused below
            values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float32)
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise FormatError(
                f"{path}: label column {col!r} of record {names[i]!r} is missing or not a finite "
                f"number ({df[col].iloc[i]!r})"
            )
        labels[col] = values
    X = one_hot(seqs.astype(str).tolist(), alphabet, ambiguous, names=names, source=str(path))
    return names, X, pd.DataFrame(labels, columns=label_columns, index=pd.RangeIndex(len(df)))
