"""Motif file formats: JASPAR PFM (read) and MEME (read/write). Readers accept gzip."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from seqlens.alphabet import DNA, PROTEIN, RNA, Alphabet, get_alphabet
from seqlens.errors import FormatError
from seqlens.io.atomic import atomic_path
from seqlens.io.text import read_lines
from seqlens.motifs.motif import Motif

_ROW = re.compile(r"^\s*([ACGTU])\s*\[?\s*([-0-9.eE\s]+?)\s*\]?\s*$")


def read_jaspar(path: str | Path) -> list[Motif]:
    """Read a JASPAR-format PFM file (``>ID name`` then four ``A [ ... ]`` count rows).

    Returns a list of count :class:`Motif` objects (``name`` = matrix ID, ``alt_name`` = TF name).
    Raises :class:`FormatError` naming the file, line and record on malformed input.
    """
    path = Path(path)
    motifs: list[Motif] = []
    header: tuple[str, str, int] | None = None
    rows: dict[str, list[float]] = {}

    def finish():
        if header is None:
            return
        ident, name, lineno = header
        missing = [c for c in "ACGT" if c not in rows and not (c == "T" and "U" in rows)]
        if missing:
            raise FormatError(f"{path}: record {ident!r} (line {lineno}) lacks rows {missing}")
        mat = [rows["A"], rows["C"], rows["G"], rows.get("T", rows.get("U"))]
        if len({len(r) for r in mat}) != 1:
            raise FormatError(f"{path}: record {ident!r} (line {lineno}) has rows of unequal length")
        try:
            motifs.append(Motif.from_counts(np.array(mat), name=ident, alt_name=name, alphabet=DNA))
        except ValueError as exc:
            raise FormatError(f"{path}: record {ident!r} (line {lineno}): {exc}") from None

    for lineno, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        if line.startswith(">"):
            finish()
            parts = line[1:].split(None, 1)
            if not parts:
                raise FormatError(f"{path}, line {lineno}: empty motif header")
            header = (parts[0], parts[1].strip() if len(parts) > 1 else "", lineno)
            rows = {}
            continue
        m = _ROW.match(line)
        if header is None or m is None:
            raise FormatError(f"{path}, line {lineno}: expected '>ID name' or 'A [ counts ]', "
                              f"got {line.strip()[:60]!r}")
        try:
            rows[m.group(1)] = [float(v) for v in m.group(2).split()]
        except ValueError:
            raise FormatError(f"{path}, line {lineno}: non-numeric count in {line.strip()[:60]!r}") \
                from None
    finish()
    if not motifs:
        raise FormatError(f"{path}: no motifs found")
    return motifs


# --------------------------------------------------------------------------------------------
# MEME minimal motif format
# --------------------------------------------------------------------------------------------

_MEME_ALPHABETS = {a.letters: a for a in (DNA, RNA, PROTEIN)}
_LIKE = {"DNA-LIKE": DNA, "RNA-LIKE": RNA, "PROTEIN-LIKE": PROTEIN}
_MATRIX_HEADER = re.compile(r"^\s*(letter-probability|log-odds)\s+matrix\s*:(.*)$", re.IGNORECASE)
_KEY_VALUE = re.compile(r"([A-Za-z]+)\s*=\s*(\S+)")


def read_meme(path: str | Path) -> list[Motif]:
    """Read a MEME-format motif file (the "minimal MEME format" of the MEME suite).

    Understands ``MEME version``, ``ALPHABET= ACGT`` (or an ``ALPHABET "..." DNA-LIKE`` block),
    ``strands:``, ``Background letter frequencies``, and for each motif ``MOTIF id [alt]`` followed
    by ``letter-probability matrix: alength= A w= W nsites= n E= e`` and ``W`` rows of ``A``
    probabilities (``log-odds matrix`` blocks are skipped; ``URL`` lines are kept).

    Returns probability :class:`Motif` objects (``(A, W)``, ``name`` = id, ``alt_name`` = alt);
    ``metadata`` holds ``nsites`` and ``evalue`` when given, ``url``, and the file's
    ``background`` (``(A,)`` list). Without an ``ALPHABET`` line the alphabet follows ``alength``
    (4 = DNA, 20 = protein). Raises :class:`FormatError` naming the file and line.
    """
    path = Path(path)
    lines = read_lines(path)
    alphabet: Alphabet | None = None
    background: list[float] | None = None
    motifs: list[Motif] = []
    current: dict | None = None  # the MOTIF being read: name, alt, line, metadata
    i = 0

    def err(lineno: int, msg: str) -> FormatError:
        return FormatError(f"{path}, line {lineno}: {msg}")

    while i < len(lines):
        lineno, line = i + 1, lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        upper = line.upper()
        if upper.startswith("MEME VERSION"):
            continue
        if upper.startswith("ALPHABET"):
            alphabet = _meme_alphabet(line, lines, i, err(lineno, f"unsupported alphabet {line!r}"))
            if not line.replace(" ", "").upper().startswith("ALPHABET="):
                while i < len(lines) and not lines[i].strip().upper().startswith("END ALPHABET"):
                    i += 1
                i += 1
            continue
        if upper.startswith("STRANDS"):
            continue
        if upper.startswith("BACKGROUND LETTER FREQUENCIES"):
            background, i = _meme_background(lines, i, alphabet, err)
            continue
        if upper.startswith("MOTIF"):
            parts = line.split()
            if len(parts) < 2:
                raise err(lineno, "MOTIF line without an identifier")
            if current is not None and not current["done"]:
                raise err(current["line"], f"motif {current['name']!r} has no letter-probability matrix")
            current = {"name": parts[1], "alt": " ".join(parts[2:]), "line": lineno, "done": False,
                       "meta": {}}
            continue
        m = _MATRIX_HEADER.match(line)
        if m:
            if current is None:
                raise err(lineno, "matrix before any MOTIF line")
            fields = {k.lower(): v for k, v in _KEY_VALUE.findall(m.group(2))}
            try:
                width = int(fields["w"])
                alength = int(fields.get("alength", alphabet.size if alphabet else 4))
            except (KeyError, ValueError):
                raise err(lineno, f"matrix header needs integer 'w=' (and 'alength='), got {line!r}") \
                    from None
            if width <= 0:
                raise err(lineno, f"motif {current['name']!r}: width w= {width} must be positive")
            rows = []
            for _ in range(width):
                while i < len(lines) and not lines[i].strip():
                    i += 1
                if i >= len(lines):
                    raise err(len(lines), f"motif {current['name']!r}: file ends after {len(rows)} of "
                                          f"{width} matrix rows")
                row_line, row_no = lines[i].strip(), i + 1
                i += 1
                try:
                    values = [float(v) for v in row_line.split()]
                except ValueError:
                    raise err(row_no, f"motif {current['name']!r}: non-numeric matrix row "
                                      f"{row_line[:60]!r} (expected {width} rows)") from None
                if len(values) != alength:
                    raise err(row_no, f"motif {current['name']!r}: matrix row has {len(values)} values, "
                                      f"expected alength= {alength}")
                rows.append(values)
            if m.group(1).lower() == "log-odds":
                continue
            mat = np.array(rows).T
            alpha = alphabet or _alphabet_for_length(alength)
            if alpha is None or alpha.size != alength:
                raise err(lineno, f"motif {current['name']!r}: alength= {alength} does not match the "
                                  f"alphabet {alpha.letters if alpha else '(none)'}")
            if (mat < 0).any() or not np.isfinite(mat).all():
                raise err(lineno, f"motif {current['name']!r}: probabilities must be finite and >= 0")
            sums = mat.sum(axis=0)
            bad = np.flatnonzero(np.abs(sums - 1) > 0.02)
            if bad.size:
                raise err(lineno + 1 + int(bad[0]), f"motif {current['name']!r}: row sums to "
                                                    f"{sums[bad[0]]:.4g}, not 1")
            meta = {}
            for key, name, cast in (("nsites", "nsites", float), ("e", "evalue", float)):
                if key in fields:
                    try:
                        meta[name] = cast(fields[key])
                    except ValueError:
                        raise err(lineno, f"bad {key}= value {fields[key]!r}") from None
            if background is not None:
                meta["background"] = list(background)
            motifs.append(Motif.from_probabilities(mat, name=current["name"], alt_name=current["alt"],
                                                   alphabet=alpha, metadata=meta))
            current["done"] = True
            continue
        if upper.startswith("URL"):
            if motifs and current is not None and current["done"]:
                motifs[-1].metadata["url"] = line[3:].strip()
            continue
        if current is not None and current["done"]:
            continue  # free text after a motif (e.g. MEME's own sections) is allowed
        raise err(lineno, f"unexpected line {line[:60]!r}")
    if current is not None and not current["done"]:
        raise err(current["line"], f"motif {current['name']!r} has no letter-probability matrix")
    if not motifs:
        raise FormatError(f"{path}: no motifs found")
    return motifs


def write_meme(path: str | Path, motifs: Motif | Iterable[Motif], background=None,
               digits: int = 6) -> Path:
    """Write motifs in the minimal MEME format, atomically.

    ``background`` is the ``(A,)`` letter distribution of the header (default uniform); it is
    normalised to sum to 1. All motifs must share one alphabet; a nucleotide alphabet writes
    ``strands: + -``. ``nsites`` is written when the motif has counts (or ``metadata["nsites"]``),
    ``E`` from ``metadata["evalue"]`` (else 0). Probabilities are written with ``digits`` decimals.
    """
    motifs = [motifs] if isinstance(motifs, Motif) else list(motifs)
    if not motifs:
        raise ValueError("write_meme: no motifs to write")
    alphabet = motifs[0].alphabet
    for m in motifs:
        if m.alphabet != alphabet:
            raise ValueError(f"write_meme: motif {m.name!r} has alphabet {m.alphabet.name}, "
                             f"but {motifs[0].name!r} has {alphabet.name}; one file holds one alphabet")
        for label in (m.name, m.alt_name):
            if label != label.strip() or len(label.split()) > 1 or not m.name:
                raise ValueError(f"write_meme: motif name {m.name!r} / alt name {m.alt_name!r} must be a "
                                 "single non-empty word each (the MOTIF line is whitespace separated)")
    if background is None:
        bg = np.full(alphabet.size, 1.0 / alphabet.size)
    else:
        bg = np.asarray(background, dtype=np.float64)
        if bg.shape != (alphabet.size,) or (bg < 0).any() or bg.sum() <= 0:
            raise ValueError(f"background must be {alphabet.size} non-negative numbers, got {background!r}")
        bg = bg / bg.sum()
    fmt = f"{{:.{digits}f}}"
    out = ["MEME version 4", "", f"ALPHABET= {alphabet.letters}", ""]
    if alphabet.complement is not None:
        out += ["strands: + -", ""]
    out += ["Background letter frequencies",
            " ".join(f"{a} {fmt.format(b)}" for a, b in zip(alphabet.letters, bg)), ""]
    for m in motifs:
        nsites = m.n_sites if m.is_counts else m.metadata.get("nsites")
        header = f"letter-probability matrix: alength= {alphabet.size} w= {m.width}"
        if nsites is not None:
            header += f" nsites= {float(nsites):g}"
        header += f" E= {float(m.metadata.get('evalue', 0)):g}"
        out += [f"MOTIF {m.name} {m.alt_name}".rstrip(), header]
        out += [" ".join(fmt.format(v) for v in col) for col in m.probabilities().T]
        if m.metadata.get("url"):
            out.append(f"URL {m.metadata['url']}")
        out.append("")
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(out))
    return path


def _alphabet_for_length(alength: int) -> Alphabet | None:
    return {4: DNA, 20: PROTEIN}.get(alength)


def _meme_alphabet(line: str, lines: list[str], start: int, error: FormatError) -> Alphabet:
    """The alphabet of an ``ALPHABET= ACGT`` line or an ``ALPHABET "name" DNA-LIKE`` block."""
    compact = line.replace(" ", "")
    if compact.upper().startswith("ALPHABET="):
        letters = compact.split("=", 1)[1].upper()
        if letters in _MEME_ALPHABETS:
            return _MEME_ALPHABETS[letters]
        raise error
    for word in line.split()[1:]:
        if word.upper() in _LIKE:
            return _LIKE[word.upper()]
    try:
        return get_alphabet(line.split()[1].strip('"'))
    except (IndexError, ValueError):
        raise error from None


def _meme_background(lines: list[str], i: int, alphabet: Alphabet | None, err):
    """Parse ``letter freq`` pairs after the background header; returns (freqs, next line index)."""
    letters = (alphabet or DNA).letters
    freqs: dict[str, float] = {}
    while i < len(lines) and len(freqs) < len(letters):
        line, lineno = lines[i].strip(), i + 1
        i += 1
        if not line:
            if freqs:
                break
            continue
        tokens = line.split()
        if len(tokens) % 2:
            raise err(lineno, f"background frequencies must be 'letter value' pairs, got {line[:60]!r}")
        for a, v in zip(tokens[::2], tokens[1::2]):
            try:
                freqs[a.upper()] = float(v)
            except ValueError:
                raise err(lineno, f"non-numeric background frequency {v!r} for {a!r}") from None
    missing = [a for a in letters if a not in freqs]
    if missing:
        raise err(i, f"background frequencies lack letters {missing}")
    return [freqs[a] for a in letters], i
