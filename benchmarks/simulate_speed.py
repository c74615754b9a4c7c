"""Speed of the named synthetic datasets (seqlens.simulate).

Times the full-size sets - multitask_motifs (30,000 x 200), regulatory_code (20,000 x 200),
motif_interactions (20,000 x 200) - and saving one to HDF5. Absolute times only: no package on
the registries simulates these recipes, and a hand-written slow loop would be a straw man, so no
ratio is reported.

Usage: python benchmarks/simulate_speed.py [--repeats 3] [--out benchmarks/results]
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
from seqlens.simulate import motif_interactions, multitask_motifs, regulatory_code

OUT = Path(__file__).resolve().parent / "results"


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

    print(f"{'dataset':<44} {'n':>6} {'seconds':>8}")
    for name, n, t in rows:
        print(f"{name:<44} {n:>6} {t:8.3f}")
    mb = res["multitask_motifs_hdf5_megabytes"]
    print(f"{'save multitask to HDF5 (gzip)':<44} {30000:>6} {ts:8.3f}  ({mb} MB)")
    print(f"median of {args.repeats} runs, {os.cpu_count()} CPUs visible, load average "
          f"{os.getloadavg()[0]:.2f}; no peer: no package simulates these recipes")
    path = write_json(Path(args.out) / "simulate_speed.json", res)
    print(f"wrote {path}")
    return res


if __name__ == "__main__":
    main()
