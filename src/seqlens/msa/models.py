"""Shared machinery of the MSA models (scikit-learn style): coding, scoring, mutations."""

from __future__ import annotations

import re

import numpy as np
import torch

from seqlens.errors import SequenceError

_MUT = re.compile(r"^([A-Za-z\-])(-?\d+)([A-Za-z\-])$")


def resolve_device(device) -> torch.device:
    """None -> CUDA if available, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class MSAModel:
    """Base class: ``fit(msa)``, ``score(seqs)``, ``mutation_effects(mutants)``, ``contacts()``.

    Subclasses set ``columns_``, ``alphabet_``, ``gap_code_`` in ``fit`` and implement
    ``_score_codes(X)`` (``(N,)`` log-probability or pseudo-log-likelihood of coded rows) and
    optionally ``_delta_codes(wt, mut)``.
    """

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

    def mutation_effects(self, mutants, wildtype: str | None = None) -> np.ndarray:
        """Score differences (mutant - wild type) for mutants like ``"A23V"`` or ``"A23V:G45D"``
        with focus residue numbers (the ``residue`` column of ``columns_``). ``wildtype``
        defaults to the focus sequence. Mutations outside the model columns give NaN."""
        self._check_fitted()
        if isinstance(mutants, str):
            mutants = [mutants]
        wt = wildtype or "".join(self.columns_["focus_letter"])
        pos = {int(r): k for k, r in enumerate(self.columns_["residue"])}
        wt_codes = self._code([wt])[0]
        out = np.full(len(mutants), np.nan)
        rows, keep = [], []
        for m, mutant in enumerate(mutants):
            codes = wt_codes.copy()
            ok = True
            for part in str(mutant).replace(",", ":").split(":"):
                match = _MUT.match(part.strip())
                if not match:
                    raise SequenceError(f"mutant {mutant!r}: cannot parse {part!r} (expected e.g. A23V)")
                a, r, b = match.group(1).upper(), int(match.group(2)), match.group(3).upper()
                if r not in pos:
                    ok = False
                    break
                k = pos[r]
                if wt[k].upper() != a:
                    raise SequenceError(
                        f"mutant {mutant!r}: wild type at residue {r} is {wt[k]!r}, not {a!r}"
                    )
                codes[k] = self.alphabet_.letters.index(b) if b in self.alphabet_.letters else 255
                if codes[k] == 255:
                    raise SequenceError(f"mutant {mutant!r}: invalid residue {b!r}")
            if ok:
                rows.append(codes)
                keep.append(m)
        if rows:
            mut = np.stack(rows)
            wtm = np.repeat(wt_codes[None], len(rows), axis=0)
            out[keep] = self._delta_codes(wtm, mut)
        return out
