"""Study section 4: a real ChIP-seq task (ZBED2 peaks vs H3K27ac background, 400 nt).

The reference zoo's ResidualBind (400-nt variant, exponential first layer, trained on the bundled
data set; every seed's test AUROC is shown); its first-layer filters are turned into motifs and
matched to the latest JASPAR CORE vertebrates, and attribution maps of the most confident positive
test sequences are drawn as logos.
"""

from __future__ import annotations

import numpy as np

from seqlens.study.context import StudyContext


def run(ctx: StudyContext, report) -> None:
    from seqlens.attribution import deep_lift_shap
    from seqlens.interpret.filters import activation_motifs, best_matches, match_filters
    from seqlens.motifs.jaspar import fetch_motifs, latest_release
    from seqlens.plot.curves import save_figure
    from seqlens.plot.filters import filter_logo_grid
    from seqlens.plot.tracks import attribution_figure
    from seqlens.report.findings import mean_sd
    from seqlens.train import predict

    sec = report.section(
        "real_data", "4. Real data: ZBED2 ChIP-seq",
        "ZBED2 peaks vs H3K27ac background (400 nt, Koo & Ploenzke 2021). What did the network learn?")
    key = "zbed2_residualbind_exponential"
    ds = ctx.zoo_data(key)
    seeds = ctx.zoo_seeds(key)
    tests = [ctx.zoo_metadata(key, seed)["metrics"] for seed in seeds]
    ctx.metrics.update({f"zbed2_{k}": float(np.mean([t[k] for t in tests])) for k in tests[0]})
    model = ctx.zoo_model(key, seeds[0])

    release = latest_release()
    ctx.log(f"matching ZBED2 filters to JASPAR {release} CORE vertebrates")
    motifs = activation_motifs(model, ds.test.X, device=ctx.device)
    database = fetch_motifs(release=release, collection="CORE", tax_group="vertebrates")
    matches = match_filters(motifs, database)
    best = best_matches(matches, len(motifs))
    sig = best[best.q_value <= 0.1] if "q_value" in best else best.iloc[:0]
    ctx.metrics["zbed2_filters_matched_fraction"] = len(sig) / max(len(motifs), 1)
    top = sig.target_name.value_counts().head(8)
    names = ", ".join(f"{n} ({c})" for n, c in top.items()) or "none"
    cols = ["filter", "target", "target_name", "p_value", "q_value", "strand"]
    report.table(sec, best[cols], "zbed2_filter_matches",
                 f"Best JASPAR {release} match of each first-layer filter",
                 reading=f"Test AUROC {mean_sd([t['test_auroc'] for t in tests])} over {len(seeds)} zoo "
                         f"seed(s); filters of seed {seeds[0]}: "
                         f"{len(sig)} of {len(motifs)} filters match a JASPAR motif (q <= 0.1); most "
                         f"frequent: {names}.")
    fig = filter_logo_grid(motifs, matches)
    report.figure(sec, save_figure(fig, ctx.path("figures", "zbed2_filters.png")),
                  "ZBED2 first-layer filters with their best JASPAR match")

    pred = predict(model, ds.test.X, device=ctx.device)[:, 0]
    positives = np.flatnonzero(ds.test.Y[:, 0] > 0.5)
    chosen = positives[np.argsort(-pred[positives])[:3]]
    attr = deep_lift_shap(model, ds.test.X[chosen], target=0, n_shuffles=ctx.settings["shap_refs"],
                          random_state=ctx.seed, device=ctx.device)
    for rank, (i, a) in enumerate(zip(chosen, attr)):
        title = f"ZBED2 test sequence {i} (logit {pred[i]:.2f}): DeepSHAP"
        fig = attribution_figure(a, ds.test.X[i], title=title)
        report.figure(sec, save_figure(fig, ctx.path("figures", f"zbed2_attribution_{rank}.png")),
                      f"DeepSHAP attribution, top positive #{rank + 1}")
