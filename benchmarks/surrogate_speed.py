"""Surrogate models (SQUID-style): speed on a cnn-local-sized model, and ground truth vs saliency.

Part 1 (speed, always): a 100,000-variant random library (rate 0.1) of a 200-nt sequence is
queried through ``cnn_local`` (trained checkpoint if available, else random weights: the cost is
the same), then an additive GE surrogate and the ridge baseline are fitted on the whole sequence and
scored on held-out variants; then a pairwise GE surrogate on a 40-nt window (library of the same
size around the same sequence). Goal: library + query + additive fit under 3 minutes on 2 cores.

Part 2 (ground truth, when a trained checkpoint exists or ``--train`` is given): on a ``cnn_local``
trained on ``regulatory_code``, an additive GE surrogate per sequence (``--n-attr`` variants) for
``--n-seqs`` positive test sequences; per-position scores (L2 norm of theta in the uniform gauge)
vs saliency (gradient-corrected, observed letter), per-sequence ground-truth AUROC protocol (a).

Published reference (SQUID, AP-1 benchmark, held-out variants): GE additive Pearson r 0.855 vs
ridge 0.699.

Usage: python benchmarks/surrogate_speed.py [--n 100000] [--threads 2] [--run RUN_DIR] [--train]
       [--n-seqs 50] [--n-attr 10000] [--skip-auroc] [--out out/bench/surrogate_speed]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from seqlens.interpret.surrogate import (
    RidgeSurrogate,
    Surrogate,
    mutagenesis_library,
    predict_library,
    surrogate_attributions,
)
from seqlens.io.atomic import write_json

DEFAULT_RUN = "out/bench/gia_regulatory_code/run"  # cnn_local on regulatory_code (n 20000, seed 0)


def _split(n, seed, test_fraction=0.1):
    rng = np.random.default_rng(seed)
    perm = 1 + rng.permutation(n - 1)
    k = int(round(test_fraction * (n - 1)))
    return np.concatenate([[0], np.sort(perm[k:])]), np.sort(perm[:k])


def speed(model, seq: str, n: int, seed: int, batch_size: int, device, res: dict) -> None:
    t0 = time.perf_counter()
    lib = mutagenesis_library(seq, n=n, rate=0.1, random_state=seed)
    res["seconds_library"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    y = predict_library(model, lib, target=0, batch_size=batch_size, device=device, verbose=True)
    res["seconds_query"] = time.perf_counter() - t0
    res["query_variants_per_second"] = n / res["seconds_query"]
    train, test = _split(n, seed)
    codes = lib.codes.astype(np.int64)
    t0 = time.perf_counter()
    ge = Surrogate(kind="additive", random_state=seed, verbose=True).fit(codes[train], y[train])
    res["seconds_additive_fit"] = time.perf_counter() - t0
    res["additive_epochs"] = ge.n_epochs_
    res["seconds_library_query_additive_fit"] = (res["seconds_library"] + res["seconds_query"]
                                                 + res["seconds_additive_fit"])
    for k, v in ge.fit_quality(codes[test], y[test]).items():
        if k != "n":
            res[f"additive_ge_{k}"] = v
    t0 = time.perf_counter()
    ridge = RidgeSurrogate(kind="additive", random_state=seed).fit(codes[train], y[train])
    res["seconds_ridge_fit"] = time.perf_counter() - t0
    res["ridge_alpha"] = ridge.alpha_
    for k, v in ridge.fit_quality(codes[test], y[test]).items():
        if k != "n":
            res[f"ridge_{k}"] = v
    t0 = time.perf_counter()
    lin = Surrogate(kind="additive", link="linear", random_state=seed).fit(codes[train], y[train])
    res["seconds_linear_fit"] = time.perf_counter() - t0
    res["linear_pearson_r"] = lin.score(codes[test], y[test])
    # pairwise on a 40-nt window in the middle
    s, e = 80, 120
    t0 = time.perf_counter()
    plib = mutagenesis_library(seq, n=n, rate=0.1, window=(s, e), random_state=seed + 1)
    py = predict_library(model, plib, target=0, batch_size=batch_size, device=device, verbose=True)
    res["seconds_pairwise_query"] = time.perf_counter() - t0
    pcodes = plib.window_codes.astype(np.int64)
    t0 = time.perf_counter()
    pw = Surrogate(kind="pairwise", random_state=seed, verbose=True).fit(pcodes[train], py[train])
    res["seconds_pairwise_fit"] = time.perf_counter() - t0
    res["pairwise_epochs"] = pw.n_epochs_
    res["pairwise_n_duplicates"] = pw.n_duplicates_
    for k, v in pw.fit_quality(pcodes[test], py[test]).items():
        if k != "n":
            res[f"pairwise_ge_{k}"] = v
    add_w = Surrogate(kind="additive", random_state=seed).fit(pcodes[train], py[train])
    res["window_additive_ge_pearson_r"] = add_w.score(pcodes[test], py[test])


def ground_truth(model, data, n_seqs: int, n_attr: int, seed: int, batch_size: int, device,
                 res: dict, rate: float = 0.1) -> None:
    from seqlens.attribution import saliency
    from seqlens.interpret.metrics import auroc_aupr, position_scores

    test = data.test
    pos = np.flatnonzero(test.Y[:, 0] > 0.5)[:n_seqs]
    X, truth = test.X[pos], test.truth[pos]
    t0 = time.perf_counter()
    sal = saliency(model, X, target=0, correct=True, device=device)
    sal = sal.detach().cpu().numpy() if hasattr(sal, "detach") else np.asarray(sal)
    res["seconds_saliency"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sur = surrogate_attributions(model, X, n=n_attr, rate=rate, gauge="uniform", target=0,
                                 batch_size=batch_size, device=device, random_state=seed, verbose=True)
    res["seconds_surrogate_attributions"] = time.perf_counter() - t0
    res["n_sequences"] = len(pos)
    res["n_variants_per_sequence"] = n_attr
    res["attribution_mutation_rate"] = rate
    for name, scores in {
        "saliency": position_scores(sal, X, "observed"),
        "saliency_l2": position_scores(sal, X, "l2"),
        "surrogate": position_scores(sur, X, "l2"),
        "surrogate_observed": position_scores(sur, X, "observed"),
    }.items():
        roc, pr = auroc_aupr(scores, truth, "a")
        res[f"{name}_auroc"] = float(np.nanmean(roc))
        res[f"{name}_aupr"] = float(np.nanmean(pr))
        res[f"{name}_auroc_per_sequence"] = roc
    res["surrogate_auroc_wins"] = int(np.nansum(res["surrogate_auroc_per_sequence"]
                                                > res["saliency_auroc_per_sequence"]))


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=100000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--run", default=DEFAULT_RUN, help="trained cnn_local checkpoint (regulatory_code)")
    p.add_argument("--train", action="store_true", help="train cnn_local when --run does not exist")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--data-n", type=int, default=20000, help="regulatory_code size (must match --run)")
    p.add_argument("--n-seqs", type=int, default=50)
    p.add_argument("--n-attr", type=int, default=10000)
    p.add_argument("--attr-rate", type=float, default=0.1, help="mutation rate of the per-sequence libraries")
    p.add_argument("--skip-speed", action="store_true")
    p.add_argument("--skip-auroc", action="store_true")
    p.add_argument("--out", default="out/bench/surrogate_speed")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from seqlens.models import build_model, load_model, save_model

    run = Path(args.run)
    trained = (run / "config.json").exists()
    data = None
    if trained:
        model = load_model(run)
    else:
        model = build_model("cnn_local", seq_length=200, n_outputs=1, random_state=args.seed)
    if not args.skip_auroc and (trained or args.train):
        from seqlens.simulate import regulatory_code

        data = regulatory_code(n=args.data_n, length=200, random_state=args.seed)
        if not trained:
            from seqlens.train import fit

            fit(model, data.train, data.valid, epochs=args.epochs, patience=5, random_state=args.seed,
                device=args.device, verbose=True)
            save_model(model, run, metadata={"dataset": "regulatory_code", "n": args.data_n})
            trained = True
    model.eval()
    res: dict = {"model": "cnn_local", "trained": trained, "n_variants": args.n, "threads": args.threads,
                 "seq_length": 200, "pairwise_window": 40}
    if not args.skip_speed:
        if data is not None:
            seq_x = data.test.X[int(np.flatnonzero(data.test.Y[:, 0] > 0.5)[0])]
            seq = "".join("ACGT"[i] for i in seq_x.argmax(0))
        else:
            seq = "".join(np.random.default_rng(args.seed).choice(list("ACGT"), 200))
        speed(model, seq, args.n, args.seed, args.batch_size, args.device, res)
        res["goal_under_180_seconds"] = bool(res["seconds_library_query_additive_fit"] < 180)
    if data is not None:
        ground_truth(model, data, args.n_seqs, args.n_attr, args.seed, args.batch_size, args.device, res,
                     rate=args.attr_rate)
    res["published_ap1_ge_additive_pearson_r"] = 0.855
    res["published_ap1_ridge_pearson_r"] = 0.699
    write_json(out / "metrics.json", res)
    for k, v in res.items():
        if not isinstance(v, np.ndarray):
            print(f"  {k:<40} {v:.4g}" if isinstance(v, float) else f"  {k:<40} {v}")
    return res


if __name__ == "__main__":
    main()
