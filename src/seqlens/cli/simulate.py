"""``seqlens simulate NAME --out FILE.h5``: write a named synthetic dataset and summarise it.

Prints the class balance per task and split and the histogram of motifs per sequence, and writes the
same figures as flat keys to ``FILE.h5.metrics.json`` beside the HDF5 file. The run works in
``FILE.h5.partial/`` and publishes both files at the end; ``--resume`` reuses a dataset that a
killed run with the same settings had already written there.
"""

from __future__ import annotations

import re

from seqlens.cli.common import add_resume_option, nonnegative_int, positive_int

NAMES = ("multitask_motifs", "regulatory_code", "motif_interactions")


def register(sub) -> None:
    p = sub.add_parser("simulate", help="simulate a named dataset with ground truth (HDF5)",
                       description="Simulate a named synthetic dataset with ground truth and save it "
                                   "in the HDF5 layout (X/Y/model per split).")
    p.add_argument("name", choices=NAMES, help="dataset recipe")
    p.add_argument("--out", required=True,
                   help="output HDF5 file (its metrics go to <out>.metrics.json beside it)")
    p.add_argument("--n", type=positive_int, default=None,
                   help="number of sequences (default: the recipe's)")
    p.add_argument("--length", type=positive_int, default=None,
                   help="sequence length (default 200)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (default 0)")
    add_resume_option(p)
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


def _resumable(path, args):
    """The dataset a killed run with the same settings left at ``path``, or None."""
    import inspect

    from seqlens.errors import SeqlensError
    from seqlens.io.hdf5 import load_dataset
    from seqlens.simulate.datasets import DATASETS

    if not path.is_file():
        return None
    defaults = inspect.signature(DATASETS[args.name]).parameters
    want = {"name": args.name, "seed": args.seed,
            "n": args.n if args.n is not None else defaults["n"].default,
            "length": args.length if args.length is not None else defaults["length"].default}
    try:
        dataset = load_dataset(path)
    except SeqlensError:
        return None  # unreadable: simulate again
    return dataset if all(dataset.metadata.get(k) == v for k, v in want.items()) else None


def run(args) -> int:
    import time

    from seqlens.cli.common import metrics_path
    from seqlens.io.atomic import check_output_path, output_file, partial_path, write_json
    from seqlens.io.hdf5 import save_dataset
    from seqlens.simulate.datasets import simulate_dataset

    out = check_output_path(args.out, "file")
    seed = args.seed
    t0 = time.perf_counter()
    dataset = _resumable(partial_path(out) / out.name, args) if args.resume else None
    reused = dataset is not None
    if not reused:
        dataset = simulate_dataset(args.name, n=args.n, length=args.length, random_state=seed)
    seconds_simulate = time.perf_counter() - t0
    with output_file(out, resume=args.resume) as work:
        if not reused:
            save_dataset(work / out.name, dataset)
        metrics = summarize(dataset)
        metrics["seed"] = seed
        metrics["seconds_simulate"] = round(seconds_simulate, 3)
        metrics["seconds"] = round(time.perf_counter() - t0, 3)
        write_json(metrics_path(work, out), metrics)
    _print_summary(args.name, dataset, metrics, out, reused)
    return 0


def _print_summary(name, dataset, metrics: dict, out, reused: bool) -> None:
    from seqlens.io.hdf5 import SPLITS

    how = "reused from the unfinished run" if reused else f"seed {metrics['seed']}"
    print(f"{name}: {metrics['n_sequences']} sequences x {metrics['length']} "
          f"(train {metrics['n_train']}, valid {metrics['n_valid']}, test {metrics['n_test']}), "
          f"{how} -> {out}")
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
