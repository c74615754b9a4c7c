"""Read deep mutational scanning (DMS) tables.

Two layouts are recognised:

* DeepSequence: ``mutant,<phenotype>[,<phenotype>...]`` (e.g. ``mutant,CRIPT,Tm2F``); pick the
  phenotype with ``column``.
* ProteinGym: ``mutant,mutated_sequence,DMS_score[,DMS_score_bin]``; ``column`` defaults to
  ``DMS_score``.

:func:`read_dms` returns a DataFrame with columns ``mutant`` (string, ``:`` separated for
multi-mutants), ``score`` (float, NaN where missing) and, where present, ``mutated_sequence``.
Rows keep their file order; ``row`` holds the 1-based line number in the file (header = line 1)
so that later errors can name it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from seqlens.errors import FormatError
from seqlens.io.text import default_sep, read_csv

PROTEINGYM_SCORE = "DMS_score"


def read_dms(path: str | Path, column: str | None = None, sep: str | None = None) -> pd.DataFrame:
    """Read a DMS table.

    Parameters
    ----------
    path : CSV/TSV file (gzip allowed).
    column : phenotype column; default ``DMS_score`` when present, otherwise the only numeric
        column besides ``mutant`` (an error lists the choices when there are several).
    sep : field separator; default: tab for ``.tsv``/``.txt`` (``.gz`` ignored), comma otherwise.

    Returns
    -------
    DataFrame with ``mutant``, ``score``, ``row`` and (ProteinGym) ``mutated_sequence``.
    """
    path = Path(path)
    df = read_csv(path, "DMS table", sep=sep or default_sep(path), dtype={"mutant": str})
    if "mutant" not in df.columns:
        raise FormatError(f"{path}: no 'mutant' column (columns: {_names(df.columns)})")
    if df.empty:
        raise FormatError(f"{path}: DMS table has a header but no rows")
    candidates = [c for c in df.columns if c not in ("mutant", "mutated_sequence", "DMS_score_bin")]
    if column is None:
        if PROTEINGYM_SCORE in df.columns:
            column = PROTEINGYM_SCORE
        else:
            numeric = [c for c in candidates if pd.api.types.is_numeric_dtype(df[c])]
            if len(candidates) == 1:
                numeric = candidates
            if len(numeric) != 1:
                raise FormatError(
                    f"{path}: choose a phenotype column with column=...; candidates: "
                    f"{_names(candidates) or '(none besides mutant)'}"
                )
            column = numeric[0]
    if column not in df.columns:
        raise FormatError(
            f"{path}: no column {column!r}; phenotype columns: {_names(candidates)}"
        )
    with np.errstate(over="ignore"):
        scores = pd.to_numeric(df[column], errors="coerce").astype(float)
    given = df[column].notna() & (df[column].astype(str).str.strip() != "")
    bad = given & ~np.isfinite(scores)
    if bad.any():
        r = int(np.flatnonzero(bad.to_numpy())[0])
        raise FormatError(
            f"{path}: line {r + 2} (mutant {df['mutant'].iloc[r]!r}), column {column!r}: not a "
            f"finite number: {df[column].iloc[r]!r}"
        )
    out = pd.DataFrame({
        "mutant": df["mutant"].fillna("").astype(str).str.strip(),
        "score": scores.where(given),
        "row": np.arange(2, len(df) + 2),
    })
    if "mutated_sequence" in df.columns:
        out["mutated_sequence"] = df["mutated_sequence"].astype(str)
    out.attrs["source"] = str(path)
    out.attrs["column"] = str(column)
    return out


def _names(columns) -> str:
    """Column names for a one-line message (quoted, so odd characters stay visible)."""
    return ", ".join(repr(str(c)) for c in columns)
