"""Motif discovery from attribution maps, scored against the simulation's truth; seqlens vs
modisco-lite on the same maps.

For each (dataset, activation, seed): simulate, train a CNN to early stopping, compute DeepSHAP
(hypothetical contributions, dinucleotide-shuffled references) and saliency maps (plain and with
gradient correction) of ALL test sequences (positives and negatives), then run
``seqlens.interpret.discovery.discover`` and, with ``--modisco``, modisco-lite's ``TFMoDISco`` on
the same maps, each in its own process (time and peak memory of that process, one thread). Both
are scored by the same code: core motifs recovered (a pattern whose top Tomtom hit against JASPAR
2016 vertebrates is the true matrix), decoys among the patterns holding >= 5% of the seqlets,
spurious patterns (matching no simulated motif, by Tomtom nor by truth overlap), and hit
precision/recall (seqlens' CWM scanner on each tool's patterns; a hit is right when it falls on a
true instance of its pattern's motif, +-3 nt, right strand).

Usage (small, 1 thread):
    python benchmarks/motif_discovery.py --n 10000 --patience 3 --modisco
Options: --activations relu exponential, --seeds 0 1 2, --dataset multitask_motifs (per task),
--dataset zbed2 (real ChIP-seq: IRF/ISRE match of the top pattern). Trained models and maps are
cached under --cache. Prints a table and writes <out>/motif_discovery.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

ZBED2 = Path(__file__).resolve().parents[1].parent / "shared/data/genomics/ZBED2_400_h3k27ac.h5"


# ----------------------------------------------------------------------------------- data & maps
def load_data(dataset: str, n: int, seed: int):
    from seqlens.io.hdf5 import load_dataset
    from seqlens.simulate import multitask_motifs, regulatory_code

    if dataset == "regulatory_code":
        return regulatory_code(n=n, length=200, random_state=seed)
    if dataset == "multitask_motifs":
        return multitask_motifs(n=n, length=200, random_state=seed)
    if dataset == "zbed2":
        return load_dataset(ZBED2)
    raise SystemExit(f"unknown dataset {dataset!r}")


def train(data, dataset: str, activation: str, seed: int, args, run: Path):
    """Train (or load from ``run``) the dataset's model to early stopping."""
    from seqlens.models import build_model, load_model, save_model
    from seqlens.train import evaluate, fit

    if (run / "manifest.json").exists():
        model = load_model(run)
        info = json.loads(run.with_suffix(".json").read_text())
        print(f"loaded {run}: {info}", flush=True)
        return model, info
    arch = "residualbind_dna400" if dataset == "zbed2" else "cnn_local"
    model = build_model(arch, activation=activation, seq_length=data.seq_length,
                        n_outputs=data.n_tasks, random_state=seed)
    t0 = time.perf_counter()
    res = fit(model, data.train, data.valid, loss="bce", epochs=args.epochs, batch_size=100,
              patience=args.patience, lr_patience=max(1, args.patience - 1), random_state=seed,
              verbose=False)
    test = evaluate(model, data.test, per_task=dataset == "multitask_motifs")
    info = {"model": arch, "activation": activation, "seed": seed, "epochs_run": len(res.history),
            "best_epoch": res.best_epoch, "stopped_early": res.stopped_early,
            "test_auroc": test.get("test_auroc"), "seconds_train": time.perf_counter() - t0}
    save_model(model, run, metadata=info)
    run.with_suffix(".json").write_text(json.dumps(info))
    print(f"trained {run}: {info}", flush=True)
    return model, info


def attribution_maps(model, X, target, args, path: Path) -> dict:
    """DeepSHAP hypothetical contributions and saliency (plain, corrected) of every sequence,
    cached in ``path`` (npz)."""
    from seqlens.attribution import deep_lift_shap, saliency
    from seqlens.attribution._utils import correct_gradients

    if path.exists():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        shap = deep_lift_shap(model, X, target=target, hypothetical=True,
                              n_shuffles=args.n_shuffles, batch_size=32, random_state=0)
    t1 = time.perf_counter()
    grad = saliency(model, X, target=target, batch_size=256)
    maps = {"deepshap": np.asarray(shap, np.float32), "saliency": np.asarray(grad, np.float32),
            "saliency_corrected": np.asarray(correct_gradients(grad), np.float32)}
    print(f"maps of {len(X)} sequences: deepshap {t1 - t0:.1f} s, saliency "
          f"{time.perf_counter() - t1:.1f} s", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **maps)
    return maps


def prepare(args, dataset: str, activation: str, seed: int):
    """Data, model info and maps of one (dataset, activation, seed), cached under --cache."""
    import torch

    torch.manual_seed(seed)
    data = load_data(dataset, args.n, args.data_seed)
    tag = f"{dataset}_{activation}_s{seed}_n{args.n}"
    run = Path(args.cache) / tag
    model, info = train(data, dataset, activation, seed, args, run)
    targets = range(data.n_tasks) if dataset == "multitask_motifs" else [0]
    maps = {t: attribution_maps(model, data.test.X, t, args, Path(args.cache) / f"{tag}_maps_t{t}.npz")
            for t in targets}
    return data, info, maps


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--dataset", default="regulatory_code",
                   choices=("regulatory_code", "multitask_motifs", "zbed2"))
    p.add_argument("--n", type=int, default=10000, help="simulated sequences (test = 20%%)")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--activations", nargs="+", default=["exponential"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--maps", nargs="+", default=["deepshap", "saliency_corrected"],
                   choices=("deepshap", "saliency", "saliency_corrected"))
    p.add_argument("--n-shuffles", type=int, default=10, help="DeepSHAP references")
    p.add_argument("--modisco", action="store_true", help="also run modisco-lite (if installed)")
    p.add_argument("--prep-only", action="store_true", help="train and compute maps only")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--cache", default="/tmp/motif_bench")
    p.add_argument("--out", default="out/bench/motif_discovery")
    args = p.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    for act in args.activations:
        for seed in args.seeds:
            prepare(args, args.dataset, act, seed)
    if args.prep_only:
        return {}
    raise SystemExit("discovery stage not written yet")


if __name__ == "__main__":
    main()
