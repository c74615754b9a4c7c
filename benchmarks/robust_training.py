"""Robust training vs attribution quality on the regulatory code (Koo et al. 2019, bioRxiv 657437;
Labelson, Tripathy & Koo 2021; Majdandzic et al. MLCB 2022).

cnn-local (relu and exponential first layer) trained on ``regulatory_code`` at several training-set
sizes (default 20,000 and 5,000: the claim is strongest for small data), each regime with several
seeds (default 5), to early stopping:

* ``standard``   the shared recipe below;
* ``pgd_0.05``   PGD adversarial training as the Koo lab's code (:func:`seqlens.train.adversarial.
  published_pgd`: PGD on the BCE loss from the one-hot input, 20 steps of 0.01 x sign, L-inf box
  0.05 around the one-hot and no other clip; 10 clean epochs, 25 clean + adversarial, then
  adversarial only; early stopping in the adversarial phase only);
* ``pgd_0.01``   the same with epsilon 0.01 (steps of 0.002);
* ``noise``      Gaussian input noise, sigma 0.1, on every training batch;
* ``evoaug``     EvoAug two-stage (the EvoAug ChIP-seq recipe, p-koo/evoaug chip_analysis.py: RC 0.5,
  deletion/insertion/translocation 0-20 nt, noise 0.2, mutation 5%, 1-3 augmentations per sequence;
  then 5 epochs fine-tuning on the original data at learning rate 1e-4);
* ``mixup``      manifold mixup, Beta(1, 1) weights (Labelson et al.'s alpha), at one fixed hidden layer
  (``--mixup-layer``, default the first conv layer's pooled output; Labelson et al. draw the layer per
  batch and add the clean loss; seqlens' fit mixes one named layer and trains on the mixed loss only);
* ``l2_dropout`` conventional regularisation tuned on validation AUROC (seed ``--tune-seed``, not an
  evaluation seed): Adam L2 (``weight_decay``) over ``--l2-grid`` x conv dropout over
  ``--dropout-grid`` (``preset`` = cnn-local's 0.1/0.2; 0.4 = Labelson et al.'s setting), then the
  evaluation seeds with the best pair.

Shared recipe (p-koo/robustness synthetic_cnn_train.py / synthetic_cnn_robust_train.py): batch 32,
Adam 1e-3, up to 200 epochs (+10 clean epochs for PGD, which tfomics counts outside its 200),
early stopping after 15 epochs without a gain in validation AUROC, learning rate x0.3 after 5
(``lr_patience=4`` in torch's counting), last-epoch weights kept (tfomics restores no best weights).
Seed ``s`` of every regime starts from the same initial weights (``build_model(random_state=s)``), so
regimes are paired by seed. Known differences from the published code: seqlens monitors clean
validation AUROC in every phase (tfomics monitors AUROC on PGD-attacked validation data in its robust
loop) and computes the mixed-phase loss as the mean of a clean and an adversarial forward pass
(tfomics concatenates both halves into one batch, so BatchNorm sees their joint statistics).

Data: one ``regulatory_code`` dataset of ``--n-total`` sequences (default 28,572: 20,000 train /
2,857 valid / 5,715 test); size ``S`` trains on the first ``S`` training sequences; validation, test
and attribution sequences are the same for every size.

Per model: test AUROC/AUPR; saliency, SmoothGrad (50 samples, sigma 0.1), integrated gradients (zero
baseline, 50 steps) and ISM against the ground truth (protocols a and b of
:mod:`seqlens.interpret.metrics`; observed-letter scores, L2 norm for ISM), each gradient method
raw and gradient-corrected, on the first ``--n-attr`` positive test sequences; off-simplex angle
statistics of the saliency gradients; attribution robustness (``1 - corr`` of the position scores
of X and X + N(0, ``--robust-sigma``) on the one-hot, ``--robust-repeats`` draws). Per regime:
attribution consistency (mean pairwise correlation of the position scores of the seeds' models).
For every regime vs standard: the paired difference over seeds (consistency: over sequences) with
its 95% t interval, the paired t test and the Wilcoxon signed-rank test (with 5 pairs Wilcoxon's
smallest possible p is 0.0625).

Resumable: every finished run appends one JSON line to ``<out>/runs.jsonl`` (its position scores go
to ``<out>/maps/``, its training history to ``<out>/history/``, the training state of an unfinished
run to ``<out>/state/``); a rerun skips
finished runs and continues an interrupted one from its last epoch. ``--shard I/K`` runs every K-th
(size, activation, regime) cell starting at I, so K processes can share one GPU and one ``--out``;
``--summary-only`` rebuilds the tables and figure from ``runs.jsonl``.

Outputs in ``--out`` (default out/bench/robust_training/): runs.jsonl, summary.csv (mean/sd per
cell), paired.csv (every regime vs standard, every metric), robust_training.json (flat key figures),
robust_training.png (the paired differences of the key metrics).

The full grid (2 sizes x 2 activations x 7 regimes x 5 seeds), on a GPU::

    python benchmarks/robust_training.py --device cuda --threads 4

A reduced CPU demonstration (epochs capped, PGD schedule shortened: marked ``reduced`` everywhere)::

    python benchmarks/robust_training.py --sizes 5000 --activations relu \\
        --regimes standard pgd_0.05 noise --max-epochs 12 --adv-schedule 3 3 --n-attr 100 \\
        --threads 1 --out out/bench/robust_training_reduced
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

REGIMES = ("standard", "pgd_0.05", "pgd_0.01", "noise", "evoaug", "mixup", "l2_dropout")
METHODS = ("saliency", "smoothgrad", "ig", "ism")
# the shared recipe (keyword arguments of seqlens.train.fit)
RECIPE = dict(epochs=200, batch_size=32, lr=1e-3, patience=15, monitor="auroc", lr_factor=0.3,
              lr_patience=4, restore_best=False)
PUBLISHED_SCHEDULE = (10, 25)
KEY_METRICS = ("test_auroc", "saliency_auroc", "saliency_corrected_auroc", "smoothgrad_auroc",
               "ig_auroc", "ism_auroc", "consistency_saliency", "robustness_saliency",
               "saliency_mean_angle")
# metrics where lower is better (the published direction is a decrease)
LOWER_BETTER = ("robustness_", "_mean_angle", "_median_angle", "_frac_over_")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[20000, 5000],
                   help="training-set sizes (the first S training sequences)")
    p.add_argument("--activations", nargs="+", default=["relu", "exponential"])
    p.add_argument("--regimes", nargs="+", default=list(REGIMES), choices=REGIMES)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--n-total", type=int, default=28572,
                   help="sequences simulated (70/10/20 split; default: 20,000 training sequences)")
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--max-epochs", type=int, default=None,
                   help="REDUCED runs: cap the epochs of the training stage (default: the recipe's)")
    p.add_argument("--adv-schedule", type=int, nargs=2, default=list(PUBLISHED_SCHEDULE),
                   metavar=("CLEAN", "MIXED"),
                   help="PGD schedule: clean epochs, then clean + adversarial epochs (published: 10 25)")
    p.add_argument("--pgd-steps", type=int, default=20, help="PGD steps (published: 20)")
    p.add_argument("--finetune-epochs", type=int, default=5, help="EvoAug fine-tuning epochs")
    p.add_argument("--mixup-alpha", type=float, default=1.0)
    p.add_argument("--mixup-layer", default="dropout1",
                   help="module whose output manifold mixup mixes (cnn-local: dropout1 = first conv "
                        "layer after pooling, blocks.0 = second conv block)")
    p.add_argument("--l2-grid", type=float, nargs="+", default=[1e-6, 1e-5, 1e-4, 1e-3])
    p.add_argument("--dropout-grid", nargs="+", default=["preset", "0.4"],
                   help="conv-layer dropout for l2_dropout tuning ('preset' = 0.1/0.2)")
    p.add_argument("--tune-seed", type=int, default=100)
    p.add_argument("--methods", nargs="+", default=list(METHODS),
                   choices=["saliency", "smoothgrad", "ig", "ism", "eig"])
    p.add_argument("--n-attr", type=int, default=500, help="positive test sequences attributed")
    p.add_argument("--smooth-n", type=int, default=50)
    p.add_argument("--ig-steps", type=int, default=50)
    p.add_argument("--robust-sigma", type=float, default=0.05,
                   help="sd of the Gaussian noise on the one-hot for attribution robustness")
    p.add_argument("--robust-repeats", type=int, default=2)
    p.add_argument("--robust-methods", nargs="+", default=["saliency", "ig"])
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: CUDA if available)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--shard", default="0/1", help="I/K: run every K-th cell starting at I")
    p.add_argument("--summary-only", action="store_true", help="no training: tables from runs.jsonl")
    p.add_argument("--verbose", action="store_true", help="progress bar per training run")
    p.add_argument("--out", default="out/bench/robust_training")
    return p


# ---------------------------------------------------------------------------------------- settings

def _settings(args) -> dict:
    """Everything that changes a run's numbers (not which runs are asked for, nor the device)."""
    keys = ("n_total", "data_seed", "max_epochs", "adv_schedule", "pgd_steps", "finetune_epochs",
            "mixup_alpha", "mixup_layer", "l2_grid", "dropout_grid", "tune_seed", "methods", "n_attr",
            "smooth_n", "ig_steps", "robust_sigma", "robust_repeats", "robust_methods")
    out = {k: getattr(args, k) for k in keys}
    out["recipe"] = RECIPE
    return out


def _reduced(args) -> list[str]:
    """What differs from the published training schedule."""
    notes = []
    if args.max_epochs is not None:
        notes.append(f"epochs capped at {args.max_epochs} (recipe: early stopping, at most 200)")
    if tuple(args.adv_schedule) != PUBLISHED_SCHEDULE:
        notes.append(f"PGD schedule {args.adv_schedule[0]} clean + {args.adv_schedule[1]} mixed epochs "
                     f"(published: 10 + 25)")
    if args.pgd_steps != 20:
        notes.append(f"PGD steps {args.pgd_steps} (published: 20)")
    return notes


def _regime_fit(regime: str, args, tuned: dict | None = None) -> tuple[dict, dict]:
    """(fit keyword arguments, model overrides) of one regime."""
    from seqlens.train import (
        EvoAug,
        RandomDeletion,
        RandomInsertion,
        RandomMutation,
        RandomNoise,
        RandomRC,
        RandomTranslocation,
    )
    from seqlens.train.adversarial import published_pgd

    kw, model = dict(RECIPE), {}
    if regime.startswith("pgd_"):
        adv = published_pgd(float(regime.removeprefix("pgd_")))
        adv.warmup_epochs, adv.mixed_epochs = args.adv_schedule
        if args.pgd_steps != adv.steps:  # keep the published path length, 20 x eps/5 = 4 eps
            adv.steps, adv.step_size = args.pgd_steps, 4 * adv.epsilon / args.pgd_steps
        kw.update(adversarial=adv, epochs=RECIPE["epochs"] + args.adv_schedule[0])
    elif regime == "noise":
        kw.update(noise_std=0.1)
    elif regime == "evoaug":
        augs = [RandomRC(0.5), RandomDeletion(0, 20), RandomInsertion(0, 20), RandomTranslocation(0, 20),
                RandomNoise(0.0, 0.2), RandomMutation(0.05)]
        kw.update(augment=EvoAug(augs, max_augs_per_seq=3, hard_aug=False),
                  finetune_epochs=args.finetune_epochs, finetune_lr=1e-4)
    elif regime == "mixup":
        kw.update(mixup=args.mixup_alpha, mixup_layer=args.mixup_layer)
    elif regime == "l2_dropout":
        if tuned is None:
            raise ValueError("l2_dropout needs its tuned weight_decay and dropout")
        kw.update(weight_decay=tuned["weight_decay"])
        model = _dropout_overrides(tuned["dropout"])
    elif regime != "standard":
        raise ValueError(f"unknown regime {regime!r}")
    if args.max_epochs is not None:
        kw["epochs"] = min(kw["epochs"], args.max_epochs)
    return kw, model


def _dropout_overrides(dropout: str) -> dict:
    if dropout == "preset":
        return {}
    from seqlens.models.zoo import model_config

    d = float(dropout)
    blocks = [{**b, "dropout": d} for b in model_config("cnn_local")["blocks"]]
    return {"dropout": d, "blocks": blocks}


# ---------------------------------------------------------------------------------------- one run

class _Runs:
    """``runs.jsonl``: one line per finished run (or tuning run), appended atomically."""

    def __init__(self, out: Path, settings: dict):
        self.path = out / "runs.jsonl"
        self.settings_id = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
        self.rows: dict[str, dict] = {}
        if self.path.exists():
            text = self.path.read_text()
            lines = text.splitlines()
            for i, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    if i == len(lines) and not text.endswith("\n"):
                        continue  # another shard is writing this line right now
                    sys.exit(f"{self.path}: line {i} is not JSON (a run killed while writing?); "
                             f"remove the line and rerun")
                if row.get("settings_id") != self.settings_id:
                    sys.exit(f"{self.path}: line {i} ({row.get('key')}) was run with other settings "
                             f"(settings_id {row.get('settings_id')} != {self.settings_id}); use another "
                             f"--out or the same options")
                self.rows[row["key"]] = row

    def add(self, row: dict) -> None:
        row = {"settings_id": self.settings_id, **row}
        line = (json.dumps(row, allow_nan=True) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        self.rows[row["key"]] = row


def _key(size, activation, regime, seed, tune: str = "") -> str:
    return f"n{size}_{activation}_{regime}_s{seed}" + (f"_{tune}" if tune else "")


def _train(data, size, activation, seed, fit_kw, model_kw, args, out: Path, key: str):
    """Train one model (resuming ``<out>/state/<key>``); its history goes to ``<out>/history/<key>.json``."""
    from seqlens.io.atomic import write_json
    from seqlens.models import build_model
    from seqlens.train import fit

    model = build_model("cnn_local", activation=activation, random_state=seed, **model_kw)
    cpu0, t0 = time.process_time(), time.perf_counter()
    res = fit(model, (data.train.X[:size], data.train.Y[:size]), (data.valid.X, data.valid.Y),
              random_state=seed, device=args.device, verbose=args.verbose,
              checkpoint_dir=out / "state" / key, resume=True, **fit_kw)
    write_json(out / "history" / f"{key}.json", res.history)
    phases = pd.Series([r.get("phase", "clean") if r["stage"] == "train" else "finetune"
                        for r in res.history]).value_counts().to_dict()
    info = {"epochs_run": len(res.history), "best_epoch": res.best_epoch, "best_valid_auroc": res.best_score,
            "stopped_early": res.stopped_early, "last_valid_auroc": res.history[-1].get("valid_auroc"),
            **{f"epochs_{k}": int(v) for k, v in phases.items()},
            "train_cpu_seconds": time.process_time() - cpu0, "train_seconds": time.perf_counter() - t0}
    return model, info


def _attribution_options(args) -> dict:
    # fixed noise/baselines for every model, so maps differ only through the models
    return {"smoothgrad": dict(n_samples=args.smooth_n, sigma=0.1, random_state=0),
            "ig": dict(steps=args.ig_steps), "eig": dict(random_state=0), "saliency": {}, "ism": {}}


def _interpret(model, X, truth, args) -> tuple[dict, dict]:
    """Ground-truth scores, angle statistics and robustness of one model; position scores per map."""
    from seqlens.attribution import METHODS as FUNCS
    from seqlens.attribution import angle_statistics
    from seqlens.interpret.metrics import evaluate_attribution, position_scores
    from seqlens.interpret.robustness import attribution_robustness

    opts = _attribution_options(args)
    row, scores = {}, {}
    for method in args.methods:
        reduce = "l2" if method == "ism" else "observed"
        for correct in ((False,) if method == "ism" else (False, True)):
            tag = method + ("_corrected" if correct else "")
            kw = dict(opts[method], **({"correct": True} if correct else {}))
            attr = FUNCS[method](model, X, target=0, device=args.device, **kw)
            row.update(evaluate_attribution(attr, X, truth, reduce=reduce, prefix=f"{tag}_"))
            scores[tag] = position_scores(attr, X, reduce).astype(np.float16)
            if method == "saliency" and not correct:
                row.update({f"saliency_{k}": v for k, v in angle_statistics(attr).items()})
            if method in args.robust_methods:
                fn = FUNCS[method]
                row[f"robustness_{tag}"] = attribution_robustness(
                    lambda x, fn=fn, kw=kw: fn(model, x, target=0, device=args.device, **kw), X,
                    sigma=args.robust_sigma, n_repeats=args.robust_repeats, random_state=0,
                    reduce=reduce)
    return row, scores


def _tune(runs: _Runs, data, size, activation, args, out: Path) -> dict:
    """The l2_dropout pair with the best validation AUROC at ``--tune-seed`` (tuning runs are logged)."""
    best = None
    for dropout in args.dropout_grid:
        for wd in args.l2_grid:
            tag = f"tune_wd{wd:g}_do{dropout}"
            key = _key(size, activation, "l2_dropout", args.tune_seed, tag)
            if key not in runs.rows:
                fit_kw, model_kw = _regime_fit("l2_dropout", args, {"weight_decay": wd, "dropout": dropout})
                _, info = _train(data, size, activation, args.tune_seed, fit_kw, model_kw, args, out, key)
                runs.add({"key": key, "kind": "tune", "size": size, "activation": activation,
                          "weight_decay": wd, "dropout": dropout, **info})
                shutil.rmtree(out / "state" / key, ignore_errors=True)
                print(f"  tune {key}: best valid AUROC {info['best_valid_auroc']:.4f}", flush=True)
            r = runs.rows[key]
            if best is None or r["best_valid_auroc"] > best["best_valid_auroc"]:
                best = r
    return {"weight_decay": best["weight_decay"], "dropout": best["dropout"]}


def _run_cell(runs, data, X, truth, size, activation, regime, args, out: Path) -> None:
    from seqlens.io.atomic import atomic_path
    from seqlens.train import evaluate

    tuned = _tune(runs, data, size, activation, args, out) if regime == "l2_dropout" else None
    for seed in args.seeds:
        key = _key(size, activation, regime, seed)
        if key in runs.rows:
            continue
        fit_kw, model_kw = _regime_fit(regime, args, tuned)
        model, info = _train(data, size, activation, seed, fit_kw, model_kw, args, out, key)
        cpu0, t0 = time.process_time(), time.perf_counter()
        test = evaluate(model, (data.test.X, data.test.Y), device=args.device)
        row, scores = _interpret(model, X, truth, args)
        info.update(eval_cpu_seconds=time.process_time() - cpu0, eval_seconds=time.perf_counter() - t0)
        (out / "maps").mkdir(exist_ok=True)
        with atomic_path(out / "maps" / f"{key}.npz") as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, **scores)
        record = {"key": key, "kind": "run", "size": size, "activation": activation, "regime": regime,
                  "seed": seed, "reduced": bool(_reduced(args)),
                  "device": str(next(model.parameters()).device), **(tuned or {}),
                  "test_auroc": test["test_auroc"], "test_aupr": test["test_aupr"], **row, **info}
        runs.add(record)
        shutil.rmtree(out / "state" / key, ignore_errors=True)
        print(f"{key:<34} test {record['test_auroc']:.4f}  saliency "
              f"{record.get('saliency_auroc', math.nan):.4f}  corrected "
              f"{record.get('saliency_corrected_auroc', math.nan):.4f}  epochs "
              f"{info['epochs_run']:3d}  train {info['train_cpu_seconds']:7.1f} cpu-s  eval "
              f"{info['eval_cpu_seconds']:6.1f} cpu-s", flush=True)


# ---------------------------------------------------------------------------------------- summary

def _lower_better(metric: str) -> bool:
    return any(s in metric for s in LOWER_BETTER)


def _consistency(out: Path, runs: pd.DataFrame) -> dict[tuple, dict[str, np.ndarray]]:
    """Per cell (size, activation, regime): per-sequence consistency ``(N,)`` of every map."""
    from seqlens.interpret.robustness import attribution_consistency

    cells = {}
    for (size, act, regime), g in runs.groupby(["size", "activation", "regime"]):
        if len(g) < 2:
            continue
        maps = [np.load(out / "maps" / f"{k}.npz") for k in g.sort_values("seed").key]
        cells[(size, act, regime)] = {
            tag: attribution_consistency([m[tag].astype(np.float64) for m in maps], per_sequence=True)
            for tag in maps[0].files}
    return cells


def summarise(out: Path, runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary: mean/sd per cell and regime, paired: every regime vs standard per metric)."""
    from seqlens.interpret.robustness import paired_difference

    cons = _consistency(out, runs)
    skip = {"seed", "size", "best_epoch"}
    metrics = [c for c in runs.columns if c not in skip and pd.api.types.is_numeric_dtype(runs[c])
               and not pd.api.types.is_bool_dtype(runs[c]) and not c.endswith("seconds")
               and not c.startswith(("epochs_", "weight_decay"))]
    rows, paired = [], []
    for (size, act, regime), g in runs.groupby(["size", "activation", "regime"], sort=False):
        row = {"size": size, "activation": act, "regime": regime, "n_seeds": len(g),
               "epochs_mean": g.epochs_run.mean(), "train_cpu_seconds_mean": g.train_cpu_seconds.mean()}
        for m in metrics:
            row[f"{m}_mean"], row[f"{m}_sd"] = g[m].mean(), g[m].std()
        for tag, per_seq in cons.get((size, act, regime), {}).items():
            row[f"consistency_{tag}_mean"] = float(np.nanmean(per_seq))
        rows.append(row)
        base = runs[(runs["size"] == size) & (runs.activation == act) & (runs.regime == "standard")]
        if regime == "standard" or base.empty:
            continue
        pair = g.merge(base, on="seed", suffixes=("", "_std"))
        for m in metrics:
            r = paired_difference(pair[m].to_numpy(), pair[f"{m}_std"].to_numpy())
            paired.append(_paired_row(size, act, regime, m, "seed", r, pair[m].mean(),
                                      pair[f"{m}_std"].mean()))
        for tag, per_seq in cons.get((size, act, regime), {}).items():
            ref = cons.get((size, act, "standard"), {}).get(tag)
            if ref is not None:
                r = paired_difference(per_seq, ref)
                paired.append(_paired_row(size, act, regime, f"consistency_{tag}", "sequence", r,
                                          float(np.nanmean(per_seq)), float(np.nanmean(ref))))
    return pd.DataFrame(rows), pd.DataFrame(paired)


def _paired_row(size, act, regime, metric, unit, r, mean, base) -> dict:
    lower = _lower_better(metric)
    holds = (r["high"] < 0) if lower else (r["low"] > 0)
    against = (r["low"] > 0) if lower else (r["high"] < 0)
    return {"size": size, "activation": act, "regime": regime, "metric": metric, "unit": unit,
            "n": r["n"], "standard": base, "regime_value": mean, "diff": r["mean"], "low": r["low"],
            "high": r["high"], "p_t": r["p_t"], "p_wilcoxon": r["p_wilcoxon"],
            "better": "lower" if lower else "higher", "direction_holds": bool(holds),
            "direction_reversed": bool(against)}


def figure(paired: pd.DataFrame, path: Path, title_note: str = ""):
    """Paired differences (regime - standard) with 95% t intervals: one row of panels per key metric
    (its own x scale), one column per size x activation, one line per regime."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqlens.plot.curves import save_figure

    metrics = [m for m in KEY_METRICS if m in set(paired.metric)]
    cells = list(dict.fromkeys(zip(paired["size"], paired.activation)))
    regimes = [r for r in REGIMES if r in set(paired.regime)]
    figsize = (3.6 * len(cells) + 1.2, (0.22 * len(regimes) + 0.75) * len(metrics) + 0.8)
    fig, axes = plt.subplots(len(metrics), len(cells), squeeze=False, sharey=True, sharex="row",
                             figsize=figsize)
    colors = plt.get_cmap("tab10")
    for i, m in enumerate(metrics):
        for k, (size, act) in enumerate(cells):
            ax = axes[i, k]
            sub = paired[(paired["size"] == size) & (paired.activation == act) & (paired.metric == m)]
            sub = sub.set_index("regime")
            for j, regime in enumerate(regimes):
                if regime not in sub.index:
                    continue
                r = sub.loc[regime]
                err = [[r["diff"] - r["low"]], [r["high"] - r["diff"]]] if np.isfinite(r["low"]) else None
                ax.errorbar([r["diff"]], [j], xerr=err, fmt="o", ms=4, capsize=2, color=colors(j))
            ax.axvline(0, color="0.5", lw=0.8)
            ax.set_yticks(range(len(regimes)), regimes, fontsize=7)
            ax.spines[["top", "right"]].set_visible(False)
            better = "lower" if _lower_better(m) else "higher"
            ax.set_xlabel(f"{m.replace('_', ' ')}: regime - standard ({better} is better)", fontsize=7)
            ax.tick_params(axis="x", labelsize=7)
            if i == 0:
                ax.set_title(f"{size} training sequences, {act}", fontsize=9)
            if k == 0:
                ax.set_ylabel("regime", fontsize=7)
    axes[0, 0].invert_yaxis()  # shared: once
    fig.suptitle("Regime - standard training, 95% t interval\n(paired by seed; consistency by sequence)"
                 + (f"\n{title_note.strip(' -')}" if title_note else ""), fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.7 / figsize[1]))
    return save_figure(fig, path)


def report(out: Path, args, runs_all: dict, seconds: float) -> dict:
    from seqlens.io.atomic import atomic_path, write_json

    runs = pd.DataFrame([r for r in runs_all.values() if r.get("kind") == "run"])
    if runs.empty:
        print("no finished runs yet")
        return {}
    runs["_regime"] = runs.regime.map({r: i for i, r in enumerate(REGIMES)})
    runs = runs.sort_values(["size", "activation", "_regime", "seed"], ascending=[False, True, True, True],
                            kind="stable").drop(columns="_regime")
    summary, paired = summarise(out, runs)
    for name, df in (("summary.csv", summary), ("paired.csv", paired)):
        with atomic_path(out / name) as tmp:
            df.to_csv(tmp, index=False)
    reduced = _reduced(args)
    note = f" - REDUCED: {'; '.join(reduced)}" if reduced else ""
    print(f"\nRobust training on regulatory_code{note}")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}, {len(runs)} runs, {seconds:.0f} s this call")
    show = [m for m in KEY_METRICS if f"{m}_mean" in summary.columns]
    head = f"{'size':>6} {'act':<11} {'regime':<10} {'seeds':>5} {'epochs':>6} {'cpu-s':>7} " + " ".join(
        f"{m.replace('_auroc', '').replace('consistency_', 'cons_').replace('robustness_', 'rob_')[:13]:>13}"
        for m in show)
    print(head)
    def cell(r, m):
        if f"{m}_mean" not in r:
            return f"{'':>13}"
        sd = r.get(f"{m}_sd", math.nan)
        return f"{r[f'{m}_mean']:6.3f}" + (f"+-{sd:5.3f}" if np.isfinite(sd) else f"{'':>7}")

    for r in summary.to_dict(orient="records"):
        vals = " ".join(cell(r, m) for m in show)
        print(f"{r['size']:>6} {r['activation']:<11} {r['regime']:<10} {r['n_seeds']:>5} "
              f"{r['epochs_mean']:6.1f} {r['train_cpu_seconds_mean']:7.0f} {vals}")
    if not paired.empty:
        print("\nPaired differences, regime - standard (95% t interval; p: paired t / Wilcoxon); "
              "'+' published direction holds, '-' reversed")
        order = {m: i for i, m in enumerate(KEY_METRICS)}
        key = paired[paired.metric.isin(KEY_METRICS)].copy()
        key["_order"] = key.metric.map(order)
        key["_regime"] = key.regime.map({r: i for i, r in enumerate(REGIMES)})
        key = key.sort_values(["size", "activation", "_regime", "_order"],
                              ascending=[False, True, True, True], kind="stable")
        for r in key.to_dict(orient="records"):
            mark = "+" if r["direction_holds"] else "-" if r["direction_reversed"] else " "
            print(f"{r['size']:>6} {r['activation']:<11} {r['regime']:<10} {r['metric']:<26} n={r['n']:<4} "
                  f"{r['diff']:+.4f} [{r['low']:+.4f}, {r['high']:+.4f}]  p {r['p_t']:.3g} / "
                  f"{r['p_wilcoxon']:.3g} {mark}")
        figure(paired, out / "robust_training.png", note if len(note) < 80 else " - REDUCED")
    flat = {"reduced": bool(reduced), "reduced_notes": reduced, "n_runs": len(runs),
            "seconds": seconds, "settings": _settings(args), "torch": torch.__version__}
    for r in summary.to_dict(orient="records"):
        tag = f"n{r['size']}_{r['activation']}_{r['regime']}"
        flat[f"{tag}_n_seeds"] = r["n_seeds"]
        flat[f"{tag}_train_cpu_seconds_mean"] = r["train_cpu_seconds_mean"]
        for m in show:
            if f"{m}_mean" in r:
                flat[f"{tag}_{m}_mean"] = r[f"{m}_mean"]
    for r in paired[paired.metric.isin(KEY_METRICS)].to_dict(orient="records") if not paired.empty else []:
        tag = f"n{r['size']}_{r['activation']}_{r['regime']}_{r['metric']}"
        flat.update({f"{tag}_diff": r["diff"], f"{tag}_low": r["low"], f"{tag}_high": r["high"],
                     f"{tag}_p_t": r["p_t"], f"{tag}_direction_holds": r["direction_holds"]})
    write_json(out / "robust_training.json", flat)
    return flat


def main(argv=None) -> dict:
    args = _parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        shard, n_shards = (int(x) for x in args.shard.split("/"))
        assert 0 <= shard < n_shards
    except (ValueError, AssertionError):
        sys.exit(f"--shard must be I/K with 0 <= I < K, got {args.shard!r}")
    runs = _Runs(out, _settings(args))
    start = time.perf_counter()
    if not args.summary_only:
        from seqlens.simulate import simulate_dataset
        from seqlens.study.interrogation import positive_test_sequences

        if max(args.sizes) > int(args.n_total * 0.7):
            sys.exit(f"--sizes up to {max(args.sizes)} need --n-total >= {math.ceil(max(args.sizes) / 0.7)}")
        data = simulate_dataset("regulatory_code", n=args.n_total, random_state=args.data_seed)
        X, truth = positive_test_sequences(data, args.n_attr)
        reduced = _reduced(args)
        if reduced:
            print("REDUCED runs: " + "; ".join(reduced), flush=True)
        cells = [(s, a, r) for s in args.sizes for a in args.activations for r in args.regimes]
        # standard first in every cell so partial results pair up early
        cells.sort(key=lambda c: (c[0], c[1], c[2] != "standard"))
        for size, act, regime in cells[shard::n_shards]:
            _run_cell(runs, data, X, truth, size, act, regime, args, out)
    return report(out, args, runs.rows, time.perf_counter() - start)


if __name__ == "__main__":
    main()
