"""``seqlens simulate NAME --out FILE.h5``: write a named synthetic dataset and summarise it.

Prints the class balance per task and split and the histogram of motifs per sequence, and writes the
same figures as flat keys to ``metrics.json`` beside the HDF5 file.
"""

from __future__ import annotations

import re

NAMES = ("multitask_motifs", "regulatory_code", "motif_interactions")


def register(sub) -> None:
    p = sub.add_parser("simulate", help="simulate a named dataset with ground truth (HDF5)",
                       description="Simulate a named synthetic dataset with ground truth and save it "
                                   "in the HDF5 layout (X/Y/model per split).")
    p.add_argument("name", choices=NAMES, help="dataset recipe")
    p.add_argument("--out", required=True, help="output HDF5 file (metrics.json is written beside it)")
    p.add_argument("--n", type=int, default=None, help="number of sequences (default: the recipe's)")
    p.add_argument("--length", type=int, default=None, help="sequence length (default 200)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=run)


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).lower()).strip("_")


def summarize(dataset) -> dict:
    """Flat metrics of a simulated dataset: sizes, positive fraction per task (overall and per split),
    motifs-per-sequence histogram."""
    import numpy as np

    from seqlens.io.hdf5 import SPLITS
    from seqlens.simulate.datasets import instance_table

    meta = dataset.metadata
    tasks = meta.get("tasks") or [f"task_{i}" for i in range(dataset.n_tasks)]
    n_split = {s: len(dataset.split(s)) for s in SPLITS}
    n = sum(n_split.values())
    m = {"dataset": meta.get("name", ""), "n_sequences": n,
         **{f"n_{s}": k for s, k in n_split.items()}, "length": dataset.seq_length, "n_tasks": len(tasks)}
    Y_all = np.concatenate([dataset.split(s).Y for s in SPLITS])
    for j, task in enumerate(tasks):
        key = _snake(task)
        m[f"positive_fraction_{key}"] = float(Y_all[:, j].mean())
        for s in SPLITS:
            m[f"positive_fraction_{key}_{s}"] = float(dataset.split(s).Y[:, j].mean())
    if "instance_split" in dataset.extras:
        tab = instance_table(dataset)
        per_seq = np.zeros(n, dtype=np.int64)
        offset = {"train": 0, "valid": n_split["train"], "test": n_split["train"] + n_split["valid"]}
        idx = tab["seq"].to_numpy() + tab["split"].map(offset).to_numpy()
        np.add.at(per_seq, idx, 1)
        m["n_instances"] = int(len(tab))
        m["mean_motifs_per_sequence"] = float(per_seq.mean())
        for k, c in enumerate(np.bincount(per_seq)):
            if c:
                m[f"motifs_per_sequence_{k}"] = int(c)
        if "core" in tab:
            m["core_instance_fraction"] = float(tab["core"].mean())
    return m


def run(args) -> int:
    import time
    from pathlib import Path

    from seqlens.io.atomic import write_json
    from seqlens.io.hdf5 import SPLITS, save_dataset
    from seqlens.simulate.datasets import simulate_dataset

    out = Path(args.out)
    n = getattr(args, "n", None)
    length = getattr(args, "length", None)
    seed = getattr(args, "seed", 0)
    t0 = time.perf_counter()
    dataset = simulate_dataset(args.name, n=n, length=length, random_state=seed)
    seconds_simulate = time.perf_counter() - t0
    save_dataset(out, dataset)
    metrics = summarize(dataset)
    metrics["seed"] = seed
    metrics["seconds_simulate"] = round(seconds_simulate, 3)
    metrics["seconds"] = round(time.perf_counter() - t0, 3)

    print(f"{args.name}: {metrics['n_sequences']} sequences x {metrics['length']} "
          f"(train {metrics['n_train']}, valid {metrics['n_valid']}, test {metrics['n_test']}), "
          f"seed {seed} -> {out}")
    tasks = dataset.metadata.get("tasks", [])
    width = max([len(t) for t in tasks] + [4])
    print("\nclass balance (fraction positive)")
    print(f"  {'task':<{width}}  {'all':>6}  " + "  ".join(f"{s:>6}" for s in SPLITS))
    for task in tasks:
        key = _snake(task)
        row = "  ".join(f"{metrics[f'positive_fraction_{key}_{s}']:6.3f}" for s in SPLITS)
        print(f"  {task:<{width}}  {metrics[f'positive_fraction_{key}']:6.3f}  {row}")
    hist = {int(k.rsplit("_", 1)[1]): v for k, v in metrics.items() if k.startswith("motifs_per_sequence_")}
    if hist:
        print("\nmotifs per sequence")
        print(f"  {'motifs':>6}  {'sequences':>9}  {'fraction':>8}")
        for k in sorted(hist):
            print(f"  {k:>6}  {hist[k]:>9}  {hist[k] / metrics['n_sequences']:8.3f}")
        print(f"  mean {metrics['mean_motifs_per_sequence']:.3f} motifs, {metrics['n_instances']} instances")
    print(f"\n{metrics['seconds_simulate']:.2f} s to simulate, {metrics['seconds']:.2f} s in all")
    write_json(out.parent / "metrics.json", metrics)
    return 0
