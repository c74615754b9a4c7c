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

PROTEINGYM_SCORE = "DMS_score"


def read_dms(path: str | Path, column: str | None = None, sep: str | None = None) -> pd.DataFrame:
    """Read a DMS table.

    Parameters
    ----------
    path : CSV/TSV file (``.gz`` allowed).
    column : phenotype column; default ``DMS_score`` when present, otherwise the only numeric
        column besides ``mutant`` (an error lists the choices when there are several).
    sep : field separator; default: tab for ``.tsv``/``.txt``, comma otherwise.

    Returns
    -------
    DataFrame with ``mutant``, ``score``, ``row`` and (ProteinGym) ``mutated_sequence``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such DMS table")
    if sep is None:
        name = path.name.lower().removesuffix(".gz")
        sep = "\t" if name.endswith((".tsv", ".txt")) else ","
    try:
        df = pd.read_csv(path, sep=sep, dtype={"mutant": str}, keep_default_na=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: cannot parse as a DMS table: {exc}") from None
    if df.empty and len(df.columns) == 0:
        raise FormatError(f"{path}: empty DMS table")
    if "mutant" not in df.columns:
        raise FormatError(f"{path}: no 'mutant' column (columns: {', '.join(map(str, df.columns))})")
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
                    f"{', '.join(map(str, candidates))}"
                )
            column = numeric[0]
    if column not in df.columns:
        raise FormatError(
            f"{path}: no column {column!r}; phenotype columns: {', '.join(map(str, candidates))}"
        )
    scores = pd.to_numeric(df[column], errors="coerce")
    bad = scores.isna() & df[column].notna() & (df[column].astype(str).str.strip() != "")
    if bad.any():
        r = int(np.flatnonzero(bad.to_numpy())[0])
        raise FormatError(
            f"{path}: line {r + 2}, column {column!r}: not a number: {df[column].iloc[r]!r}"
        )
    out = pd.DataFrame({
        "mutant": df["mutant"].fillna("").astype(str).str.strip(),
        "score": scores.astype(float),
        "row": np.arange(2, len(df) + 2),
    })
    if "mutated_sequence" in df.columns:
        out["mutated_sequence"] = df["mutated_sequence"].astype(str)
    out.attrs["source"] = str(path)
    out.attrs["column"] = str(column)
    return out
