"""Speed and peak memory of ``seqlens dataset`` (BED + genome -> HDF5) against tangermeme's
``extract_loci`` on the same regions.

The script writes a synthetic genome (``--chroms`` chromosomes of ``--chrom-mb`` Mb of random
sequence, 60 letters per line) and a BED of random 300-bp regions with narrowPeak summits, then, for
10,000 and 100,000 regions (1 kb windows), runs in a fresh subprocess each:

* ``extract_loci``: tangermeme's ``extract_loci(bed, genome.fa, in_window=1000, summits=True,
  n_jobs=THREADS)``, which returns the one-hot windows in memory (int8);
* ``extract_loci then HDF5``: the same, then its windows written to an HDF5 file as seqlens
  writes them (uint8, uncompressed), for reference: writing is a cost extract_loci does not pay;
* ``seqlens windows``: ``bed_dataset(..., negatives="none")``: the same windows written to an
  HDF5 file (uint8, uncompressed), with names and labels;
* ``seqlens + GC negatives``: the default dataset, i.e. also a GC-matched background window per
  region (twice the windows, plus a scan of the whole genome); no peer does this, so no ratio. Run
  only where the genome has at least three free 1-kb windows per region (otherwise most regions
  would find no background window).

Every subprocess first runs its tool on 100 regions (so compiled code and the ``.fai`` index are
ready, for both tools alike), then times the full call ``--repeats`` times (medians of the wall
clock and of the process's CPU time, which a busy shared machine disturbs less); peak memory is
the subprocess's maxrss.
Goals: seqlens windows time <= 1x extract_loci; peak memory at 100,000 <= 1.2x at 10,000.

Usage: python benchmarks/dataset_speed.py [--threads 1] [--repeats 3] [--chroms 3] [--chrom-mb 10]
       [--sizes 10000 100000] [--out out/bench]
Prints a table and writes ``<out>/dataset_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out" / "bench"
WINDOW = 1000


def make_inputs(folder: Path, n_chroms: int, chrom_mb: float, n_regions: int,
                seed: int = 0) -> tuple[Path, Path]:
    """A random genome FASTA (indexed) and a narrowPeak of ``n_regions`` 300-bp regions."""
    rng = np.random.default_rng(seed)
    genome, bed = folder / "genome.fa", folder / f"regions_{n_regions}.narrowPeak"
    size = int(chrom_mb * 1e6)
    if not genome.exists():
        letters = np.frombuffer(b"ACGT", np.uint8)
        with open(genome, "wb") as fh:
            for c in range(n_chroms):
                seq = letters[rng.integers(0, 4, size)]
                lines = np.full((size // 60 + 1) * 61, ord("\n"), np.uint8)
                body = lines[: (size // 60) * 61].reshape(-1, 61)
                body[:, :60] = seq[: (size // 60) * 60].reshape(-1, 60)
                fh.write(f">chr{c + 1}\n".encode())
                fh.write(body.tobytes())
                rest = seq[(size // 60) * 60:]
                if len(rest):
                    fh.write(rest.tobytes() + b"\n")
        from seqlens.genome.reference import Genome

        Genome(genome).close()  # builds the .fai once, for both tools
    if not bed.exists():
        chrom = rng.integers(1, n_chroms + 1, n_regions)
        start = rng.integers(WINDOW, size - WINDOW - 300, n_regions)
        summit = rng.integers(0, 300, n_regions)
        with open(bed, "w") as fh:
            for c, s, m in zip(chrom, start, summit):
                fh.write(f"chr{c}\t{s}\t{s + 300}\t.\t0\t.\t1\t-1\t-1\t{m}\n")
    return genome, bed


CHILD = r"""
import json, os, resource, sys, time, warnings
tool, genome, bed, small, out, threads, repeats = sys.argv[1:8]
threads, repeats = int(threads), int(repeats)
warnings.simplefilter("ignore")
if tool.startswith("extract_loci"):
    import h5py
    import torch
    torch.set_num_threads(threads)
    from tangermeme.io import extract_loci
    def run(path):
        X = extract_loci(path, genome, in_window=1000, summits=True, n_jobs=threads)
        if tool == "extract_loci_then_hdf5":  # the same windows written as seqlens writes them
            with h5py.File(out, "w") as fh:
                fh.create_dataset("X_train", data=X.numpy().view("uint8"))
        return X
else:
    from seqlens.genome.dataset import bed_dataset
    negatives = "none" if tool == "seqlens_windows" else "gc"
    def run(path):
        return bed_dataset(out, [path], genome, length=1000, negatives=negatives, split="random",
                           valid_fraction=0.1, test_fraction=0.1)
run(small)
walls, cpus = [], []
for _ in range(repeats):  # medians; one result held at a time
    result = None
    t0, c0 = time.perf_counter(), time.process_time()
    result = run(bed)
    walls.append(time.perf_counter() - t0)
    cpus.append(time.process_time() - c0)
    n = int(result.shape[0]) if tool.startswith("extract_loci") else int(result["n_sequences"])
seconds, cpu = sorted(walls)[repeats // 2], sorted(cpus)[repeats // 2]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "maxrss_mb": peak, "n_sequences": n}))
"""


def run_child(tool: str, genome: Path, bed: Path, small: Path, out: Path, threads: int,
              repeats: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads), NUMBA_NUM_THREADS=str(threads))
    proc = subprocess.run([sys.executable, "-c", CHILD, tool, str(genome), str(bed), str(small), str(out),
                           str(threads), str(repeats)], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{tool} failed: {proc.stderr[-2000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    if out.exists():
        res["hdf5_megabytes"] = round(out.stat().st_size / 1e6, 1)
        out.unlink()
    return res


def versions() -> dict:
    from importlib.metadata import version

    out = {"python": platform.python_version()}
    for pkg in ("seqlens", "numpy", "h5py", "pyfaidx", "numba", "tangermeme", "torch"):
        try:
            out[pkg] = version(pkg)
        except Exception:  # not installed
            out[pkg] = None
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3, help="timed calls per run (median)")
    p.add_argument("--chroms", type=int, default=3)
    p.add_argument("--chrom-mb", type=float, default=10.0)
    p.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--keep", action="store_true", help="keep the generated genome and BED files")
    args = p.parse_args(argv)
    out = Path(args.out)
    work = out / "dataset_speed_inputs"
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    genome, small = make_inputs(work, args.chroms, args.chrom_mb, 100, seed=1)
    beds = {n: make_inputs(work, args.chroms, args.chrom_mb, n)[1] for n in args.sizes}
    print(f"inputs: {args.chroms} x {args.chrom_mb} Mb genome, {len(args.sizes)} BED files "
          f"({time.perf_counter() - t0:.1f} s)")
    res: dict = {"versions": versions(), "threads": args.threads, "repeats": args.repeats,
                 "cpu_count": os.cpu_count(),
                 "genome_mb": args.chroms * args.chrom_mb, "window": WINDOW,
                 "load_average_before": os.getloadavg()}
    rows = []
    tiles = args.chroms * args.chrom_mb * 1e6 / WINDOW
    for n in args.sizes:
        for tool in ("extract_loci", "extract_loci_then_hdf5", "seqlens_windows", "seqlens_gc_negatives"):
            if tool == "seqlens_gc_negatives" and tiles < 3 * n:
                continue
            r = run_child(tool, genome, beds[n], small, work / "data.h5", args.threads, args.repeats)
            res[f"{tool}_{n}"] = r
            rows.append((tool, n, r))
    res["load_average_after"] = os.getloadavg()
    for n in args.sizes:
        ours, peer = res[f"seqlens_windows_{n}"], res[f"extract_loci_{n}"]
        res[f"time_ratio_windows_vs_extract_loci_{n}"] = round(ours["seconds"] / peer["seconds"], 3)
        res[f"cpu_ratio_windows_vs_extract_loci_{n}"] = round(ours["cpu_seconds"] / peer["cpu_seconds"], 3)
        written = res[f"extract_loci_then_hdf5_{n}"]
        res[f"cpu_ratio_windows_vs_extract_loci_then_hdf5_{n}"] = round(
            ours["cpu_seconds"] / written["cpu_seconds"], 3)
    if len(args.sizes) >= 2:
        lo, hi = min(args.sizes), max(args.sizes)
        for tool in ("seqlens_windows", "seqlens_gc_negatives", "extract_loci", "extract_loci_then_hdf5"):
            if f"{tool}_{hi}" in res and f"{tool}_{lo}" in res:
                res[f"memory_ratio_{tool}_{hi}_vs_{lo}"] = round(
                    res[f"{tool}_{hi}"]["maxrss_mb"] / res[f"{tool}_{lo}"]["maxrss_mb"], 3)

    print(f"{'tool':<26}{'regions':>9}{'sequences':>11}{'seconds':>9}{'CPU s':>7}{'peak MB':>9}"
          f"{'HDF5 MB':>9}")
    for tool, n, r in rows:
        print(f"{tool:<26}{n:>9,}{r['n_sequences']:>11,}{r['seconds']:>9.2f}{r['cpu_seconds']:>7.2f}"
              f"{r['maxrss_mb']:>9.0f}{r.get('hdf5_megabytes', float('nan')):>9.0f}")
    for key, value in res.items():
        if key.startswith(("time_ratio", "cpu_ratio", "memory_ratio")):
            print(f"{key}: {value}")
    v = res["versions"]
    print(f"versions: {', '.join(f'{k} {val}' for k, val in v.items())}; threads {args.threads}; "
          f"load average {res['load_average_before'][0]:.2f} -> {res['load_average_after'][0]:.2f} "
          f"({os.cpu_count()} CPUs)")
    out.mkdir(parents=True, exist_ok=True)
    path = out / "dataset_speed.json"
    from seqlens.io.atomic import write_json

    write_json(path, res)
    print(f"wrote {path}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return res


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
