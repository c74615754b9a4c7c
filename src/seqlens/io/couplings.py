"""Coupling files of other tools: plmc ``.params`` (binary) and ``.couplings`` (text), CCMpred
``.mat`` and EVcouplings ``CouplingScores.csv``; read and written.

Only the formats live here; numbering and scoring are the caller's (:mod:`seqlens.msa.contacts`
turns a score matrix into a ranked pair table, :func:`seqlens.msa.contacts.frobenius` scores the
couplings of a :class:`PlmcParams`). Pair tables use the column names of
:func:`seqlens.msa.contacts.contact_table`: ``i``, ``j`` (position numbers as the file writes
them), ``A_i``, ``A_j`` (focus letters, ``-`` when unknown) and ``score``, ranked by decreasing
score.

Numbering of the tools (what ``i`` means):

* plmc numbers a pair by *alignment column* + region start - 1 of the focus (``NAME/START-END``),
  counting insert and gap columns of the focus; without a focus, by column 1..L. This is not the
  residue number when the focus row has gaps (``plmc.c``: ``offsets[i] = i + 1 + leftOffset``).
* CCMpred's matrix rows/columns are the alignment's columns, 0-based, in order.
* EVcouplings' ``CouplingScores.csv`` numbers by focus residue (its alignments have no gaps in
  the focus).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seqlens.errors import FormatError

PAIR_COLUMNS = ["i", "A_i", "j", "A_j", "score"]


# ------------------------------------------------------------------------------- plmc .params
@dataclass
class PlmcParams:
    """The parameters plmc writes with ``-o`` (``OutputParametersFull``), in plmc's order.

    Attributes
    ----------
    h : ``(L, Q)`` fields ``h_i(a)``.
    J : ``(L, Q, L, Q)`` couplings, symmetric (``J[i, a, j, b] = J[j, b, i, a]``), zero diagonal
        blocks (plmc stores only ``i < j``).
    alphabet : the Q state letters in plmc's order (protein: ``-ACDEFGHIKLMNPQRSTVWY``; without
        the gap under ``-g``).
    focus_sequence : L letters of the focus at the model columns (``alphabet[0]`` repeated when
        there is no focus).
    positions : ``(L,)`` plmc numbering of the columns (see the module doc).
    fi : ``(L, Q)`` weighted single-site frequencies; fij : ``(L, Q, L, Q)`` pair frequencies
        (diagonal blocks ``diag(fi_i)``; plmc stores only ``i < j``).
    n_neighbors : one value per input sequence: plmc writes ``1 / (weight * scale)``, the number
        of neighbours within the identity threshold (self included) at scale 1, and 0 for the
        skipped sequences (invalid characters).
    n_sequences, n_skipped : sequences used and skipped; n_iter : the iteration limit
        (``-m``); theta : 1 - identity threshold of the weights (``-t``); lambda_h,
        lambda_J, lambda_group : regularisation (``-lh``, ``-le``, ``-lg``); neff : effective
        number of sequences.
    """

    h: np.ndarray
    J: np.ndarray
    alphabet: str
    focus_sequence: str
    positions: np.ndarray
    fi: np.ndarray
    fij: np.ndarray
    n_neighbors: np.ndarray
    n_sequences: int
    n_skipped: int = 0
    n_iter: int = 0
    theta: float = 0.2
    lambda_h: float = 0.01
    lambda_J: float = 16.0
    lambda_group: float = 0.0
    neff: float = 0.0

    @property
    def length(self) -> int:
        return int(self.h.shape[0])

    @property
    def q(self) -> int:
        return int(self.h.shape[1])

    def check(self, where: str = "plmc parameters") -> None:
        """Raise :class:`FormatError` naming ``where`` when the arrays do not fit together."""
        L, Q = self.h.shape if np.ndim(self.h) == 2 else (0, 0)
        shapes = {"h": (np.shape(self.h), (L, Q)), "J": (np.shape(self.J), (L, Q, L, Q)),
                  "fi": (np.shape(self.fi), (L, Q)), "fij": (np.shape(self.fij), (L, Q, L, Q)),
                  "positions": (np.shape(self.positions), (L,)),
                  "n_neighbors": (np.shape(self.n_neighbors), (self.n_sequences + self.n_skipped,))}
        for name, (got, want) in shapes.items():
            if got != want:
                raise FormatError(f"{where}: {name} has shape {got}, expected {want}")
        if L < 1 or Q < 1:
            raise FormatError(f"{where}: need at least one column and one state, got L={L}, Q={Q}")
        if len(self.alphabet) != Q or len(self.focus_sequence) != L:
            raise FormatError(f"{where}: alphabet has {len(self.alphabet)} letters and the focus "
                              f"{len(self.focus_sequence)}, expected Q={Q} and L={L}")
        for name, text in (("alphabet", self.alphabet), ("focus_sequence", self.focus_sequence)):
            if not text.isascii() or not text.isprintable():
                raise FormatError(f"{where}: {name} {text[:40]!r} is not printable ASCII")


def _params_size(L: int, Q: int, n_seqs: int, precision: int) -> int:
    """Bytes of a plmc parameter file with these dimensions and float width."""
    pairs = L * (L - 1) // 2 * Q * Q
    return 5 * 4 + 5 * precision + Q + n_seqs * precision + L + 4 * L + 2 * L * Q * precision \
        + 2 * pairs * precision


def _pairs_to_full(blocks: np.ndarray, L: int, Q: int, diagonal=None) -> np.ndarray:
    """``(L (L-1) / 2, Q, Q)`` blocks of the pairs ``i < j`` (row-major) -> ``(L, Q, L, Q)``."""
    full = np.zeros((L, L, Q, Q), dtype=blocks.dtype)
    iu, ju = np.triu_indices(L, 1)
    full[iu, ju] = blocks
    full[ju, iu] = blocks.transpose(0, 2, 1)
    if diagonal is not None:
        full[np.arange(L), np.arange(L)] = diagonal
    return full.transpose(0, 2, 1, 3)


def read_plmc_params(path: str | Path) -> PlmcParams:
    """Read a plmc ``.params`` file (``plmc -o``).

    Follows ``OutputParametersFull`` of plmc's ``src/plm.c`` (debbiemarkslab/plmc): little-endian
    ``int32`` L, Q, N valid, N skipped, iterations; five floats theta, lambda_h, lambda_e,
    lambda_group, N_eff; Q alphabet bytes; one float per input sequence (neighbour counts);
    L focus bytes; L ``int32`` positions; ``f_i`` and ``h_i`` ``(L, Q)``; then ``f_ij`` and
    ``J_ij`` as ``(Q, Q)`` blocks for every pair ``i < j`` in row-major order. Floats are
    ``float32`` (plmc's ``OUTPUT_PRECISION``); ``float64`` files (as EVcouplings can read) are
    recognised by their size. Raises :class:`FormatError` naming the file when the size does
    not match the header.
    """
    path = Path(path)
    data = path.read_bytes()
    if len(data) < 20:
        raise FormatError(f"{path}: {len(data)} bytes, too short for a plmc parameter file "
                          "(the header alone has 40)")
    L, Q, n_valid, n_skipped, n_iter = (int(v) for v in np.frombuffer(data, "<i4", 5))
    if L < 1 or Q < 1 or Q > 255 or n_valid < 0 or n_skipped < 0:
        raise FormatError(f"{path}: not a plmc parameter file (header L={L}, Q={Q}, sequences "
                          f"{n_valid} + {n_skipped} skipped)")
    n_seqs = n_valid + n_skipped
    width = next((w for w in (4, 8) if _params_size(L, Q, n_seqs, w) == len(data)), None)
    if width is None:
        raise FormatError(f"{path}: {len(data):,} bytes, but a plmc parameter file with L={L}, "
                          f"Q={Q} and {n_seqs} sequences has {_params_size(L, Q, n_seqs, 4):,} "
                          "(float32); truncated, or not a plmc -o file?")
    ftype = "<f4" if width == 4 else "<f8"
    offset = 20

    def take(dtype, count):
        nonlocal offset
        out = np.frombuffer(data, dtype, count, offset)
        offset += out.nbytes
        return out

    theta, lambda_h, lambda_J, lambda_group, neff = (float(v) for v in take(ftype, 5))
    alphabet = take("S1", Q).tobytes().decode("ascii", errors="replace")
    n_neighbors = take(ftype, n_seqs).astype(np.float32)
    focus = take("S1", L).tobytes().decode("ascii", errors="replace")
    positions = take("<i4", L).astype(np.int64)
    fi = take(ftype, L * Q).reshape(L, Q).astype(np.float32)
    h = take(ftype, L * Q).reshape(L, Q).astype(np.float32)
    P = L * (L - 1) // 2
    fij = _pairs_to_full(take(ftype, P * Q * Q).reshape(P, Q, Q).astype(np.float32), L, Q,
                         diagonal=np.stack([np.diag(f) for f in fi]) if L else None)
    J = _pairs_to_full(take(ftype, P * Q * Q).reshape(P, Q, Q).astype(np.float32), L, Q)
    params = PlmcParams(h=h, J=J, alphabet=alphabet, focus_sequence=focus, positions=positions,
                        fi=fi, fij=fij, n_neighbors=n_neighbors, n_sequences=n_valid,
                        n_skipped=n_skipped, n_iter=n_iter, theta=theta, lambda_h=lambda_h,
                        lambda_J=lambda_J, lambda_group=lambda_group, neff=neff)
    params.check(str(path))
    return params


def write_plmc_params(path: str | Path, params: PlmcParams) -> Path:
    """Write ``params`` as plmc's ``.params`` (float32, the layout read by
    :func:`read_plmc_params`, plmc's ``OutputParametersFull``), atomically."""
    from seqlens.io.atomic import atomic_path

    path = Path(path)
    params.check(str(path))
    L, Q = params.length, params.q
    iu, ju = np.triu_indices(L, 1)

    def blocks(M):
        return np.asarray(M, dtype="<f4").transpose(0, 2, 1, 3)[iu, ju]

    header = np.array([L, Q, params.n_sequences, params.n_skipped, params.n_iter], dtype="<i4")
    floats = np.array([params.theta, params.lambda_h, params.lambda_J, params.lambda_group,
                       params.neff], dtype="<f4")
    parts = [header, floats, np.frombuffer(params.alphabet.encode("ascii"), np.uint8),
             np.asarray(params.n_neighbors, dtype="<f4"),
             np.frombuffer(params.focus_sequence.encode("ascii"), np.uint8),
             np.asarray(params.positions, dtype="<i4"), np.asarray(params.fi, dtype="<f4"),
             np.asarray(params.h, dtype="<f4"), blocks(params.fij), blocks(params.J)]
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        for part in parts:
            fh.write(np.ascontiguousarray(part).tobytes())
    return path


def plmc_params_from_potts(model, fi: np.ndarray, fij: np.ndarray, positions, focus_sequence=None,
                           n_neighbors=None, n_skipped: int = 0) -> PlmcParams:
    """A fitted :class:`seqlens.msa.Potts` as :class:`PlmcParams` (states reordered to plmc's:
    the gap first when it is a state).

    ``fi`` ``(L, q)`` / ``fij`` ``(L, q, L, q)``: weighted frequencies over the model alphabet
    with the gap last (:func:`seqlens.msa.stats.frequencies`); for a gap-ignoring model they
    are conditioned on residues, as plmc ``-g`` does. ``positions``: the plmc numbering of the
    columns; ``focus_sequence``: default the model's focus letters; ``n_neighbors``: one value per
    input sequence (default: none recorded, N = 0).
    """
    h, J = np.asarray(model.h_), np.asarray(model.J_)
    Q = int(model.Q_)
    letters = model.alphabet_.letters[:Q]
    order = np.arange(Q)
    if letters.endswith("-"):  # plmc puts the gap first
        order = np.r_[Q - 1, np.arange(Q - 1)]
    fi = np.asarray(fi, dtype=np.float64)[:, :Q]
    fij = np.asarray(fij, dtype=np.float64)[:, :Q, :, :Q]
    if not letters.endswith("-"):  # gaps ignored: frequencies conditioned on residues
        fi = fi / np.where(fi.sum(1, keepdims=True) > 0, fi.sum(1, keepdims=True), 1)
        tot = fij.sum(axis=(1, 3), keepdims=True)
        fij = fij / np.where(tot > 0, tot, 1)
    focus = focus_sequence if focus_sequence is not None else "".join(model.columns_["focus_letter"])
    n_neighbors = np.zeros(0, np.float32) if n_neighbors is None else np.asarray(n_neighbors)
    identity = getattr(model, "identity", None)
    return PlmcParams(
        h=h[:, order], J=J[:, order][:, :, :, order], alphabet="".join(letters[k] for k in order),
        focus_sequence=focus, positions=np.asarray(positions, dtype=np.int64), fi=fi[:, order],
        fij=fij[:, order][:, :, :, order], n_neighbors=n_neighbors,
        n_sequences=len(n_neighbors) - n_skipped, n_skipped=n_skipped,
        n_iter=int(getattr(model, "n_iter_", 0) or 0),
        theta=1.0 - identity if identity is not None else 0.0, lambda_h=float(model.lambda_h),
        lambda_J=float(model.lambda_J_), lambda_group=0.0, neff=float(getattr(model, "neff_", 0.0)))


# ---------------------------------------------------------------------------- plmc .couplings
def read_plmc_couplings(path: str | Path) -> pd.DataFrame:
    """Read plmc's ``-c`` output: one line ``i A_i j A_j 0 score`` per pair (``OutputCouplingScores``
    in plmc's ``src/plm.c``; the score is the APC-corrected Frobenius norm of ``J_ij``, the 0 is
    the column EVcouplings calls ``fn``). Returns the pair table (see the module doc), ranked;
    ``i``/``j`` in plmc numbering. Errors name the file and line."""
    from seqlens.io.text import read_lines

    path = Path(path)
    rows = []
    for lineno, line in enumerate(read_lines(path), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) != 6:
            raise FormatError(f"{path}, line {lineno}: expected 6 fields 'i A_i j A_j 0 score', "
                              f"got {len(parts)}: {line.strip()[:80]!r}")
        try:
            i, j, score = int(parts[0]), int(parts[2]), float(parts[5])
        except ValueError:
            raise FormatError(f"{path}, line {lineno}: i and j must be integers and the score a "
                              f"number: {line.strip()[:80]!r}") from None
        if i == j:
            raise FormatError(f"{path}, line {lineno}: a pair of position {i} with itself")
        if not math.isfinite(score):
            raise FormatError(f"{path}, line {lineno}: score {parts[5]!r} is not finite")
        rows.append((i, parts[1], j, parts[3], score))
    if not rows:
        raise FormatError(f"{path}: no coupling lines ('i A_i j A_j 0 score')")
    return _ranked(pd.DataFrame(rows, columns=PAIR_COLUMNS))


def write_plmc_couplings(path: str | Path, pairs: pd.DataFrame) -> Path:
    """Write a pair table (``i, A_i, j, A_j, score``) as plmc's ``.couplings``: pairs in order of
    ``i`` then ``j``, ``%d %s %d %s 0 %f`` as plmc prints them. Atomic."""
    from seqlens.io.atomic import atomic_path

    path = Path(path)
    p = _pairs(pairs, path).sort_values(["i", "j"], kind="stable")
    lines = [f"{i} {a} {j} {b} 0 {s:f}\n" for i, a, j, b, s in
             zip(p["i"], p["A_i"], p["j"], p["A_j"], p["score"])]
    with atomic_path(path) as tmp:
        tmp.write_text("".join(lines))
    return path


# ------------------------------------------------------------------------------ CCMpred .mat
def read_ccmpred_mat(path: str | Path) -> tuple[np.ndarray, dict]:
    """Read a CCMpred ``.mat``: L lines of L whitespace-separated scores (CCMpred's
    ``write_matrix`` in ``src/io.c`` prints ``%.20e\\t`` per value), optionally followed by a
    ``#>META> {json}`` line. Returns the ``(L, L)`` matrix (0-based alignment columns) and the
    meta dict (empty without one). Errors name the file and line."""
    from seqlens.io.text import read_lines

    path = Path(path)
    rows, meta = [], {}
    for lineno, line in enumerate(read_lines(path), 1):
        s = line.strip()
        if s.startswith("#>META>"):
            try:
                meta = json.loads(s[len("#>META>"):])
            except ValueError:
                raise FormatError(f"{path}, line {lineno}: unreadable #>META> JSON") from None
            continue
        if not s or s.startswith("#"):
            continue
        try:
            values = [float(v) for v in s.split()]
        except ValueError:
            raise FormatError(f"{path}, line {lineno}: not a row of numbers: {s[:80]!r}") from None
        if rows and len(values) != len(rows[0]):
            raise FormatError(f"{path}, line {lineno}: {len(values)} values, the first row has "
                              f"{len(rows[0])}")
        rows.append(values)
    S = np.array(rows, dtype=np.float64)
    if S.ndim != 2 or S.shape[0] != S.shape[1] or S.shape[0] < 2:
        raise FormatError(f"{path}: a CCMpred matrix must be square with L >= 2, got "
                          f"{S.shape[0] if S.ndim else 0} rows of {S.shape[1] if S.ndim == 2 else 0}")
    if not np.isfinite(S).all():
        r, c = (int(v) for v in np.argwhere(~np.isfinite(S))[0])
        raise FormatError(f"{path}: value {S[r, c]} at row {r + 1}, column {c + 1} is not finite")
    return S, meta


def write_ccmpred_mat(path: str | Path, scores: np.ndarray, meta: dict | None = None) -> Path:
    """Write an ``(L, L)`` score matrix as a CCMpred ``.mat`` (tab-separated rows; a
    ``#>META>`` JSON line when ``meta`` is given). Atomic."""
    from seqlens.io.atomic import atomic_path

    path = Path(path)
    S = np.asarray(scores, dtype=np.float64)
    if S.ndim != 2 or S.shape[0] != S.shape[1]:
        raise FormatError(f"{path}: a CCMpred matrix must be square, got shape {S.shape}")
    text = "".join("\t".join(f"{v:.10e}" for v in row) + "\n" for row in S)
    if meta:
        text += "#>META> " + json.dumps(meta) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path


# ------------------------------------------------------------------- EVcouplings CouplingScores
EV_COLUMNS = ["i", "A_i", "j", "A_j", "fn", "cn"]


def read_evcouplings_csv(path: str | Path, score: str = "cn") -> pd.DataFrame:
    """Read an EVcouplings ``*_CouplingScores.csv`` (columns ``i, A_i, j, A_j, fn, cn`` and
    possibly more, e.g. ``segment_i``, ``probability``). Returns every column plus ``score`` (a
    copy of column ``score``, default ``cn``), ranked by it; ``i``/``j`` are focus residues."""
    from seqlens.io.text import read_csv

    path = Path(path)
    df = read_csv(path, "EVcouplings CouplingScores table")
    need = ["i", "A_i", "j", "A_j", score]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise FormatError(f"{path}: missing column(s) {missing}; found {list(df.columns)}")
    for col in ("i", "j"):
        bad = pd.to_numeric(df[col], errors="coerce")
        if bad.isna().any() or (bad != bad.round()).any():
            row = int(np.flatnonzero((bad.isna() | (bad != bad.round())).to_numpy())[0])
            raise FormatError(f"{path}, line {row + 2}: {col} = {str(df[col].iloc[row])!r} is not an "
                              "integer residue number")
        df[col] = bad.astype(np.int64)
    values = pd.to_numeric(df[score], errors="coerce")
    if not np.isfinite(values.to_numpy(dtype=np.float64)).all():
        row = int(np.flatnonzero(~np.isfinite(values.to_numpy(dtype=np.float64)))[0])
        raise FormatError(f"{path}, line {row + 2}: {score} = {str(df[score].iloc[row])!r} is not a number")
    df["score"] = values.astype(np.float64)
    return _ranked(df)


def write_evcouplings_csv(path: str | Path, pairs: pd.DataFrame) -> Path:
    """Write a pair table as EVcouplings' ``CouplingScores.csv``: columns ``i, A_i, j, A_j, fn,
    cn`` ranked by ``cn``. ``cn`` is the table's ``score``; ``fn`` its ``fn`` column when it has
    one (the uncorrected norm), else 0 as in the files EVcouplings reads from plmc. Atomic."""
    from seqlens.io.atomic import atomic_path

    path = Path(path)
    p = _pairs(pairs, path)
    out = pd.DataFrame({"i": p["i"], "A_i": p["A_i"], "j": p["j"], "A_j": p["A_j"],
                        "fn": p["fn"] if "fn" in p else 0.0, "cn": p["score"]})
    out = out.sort_values("cn", ascending=False, kind="stable")
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False)
    return path


# ----------------------------------------------------------------------------------- helpers
def renumber(pairs: pd.DataFrame, old, new, where: str = "couplings") -> pd.DataFrame:
    """``pairs`` with ``i``/``j`` mapped from the numbering ``old`` to ``new`` (two sequences of
    the same length, e.g. plmc positions -> focus residues). A pair naming a position that is not
    in ``old`` raises :class:`FormatError` naming ``where`` and the position."""
    old = np.asarray(old, dtype=np.int64)
    mapping = pd.Series(np.asarray(new, dtype=np.int64), index=old)
    out = pairs.copy()
    for col in ("i", "j"):
        got = mapping.reindex(out[col].to_numpy())
        if got.isna().any():
            bad = int(out[col].to_numpy()[np.flatnonzero(got.isna().to_numpy())[0]])
            raise FormatError(f"{where}: position {bad} (column {col}) is not among the {len(old)} "
                              f"positions {old.min()}..{old.max()} of the alignment; wrong --msa "
                              "or numbering?")
        out[col] = got.to_numpy(dtype=np.int64)
    return out


def _ranked(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def _pairs(pairs: pd.DataFrame, path: Path) -> pd.DataFrame:
    """A pair table checked for the columns the writers need."""
    missing = [c for c in PAIR_COLUMNS if c not in pairs.columns]
    if missing:
        raise FormatError(f"{path}: the pair table lacks column(s) {missing} (has {list(pairs.columns)})")
    return pairs
