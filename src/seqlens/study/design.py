"""Study section 1: design principles of first-layer filters, read from the reference zoo.

Pool-size sweep (Koo & Eddy 2019) and ReLU vs exponential first-layer activations (Koo & Ploenzke
2021), both on the multitask dataset as in the papers, each scored by the fraction of
first-layer filters whose activation motif matches a ground-truth JASPAR motif (Tomtom q <= 0.1);
plus a logo grid of one model's filters with their JASPAR names. Every zoo seed is scored in the
run (mean ± sd in the tables).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd

from seqlens.report.findings import Finding, at_chance, mark, mean_sd, verdict
from seqlens.study.context import StudyContext

ZOO = "reference zoo"


def filter_runs(ctx: StudyContext, key: str) -> list[dict]:
    """Score the first-layer filters of every interpreted seed of zoo entry ``key`` on (the first
    ``n_filter_test`` sequences of) its test split; one row per seed."""
    from seqlens.io.hdf5 import Split
    from seqlens.study.zoo import score_filters

    data = ctx.zoo_data(key)
    n = ctx.settings["n_filter_test"]
    if n is not None and n < len(data.test):
        data = replace(data, test=Split(data.test.X[:n], data.test.Y[:n]))
    rows = []
    for seed in ctx.zoo_seeds(key):
        start = time.perf_counter()
        stored = ctx.zoo_metadata(key, seed)["metrics"]
        scores = score_filters(ctx.zoo_model(key, seed), data, device=ctx.device)
        rows.append({"model": key, "seed": seed, "test_auroc": stored["test_auroc"],
                     "test_aupr": stored["test_aupr"], **scores, "seconds": time.perf_counter() - start})
    return rows


def run(ctx: StudyContext, report) -> None:
    from seqlens.plot.curves import save_figure
    from seqlens.plot.filters import plot_activation_comparison, plot_pool_size_sweep
    from seqlens.study.design_principles import PUBLISHED_ACTIVATION, summarise
    from seqlens.study.zoo import POOLS

    sec = report.section(
        "design", "1. Design principles: what first-layer filters learn",
        "Match fraction = share of first-layer filters whose activation motif matches an embedded "
        "JASPAR motif (Tomtom q <= 0.1). Large first-layer pools and exponential activations push "
        "filters to learn whole motifs. Models: the reference zoo (trained at the papers' settings, "
        "every seed shown).")

    ctx.log(f"pool-size sweep from the zoo: pools {POOLS}")
    runs = pd.DataFrame([dict(r, pool=p) for p in POOLS
                         for r in filter_runs(ctx, f"multitask_cnn_p{p}_relu")])
    summary = summarise(runs, ["pool"])
    for _, row in summary.iterrows():
        ctx.metrics[f"design_pool{int(row['pool'])}_match_fraction"] = row["match_fraction_mean"]
        ctx.metrics[f"design_pool{int(row['pool'])}_test_auroc"] = row["test_auroc_mean"]
    cols = ["pool", "n_runs", "test_auroc_mean", "match_fraction_mean", "match_fraction_std",
            "match_any_mean", "coverage_mean"]
    means = summary.match_fraction_mean.to_numpy()
    # rising from the smallest to the largest pool, and never falling by more than 0.05 between pools
    # (the larger pools saturate near 1)
    rising = bool(means[-1] - means[0] > 0.1 and np.all(np.diff(means) > -0.05))
    ours = ", ".join(f"pool {int(r.pool)}: {mean_sd(runs[runs.pool == r.pool].match_fraction)}"
                     for r in summary.itertuples())
    report.table(sec, summary[cols], "pool_size_sweep", "Pool-size sweep (CNN-P, multitask dataset)",
                 reading=f"Match fraction {ours}; test AUROC {summary.test_auroc_mean.min():.3f}-"
                         f"{summary.test_auroc_mean.max():.3f}. Published: AUROC roughly flat, match "
                         "fraction rising with pool size.",
                 chance={"test_auroc_mean": 0.5})
    report.finding(sec, Finding(
        "pool_sweep", "Match fraction rises with first-layer pool size (Koo & Eddy 2019)",
        ours, "rises with pool size, AUROC flat",
        verdict(rising and not at_chance(means[-1], 0.0), *summary.test_auroc_mean), ZOO))
    path = save_figure(plot_pool_size_sweep(summary), ctx.path("figures", "pool_size_sweep.png"))
    report.figure(sec, path, "Match fraction and AUROC vs first-layer pool size")

    ctx.log("activation comparison from the zoo: cnn_p4 relu vs exponential")
    act_runs = pd.DataFrame([dict(r, activation=act) for act in ("relu", "exponential")
                             for r in (runs[runs.pool == 4].to_dict("records") if act == "relu"
                                       else filter_runs(ctx, "multitask_cnn_p4_exponential"))])
    act_runs["model"] = "cnn_p4"
    summary = summarise(act_runs, ["model", "activation"], best=min(3, len(act_runs) // 2))
    summary["published_match_fraction"] = [PUBLISHED_ACTIVATION.get((m, a), np.nan)
                                           for m, a in zip(summary.model, summary.activation)]
    summary["vs_published"] = [mark(o, p, 0.1) for o, p in zip(summary.match_fraction_mean,
                                                                 summary.published_match_fraction)]
    for _, row in summary.iterrows():
        ctx.metrics[f"design_{row['model']}_{row['activation']}_match_fraction"] = row["match_fraction_mean"]
    best_col = [c for c in summary.columns if c.startswith("best")][0]
    cols = ["model", "activation", "n_runs", "test_auroc_mean", "match_fraction_mean", "match_fraction_std",
            best_col, "published_match_fraction", "vs_published", "false_positive_rate_mean"]
    by_act = summary.set_index("activation").match_fraction_mean
    report.table(sec, summary[cols], "activation_comparison", "ReLU vs exponential first layer (cnn_p4)",
                 reading=f"Match fraction ReLU {by_act['relu']:.2f} -> exponential "
                         f"{by_act['exponential']:.2f}. "
                         "Published (best 3 of 10): two-layer pool-4 ReLU 0.396 -> exponential 0.844; "
                         "'vs_published' marks our mean within 0.1 of it.",
                 chance={"test_auroc_mean": 0.5})
    report.finding(sec, Finding(
        "activation_filters",
        "Exponential first layer: more filters learn whole motifs (Koo & Ploenzke 2021)",
        f"ReLU {mean_sd(act_runs[act_runs.activation == 'relu'].match_fraction)} -> exponential "
        f"{mean_sd(act_runs[act_runs.activation == 'exponential'].match_fraction)}",
        "ReLU 0.396 -> exponential 0.844",
        verdict(by_act["exponential"] > by_act["relu"], *summary.test_auroc_mean), ZOO))
    path = save_figure(plot_activation_comparison(summary), ctx.path("figures", "activation_comparison.png"))
    report.figure(sec, path, "Match fraction by model and activation")
    _filter_grid(ctx, report, sec)


def _filter_grid(ctx: StudyContext, report, sec) -> None:
    """Logo grid of the zoo's cnn-local (exponential) filters with their best JASPAR 2016 match."""
    from seqlens.interpret.filters import activation_motifs, filter_statistics, match_filters
    from seqlens.plot.curves import save_figure
    from seqlens.plot.filters import filter_logo_grid
    from seqlens.simulate import jaspar2016
    from seqlens.study.design_principles import truth_ids_of

    key = "regcode_cnn_local_exponential"
    seed = ctx.zoo_seeds(key)[0]
    data = ctx.zoo_data(key)
    motifs = activation_motifs(ctx.zoo_model(key, seed), data.test.X[: ctx.settings["n_filter_test"]],
                               device=ctx.device)
    truth = truth_ids_of(data)
    matches = match_filters(motifs, list(jaspar2016().values()), truth_ids=truth)
    stats = filter_statistics(matches, len(motifs), truth)
    ctx.metrics["design_cnn_local_exponential_match_fraction"] = stats["match_fraction"]
    fig = filter_logo_grid(motifs, matches)
    path = save_figure(fig, ctx.path("figures", "filters_cnn_local_exponential.png"))
    report.figure(sec, path, f"First-layer filters of cnn-local (exponential, zoo seed {seed}) with best "
                             "JASPAR matches",
                  reading=f"{stats['match_fraction']:.2f} of filters match a core motif; coverage "
                          f"{stats['coverage']:.2f} of the 5 core motifs.")
