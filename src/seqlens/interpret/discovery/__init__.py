"""Motif discovery from attribution maps: seqlets, patterns, hit calling, truth scores.

The steps (each usable alone):

* :func:`seqlets` - windows of significant attribution (``seqlets.py``);
* :func:`find_patterns` - seqlets aligned and clustered into :class:`Pattern` objects with CWM,
  hypothetical CWM and PWM (``patterns.py``);
* :func:`call_hits` - instances of the patterns, contribution-weighted (``hits.py``);
* :func:`refine_sites` - each pattern's PWM re-estimated from its hits (``hits.py``);
* :func:`top_matches` / :func:`score_discovery` - Tomtom matches and truth metrics for simulated
  data (``truth.py``);
* :func:`write_modisco_h5` / :func:`read_modisco_h5` - tfmodisco-lite's HDF5 layout
  (``modisco.py``).

:func:`discover` runs them in order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd

from seqlens.interpret.discovery.hits import call_hits, refine_sites
from seqlens.interpret.discovery.modisco import read_modisco_h5, write_modisco_h5
from seqlens.interpret.discovery.patterns import (
    Pattern,
    aligned_windows,
    build_pattern,
    find_patterns,
    trim_span,
)
from seqlens.interpret.discovery.seqlets import seqlets
from seqlens.interpret.discovery.truth import (
    instances_for,
    match_hits,
    score_discovery,
    top_matches,
)

__all__ = ["Discovery", "Pattern", "aligned_windows", "build_pattern", "call_hits", "discover",
           "find_patterns", "instances_for", "match_hits", "read_modisco_h5", "refine_sites",
           "score_discovery",
           "seqlets", "top_matches", "trim_span", "write_modisco_h5"]


@dataclass
class Discovery:
    """What :func:`discover` returns: the seqlet table, the patterns, their hits (or None) and
    Tomtom matches (or None), and the seconds each step took."""

    seqlets: pd.DataFrame
    patterns: list[Pattern]
    hits: pd.DataFrame | None = None
    matches: pd.DataFrame | None = None
    seconds: dict = field(default_factory=dict)


def discover(attr, X, window: int = 15, flank: int = 5, fdr: float = 0.05, null="permutation",
             max_seqlets: int | None = 20000, min_similarity: float = 0.7,
             seed_similarity: float = 0.8, merge_similarity: float = 0.8,
             min_seqlets: int = 20, max_patterns: int = 50, features: str = "contributions",
             hits: bool = True, hit_fdr: float | None = 0.1, hit_quantile: float = 0.05,
             hit_min_similarity: float = 0.3,
             magnitude: bool = True, site_iter: int = 2, database=None, names=None,
             random_state=None, n_jobs: int = 1) -> Discovery:
    """Seqlets, patterns, hits and (with a ``database`` of Motif) Tomtom matches of attribution
    maps ``attr`` ``(N, A, L)`` (hypothetical contributions) of sequences ``X``.

    The keywords are those of :func:`seqlets`, :func:`find_patterns` and :func:`call_hits`
    (``hit_fdr``, ``hit_quantile`` and ``hit_min_similarity`` are its ``fdr``, ``quantile`` and
    ``min_similarity``);
    ``magnitude`` is that of :func:`seqlets`; ``site_iter`` > 0 (default 2) runs
    :func:`refine_sites` that many rounds before the hits and Tomtom, so both use the PWM of the
    pattern's instances rather than of its seqlets (0: the seqlets' PWM; see
    docs/guide/motif-discovery.md); ``n_jobs`` is Tomtom's thread count. Without patterns there
    are no hits (an empty table) and no Tomtom matches (None).
    """
    from seqlens.interpret.discovery.seqlets import check_pair

    attr, X = check_pair(attr, X)
    sec = {}
    t = time.perf_counter()
    table = seqlets(attr, X, window=window, flank=flank, fdr=fdr, null=null,
                    max_seqlets=max_seqlets, magnitude=magnitude, random_state=random_state)
    sec["seqlets"] = time.perf_counter() - t
    t = time.perf_counter()
    patterns = find_patterns(attr, X, table, min_similarity=min_similarity,
                             seed_similarity=seed_similarity, merge_similarity=merge_similarity,
                             min_seqlets=min_seqlets, max_patterns=max_patterns,
                             features=features)
    sec["patterns"] = time.perf_counter() - t
    if site_iter:
        t = time.perf_counter()
        refine_sites(patterns, attr, X, n_iter=site_iter, fdr=hit_fdr, quantile=hit_quantile,
                     min_similarity=hit_min_similarity)
        sec["sites"] = time.perf_counter() - t
    found = None
    if hits:
        t = time.perf_counter()
        found = call_hits(patterns, attr, X, names=names, fdr=hit_fdr, quantile=hit_quantile,
                          min_similarity=hit_min_similarity)
        sec["hits"] = time.perf_counter() - t
    matches = None
    if database is not None and patterns:
        t = time.perf_counter()
        matches = top_matches(patterns, list(database), n_jobs=n_jobs)
        sec["tomtom"] = time.perf_counter() - t
    return Discovery(table, patterns, found, matches, sec)
