"""Speed of the named synthetic datasets (seqlens.simulate).

Times the full-size sets - multitask_motifs (30,000 x 200), regulatory_code (20,000 x 200),
motif_interactions (20,000 x 200) - and saving one to HDF5. The peer is a straightforward
per-sequence / per-position Python loop (background letter by letter with ``rng.choice``, one
``Motif.sample`` per instance, placement by rejection), the way such simulations are often written;
it runs on ``--peer-n`` sequences and is scaled linearly to 30,000.

Usage: python benchmarks/simulate_speed.py [--repeats 3] [--peer-n 1000] [--out benchmarks/results]
Prints a table and writes ``<out>/simulate_speed.json``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from seqlens.io.atomic import write_json
from seqlens.io.hdf5 import save_dataset
from seqlens.simulate import get_motifs, motif_interactions, multitask_motifs, regulatory_code
from seqlens.simulate.datasets import MULTITASK_MOTIFS

OUT = Path(__file__).resolve().parent / "results"


def naive_multitask(n: int, length: int = 200, seed: int = 0):
    """Per-position Python-loop peer of multitask_motifs (same recipe, no vectorisation)."""
    rng = np.random.default_rng(seed)
    motifs = get_motifs(list(MULTITASK_MOTIFS.values()))
    probs = [m.probabilities() for m in motifs]
    X = np.zeros((n, 4, length), dtype=np.float32)
    truth = np.full((n, 4, length), 0.25, dtype=np.float32)
    Y = np.zeros((n, len(motifs)), dtype=np.float32)
    for i in range(n):
        for j in range(length):
            X[i, rng.choice(4), j] = 1.0
        k = rng.choice([1, 2, 3, 4, 5], p=[0.50, 0.25, 0.17, 0.05, 0.03])
        chosen = rng.choice(len(motifs), size=k, replace=False)
        used = np.zeros(length, dtype=bool)
        for m in chosen:
            p = probs[m] if rng.random() < 0.5 else probs[m][::-1, ::-1]
            w = p.shape[1]
            while True:  # rejection placement
                s = rng.integers(0, length - w + 1)
                if not used[s:s + w].any():
                    break
            used[s:s + w] = True
            for c in range(w):
                X[i, :, s + c] = 0.0
                X[i, rng.choice(4, p=p[:, c]), s + c] = 1.0
            truth[i, :, s:s + w] = p
            Y[i, m] = 1.0
    return X, Y, truth


def _time(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), result


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--peer-n", type=int, default=1000)
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args(argv)

    res: dict = {"cpu_count": os.cpu_count(), "repeats": args.repeats}
    rows = []
    t, ds = _time(lambda: multitask_motifs(n=30000, length=200, random_state=0), args.repeats)
    res["multitask_motifs_30000_seconds"] = round(t, 3)
    rows.append(("multitask_motifs", 30000, t))
    with tempfile.TemporaryDirectory() as tmp:
        ts, _ = _time(lambda: save_dataset(Path(tmp) / "mt.h5", ds), 1)
        size = (Path(tmp) / "mt.h5").stat().st_size
    res["multitask_motifs_save_hdf5_seconds"] = round(ts, 3)
    res["multitask_motifs_hdf5_megabytes"] = round(size / 1e6, 1)
    t, _ = _time(lambda: regulatory_code(n=20000, length=200, random_state=0), args.repeats)
    res["regulatory_code_20000_seconds"] = round(t, 3)
    rows.append(("regulatory_code", 20000, t))
    t, _ = _time(lambda: motif_interactions(n=20000, length=200, random_state=0), args.repeats)
    res["motif_interactions_20000_seconds"] = round(t, 3)
    rows.append(("motif_interactions", 20000, t))
    t, _ = _time(lambda: motif_interactions(n=20000, length=200, random_state=0, spacing=(5, 15),
                                            orientation="same"), args.repeats)
    res["motif_interactions_spaced_20000_seconds"] = round(t, 3)
    rows.append(("motif_interactions (spacing, orientation)", 20000, t))

    tp, _ = _time(lambda: naive_multitask(args.peer_n, seed=0), 1)
    peer_30000 = tp * 30000 / args.peer_n
    res["peer_naive_loop_n"] = args.peer_n
    res["peer_naive_loop_seconds"] = round(tp, 3)
    res["peer_naive_loop_30000_seconds_extrapolated"] = round(peer_30000, 1)
    res["multitask_speedup_vs_naive_loop"] = round(peer_30000 / res["multitask_motifs_30000_seconds"], 1)

    print(f"{'dataset':<44} {'n':>6} {'seconds':>8}")
    for name, n, t in rows:
        print(f"{name:<44} {n:>6} {t:8.3f}")
    mb = res["multitask_motifs_hdf5_megabytes"]
    print(f"{'save multitask to HDF5 (gzip)':<44} {30000:>6} {ts:8.3f}  ({mb} MB)")
    print(f"{'peer: per-position Python loop':<44} {args.peer_n:>6} {tp:8.3f}  "
          f"(~{peer_30000:.0f} s for 30000)")
    print(f"multitask speed-up over the loop peer: {res['multitask_speedup_vs_naive_loop']}x "
          f"(median of {args.repeats} runs, {os.cpu_count()} CPUs visible)")
    path = write_json(Path(args.out) / "simulate_speed.json", res)
    print(f"wrote {path}")
    return res


if __name__ == "__main__":
    main()
