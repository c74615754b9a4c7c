"""Training speed of the zoo on this machine, and time to early stop on the regulatory code.

1. Throughput: training sequences per second (Adam step, batch 128, BCE, 200-nt inputs, one
   output) for every architecture/preset of the zoo, measured over at least ``--min-seconds``.
2. Early stop: cnn-local with exponential activation (and relu as the peer in the same run) on
   ``regulatory_code(n=20000, random_state=0)`` (70/10/20 split); wall time until early stopping
   (patience 10 on validation AUROC, reduce-on-plateau 3), process CPU time (less sensitive to
   other load on a shared machine) and test AUROC.

Usage: python benchmarks/train_speed.py [--out DIR] [--threads 2] [--skip-throughput]
Prints tables and writes ``<out>/train_speed.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from seqlens.io.atomic import write_json
from seqlens.models import build_model, count_parameters, list_models
from seqlens.train import evaluate, fit


def throughput(name: str, batch_size: int = 128, length: int = 200, min_seconds: float = 2.0,
               device=None) -> tuple[float, int]:
    """``(training sequences per second, parameters)`` of one zoo model (random batch)."""
    model = build_model(name, seq_length=length, n_outputs=1, random_state=0).to(device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    idx = torch.randint(4, (batch_size, length), generator=torch.Generator().manual_seed(0))
    X = torch.nn.functional.one_hot(idx, 4).transpose(1, 2).float().to(device)
    Y = (torch.rand(batch_size, 1) > 0.5).float().to(device)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(X), Y).backward()
        opt.step()

    step()  # warm-up
    n, t0 = 0, time.perf_counter()
    while n < 3 or time.perf_counter() - t0 < min_seconds:
        step()
        n += 1
    return n * batch_size / (time.perf_counter() - t0), count_parameters(model)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", default="out/bench")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--n", type=int, default=20000, help="regulatory_code size")
    p.add_argument("--min-seconds", type=float, default=2.0)
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--skip-early-stop", action="store_true")
    p.add_argument("--activations", default="exponential,relu")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    result = {"threads": args.threads, "batch_size": 128, "length": 200}
    if not args.skip_throughput:
        print(f"{'model':<22}{'params':>10}{'train seq/s':>14}")
        for name in list_models():
            rate, params = throughput(name, min_seconds=args.min_seconds)
            result[f"{name}_train_sequences_per_second"] = rate
            result[f"{name}_n_parameters"] = params
            print(f"{name:<22}{params:>10}{rate:>14.0f}", flush=True)
    if not args.skip_early_stop:
        from seqlens.simulate import regulatory_code

        t0 = time.perf_counter()
        data = regulatory_code(n=args.n, length=200, random_state=0)
        result["simulate_seconds"] = time.perf_counter() - t0
        print(f"\nregulatory_code n={args.n}: {len(data.train)} train / {len(data.valid)} valid / "
              f"{len(data.test)} test; simulated in {result['simulate_seconds']:.1f} s")
        print(f"{'cnn_local':<22}{'test_auroc':>11}{'epochs':>8}{'best':>6}{'wall s':>9}{'cpu s':>9}")
        for act in args.activations.split(","):
            model = build_model("cnn_local", activation=act, random_state=0)
            t0, c0 = time.perf_counter(), time.process_time()
            res = fit(model, data.train, data.valid, epochs=100, batch_size=128, lr=1e-3,
                      patience=10, lr_patience=3, random_state=0)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            test = evaluate(model, data.test)
            key = f"cnn_local_{act}"
            result.update({f"{key}_test_auroc": test["test_auroc"],
                           f"{key}_test_aupr": test["test_aupr"],
                           f"{key}_epochs_run": len(res.history),
                           f"{key}_best_epoch": res.best_epoch,
                           f"{key}_seconds_to_early_stop": wall,
                           f"{key}_cpu_seconds_to_early_stop": cpu})
            print(f"{act:<22}{test['test_auroc']:>11.4f}{len(res.history):>8}{res.best_epoch:>6}"
                  f"{wall:>9.1f}{cpu:>9.1f}", flush=True)
        if {"cnn_local_exponential_seconds_to_early_stop",
                "cnn_local_relu_seconds_to_early_stop"} <= set(result):
            result["early_stop_time_ratio_exponential_vs_relu"] = (
                result["cnn_local_exponential_seconds_to_early_stop"]
                / result["cnn_local_relu_seconds_to_early_stop"])
    write_json(Path(args.out) / "train_speed.json", result)
    return result


if __name__ == "__main__":
    main()
