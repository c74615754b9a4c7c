"""Shared machinery of the MSA models (scikit-learn style): coding, scoring, mutations."""

from __future__ import annotations

import numpy as np

from seqlens.errors import SequenceError
from seqlens.msa._threads import thread_limit


class ThreadLimitedFit:
    """Mixin for models with an ``n_threads`` attribute: :meth:`fit` runs the subclass's
    ``_fit(msa)`` on that many numba threads, and torch threads when torch is in use, restoring
    both afterwards."""

    def fit(self, msa):
        """Fit on an :class:`~seqlens.msa.alignment.Alignment`; ``n_threads`` applies to this fit
        only. Returns self."""
        with thread_limit(self.n_threads):
            return self._fit(msa)


def resolve_device(device):
    """None -> CUDA if available, else CPU (a ``torch.device``)."""
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class MSAModel:
    """Base class: ``fit(msa)``, ``score(seqs)``, ``mutation_effects(mutants)``, ``contacts()``.

    Subclasses set ``columns_``, ``alignment_width_`` (columns of the training file's rows),
    ``alphabet_``, ``gap_code_`` in ``fit`` and implement
    ``_score_codes(X)`` (``(N,)`` log-probability or pseudo-log-likelihood of coded rows) and
    optionally ``_delta_codes(wt, mut)``.
    """

    @property
    def columns_(self):
        """The training alignment's column table (DataFrame ``column, alignment_column,
        residue, focus_letter``); a model fitted without pandas holds it as a dict of arrays
        until first use."""
        try:
            table = self.__dict__["_columns"]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no columns_ (not fitted)") from None
        if isinstance(table, dict):
            import pandas as pd

            table = self.__dict__["_columns"] = pd.DataFrame(table)
        return table

    @columns_.setter
    def columns_(self, table) -> None:
        self.__dict__["_columns"] = table

    def column_lists(self) -> dict[str, list]:
        """``columns_`` as ``{name: list}`` (JSON-able), without building a DataFrame."""
        table = self.__dict__["_columns"]
        return {k: np.asarray(table[k]).tolist() for k in table}

    def _check_fitted(self):
        if not hasattr(self, "columns_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit(msa) first")

    def _code(self, seqs) -> np.ndarray:
        from seqlens.msa.alignment import encode

        if isinstance(seqs, str):
            seqs = [seqs]
        seqs = [s.upper().replace(".", "-") for s in seqs]
        L = len(self.columns_)
        for k, s in enumerate(seqs):
            if len(s) != L:
                raise SequenceError(f"sequence #{k + 1} has length {len(s)}, the model has {L} columns")
        X = encode(seqs, self.alphabet_)
        if (X == 255).any():
            r, c = np.argwhere(X == 255)[0]
            raise SequenceError(f"sequence #{r + 1}, column {c + 1}: invalid character {seqs[r][c]!r}")
        return X

    def select_columns(self, rows, names=None, source=None) -> list[str]:
        """Aligned rows cut to the model's columns. Rows of the model's L columns are kept; rows
        of the training alignment's full width (``alignment_width_``; A2M insert columns
        included) are cut to ``columns_['alignment_column']``. Any other width raises a
        :class:`SequenceError` naming ``source`` and the record (``names``, default ``#k``)."""
        self._check_fitted()
        L = len(self.columns_)
        cols = self.columns_["alignment_column"].to_numpy() - 1
        width = int(getattr(self, "alignment_width_", cols.max() + 1 if L else 0))
        where = f"{source}: " if source else ""
        out = []
        for k, row in enumerate(rows):
            if len(row) == width and width != L:
                row = "".join(row[c] for c in cols)
            elif len(row) != L:
                name = names[k] if names is not None else f"#{k + 1}"
                raise SequenceError(
                    f"{where}record {name!r} has {len(row)} columns; the model takes rows of its "
                    f"{L} columns or of the {width} columns of its training alignment")
            out.append(row)
        return out

    def _decode(self, X: np.ndarray) -> list[str]:
        letters = np.array(list(self.alphabet_.letters))
        return ["".join(row) for row in letters[np.asarray(X)]]

    def score(self, seqs) -> np.ndarray:
        """``(N,)`` scores (log-probability or pseudo-log-likelihood) of aligned sequences (strings
        of the model's L columns, gaps ``-``)."""
        self._check_fitted()
        return self._score_codes(self._code(seqs))

    def _delta_codes(self, wt: np.ndarray, mut: np.ndarray) -> np.ndarray:
        return self._score_codes(mut) - self._score_codes(wt)

    def mutation_effects(self, mutants, wildtype=None, start: int = 1, numbering=None
                         ) -> np.ndarray:
        """Score differences (mutant - wild type, higher = fitter) for mutants like ``"A23V"`` or
        ``"A23V:G45D"`` (see :mod:`seqlens.msa.mutations` for the formats and the scores).

        Parameters
        ----------
        mutants : a mutant string or a list of them.
        wildtype : the full wild-type sequence (string, first residue numbered ``start``, or a
            ``{residue: letter}`` dict). The focus residues are then re-aligned to it
            (:func:`~seqlens.msa.mutations.resolve_numbering`, as ``evaluate_dms`` does), which
            fixes alignment headers whose numbering is off (PF00595 ``DLG4_RAT/313-391``).
            Default: the numbering of the alignment header (``columns_['residue']``).
        numbering : explicit ``(L,)`` residue number of each model column (-1: none); overrides
            both.

        Returns
        -------
        ``(M,)`` float64; NaN for mutants outside the model columns, 0 for the wild type and
        synonymous mutants. A wild-type letter that disagrees with the focus residue raises a
        :class:`SequenceError` naming the mutant, residue, expected and found letters.
        """
        from seqlens.msa.mutations import (
            map_mutants,
            parse_mutant,
            resolve_numbering,
            score_mapped,
        )

        self._check_fitted()
        if isinstance(mutants, str):
            mutants = [mutants]
        mutants = [str(m) for m in mutants]
        focus = "".join(self.columns_["focus_letter"]).upper()
        if numbering is not None:
            residues = np.asarray(numbering, dtype=np.int64)
            if residues.shape != (len(focus),):
                raise ValueError(f"numbering must give one residue number per model column "
                                 f"({len(focus)}), got shape {residues.shape}")
        else:
            residues, _, _ = resolve_numbering(
                focus, self.columns_["residue"].to_numpy(), wildtype, start,
                "align" if wildtype is not None else "header")
        mapped = map_mutants(mutants, residues, focus, self.alphabet_.letters)
        bad = mapped.index[mapped["status"] == "wrong wild type"]
        if len(bad):
            mutant = mapped["mutant"][bad[0]]
            col = {int(r): k for k, r in enumerate(residues) if r >= 0}
            sub = next(x for x in parse_mutant(mutant) if x.pos in col and focus[col[x.pos]] != x.wt)
            hint = ("check the wild-type sequence and its start" if wildtype is not None else
                    "the alignment header numbering may be off; pass the full wild-type sequence, "
                    "e.g. mutation_effects(mutants, wildtype=SEQ, start=1), to re-align it")
            raise SequenceError(
                f"mutant {mutant!r}: residue {sub.pos} is {focus[col[sub.pos]]!r} in the focus "
                f"sequence (model column {col[sub.pos] + 1}), but "
                f"the mutant says {sub.wt!r} ({len(bad)} of {len(mutants)} mutants disagree); {hint}"
            )
        bad = mapped.index[mapped["status"] == "invalid letter"]
        if len(bad):
            raise SequenceError(f"mutant {mapped['mutant'][bad[0]]!r}: {mapped['reason'][bad[0]]}")
        out = score_mapped(self, mapped)
        out[mapped["status"].isin(["wild type", "synonymous"]).to_numpy()] = 0.0
        return out
