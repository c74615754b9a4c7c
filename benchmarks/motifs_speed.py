"""Motif layer speed and sanity: JASPAR loading (seqlens bulk SQL vs pyjaspar's own query layer,
same SQLite file, same run), Tomtom all-vs-all on JASPAR 2016 vertebrates (self-match rank), and
FIMO scanning of random sequences.

Usage: python benchmarks/motifs_speed.py [--release 2026] [--n-seqs 1000] [--length 1000]
       [--out benchmarks/results/motifs_speed.json]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from seqlens.io.atomic import write_json
from seqlens.motifs import jaspar
from seqlens.motifs.scan import scan
from seqlens.motifs.tomtom import tomtom


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--release", type=int, default=jaspar.latest_release())
    p.add_argument("--n-seqs", type=int, default=1000)
    p.add_argument("--length", type=int, default=1000)
    p.add_argument("--out", default="benchmarks/results/motifs_speed.json")
    args = p.parse_args(argv)

    from pyjaspar import jaspardb

    ours, t_ours = _timed(lambda: jaspar.fetch_motifs(release=args.release, tax_group="vertebrates"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref, t_ref = _timed(lambda: jaspardb(release=f"JASPAR{args.release}").fetch_motifs(
            collection="CORE", tax_group="vertebrates"))
    same = sorted(m.matrix_id for m in ref) == [m.name for m in ours]

    db16 = jaspar.fetch_motifs(release=2016, tax_group="vertebrates")
    table, t_tomtom = _timed(lambda: tomtom(db16, db16, top_n=1))
    self_first = float((table["target_index"] == table["query_index"]).mean())

    sp1 = jaspar.fetch_motif("MA0079.3", release=2016)
    rng = np.random.default_rng(0)
    X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (args.n_seqs, args.length))].transpose(0, 2, 1)
    scan(sp1, X[:2])  # compile outside the timing
    hits, t_scan = _timed(lambda: scan(db16[:50], X, threshold=1e-4))
    windows = 2 * 50 * args.n_seqs * args.length

    results = {
        "release": args.release,
        "core_vertebrates": len(ours),
        "load_seconds": round(t_ours, 4),
        "pyjaspar_load_seconds": round(t_ref, 4),
        "load_speedup_vs_pyjaspar": round(t_ref / t_ours, 1),
        "same_ids_as_pyjaspar": same,
        "tomtom_all_vs_all_motifs": len(db16),
        "tomtom_all_vs_all_seconds": round(t_tomtom, 3),
        "tomtom_self_match_first_fraction": self_first,
        "scan_motifs": 50,
        "scan_sequences": args.n_seqs,
        "scan_length": args.length,
        "scan_seconds": round(t_scan, 3),
        "scan_hits": len(hits),
        "scan_hits_per_window": len(hits) / windows,
    }
    width = max(map(len, results))
    for k, v in results.items():
        print(f"{k:<{width}}  {v}")
    write_json(args.out, results)
    return results


if __name__ == "__main__":
    main()
