"""Study section 1: design principles of first-layer filters.

Pool-size sweep (Koo & Eddy 2019) and ReLU vs exponential first-layer activations (Koo & Ploenzke
2021), both on the multitask dataset as in the papers, each scored by the fraction of
first-layer filters whose activation motif matches a ground-truth JASPAR motif (Tomtom q <= 0.1);
plus a logo grid of one model's filters with their JASPAR names.
"""

from __future__ import annotations

from seqlens.study.context import StudyContext


def run(ctx: StudyContext, report) -> None:
    from seqlens.plot.curves import save_figure
    from seqlens.plot.filters import plot_activation_comparison, plot_pool_size_sweep
    from seqlens.study.design_principles import activation_comparison, pool_size_sweep

    s = ctx.settings
    sec = report.section(
        "design", "1. Design principles: what first-layer filters learn",
        "Match fraction = share of first-layer filters whose activation motif matches an embedded "
        "JASPAR motif (Tomtom q <= 0.1). Large first-layer pools and exponential activations push "
        "filters to learn whole motifs.")
    common = dict(seeds=s["seeds"], epochs=s["design_epochs"], patience=s["patience"], device=ctx.device)

    ctx.log(f"pool-size sweep: pools {s['pools']} x seeds {s['seeds']}")
    runs, summary = pool_size_sweep(ctx.dataset("multitask_motifs"), pools=s["pools"], **common)
    for _, row in summary.iterrows():
        ctx.metrics[f"design_pool{int(row['pool'])}_match_fraction"] = row["match_fraction_mean"]
        ctx.metrics[f"design_pool{int(row['pool'])}_test_auroc"] = row["test_auroc_mean"]
    cols = ["pool", "n_runs", "test_auroc_mean", "test_aupr_mean", "match_fraction_mean",
            "match_fraction_std", "match_any_mean", "coverage_mean"]
    lo, hi = summary.iloc[0], summary.iloc[-1]
    report.table(sec, summary[cols], "pool_size_sweep", "Pool-size sweep (CNN-P, multitask dataset)",
                 reading=f"Match fraction {lo.match_fraction_mean:.2f} at pool {int(lo.pool)} vs "
                         f"{hi.match_fraction_mean:.2f} at pool {int(hi.pool)}; test AUROC "
                         f"{lo.test_auroc_mean:.3f} vs {hi.test_auroc_mean:.3f}. Published: AUROC "
                         "roughly flat, match fraction rising with pool size.")
    path = save_figure(plot_pool_size_sweep(summary), ctx.path("figures", "pool_size_sweep.png"))
    report.figure(sec, path, "Match fraction and AUROC vs first-layer pool size")

    ctx.log(f"activation comparison: {s['design_models']} x relu/exponential")
    runs, summary = activation_comparison(ctx.dataset("multitask_motifs"), models=s["design_models"],
                                          best=min(3, len(s["seeds"])), **common)
    for _, row in summary.iterrows():
        ctx.metrics[f"design_{row['model']}_{row['activation']}_match_fraction"] = row["match_fraction_mean"]
    best_col = [c for c in summary.columns if c.startswith("best")][0]
    cols = ["model", "activation", "n_runs", "test_auroc_mean", "match_fraction_mean", best_col,
            "published_match_fraction", "false_positive_rate_mean"]
    gain = summary.pivot(index="model", columns="activation", values="match_fraction_mean")
    diffs = ", ".join(f"{m}: {r.relu:.2f} -> {r.exponential:.2f}" for m, r in gain.iterrows())
    report.table(sec, summary[cols], "activation_comparison", "ReLU vs exponential first layer",
                 reading=f"Match fraction ReLU -> exponential: {diffs}. Published (best 3 of 10): "
                         "two-layer pool-4 ReLU 0.396 -> exponential 0.844.")
    path = save_figure(plot_activation_comparison(summary), ctx.path("figures", "activation_comparison.png"))
    report.figure(sec, path, "Match fraction by model and activation")
    _filter_grid(ctx, report, sec)


def _filter_grid(ctx: StudyContext, report, sec) -> None:
    """Logo grid of the interrogation model's filters with their best JASPAR 2016 match."""
    from seqlens.interpret.filters import activation_motifs, filter_statistics, match_filters
    from seqlens.plot.curves import save_figure
    from seqlens.plot.filters import filter_logo_grid
    from seqlens.simulate import jaspar2016
    from seqlens.study.design_principles import truth_ids_of
    from seqlens.study.interrogation import regcode_model

    data = ctx.dataset("regulatory_code")
    model = regcode_model(ctx, "exponential")
    motifs = activation_motifs(model, data.test.X, device=ctx.device)
    truth = truth_ids_of(data)
    matches = match_filters(motifs, list(jaspar2016().values()), truth_ids=truth)
    stats = filter_statistics(matches, len(motifs), truth)
    ctx.metrics["design_cnn_local_exponential_match_fraction"] = stats["match_fraction"]
    fig = filter_logo_grid(motifs, matches)
    path = save_figure(fig, ctx.path("figures", "filters_cnn_local_exponential.png"))
    report.figure(sec, path, "First-layer filters of cnn-local (exponential) with best JASPAR matches",
                  reading=f"{stats['match_fraction']:.2f} of filters match a core motif; coverage "
                          f"{stats['coverage']:.2f} of the 5 core motifs.")
