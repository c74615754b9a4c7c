"""Study section 4: a real ChIP-seq task (ZBED2 peaks vs H3K27ac background, 400 nt).

ResidualBind (400-nt variant) with an exponential first layer is trained on the bundled data set;
its first-layer filters are turned into motifs and matched to the latest JASPAR CORE vertebrates,
and attribution maps of the most confident positive test sequences are drawn as logos.
"""

from __future__ import annotations

import numpy as np

from seqlens.study.context import StudyContext


def load_zbed2(ctx: StudyContext):
    """The bundled ZBED2 data set; in quick mode the training split is subsampled."""
    from seqlens.data import data_path
    from seqlens.io.hdf5 import Split, load_dataset

    ds = load_dataset(data_path("ZBED2_400_h3k27ac.h5"))
    n = ctx.settings["zbed2_train"]
    if n is not None and n < len(ds.train):
        idx = np.random.default_rng(ctx.seed).choice(len(ds.train), n, replace=False)
        ds.train = Split(ds.train.X[idx], ds.train.Y[idx])
    return ds


def run(ctx: StudyContext, report) -> None:
    from seqlens.attribution import deep_lift_shap
    from seqlens.interpret.filters import activation_motifs, best_matches, match_filters
    from seqlens.motifs.jaspar import fetch_motifs, latest_release
    from seqlens.plot.curves import save_figure
    from seqlens.plot.filters import filter_logo_grid
    from seqlens.plot.tracks import attribution_figure
    from seqlens.train import predict

    sec = report.section(
        "real_data", "4. Real data: ZBED2 ChIP-seq",
        "ZBED2 peaks vs H3K27ac background (400 nt, Koo & Ploenzke 2021). What did the network learn?")
    ds = ctx.cached("data:zbed2", lambda: load_zbed2(ctx))
    model = ctx.trained("zbed2_residualbind_exp", ds, "residualbind_dna400",
                        epochs=ctx.settings["zbed2_epochs"], activation="exponential")
    scores = ctx.scores("zbed2_residualbind_exp")
    ctx.metrics.update({f"zbed2_{k}": v for k, v in scores.items()})

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
                 reading=f"Test AUROC {scores.get('test_auroc', float('nan')):.3f}. "
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
