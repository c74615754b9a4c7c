"""Scoring discovered patterns and hits against the truth of simulated data.

A simulated dataset (:mod:`seqlens.simulate`) records every embedded instance (sequence, motif,
start, end, strand). Patterns are scored two ways:

* by sequence: the pattern's best Tomtom hit in a motif database (a core motif is *recovered*
  when some pattern's top hit - lowest p-value, ties by the higher Tomtom score - is its JASPAR
  matrix, any version of the same base ID);
* by position: the pattern's *truth motif* is the embedded motif the largest share of its
  seqlets fall on (at least half the trimmed window on the instance), when that share is at
  least a quarter; a plurality, not a majority, as a pattern may merge look-alike motifs (a
  negative pattern of the HES7, HES5 and TGIF2 decoys, each under half of its seqlets).

A hit is right when it falls on an instance of its pattern's truth motif, on the right strand and
within ``tolerance`` nt. A pattern's frame need not be the JASPAR matrix's (trimmed, shifted or
reverse-complemented), so each pattern's offset and orientation to its motif is the mode over
its hits that overlap an instance; only the jitter around it is tolerated.

Both rules have a family-level variant (:func:`family_test`): a hit is also right at family level
on an instance of any motif of its truth motif's JASPAR TF family (each such motif with its own
modal frame), and a core motif is recovered at family level when some pattern's top Tomtom hit
is the motif or one of its family (CEBPD for CEBPB). The strict figures stay the headline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqlens.errors import SeqlensError

INSTANCE_COLUMNS = ["seq", "motif", "motif_id", "motif_index", "start", "end", "strand", "core"]


def instances_for(dataset, split: str, indices=None) -> pd.DataFrame:
    """The embedded instances of ``split`` of a simulated :class:`~seqlens.io.hdf5.Dataset`,
    with ``seq`` renumbered to the rows ``indices`` (the sequences the maps cover; default all).
    ``core`` is the dataset's core flag (every motif is core when the recipe has none)."""
    from seqlens.simulate.datasets import instance_table

    table = instance_table(dataset, split)
    if "core" in table:
        table["core"] = table["core"].astype(bool)
    else:
        table["core"] = True
    if indices is not None:
        indices = np.asarray(indices, np.int64)
        row = pd.Series(np.arange(len(indices)), index=indices)
        table = table[table["seq"].isin(indices)].copy()
        table["seq"] = row.loc[table["seq"].to_numpy()].to_numpy()
    return table[INSTANCE_COLUMNS].sort_values(["seq", "start"]).reset_index(drop=True)


def _overlaps(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Pairs of rows of ``a`` and ``b`` (columns seq, start, end) on the same sequence that
    overlap, with ``overlap`` (positions) and the row numbers ``i`` / ``j``."""
    left = a[["seq", "start", "end"]].assign(i=np.arange(len(a)))
    right = b[["seq", "start", "end"]].assign(j=np.arange(len(b)))
    pairs = left.merge(right, on="seq", suffixes=("", "_b"))
    ov = (np.minimum(pairs["end"], pairs["end_b"]) - np.maximum(pairs["start"], pairs["start_b"]))
    return pairs.assign(overlap=ov)[ov > 0].reset_index(drop=True)


def pattern_truth(pattern, instances: pd.DataFrame, min_fraction: float = 0.25) -> dict:
    """The truth motif of a pattern: the motif the largest share of its seqlets' trimmed windows
    fall on, if that share is at least ``min_fraction`` (module doc).

    Returns ``truth_motif`` (name or ``""``), ``truth_motif_index`` (-1 if none),
    ``truth_fraction`` (share of seqlets on it), ``truth_core`` and ``on_any_motif`` (share of
    seqlets on some instance)."""
    s = pattern.seqlets
    w = pattern.trim[1] - pattern.trim[0]
    start = s["start"].to_numpy() + np.where(s["strand"].to_numpy() > 0, pattern.trim[0],
                                             pattern.width - pattern.trim[1])
    wins = pd.DataFrame({"seq": s["seq"].to_numpy(), "start": start, "end": start + w})
    pairs = _overlaps(wins, instances)
    inst_w = (instances["end"] - instances["start"]).to_numpy()[pairs["j"]]
    pairs = pairs[pairs["overlap"] >= 0.5 * np.minimum(w, inst_w)]
    pairs = pairs.sort_values("overlap", ascending=False).drop_duplicates("i")
    motif = instances["motif_index"].to_numpy()[pairs["j"]]
    out = {"truth_motif": "", "truth_motif_index": -1, "truth_fraction": 0.0, "truth_core": False,
           "on_any_motif": len(pairs) / max(len(s), 1)}
    if len(motif):
        vals, counts = np.unique(motif, return_counts=True)
        k = int(np.argmax(counts))
        frac = counts[k] / max(len(s), 1)
        out["truth_fraction"] = float(frac)
        if frac >= min_fraction:
            row = instances[instances["motif_index"] == vals[k]].iloc[0]
            out.update(truth_motif=str(row["motif"]), truth_motif_index=int(vals[k]),
                       truth_core=bool(row["core"]))
    return out


def match_hits(hits: pd.DataFrame, instances: pd.DataFrame, pattern_motif: dict,
               tolerance: int = 3, palindrome_fraction: float = 0.25
               ) -> tuple[np.ndarray, np.ndarray, dict]:
    """Which hits are right and which instances are found (see the module doc).

    Parameters
    ----------
    hits : table of :func:`~seqlens.interpret.discovery.hits.call_hits`.
    instances : table of :func:`instances_for`.
    pattern_motif : pattern name -> truth motif index (-1 or absent: none), or a collection of
        motif indices (any of them is right, e.g. the truth motif's family; each motif gets its
        own modal frame).
    tolerance : nt the hit's centre may be off its pattern's modal offset.
    palindrome_fraction : the other orientation is right too when it holds at least this share
        of the modal frame's pairs (a palindromic motif has no strand to get right).

    Returns
    -------
    ``(hit_ok (n_hits,), found (n_instances,), frames)``: booleans, and each pattern's frames
    ``[(orientation, twice the centre offset), ...]`` (two for palindromes) on its motif, keyed by
    the pattern name (one motif) or by ``(pattern, motif index)`` (several).
    """
    hit_ok = np.zeros(len(hits), dtype=bool)
    found = np.zeros(len(instances), dtype=bool)
    frames = {}
    if hits.empty or instances.empty:
        return hit_ok, found, frames
    allowed = {(str(p), int(k)) for p, v in pattern_motif.items()
               for k in (v if np.iterable(v) else [v]) if int(k) >= 0}
    several = any(np.iterable(v) and len(v) > 1 for v in pattern_motif.values())
    pairs = _overlaps(hits, instances)
    h = hits.iloc[pairs["i"]]
    ins = instances.iloc[pairs["j"]]
    motif = ins["motif_index"].to_numpy()
    same = np.array([(str(p), int(k)) in allowed for p, k in zip(h["pattern"], motif)], dtype=bool)
    pairs, h, ins, motif = pairs[same], h[same], ins[same], motif[same]
    s_h = np.where(h["strand"].to_numpy() == "-", -1, 1)
    s_i = np.where(ins["strand"].to_numpy() == "-", -1, 1)
    orient = s_h * s_i
    delta = s_h * ((h["start"] + h["end"]).to_numpy() - (ins["start"] + ins["end"]).to_numpy())
    pat = h["pattern"].astype(str).to_numpy()
    ok = np.zeros(len(pairs), dtype=bool)
    for name, k in sorted({*zip(pat, motif.tolist())}):
        m = np.flatnonzero((pat == name) & (motif == k))
        keys, counts = _frame_counts(orient[m], delta[m], tolerance)
        j = int(np.argmax(counts))
        chosen = [(int(keys[j, 0]), int(keys[j, 1]))]
        mirror = np.where(keys[:, 0] == -keys[j, 0], counts, -1)
        j2 = int(np.argmax(mirror))
        if mirror[j2] > 0 and mirror[j2] >= palindrome_fraction * counts[j]:
            chosen.append((int(keys[j2, 0]), int(keys[j2, 1])))
        frames[(name, int(k)) if several else name] = chosen
        for o, d in chosen:
            ok[m] |= (orient[m] == o) & (np.abs(delta[m] - d) <= 2 * tolerance)
    hit_ok[pairs["i"].to_numpy()[ok]] = True
    found[pairs["j"].to_numpy()[ok]] = True
    return hit_ok, found, frames


def _frame_counts(orient, delta, tolerance):
    """Per (orientation, offset) the number of pairs within ``tolerance`` of it."""
    keys = np.unique(np.stack([orient, delta], 1), axis=0)
    counts = np.array([np.sum((orient == o) & (np.abs(delta - d) <= 2 * tolerance))
                       for o, d in keys])
    return keys, counts


def family_test(motifs, release=2016, max_q: float = 0.05):
    """A test ``same(a, b) -> bool`` of whether two JASPAR matrix IDs of ``motifs`` (list of
    Motif: the matrices the IDs may name, e.g. the Tomtom database) are of one TF family.

    Two matrices are of one family when they share a base ID, else when both carry a JASPAR
    ``tf_family`` annotation and these share a value; when one has none, when both carry a
    ``tf_class`` and these share a value; when one has neither, when Tomtom of the first against
    ``motifs`` gives the second a q-value <= ``max_q``. Annotations come from the motifs'
    ``metadata`` or, when absent (matrices read from a file), from the JASPAR ``release``.
    """
    from seqlens.motifs.jaspar import fetch_motifs, same_base_id

    by_id = {m.name: m for m in motifs}
    labels = {m.name: (m.metadata.get("tf_family"), m.metadata.get("tf_class")) for m in motifs
              if "tf_family" in m.metadata}
    missing = [i for i in by_id if i not in labels and _is_jaspar_id(i)]
    for a in range(0, len(missing), 200):  # bounded SQL parameter lists
        for m in fetch_motifs(release=release, collection=None, matrix_id=missing[a:a + 200]):
            labels[m.name] = (m.metadata.get("tf_family"), m.metadata.get("tf_class"))
    close: dict[str, set] = {}

    def similar(a: str, b: str) -> bool:
        if a not in close:
            from seqlens.motifs.tomtom import tomtom

            tt = tomtom([by_id[a]], list(by_id.values()), max_q_value=max_q, n_jobs=1)
            close[a] = set(tt["target"])
        return b in close[a]

    def same(a: str, b: str) -> bool:
        if not a or not b:
            return False
        if a == b or _same(a, b, same_base_id):
            return True
        fa, ca = labels.get(a, (None, None))
        fb, cb = labels.get(b, (None, None))
        if fa and fb:
            return bool(set(fa) & set(fb))
        if ca and cb:
            return bool(set(ca) & set(cb))
        return a in by_id and b in by_id and (similar(a, b) or similar(b, a))

    return same


def family_members(ids: list[str], same, k: int) -> set[int]:
    """Indices of the motifs ``ids`` (JASPAR IDs) of motif ``k``'s family under ``same``
    (:func:`family_test`), ``k`` included."""
    return {j for j, i in enumerate(ids) if same(ids[k], i)} | {k}


def query_motifs(patterns, trim_threshold: float = 0.1, trim_pad: int = 1) -> list:
    """The patterns' PWMs as Tomtom queries: over the columns with at least ``trim_threshold``
    of the peak contribution, plus ``trim_pad`` (wider than the trim of hits and logos: members
    of a motif family differ mostly in the flanks)."""
    from seqlens.interpret.discovery.patterns import trim_span

    return [p.motif(span=trim_span(p.cwm, trim_threshold, trim_pad)) for p in patterns]


def top_matches(patterns, database, top_n: int = 3, n_jobs: int = 1, trim_threshold: float = 0.1,
                trim_pad: int = 1) -> pd.DataFrame:
    """Tomtom of every pattern's PWM (:func:`query_motifs`) against ``database`` (list of
    Motif): the ``top_n`` best targets per pattern, ordered by p-value then by the higher
    Tomtom score (p-values underflow to 0 for close matches, where the score still ranks them)."""
    from seqlens.motifs.tomtom import tomtom

    if not patterns:
        return pd.DataFrame(columns=["pattern", "rank", "target", "target_name", "p_value",
                                     "q_value", "score", "offset", "strand"])
    tt = tomtom(query_motifs(patterns, trim_threshold, trim_pad), database, n_jobs=n_jobs)
    tt = tt.sort_values(["query_index", "p_value", "score"], ascending=[True, True, False],
                        kind="stable")
    tt = tt.groupby("query_index", sort=True).head(top_n).copy()
    tt["pattern"] = [patterns[i].name for i in tt["query_index"]]
    tt["rank"] = tt.groupby("query_index").cumcount()
    return tt[["pattern", "rank", "target", "target_name", "p_value", "q_value", "score",
               "offset", "strand"]].reset_index(drop=True)


def score_discovery(patterns, hits: pd.DataFrame, instances: pd.DataFrame, motifs: list[dict],
                    matches: pd.DataFrame | None = None, tolerance: int = 3,
                    major_fraction: float = 0.05, families=None) -> tuple[dict, pd.DataFrame]:
    """Truth metrics of a discovery run.

    Parameters
    ----------
    patterns, hits : the run's patterns and hits.
    instances : :func:`instances_for` of the sequences the run covers.
    motifs : the dataset's ``metadata["motifs"]`` (``name``, ``id`` per motif index).
    matches : :func:`top_matches` of the patterns (for recovery by Tomtom).
    major_fraction : a pattern is major when it holds at least this share of the seqlets of
        its sign.
    families : a :func:`family_test` (``same(id_a, id_b)``) for the family-level figures.

    Returns
    -------
    ``(metrics, per_pattern)``: flat metrics and one row per pattern with its truth match.
    ``core_recovered`` counts the core motifs recovered (``recovered_<motif>`` each; also
    ``core_in_top3`` for a match among the three best); ``decoys_in_major`` the positive
    patterns holding ``major_fraction`` of the positive seqlets whose truth motif (or, without
    one, top match) is a decoy (decoys as *negative* patterns are the model reading the negative
    class correctly: ``negative_decoy_patterns``); ``spurious_patterns`` the patterns with
    neither a truth motif nor a top match among the dataset's motifs; ``hit_precision``,
    ``hit_recall`` (of core instances) and ``hit_recall_<motif>``; ``hit_precision_positive`` /
    ``_negative`` (hits of positive / negative patterns) and ``false_hits_on_other_instances``
    (share of the wrong hits lying, at least half of them, on an embedded instance of another
    motif than their pattern's, e.g. a decoy of the same family; the rest lie on background).
    With ``families``, the same at family level (module doc), suffixed ``_family``:
    ``core_recovered_family`` (``recovered_family_<motif>``), ``hit_precision_family``,
    ``hit_precision_positive_family`` / ``_negative_family``, ``hit_recall_family`` (core
    instances found by a pattern whose truth motif is of their family).
    """
    from seqlens.motifs.jaspar import same_base_id

    ids = [m.get("id", "") for m in motifs]
    names = [m.get("name", "") for m in motifs]
    core_idx = sorted(set(instances.loc[instances["core"], "motif_index"].tolist()))
    top = {} if matches is None else {r.pattern: r for r in matches[matches["rank"] == 0]
                                      .itertuples()}
    rows = []
    totals = {s: sum(p.n_seqlets for p in patterns if p.sign == s) for s in (1, -1)}
    for p in patterns:
        row = {"pattern": p.name, "sign": p.sign, "n_seqlets": p.n_seqlets,
               "seqlet_fraction": p.n_seqlets / max(totals[p.sign], 1)}
        row.update(pattern_truth(p, instances))
        t = top.get(p.name)
        row["top_match"] = t.target if t is not None else ""
        row["top_match_name"] = t.target_name if t is not None else ""
        row["top_match_q"] = float(t.q_value) if t is not None else np.nan
        row["top_match_motif_index"] = next(
            (k for k, i in enumerate(ids) if t is not None and i and _same(i, t.target,
                                                                           same_base_id)), -1)
        rows.append(row)
    table = pd.DataFrame(rows)
    metrics: dict = {"n_patterns": len(patterns),
                     "n_positive_patterns": sum(p.sign > 0 for p in patterns),
                     "n_core": len(core_idx)}
    recovered = in_top3 = 0
    top3 = set()
    if matches is not None:
        for r in matches[matches["rank"] < 3].itertuples():
            top3 |= {k for k, i in enumerate(ids) if i and _same(i, r.target, same_base_id)}
    for k in core_idx:
        ok = bool(len(table)) and bool((table["top_match_motif_index"] == k).any())
        metrics[f"recovered_{_key(names[k])}"] = ok
        recovered += ok
        in_top3 += k in top3
    metrics["core_recovered"] = recovered
    metrics["core_in_top3"] = in_top3
    family = {}
    if families is not None:
        family = {k: family_members(ids, families, k) for k in range(len(ids))}
        tops = set(table["top_match"]) if len(table) else set()
        for k in core_idx:
            ok = any(families(ids[k], t) for t in tops)
            metrics[f"recovered_family_{_key(names[k])}"] = ok
        metrics["core_recovered_family"] = sum(metrics[f"recovered_family_{_key(names[k])}"]
                                               for k in core_idx)
    if len(table):
        decoy_truth = (table["truth_motif_index"] >= 0) & ~table["truth_core"]
        decoy_match = table["top_match_motif_index"].map(
            lambda k: k >= 0 and k not in core_idx).astype(bool)
        no_truth = table["truth_motif_index"] < 0
        table["decoy"] = decoy_truth | (no_truth & decoy_match)
        table["spurious"] = no_truth & (table["top_match_motif_index"] < 0)
        major = table["seqlet_fraction"] >= major_fraction
        pos = table["sign"] > 0
        metrics["decoys_in_major"] = int((table["decoy"] & major & pos).sum())
        metrics["decoy_patterns"] = int((table["decoy"] & pos).sum())
        metrics["negative_decoy_patterns"] = int((table["decoy"] & ~pos).sum())
        metrics["spurious_patterns"] = int(table["spurious"].sum())
        metrics["spurious_positive_patterns"] = int((table["spurious"] & pos).sum())
        metrics["spurious_major_positive_patterns"] = int((table["spurious"] & major & pos).sum())
    else:
        metrics.update(decoys_in_major=0, decoy_patterns=0, negative_decoy_patterns=0,
                       spurious_patterns=0, spurious_positive_patterns=0,
                       spurious_major_positive_patterns=0)
    pattern_motif = dict(zip(table.get("pattern", []), table.get("truth_motif_index", [])))
    hit_ok, found, _ = match_hits(hits, instances, pattern_motif, tolerance)
    core = instances["core"].to_numpy()
    metrics["n_hits"] = int(len(hits))
    metrics["hit_precision"] = float(hit_ok.mean()) if len(hits) else np.nan
    metrics["hit_recall"] = float(found[core].mean()) if core.any() else np.nan
    metrics["hit_recall_all_motifs"] = float(found.mean()) if len(found) else np.nan
    sign = hits["pattern"].map({p.name: p.sign for p in patterns}).to_numpy()
    for key, m in (("positive", sign > 0), ("negative", sign < 0)):
        metrics[f"hit_precision_{key}"] = float(hit_ok[m].mean()) if m.any() else np.nan
    wrong = hits.iloc[np.flatnonzero(~hit_ok)]
    pairs = _overlaps(wrong, instances)
    pairs = pairs[2 * pairs["overlap"] >= (wrong["end"] - wrong["start"]).to_numpy()[pairs["i"]]]
    metrics["false_hits_on_other_instances"] = (pairs["i"].nunique() / len(wrong) if len(wrong)
                                                else np.nan)
    for k in core_idx:
        m = (instances["motif_index"] == k).to_numpy()
        metrics[f"hit_recall_{_key(names[k])}"] = float(found[m].mean())
    if family:
        ok_f, found_f, _ = match_hits(hits, instances, {p: family.get(k, ()) for p, k in
                                                         pattern_motif.items()}, tolerance)
        metrics["hit_precision_family"] = float(ok_f.mean()) if len(hits) else np.nan
        metrics["hit_recall_family"] = float(found_f[core].mean()) if core.any() else np.nan
        for key, m in (("positive", sign > 0), ("negative", sign < 0)):
            metrics[f"hit_precision_{key}_family"] = float(ok_f[m].mean()) if m.any() else np.nan
    return metrics, table


def _is_jaspar_id(name: str) -> bool:
    from seqlens.motifs.jaspar import base_id

    try:
        base_id(name)
    except SeqlensError:
        return False
    return True


def _same(a: str, b: str, same_base_id) -> bool:
    try:
        return same_base_id(a, b)
    except SeqlensError:
        return a == b


def _key(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in str(name).lower()).strip("_")
