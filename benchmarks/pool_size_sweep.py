"""Pool-size sweep (Koo & Eddy 2019): CNN-P for P in {1, 2, 4, 10, 25, 50, 100} on the simulated
multitask dataset; test AUROC/AUPR and first-layer filter match fraction per P (Tomtom q <= 0.1
against the JASPAR 2016 vertebrate motifs the data were drawn from).

Full settings (the paper): ``--n 30000 --epochs 100 --patience 10 --seeds 0 1 2``. Expected:
AUROC roughly flat across P; match fraction rising with P.

Usage: python benchmarks/pool_size_sweep.py [--n 30000] [--epochs 100] [--seeds 0 1 2]
       [--pools 1 2 4 10 25 50 100] [--out out/bench/pool_size_sweep]
Prints a table and writes ``runs.csv``, ``summary.csv``, ``metrics.json``, ``pool_size_sweep.png``
and ``pool_size_sweep.json`` to ``--out`` (``runs.jsonl`` grows after every run).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from seqlens.io.atomic import write_json
from seqlens.simulate import multitask_motifs
from seqlens.study.design_principles import (
    POOL_SIZES,
    pool_size_sweep,
    read_runs,
    rescore_runs,
    summarise,
    truth_ids_of,
    write_experiment,
)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=30000, help="sequences in the dataset (70/10/20 split)")
    p.add_argument("--length", type=int, default=200)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--patience", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--pools", type=int, nargs="+", default=list(POOL_SIZES))
    p.add_argument("--metric", default="q_value", choices=["q_value", "e_value", "p_value"],
                   help="Tomtom statistic a filter match must pass")
    p.add_argument("--cutoff", type=float, default=0.1)
    p.add_argument("--distance", default="euclidean", choices=["euclidean", "pearson"],
                   help="Tomtom column score (euclidean: MEME 5's default; pearson: MEME 4's)")
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default=None)
    p.add_argument("--from-runs", nargs="+", default=None, metavar="RUNS_JSONL",
                   help="no training: summarise the runs.jsonl files of earlier invocations "
                        "(e.g. one per seed) into --out")
    p.add_argument("--rescore", action="store_true",
                   help="with --from-runs: recompute the filter statistics at --metric/--cutoff from "
                        "the Tomtom table each run saved (e.g. --metric e_value, the paper's)")
    p.add_argument("--out", default="out/bench/pool_size_sweep")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if args.rescore and not args.from_runs:
        p.error("--rescore needs --from-runs")
    if args.from_runs:
        runs = read_runs(args.from_runs).sort_values(["pool", "seed"], ignore_index=True)
        if args.rescore:
            truth = truth_ids_of(multitask_motifs(n=20, length=args.length,
                                                  random_state=args.data_seed))
            runs = rescore_runs(runs, truth, args.metric, args.cutoff)
        summary = summarise(runs, ["pool"])
        write_experiment(out, runs, summary, "pool_size_sweep")
        args.seeds = sorted(set(runs["seed"]))
    else:
        data = multitask_motifs(n=args.n, length=args.length, random_state=args.data_seed)
        log = out / "runs.jsonl"
        log.write_text("")

        def save(row):
            with open(log, "a") as fh:
                fh.write(json.dumps(row) + "\n")
            print(f"P={row['pool']:<4d} seed {row['seed']}  test_auroc {row['test_auroc']:.4f}  "
                  f"test_aupr {row['test_aupr']:.4f}  match_fraction {row['match_fraction']:.3f}  "
                  f"coverage {row['coverage']:.3f}  epochs {row['epochs_run']:3d}  "
                  f"{row['seconds']:7.1f} s", flush=True)

        runs, summary = pool_size_sweep(data, pools=args.pools, seeds=args.seeds, epochs=args.epochs,
                                        batch_size=args.batch_size, lr=args.lr,
                                        patience=args.patience, metric=args.metric,
                                        cutoff=args.cutoff, distance=args.distance,
                                        device=args.device, out_dir=out, callback=save)
    seconds = float(runs["seconds"].sum()) if args.from_runs else time.perf_counter() - start
    if args.from_runs:
        print(f"\nPool-size sweep: {len(runs)} runs from {' '.join(args.from_runs)}, seeds="
              f"{args.seeds}, {seconds:.0f} s of runs in all")
    else:
        print(f"\nPool-size sweep: n={args.n}, epochs<={args.epochs}, seeds={args.seeds}, "
              f"{args.threads} threads, {seconds:.0f} s in all")
    print(f"{'P':>4} {'AUROC':>13} {'AUPR':>13} {'match_frac':>13} {'match_any':>9} "
          f"{'coverage':>8}")
    for r in summary.to_dict(orient="records"):
        print(f"{r['pool']:>4} {r['test_auroc_mean']:.3f}+-{r['test_auroc_std']:.3f} "
              f"{r['test_aupr_mean']:.3f}+-{r['test_aupr_std']:.3f} "
              f"{r['match_fraction_mean']:.3f}+-{r['match_fraction_std']:.3f} "
              f"{r['match_any_mean']:9.3f} {r['coverage_mean']:8.3f}")
    flat = {"n": args.n, "epochs": args.epochs, "patience": args.patience, "seeds": args.seeds,
            "threads": args.threads, "seconds": seconds}
    for r in summary.to_dict(orient="records"):
        for k in ("test_auroc_mean", "test_aupr_mean", "match_fraction_mean",
                  "match_fraction_std", "match_any_mean", "coverage_mean"):
            flat[f"pool{r['pool']}_{k}"] = r[k]
    write_json(out / "pool_size_sweep.json", flat)
    return flat


if __name__ == "__main__":
    main()
