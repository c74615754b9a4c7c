"""Offline JASPAR access through the SQLite databases shipped with ``pyjaspar``.

``pyjaspar`` bundles one SQLite file per JASPAR release (2014 to 2026). Its own query layer builds
one ``Bio.motifs`` object per motif with several queries each; here the same files are read with a
few bulk SQL queries, so loading the 1019 CORE vertebrate motifs of JASPAR 2026 takes a fraction
of a second (about 18x faster than pyjaspar's ``fetch_motifs``; ``benchmarks/motifs_speed.py``).
Connections are opened read-only once per release and cached.

Every function returns :class:`~seqlens.motifs.motif.Motif` objects holding the JASPAR counts
(``(4, W)``, rows ``ACGT``), with ``name`` = matrix ID (``MA0079.3``) and ``alt_name`` = TF name
(``SP1``). ``metadata`` holds ``release``, ``base_id``, ``version``, ``collection``,
``tax_group``, ``species`` (NCBI taxonomy IDs), ``tf_class``, ``tf_family`` and ``data_type``.

Different versions of one base ID (``MA0079.1``, ``MA0079.3``, ...) are profiles of the same TF;
:func:`base_id` and :func:`same_base_id` express that.
"""

from __future__ import annotations

import os
import re
import sqlite3
import warnings
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import numpy as np

from seqlens.alphabet import DNA
from seqlens.errors import SeqlensError
from seqlens.motifs.motif import Motif

_ID = re.compile(r"^\s*([A-Za-z]{2,3}\d+)(?:\.(\d+))?\s*$")


class JasparLookupError(SeqlensError, LookupError):
    """An unknown JASPAR release, matrix ID or TF name."""


def available_releases() -> list[int]:
    """JASPAR releases (years) whose database ``pyjaspar`` ships, oldest first."""
    return list(_releases())


@cache
def _releases() -> tuple[int, ...]:
    import pyjaspar

    return tuple(sorted(int(name.removeprefix("JASPAR")) for name in pyjaspar.jaspar_releases))


def latest_release() -> int:
    """The newest JASPAR release available offline (the default everywhere)."""
    return available_releases()[-1]


def _release_year(release) -> int:
    """Normalise ``2024``, ``"2024"`` or ``"JASPAR2024"`` (None = latest) to the year."""
    if release is None:
        return latest_release()
    text = str(release).strip().upper().removeprefix("JASPAR")
    if not text.isdigit() or int(text) not in _releases():
        raise JasparLookupError(
            f"unknown JASPAR release {release!r}; available: {available_releases()}"
        )
    return int(text)


def _connection(year: int) -> sqlite3.Connection:
    """A read-only connection to one release's database, cached per release and process (a
    connection must not cross a fork, e.g. into DataLoader workers)."""
    return _open(year, os.getpid())


@cache
def _open(year: int, pid: int) -> sqlite3.Connection:
    import pyjaspar

    path = Path(pyjaspar.get_jaspardb_path(pyjaspar.jaspar_releases[f"JASPAR{year}"]))
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)


def base_id(matrix_id: str) -> str:
    """The stable part of a JASPAR matrix ID: ``"MA0079.3"`` -> ``"MA0079"``."""
    return _split_id(matrix_id)[0]


def same_base_id(a: str, b: str) -> bool:
    """Whether two matrix IDs are versions of the same JASPAR profile (``MA0079.3`` ~ ``MA0079.5``)."""
    return base_id(a) == base_id(b)


def _split_id(matrix_id: str) -> tuple[str, int | None]:
    m = _ID.match(str(matrix_id))
    if m is None:
        raise JasparLookupError(f"{matrix_id!r} is not a JASPAR matrix ID (e.g. 'MA0079.3' or 'MA0079')")
    return m.group(1).upper(), (int(m.group(2)) if m.group(2) else None)


def synonym_ids(matrix_id: str, release=None) -> list[str]:
    """Every version of ``matrix_id``'s base ID in ``release``, oldest first
    (``"MA0079.3"`` -> ``["MA0079.1", ..., "MA0079.5"]`` in JASPAR 2026)."""
    year = _release_year(release)
    stable, _ = _split_id(matrix_id)
    rows = _connection(year).execute(
        "SELECT VERSION FROM MATRIX WHERE BASE_ID = ? ORDER BY VERSION", (stable,)
    ).fetchall()
    if not rows:
        raise JasparLookupError(f"JASPAR {year} has no matrix with base ID {stable!r}")
    return [f"{stable}.{v}" for (v,) in rows]


def fetch_motif(matrix_id: str, release=None) -> Motif:
    """One JASPAR motif by matrix ID (``"MA0079.3"``); a bare base ID (``"MA0079"``) gives the
    latest version in ``release`` (default: the newest release)."""
    year = _release_year(release)
    stable, version = _split_id(matrix_id)
    con = _connection(year)
    if version is None:
        row = con.execute("SELECT MAX(VERSION) FROM MATRIX WHERE BASE_ID = ?", (stable,)).fetchone()
        version = row[0]
    row = None if version is None else con.execute(
        "SELECT ID FROM MATRIX WHERE BASE_ID = ? AND VERSION = ?", (stable, version)
    ).fetchone()
    if row is None:
        versions = [v for (v,) in con.execute(
            "SELECT VERSION FROM MATRIX WHERE BASE_ID = ? ORDER BY VERSION", (stable,))]
        if versions:
            hint = f"versions in this release: {[f'{stable}.{v}' for v in versions]}"
        else:
            hint = "no version of this base ID exists in this release"
            named = con.execute("SELECT MIN(BASE_ID || '.' || VERSION) FROM MATRIX WHERE NAME = ? "
                                "COLLATE NOCASE", (str(matrix_id).strip(),)).fetchone()[0]
            if named:
                hint += f"; {matrix_id!r} is a TF name (e.g. {named}): use fetch_motifs_by_name"
        raise JasparLookupError(f"JASPAR {year} has no matrix {matrix_id!r} ({hint})")
    return _build(year, [row[0]])[0]


def fetch_motifs_by_name(name: str | Iterable[str], release=None, collection: str | None = None,
                         all_versions: bool = False) -> list[Motif]:
    """Motifs whose TF name is ``name`` (or any of a list of names), case-insensitive.

    Names are not unique (several profiles, e.g. ``SP1`` MA0079 and a ChIP-seq variant), so a list
    is returned, sorted by matrix ID. ``collection=None`` searches all collections. Only the latest
    version of each base ID is returned unless ``all_versions``. Raises
    :class:`JasparLookupError` when nothing matches.
    """
    motifs = fetch_motifs(release=release, collection=collection, tf_name=name,
                          all_versions=all_versions)
    if not motifs:
        raise JasparLookupError(f"JASPAR {_release_year(release)} has no motif named {name!r}"
                                + (f" in collection {collection!r}" if collection else ""))
    return motifs


def fetch_motifs(release=None, collection: str | Iterable[str] | None = "CORE",
                 tax_group: str | Iterable[str] | None = None, tf_name=None, tf_class=None,
                 tf_family=None, species=None, data_type=None, matrix_id=None,
                 all_versions: bool = False, min_length: int = 0,
                 min_information: float = 0.0) -> list[Motif]:
    """Motifs of one release meeting every given criterion, sorted by matrix ID.

    Parameters
    ----------
    release : year (``2016``, ``"JASPAR2016"``); None = newest available.
    collection : ``"CORE"`` (default), ``"UNVALIDATED"``, ``"CNE"``, ...; None = all.
    tax_group : e.g. ``"vertebrates"``, ``"insects"``, ``"plants"``.
    tf_name, tf_class, tf_family, data_type : exact annotation values (case-insensitive).
    species : NCBI taxonomy ID(s), e.g. ``9606``.
    matrix_id : IDs to restrict to; a versioned ID (``MA0095.1``) gives that version, a base ID
        (``MA0079``) its latest version (or all versions with ``all_versions``).
    all_versions : keep every version of a base ID, not only the latest in the release.
    min_length : minimum width in columns.
    min_information : minimum total information content in bits (uniform background).

    Each criterion takes one value or a list (any of them matches). An empty list is returned
    when nothing matches.
    """
    year = _release_year(release)
    where, params = [], []

    def add(clause: str, values, transform=str):
        values = [values] if isinstance(values, str | int) else list(values)
        where.append(clause.format(",".join("?" * len(values))))
        params.extend(transform(v) for v in values)

    if collection is not None:
        add("m.COLLECTION COLLATE NOCASE IN ({})", collection, lambda v: str(v).upper())
    if tf_name is not None:
        add("m.NAME COLLATE NOCASE IN ({})", tf_name)
    if species is not None:
        add("m.ID IN (SELECT ID FROM MATRIX_SPECIES WHERE TAX_ID IN ({}))", species)
    for tag, values in (("tax_group", tax_group), ("class", tf_class), ("family", tf_family),
                        ("type", data_type)):
        if values is not None:
            add(f"m.ID IN (SELECT ID FROM MATRIX_ANNOTATION WHERE TAG = '{tag}' "
                "AND VAL COLLATE NOCASE IN ({}))", values)
    if matrix_id is not None:
        ids = [matrix_id] if isinstance(matrix_id, str) else list(matrix_id)
        clauses = []
        for mid in ids:
            stable, version = _split_id(mid)
            if version is None and all_versions:
                clauses.append("m.BASE_ID = ?")
                params.append(stable)
            elif version is None:
                clauses.append("(m.BASE_ID = ? AND m.VERSION = (SELECT MAX(VERSION) FROM MATRIX "
                               "WHERE BASE_ID = ?))")
                params.extend([stable, stable])
            else:
                clauses.append("(m.BASE_ID = ? AND m.VERSION = ?)")
                params.extend([stable, version])
        where.append("(" + " OR ".join(clauses) + ")")
    sql = "SELECT m.ID FROM MATRIX m"
    if not all_versions and matrix_id is None:
        sql += (" JOIN (SELECT BASE_ID, MAX(VERSION) AS LATEST FROM MATRIX GROUP BY BASE_ID) lv"
                " ON lv.BASE_ID = m.BASE_ID AND lv.LATEST = m.VERSION")
    if where:
        sql += " WHERE " + " AND ".join(where)
    ids = [row[0] for row in _connection(year).execute(sql, params)]
    motifs = _build(year, ids)
    if min_length:
        motifs = [m for m in motifs if m.width >= min_length]
    if min_information:
        motifs = [m for m in motifs if m.total_information() >= min_information]
    return motifs


def _build(year: int, internal_ids: list[int]) -> list[Motif]:
    """Motifs for internal DB IDs, with a few bulk queries; sorted by (base ID, version)."""
    if not internal_ids:
        return []
    con = _connection(year)
    heads, data, annotations, species = [], [], {}, {}
    for lo in range(0, len(internal_ids), 500):
        chunk = list(internal_ids[lo:lo + 500])
        marks = ",".join("?" * len(chunk))
        heads += con.execute(
            f"SELECT ID, BASE_ID, VERSION, COLLECTION, NAME FROM MATRIX WHERE ID IN ({marks})", chunk
        ).fetchall()
        data += con.execute(
            "SELECT ID, col, CASE row WHEN 'A' THEN 0 WHEN 'C' THEN 1 WHEN 'G' THEN 2 WHEN 'T' THEN 3 "
            f"ELSE -1 END, val FROM MATRIX_DATA WHERE ID IN ({marks})", chunk
        ).fetchall()
        for mid, tag, val in con.execute(
            f"SELECT ID, TAG, VAL FROM MATRIX_ANNOTATION WHERE ID IN ({marks})", chunk
        ):
            annotations.setdefault(mid, {}).setdefault(tag, []).append(val)
        for mid, tax in con.execute(f"SELECT ID, TAX_ID FROM MATRIX_SPECIES WHERE ID IN ({marks})", chunk):
            species.setdefault(mid, []).append(str(tax))
    heads.sort(key=lambda h: (h[1], h[2]))
    data = np.array(data, dtype=np.float64).reshape(-1, 4)

    order = np.lexsort((data[:, 1], data[:, 0]))
    data = data[order]
    keys, starts = np.unique(data[:, 0].astype(np.int64), return_index=True)
    bounds = dict(zip(keys.tolist(), zip(starts.tolist(), [*starts[1:].tolist(), len(data)])))

    motifs, skipped = [], []
    for mid, stable, version, collection, name in heads:
        matrix_id = f"{stable}.{version}"
        if mid not in bounds:
            raise JasparLookupError(f"JASPAR {year}: matrix {matrix_id} has no counts in the database")
        rows = data[slice(*bounds[mid])]
        if (rows[:, 2] < 0).any():
            raise JasparLookupError(f"JASPAR {year}: matrix {matrix_id} has a row other than A/C/G/T")
        cols = rows[:, 1].astype(np.int64)
        cols -= cols.min()
        counts = np.zeros((4, int(cols.max()) + 1))
        counts[rows[:, 2].astype(np.int64), cols] = rows[:, 3]
        ann = annotations.get(mid, {})
        first = {tag: vals[0] for tag, vals in ann.items()}
        meta = {
            "release": year, "base_id": stable, "version": int(version), "collection": collection,
            "tax_group": first.get("tax_group", ""), "species": species.get(mid, []),
            "tf_class": ann.get("class", []), "tf_family": ann.get("family", []),
            "data_type": first.get("type", ""),
        }
        if (counts.sum(axis=0) == 0).any():
            skipped.append(matrix_id)
            continue
        motifs.append(Motif.from_counts(counts, name=matrix_id, alt_name=name, alphabet=DNA,
                                        metadata=meta))
    if skipped:
        if not motifs and len(skipped) == 1:
            raise JasparLookupError(f"JASPAR {year}: matrix {skipped[0]} has a column with zero counts")
        warnings.warn(f"JASPAR {year}: skipped {len(skipped)} matrices with a column of zero counts: "
                      f"{', '.join(skipped[:10])}{' ...' if len(skipped) > 10 else ''}", stacklevel=3)
    return motifs
