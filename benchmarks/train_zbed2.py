"""ResidualBind on real ChIP-seq (ZBED2, 400 nt, H3K27ac): test AUROC with relu vs exponential
first-layer activation, with and without EvoAug (two-stage: augmented training, then fine-tune).

Usage: python benchmarks/train_zbed2.py [--data FILE.h5] [--out DIR] [--epochs 25]
Prints a table and writes ``<out>/train_zbed2.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from seqlens.io.atomic import write_json
from seqlens.io.hdf5 import load_dataset
from seqlens.models import build_model
from seqlens.train import EvoAug, evaluate, fit

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared/data/genomics/ZBED2_400_h3k27ac.h5"


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=str(DEFAULT))
    p.add_argument("--out", default="out/bench")
    p.add_argument("--epochs", type=int, default=25)
    p.add_argument("--patience", type=int, default=5)
    p.add_argument("--finetune-epochs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--configs", default="relu,exponential,relu_evoaug,exponential_evoaug",
                   help="comma list of ACTIVATION[_evoaug]")
    p.add_argument("--verbose", action="store_true", help="progress bar per run")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = load_dataset(args.data)
    rows = {}
    for config in args.configs.split(","):
        activation, evoaug = config.removesuffix("_evoaug"), config.endswith("_evoaug")
        model = build_model("residualbind_dna400", seq_length=data.seq_length,
                            n_outputs=data.n_tasks, activation=activation,
                            random_state=args.seed)
        kw = dict(augment=EvoAug(max_augs_per_seq=2), finetune_epochs=args.finetune_epochs,
                  finetune_lr=1e-4) if evoaug else {}
        t0 = time.perf_counter()
        res = fit(model, data.train, data.valid, loss="bce", epochs=args.epochs, lr=1e-3,
                  patience=args.patience, lr_patience=3, batch_size=128,
                  random_state=args.seed, verbose=args.verbose, **kw)
        seconds = time.perf_counter() - t0
        test = evaluate(model, data.test)
        key = f"{activation}{'_evoaug' if evoaug else ''}"
        rows[key] = {"test_auroc": test["test_auroc"], "test_aupr": test["test_aupr"],
                     "best_epoch": res.best_epoch, "epochs_run": len(res.history),
                     "seconds": seconds}
        print(f"{key:<20} test_auroc {test['test_auroc']:.4f}  test_aupr "
              f"{test['test_aupr']:.4f}  epochs {len(res.history):3d}  {seconds:7.1f} s",
              flush=True)
    flat = {f"{k}_{m}": v for k, r in rows.items() for m, v in r.items()}
    flat.update({"model": "residualbind_dna400", "data": str(args.data), "seed": args.seed,
                 "threads": args.threads})
    write_json(Path(args.out) / "train_zbed2.json", flat)
    return flat


if __name__ == "__main__":
    main()
