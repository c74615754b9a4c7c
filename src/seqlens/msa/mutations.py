"""Mutation effects from sequence-family models, and their evaluation against DMS tables.

Mutants are written in focus (UniProt) numbering: ``P311A``; multi-mutants join substitutions
with ``:`` (``P311A:G312C``; ``,`` ``;`` ``+`` and spaces are accepted too, as are ``p.`` prefixes
and three-letter codes such as ``Pro311Ala``). ``WT`` / ``wt`` / ``_wt`` / an empty string stand for
the wild type.

Scores are "higher = fitter" and are differences against the wild type (focus sequence):

* PSSM: ``sum_k log p_k(b_k) - log p_k(a_k)`` (delta log-probability);
* Potts (and factored attention, a Potts model with factored couplings): delta statistical energy
  ``E(mut) - E(wt)`` with ``E(x) = sum_i h_i(x_i) + sum_{i<j} J_ij(x_i, x_j)``, including the pair
  terms between the mutated positions of a multi-mutant (:func:`delta_energy`);
* VAE: delta ELBO averaged over samples of the latent (``model.delta_elbo``);
* any other fitted model with ``score``: ``score(mut) - score(wt)``.

Residue numbers are mapped to model columns through ``columns_['residue']``. Alignment headers do
not always number the focus row correctly (PF00595 ``DLG4_RAT/313-391`` has its first residue and
one inserted residue removed), so :func:`focus_residue_map` re-derives the numbering by aligning
the focus letters to a reference (the full wild-type sequence, or the wild type read off a DMS
table). :func:`resolve_numbering` is the one place that decides: :func:`evaluate_dms` re-aligns
automatically when the header numbering disagrees with the table, and
``model.mutation_effects(mutants, wildtype=SEQ)`` re-aligns to the given wild type (without it, a
mutant whose wild-type letter disagrees with the focus raises an error that says so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seqlens.errors import ParameterError, SequenceError

THREE_TO_ONE = {
    "ALA": "A", "CYS": "C", "ASP": "D", "GLU": "E", "PHE": "F", "GLY": "G", "HIS": "H",
    "ILE": "I", "LYS": "K", "LEU": "L", "MET": "M", "ASN": "N", "PRO": "P", "GLN": "Q",
    "ARG": "R", "SER": "S", "THR": "T", "VAL": "V", "TRP": "W", "TYR": "Y", "TER": "*",
    "SEC": "U", "PYL": "O", "DEL": "-",
}
_WILDTYPE_WORDS = {"", "WT", "_WT", "WILDTYPE", "WILD_TYPE", "WILD-TYPE", "SYNONYMOUS"}
_ONE = re.compile(r"^([A-Za-z*\-])(-?\d+)([A-Za-z*\-])$")
_THREE = re.compile(r"^([A-Za-z]{3})(-?\d+)([A-Za-z]{3}|=|\*)$")
_SPLIT = re.compile(r"[:,;+\s]+")


@dataclass(frozen=True)
class Substitution:
    """One substitution: wild-type letter, residue number, mutant letter."""

    wt: str
    pos: int
    mt: str

    def __str__(self) -> str:
        return f"{self.wt}{self.pos}{self.mt}"

    @property
    def synonymous(self) -> bool:
        return self.wt == self.mt


def parse_substitution(text: str, mutant: str | None = None) -> Substitution:
    """``"P311A"`` / ``"p.Pro311Ala"`` / ``"Pro311="`` -> :class:`Substitution` (letters upper case)."""
    where = f"mutant {mutant!r}: " if mutant is not None and mutant != text else ""
    part = text.strip()
    if part.lower().startswith("p."):
        part = part[2:]
    m = _ONE.match(part)
    if m:
        return Substitution(m.group(1).upper(), int(m.group(2)), m.group(3).upper())
    m = _THREE.match(part)
    if m:
        a, b = m.group(1).upper(), m.group(3).upper()
        if a not in THREE_TO_ONE or (b not in THREE_TO_ONE and b not in ("=", "*")):
            raise SequenceError(f"{where}cannot parse {text!r}: unknown residue code")
        wt = THREE_TO_ONE[a]
        mt = wt if b == "=" else ("*" if b == "*" else THREE_TO_ONE[b])
        return Substitution(wt, int(m.group(2)), mt)
    raise SequenceError(f"{where}cannot parse {text!r} (expected e.g. P311A or Pro311Ala)")


def parse_mutant(text: str) -> tuple[Substitution, ...]:
    """Parse a (multi-)mutant; ``()`` for the wild type.

    Raises :class:`SequenceError` for unparsable parts and for two substitutions at the same
    residue. The order of the substitutions is kept.
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ()
    s = str(text).strip()
    if s.upper() in _WILDTYPE_WORDS:
        return ()
    parts = [p for p in _SPLIT.split(s) if p]
    if not parts:
        return ()
    subs = tuple(parse_substitution(p, s) for p in parts)
    seen: dict[int, Substitution] = {}
    for sub in subs:
        if sub.pos in seen:
            raise SequenceError(
                f"mutant {s!r}: residue {sub.pos} is mutated twice ({seen[sub.pos]} and {sub})"
            )
        seen[sub.pos] = sub
    return subs


def is_synonymous(subs: tuple[Substitution, ...]) -> bool:
    """True for a non-empty mutant whose substitutions all keep the wild-type letter."""
    return bool(subs) and all(s.synonymous for s in subs)


def wildtype_from_mutants(mutants, conflicts: str = "raise") -> dict[int, str]:
    """``{residue: wild-type letter}`` read off mutant names. Mutants that disagree on a
    residue's letter raise (``conflicts="raise"``) or are outvoted (``"majority"``: the most
    frequent letter, the first seen on ties; the others then count as wrong wild types)."""
    if conflicts not in ("raise", "majority"):
        raise ParameterError(f"conflicts must be 'raise' or 'majority', got {conflicts!r}")
    votes: dict[int, dict[str, int]] = {}
    first: dict[int, str] = {}
    for mutant in mutants:
        for sub in parse_mutant(mutant):
            seen = votes.setdefault(sub.pos, {})
            if conflicts == "raise" and seen and sub.wt not in seen:
                raise SequenceError(
                    f"mutants {first[sub.pos]!r} and {mutant!r} disagree on the wild type at "
                    f"residue {sub.pos} ({next(iter(seen))} vs {sub.wt})"
                )
            seen[sub.wt] = seen.get(sub.wt, 0) + 1
            first.setdefault(sub.pos, str(mutant))
    return {pos: max(seen, key=seen.get) for pos, seen in votes.items()}


# ---------------------------------------------------------------------------- numbering
def _reference_string(reference, start: int) -> tuple[str, int]:
    if isinstance(reference, dict):
        if not reference:
            raise ValueError("empty reference")
        lo, hi = min(reference), max(reference)
        return "".join(reference.get(p, "X") for p in range(lo, hi + 1)), lo
    return str(reference).upper(), int(start)


def focus_residue_map(focus: str, reference, start: int = 1, match: float = 2.0,
                      mismatch: float = -1.0, gap: float = -2.0) -> np.ndarray:
    """Residue numbers of the focus letters by aligning them to a reference sequence.

    Parameters
    ----------
    focus : letters of the model columns (``columns_['focus_letter']``).
    reference : the full-length sequence (string, first residue numbered ``start``) or a
        ``{residue: letter}`` dict (e.g. :func:`wildtype_from_mutants`; holes are unknown ``X``).
    match, mismatch, gap : scores of a semi-global alignment (free end gaps on the reference;
        ``X`` scores 0).

    Returns
    -------
    ``(L,)`` int array of residue numbers, ``-1`` for columns aligned to a gap.
    """
    ref, first = _reference_string(reference, start)
    a = str(focus).upper()
    n, m = len(a), len(ref)
    S = np.zeros((n + 1, m + 1))
    S[1:, 0] = gap * np.arange(1, n + 1)  # focus letters must all be aligned or gapped
    T = np.zeros((n + 1, m + 1), dtype=np.int8)  # 0 diag, 1 up (focus vs gap), 2 left (ref skip)
    T[1:, 0] = 1
    T[0, 1:] = 2
    for i in range(1, n + 1):
        sc = np.where(np.frombuffer(ref.encode(), dtype=np.uint8) == ord(a[i - 1]), match, mismatch)
        sc[np.frombuffer(ref.encode(), dtype=np.uint8) == ord("X")] = 0.0
        diag = S[i - 1, :-1] + sc
        up = S[i - 1, 1:] + gap
        # left moves (skip reference residues) inside the row: sequential max
        best = np.maximum(diag, up)
        tb = np.where(diag >= up, 0, 1)
        row = np.empty(m + 1)
        row[0] = S[i, 0]
        trow = np.empty(m + 1, dtype=np.int8)
        trow[0] = 1
        left_gap = 0.0 if i == n else gap  # trailing reference residues are free
        for j in range(1, m + 1):
            left = row[j - 1] + left_gap
            if best[j - 1] >= left:
                row[j], trow[j] = best[j - 1], tb[j - 1]
            else:
                row[j], trow[j] = left, 2
        S[i], T[i] = row, trow
    out = np.full(n, -1, dtype=np.int64)
    i, j = n, m
    while i > 0:
        t = T[i, j] if j > 0 else 1
        if t == 0:
            out[i - 1] = first + j - 1
            i, j = i - 1, j - 1
        elif t == 1:
            i -= 1
        else:
            j -= 1
    return out


def _matches(focus: str, residues, reference: dict[int, str]) -> tuple[int, int]:
    """``(matching, known)``: columns whose residue is known in ``reference``, and of them those
    whose letter matches."""
    hits = tot = 0
    for letter, r in zip(str(focus).upper(), np.asarray(residues)):
        if int(r) in reference:
            tot += 1
            hits += reference[int(r)] == letter
    return hits, tot


def numbering_agreement(focus: str, residues, reference: dict[int, str]) -> float:
    """Fraction of the columns with a residue known in ``reference`` whose letter matches."""
    hits, tot = _matches(focus, residues, reference)
    return hits / tot if tot else 0.0


# ``numbering="auto"`` keeps the header numbering unless a re-alignment matches at least this
# many residues: a handful of wild-type letters (a table of mutants at 3 positions) can be
# matched anywhere by chance.
MIN_REALIGNED_MATCHES = 5


def reference_dict(reference, start: int = 1) -> dict[int, str]:
    """``{residue: letter}`` of a wild-type sequence (string numbered from ``start``) or dict."""
    if isinstance(reference, dict):
        return {int(k): str(v).upper() for k, v in reference.items()}
    return {int(start) + k: c for k, c in enumerate(str(reference).upper())}


def resolve_numbering(focus: str, header, reference=None, start: int = 1, numbering: str = "auto",
                      min_agreement: float = 0.95) -> tuple[np.ndarray, str, float]:
    """Residue numbers of the model columns: the header's, or re-derived from a wild type.

    One code path for :func:`evaluate_dms`, :func:`mutation_effects` and
    :meth:`MSAModel.mutation_effects <seqlens.msa.models.MSAModel.mutation_effects>`.

    Parameters
    ----------
    focus : letters of the model columns (``columns_['focus_letter']``).
    header : ``(L,)`` residue numbers from the alignment header (``columns_['residue']``).
    reference : the wild type: full sequence (string, first residue numbered ``start``) or a
        ``{residue: letter}`` dict (e.g. read off mutant names, :func:`wildtype_from_mutants`);
        None keeps the header numbering.
    numbering : ``"header"``, ``"align"`` (:func:`focus_residue_map` of the focus letters to the
        reference) or ``"auto"`` (the header unless fewer than ``min_agreement`` of its letters
        match the reference and a re-alignment matches at least that fraction and
        :data:`MIN_REALIGNED_MATCHES` residues).

    Returns
    -------
    ``(residues, used, agreement)``: ``(L,)`` int residue numbers (-1: no residue), ``"header"``
    or ``"align"``, and the fraction of the columns with a known reference letter that match.
    """
    if numbering not in ("auto", "header", "align"):
        raise ParameterError(f"numbering must be 'auto', 'header' or 'align', got {numbering!r}")
    header = np.asarray(header, dtype=np.int64)
    if reference is None:
        if numbering == "align":
            raise ParameterError("numbering='align' needs the wild-type sequence (reference)")
        return header, "header", float("nan")
    ref = reference_dict(reference, start)
    agree = numbering_agreement(focus, header, ref)
    if numbering == "header" or (numbering == "auto" and agree >= min_agreement):
        return header, "header", agree
    residues = focus_residue_map(focus, reference if isinstance(reference, dict) else str(reference),
                                 start=start)
    hits, tot = _matches(focus, residues, ref)
    if numbering == "auto" and (hits < MIN_REALIGNED_MATCHES or hits < min_agreement * tot):
        return header, "header", agree
    return residues, "align", hits / tot if tot else 0.0


# ---------------------------------------------------------------------------- mapping
STATUSES = ("ok", "wild type", "synonymous", "outside", "wrong wild type", "invalid letter")


def map_mutants(mutants, residues, focus: str, letters: str) -> pd.DataFrame:
    """Map mutants to model columns and state codes.

    Parameters
    ----------
    mutants : iterable of mutant strings.
    residues : ``(L,)`` residue number of each model column (``-1`` = unnumbered).
    focus : wild-type letters of the model columns.
    letters : the model alphabet (code ``k`` = ``letters[k]``).

    Returns
    -------
    DataFrame, one row per mutant: ``mutant``, ``n_mutations``, ``status`` (one of
    :data:`STATUSES`), ``reason`` (why it is skipped, '' if ok), ``columns`` and ``codes`` (tuples
    of mutated columns and new state codes).
    """
    pos = {int(r): k for k, r in enumerate(np.asarray(residues)) if int(r) >= 0}
    focus = str(focus).upper()
    rows = []
    for mutant in mutants:
        subs = parse_mutant(mutant)
        status, reason, cols, codes = "ok", "", [], []
        if not subs:
            status, reason = "wild type", "wild type"
        elif is_synonymous(subs):
            status, reason = "synonymous", "synonymous"
        else:
            for sub in subs:
                if sub.pos not in pos:
                    status, reason = "outside", f"residue {sub.pos} is not a model column"
                    break
                k = pos[sub.pos]
                if focus[k] != sub.wt:
                    status = "wrong wild type"
                    reason = f"residue {sub.pos} is {focus[k]} in the focus sequence, not {sub.wt}"
                    break
                if sub.mt not in letters:
                    status, reason = "invalid letter", f"{sub.mt!r} is not in the model alphabet"
                    break
                if sub.synonymous:
                    continue
                cols.append(k)
                codes.append(letters.index(sub.mt))
        rows.append((str(mutant), len(subs), status, reason, tuple(cols), tuple(codes)))
    return pd.DataFrame(rows, columns=["mutant", "n_mutations", "status", "reason", "columns", "codes"])


def skip_summary(mapped: pd.DataFrame) -> dict[str, int]:
    """``{"n_ok": ..., "n_skipped_outside": ..., ...}`` counts by status."""
    counts = mapped["status"].value_counts()
    out = {"n_ok": int(counts.get("ok", 0))}
    for s in STATUSES[1:]:
        out["n_skipped_" + s.replace(" ", "_")] = int(counts.get(s, 0))
    return out


# ---------------------------------------------------------------------------- scores
def delta_energy(h: np.ndarray, J: np.ndarray, wt: np.ndarray, columns, codes) -> np.ndarray:
    """Potts energy differences ``E(mut) - E(wt)`` without scoring full sequences.

    Parameters
    ----------
    h : ``(L, Q)`` fields; J : ``(L, Q, L, Q)`` symmetric couplings with zero diagonal blocks.
    wt : ``(L,)`` wild-type codes; codes ``>= Q`` (a gap when gaps are not modelled) add nothing.
    columns, codes : per mutant, sequences of mutated columns and their new codes.

    Returns
    -------
    ``(M,)`` float64: ``sum_k [h_k(b_k) - h_k(a_k)] + sum_k sum_{j not mutated} [J_kj(b_k, x_j) -
    J_kj(a_k, x_j)] + sum_{k<l mutated} [J_kl(b_k, b_l) - J_kl(a_k, a_l)]``.
    """
    L, Q = h.shape
    wt = np.asarray(wt, dtype=np.int64)
    present = wt < Q
    wtc = np.where(present, wt, 0)
    # E_k(a) = field + couplings to the (present) wild-type background, for every k and a
    Jb = J[:, :, np.arange(L), wtc] * present[None, None, :]  # (L, Q, L)
    local = h + Jb.sum(axis=2)  # (L, Q)
    out = np.zeros(len(columns))
    for m, (cols, cds) in enumerate(zip(columns, codes)):
        cols = list(cols)
        cds = list(cds)
        d = 0.0
        for k, b in zip(cols, cds):
            if b >= Q:
                b_val = 0.0
            else:
                b_val = local[k, b]
            a_val = local[k, wtc[k]] if present[k] else 0.0
            d += b_val - a_val
        # pair terms among the mutated positions were counted against the wild-type background:
        # remove J_kl(b_k, a_l) + J_kl(a_k, b_l) and add J_kl(b_k, b_l) - J_kl(a_k, a_l) ... exactly:
        for x in range(len(cols)):
            for y in range(x + 1, len(cols)):
                k, l_ = cols[x], cols[y]
                bk, bl = cds[x], cds[y]
                ak, al = wtc[k], wtc[l_]
                pk, pl = present[k], present[l_]
                okbk, okbl = bk < Q, bl < Q
                d += (_pair(J, k, bk, okbk, l_, bl, okbl) - _pair(J, k, bk, okbk, l_, al, pl)
                      - _pair(J, k, ak, pk, l_, bl, okbl) + _pair(J, k, ak, pk, l_, al, pl))
        out[m] = d
    return out


def _pair(J, i, a, ok_a, j, b, ok_b) -> float:
    return float(J[i, a, j, b]) if (ok_a and ok_b) else 0.0


def _wildtype_codes(model) -> np.ndarray:
    letters = model.alphabet_.letters
    return np.array([letters.index(c) if c in letters else 255 for c in model.columns_["focus_letter"]])


def _mutant_rows(wt: np.ndarray, columns, codes) -> np.ndarray:
    X = np.repeat(wt[None], len(columns), axis=0)
    for m, (cols, cds) in enumerate(zip(columns, codes)):
        X[m, list(cols)] = list(cds)
    return X


def score_mapped(model, mapped: pd.DataFrame, **kwargs) -> np.ndarray:
    """Scores (higher = fitter) for the ``ok`` rows of :func:`map_mutants`; NaN elsewhere.

    Dispatch: models with ``h_`` and ``J_`` (Potts, factored attention) -> :func:`delta_energy`;
    ``log_probs_`` (PSSM) -> delta log-probability; a ``delta_elbo`` method (VAE) -> delta ELBO
    (``kwargs`` go to it, e.g. ``n_samples``); otherwise ``score(mut) - score(wt)``.
    """
    ok = (mapped["status"] == "ok").to_numpy()
    out = np.full(len(mapped), np.nan)
    if not ok.any():
        return out
    cols = list(mapped.loc[ok, "columns"])
    codes = list(mapped.loc[ok, "codes"])
    wt = _wildtype_codes(model)
    if hasattr(model, "h_") and hasattr(model, "J_"):
        out[ok] = delta_energy(model.h_, model.J_, wt, cols, codes)
    elif hasattr(model, "log_probs_"):
        lp = model.log_probs_
        Q = lp.shape[1]
        d = np.zeros(len(cols))
        for m, (cs, bs) in enumerate(zip(cols, codes)):
            for k, b in zip(cs, bs):
                d[m] += (lp[k, b] if b < Q else 0.0) - (lp[k, wt[k]] if wt[k] < Q else 0.0)
        out[ok] = d
    elif hasattr(model, "delta_elbo"):
        out[ok] = model.delta_elbo(_mutant_rows(wt, cols, codes), **kwargs)
    else:
        X = _mutant_rows(wt, cols, codes)
        out[ok] = model._score_codes(X) - model._score_codes(wt[None])[0]
    return out


def mutation_effects(model, mutants, residues=None, reference=None, start: int = 1
                     ) -> pd.DataFrame:
    """Score mutants with a fitted model.

    Parameters
    ----------
    model : fitted PSSM / Potts / FactoredAttention / VAE / any model with ``columns_``.
    mutants : strings such as ``"P311A"`` or ``"P311A:G312C"``.
    residues : ``(L,)`` residue numbers of the model columns; default ``columns_['residue']``, or
        derived with :func:`resolve_numbering` (``"align"``) from ``reference`` when given.
    reference : full wild-type sequence (string numbered from ``start``, or ``{residue: letter}``).

    Returns
    -------
    The :func:`map_mutants` table plus ``score`` (NaN for skipped mutants). ``attrs['summary']``
    holds the :func:`skip_summary` counts.
    """
    if hasattr(model, "_check_fitted"):
        model._check_fitted()
    focus = "".join(model.columns_["focus_letter"])
    if residues is None:
        residues, _, _ = resolve_numbering(focus, model.columns_["residue"].to_numpy(), reference,
                                           start, "align" if reference is not None else "header")
    mapped = map_mutants(list(mutants), residues, focus, model.alphabet_.letters)
    mapped["score"] = score_mapped(model, mapped)
    mapped.attrs["summary"] = skip_summary(mapped)
    return mapped


# ---------------------------------------------------------------------------- evaluation
def rankdata(x) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (as ``scipy.stats.rankdata``)."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    n = len(x)
    ranks = np.empty(n)
    starts = np.r_[0, np.flatnonzero(np.diff(xs) != 0) + 1]
    ends = np.r_[starts[1:], n]
    avg = (starts + ends + 1) / 2.0  # mean of 1-based positions start+1..end
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def spearman(x, y) -> float:
    """Spearman rank correlation (Pearson correlation of average ranks); NaN pairs are dropped."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return float("nan")
    rx, ry = rankdata(x[ok]), rankdata(y[ok])
    rx -= rx.mean()
    ry -= ry.mean()
    den = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / den) if den > 0 else float("nan")


def evaluate_dms(model, table: pd.DataFrame, numbering: str = "auto", min_agreement: float = 0.95,
                 wildtype=None, start: int = 1) -> tuple[dict, pd.DataFrame]:
    """Score a DMS table (:func:`seqlens.io.dms.read_dms`) and correlate with its ``score``.

    Rows with a NaN phenotype, wild-type and synonymous rows are removed first (counted); mutants
    outside the model columns or with a wrong wild-type letter are skipped (counted, with the
    reason in the returned table).

    Parameters
    ----------
    numbering : ``"header"`` (use ``columns_['residue']``), ``"align"`` (align the focus letters
        to the wild type) or ``"auto"`` (header numbering unless fewer than ``min_agreement`` of
        its letters match the wild type); see :func:`resolve_numbering`.
    wildtype, start : the full wild-type sequence and the number of its first residue; default:
        the wild-type letters read off the table's mutant names (the majority letter where they
        disagree; the other rows then count as wrong wild types).

    Returns
    -------
    ``(metrics, table)``: metrics ``spearman``, ``n_mutants``, ``n_scored``, ``n_skipped_*``,
    ``numbering``, ``numbering_agreement``; the table with ``prediction`` and ``status``.
    """
    if numbering not in ("auto", "header", "align"):
        raise ParameterError(f"numbering must be 'auto', 'header' or 'align', got {numbering!r}")
    df = table.copy()
    n_all = len(df)
    nan = df["score"].isna().to_numpy()
    source = table.attrs.get("source")
    lines = df["row"] if "row" in df else np.arange(2, n_all + 2)
    subs = []
    for mutant, line in zip(df["mutant"], lines):
        try:
            subs.append(parse_mutant(mutant))
        except SequenceError as exc:
            raise SequenceError(f"{source + ': ' if source else ''}line {line}: {exc}") from None
    wt_rows = np.array([len(s) == 0 for s in subs])
    syn = np.array([is_synonymous(s) for s in subs])
    focus = "".join(model.columns_["focus_letter"])
    header = model.columns_["residue"].to_numpy()
    ref = wildtype if wildtype is not None else wildtype_from_mutants(
        [m for m, s in zip(df["mutant"], subs) if s], conflicts="majority")
    residues, used, agree = resolve_numbering(focus, header, ref, start, numbering, min_agreement)
    keep = ~nan & ~wt_rows & ~syn
    sub = df[keep].reset_index(drop=True)
    mapped = map_mutants(sub["mutant"], residues, focus, model.alphabet_.letters)
    pred = score_mapped(model, mapped)
    sub["status"] = mapped["status"].to_numpy()
    sub["reason"] = mapped["reason"].to_numpy()
    sub["prediction"] = pred
    ok = np.isfinite(pred)
    summary = skip_summary(mapped)
    metrics = {
        "spearman": spearman(pred[ok], sub["score"].to_numpy()[ok]),
        "n_mutants": int(n_all),
        "n_scored": int(ok.sum()),
        "n_skipped_nan": int(nan.sum()),
        "n_skipped_wildtype": int((wt_rows & ~nan).sum()),
        "n_skipped_synonymous": int((syn & ~nan).sum()),
        "n_skipped_outside": summary["n_skipped_outside"],
        "n_skipped_wrong_wildtype": summary["n_skipped_wrong_wild_type"],
        "n_skipped_invalid_letter": summary["n_skipped_invalid_letter"],
        "numbering": used,
        "numbering_agreement": float(agree),
    }
    return metrics, sub
