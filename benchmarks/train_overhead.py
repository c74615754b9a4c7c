"""What `seqlens train` costs over a plain PyTorch loop doing the same work, start-up included.

Both sides run as fresh processes on the same HDF5 file (``seqlens simulate regulatory_code``,
``--n`` sequences): build ``cnn_local`` (seed 0), Adam (lr 1e-3), BCE, batch 100, ``--epochs``
epochs, then AUROC on the validation and test splits. The plain loop is the few lines a user would
write (h5py, ``torch.optim.Adam``, scikit-learn's ``roc_auc_score``); ``seqlens train`` also writes
its run folder (history, curves, metrics, the checkpoint). Rounds alternate the order of the two;
the ratio is the median of the per-round ratios of whole-process CPU seconds (user + system, what
a shared machine disturbs least) and of wall seconds. One thread each (``--threads``).

Usage: python benchmarks/train_overhead.py [--n 2000] [--epochs 1] [--rounds 3] [--out DIR]
Prints a table and writes ``<out>/train_overhead.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from seqlens.io.atomic import write_json

PLAIN_LOOP = '''
import sys
import h5py, numpy as np, torch
from sklearn.metrics import roc_auc_score
from seqlens.models import build_model
path, epochs, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(0)
with h5py.File(path, "r") as f:
    d = {k: torch.from_numpy(np.asarray(f[k], dtype=np.float32)) for k in f if k[:2] in ("X_", "Y_")}
model = build_model("cnn_local", seq_length=d["X_train"].shape[-1], n_outputs=d["Y_train"].shape[1],
                    random_state=0)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = torch.nn.BCEWithLogitsLoss()
for _ in range(epochs):
    model.train()
    perm = torch.randperm(len(d["X_train"]))
    for s in range(0, len(perm), 100):
        i = perm[s:s + 100]
        opt.zero_grad()
        loss_fn(model(d["X_train"][i]), d["Y_train"][i]).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        roc_auc_score(d["Y_valid"].numpy().ravel(), model(d["X_valid"]).numpy().ravel())
with torch.no_grad():
    roc_auc_score(d["Y_test"].numpy().ravel(), model(d["X_test"]).numpy().ravel())
'''


def timed(cmd: list[str]) -> tuple[float, float]:
    """``(CPU seconds, wall seconds)`` of one child process running ``cmd`` (fails loudly)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000, help="regulatory_code sequences")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="out/bench")
    args = p.parse_args(argv)
    seqlens = [sys.executable, "-c", "import sys; from seqlens.cli import main; sys.exit(main())"]
    with tempfile.TemporaryDirectory() as tmp:
        data, loop = Path(tmp, "rc.h5"), Path(tmp, "plain_loop.py")
        subprocess.run([*seqlens, "simulate", "regulatory_code", "--n", str(args.n), "--out", str(data)],
                       check=True, stdout=subprocess.DEVNULL)
        loop.write_text(PLAIN_LOOP)
        arms = {
            "seqlens train": lambda r: [*seqlens, "train", "--data", str(data), "--model", "cnn_local",
                                        "--out", str(Path(tmp, f"run{r}")), "--epochs", str(args.epochs),
                                        "--batch-size", "100", "--lr", "1e-3", "--threads",
                                        str(args.threads), "--quiet"],
            "plain PyTorch loop": lambda r: [sys.executable, str(loop), str(data), str(args.epochs),
                                             str(args.threads)],
        }
        rounds = []
        for r in range(args.rounds):
            order = list(arms) if r % 2 == 0 else list(arms)[::-1]
            got = {name: timed(arms[name](r)) for name in order}
            rounds.append({name: {"cpu_seconds": c, "wall_seconds": w} for name, (c, w) in got.items()})
            shown = ", ".join(f"{k} {c:.2f} CPU-s / {w:.2f} s" for k, (c, w) in got.items())
            print(f"round {r + 1}: {shown}", flush=True)
    ours, peer = "seqlens train", "plain PyTorch loop"
    ratio_cpu = statistics.median(x[ours]["cpu_seconds"] / x[peer]["cpu_seconds"] for x in rounds)
    ratio_wall = statistics.median(x[ours]["wall_seconds"] / x[peer]["wall_seconds"] for x in rounds)
    load = list(os.getloadavg())
    print(f"\ntorch {torch.__version__}, python {platform.python_version()}, {args.threads} thread(s), "
          f"regulatory_code n={args.n}, cnn_local, batch 100, {args.epochs} epoch(s), load {load}")
    print("| work | ours / plain loop, CPU | wall |\n|---|---|---|")
    print(f"| `seqlens train` vs a plain PyTorch loop, whole process | {ratio_cpu:.3f} | {ratio_wall:.3f} |")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "train_overhead.json", {
        "torch": torch.__version__, "python": platform.python_version(), "threads": args.threads,
        "n": args.n, "epochs": args.epochs, "load_average": load, "rounds": rounds,
        "cpu_ratio_seqlens_train_vs_plain_loop": ratio_cpu,
        "time_ratio_seqlens_train_vs_plain_loop": ratio_wall,
    })


if __name__ == "__main__":
    main()
