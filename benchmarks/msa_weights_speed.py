"""Sequence-weight speed: numba SWAR kernel vs a plain (blocked) numpy peer.

DHFR (3616 x 159, focus columns) and PF00595 (36690 x 82). The numpy peer runs on DHFR always and
on PF00595 with ``--peer`` (about 20 s or more on 2 cores). Goal: PF00595 in under 3 s.

    python benchmarks/msa_weights_speed.py [--peer] [--threads 2] [--out out/bench]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "msa"


def numpy_counts(X: np.ndarray, identity: float = 0.8, block: int = 128) -> np.ndarray:
    n, length = X.shape
    out = np.zeros(n, dtype=np.int64)
    for s in range(0, n, block):
        ident = (X[s:s + block, None, :] == X[None, :, :]).sum(-1)
        out[s:s + block] = (ident >= identity * length).sum(1) - 1
    return out


def main(argv=None) -> int:
    import numba

    from seqlens.msa import Alignment
    from seqlens.msa.weights import neighbour_counts

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--peer", action="store_true", help="also run the numpy peer on PF00595")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="out/bench")
    args = p.parse_args(argv)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    results = {}
    ref = np.loadtxt(DATA / "DHFR_weights_raw.txt")
    sets = {"dhfr": Alignment.read(DATA / "DHFR.a2m", focus=True),
            "pf00595": Alignment.read(DATA / "PF00595_mgap6.fasta.gz")}
    neighbour_counts(sets["dhfr"].X[:10])  # compile / load the numba cache
    for name, msa in sets.items():
        t = time.perf_counter()
        counts = neighbour_counts(msa.X, 0.8, n_threads=args.threads)
        results[f"{name}_seconds"] = time.perf_counter() - t
        results[f"{name}_n"], results[f"{name}_L"] = msa.X.shape
        results[f"{name}_neff"] = float((1.0 / (1 + counts)).sum())
        if name == "dhfr" or args.peer:
            t = time.perf_counter()
            peer = numpy_counts(msa.X)
            results[f"{name}_numpy_seconds"] = time.perf_counter() - t
            speedup = results[f"{name}_numpy_seconds"] / results[f"{name}_seconds"]
            results[f"{name}_speedup_vs_numpy"] = speedup
            results[f"{name}_match_numpy"] = bool((peer == counts).all())
    w = np.zeros(sets["dhfr"].n_records)
    w[sets["dhfr"].source_index] = 1.0 / (1 + neighbour_counts(sets["dhfr"].X))
    results["dhfr_max_abs_error_vs_plmc"] = float(np.abs(w - ref).max())
    results["threads"] = args.threads
    width = max(len(k) for k in results)
    print("sequence weights (identity 0.8)")
    for k, v in results.items():
        print(f"  {k:<{width}}  {v:.4g}" if isinstance(v, float) else f"  {k:<{width}}  {v}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "msa_weights_speed.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
