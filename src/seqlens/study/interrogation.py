"""Study section 2: interrogating a trained network against the ground truth.

On the regulatory-code dataset (Koo & Ploenzke 2021): attribution methods with and without
gradient correction scored against the embedded motif positions, example attribution logos,
global importance of core vs decoy motifs and a spacing curve; on the motif-interaction dataset, a
GLIFAC interaction map from a CNN-attention network; and one SQUID-style surrogate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqlens.study.context import StudyContext


def positive_test_sequences(dataset, n: int):
    """The first ``n`` positive test sequences and their ground truth, ``(n, A, L)`` each."""
    pos = np.flatnonzero(dataset.test.Y[:, 0] > 0.5)[:n]
    return dataset.test.X[pos], dataset.test.truth[pos]


def regcode_model(ctx: StudyContext, activation: str):
    """cnn-local with the given first-layer activation, trained on the regulatory-code dataset."""
    return ctx.trained(f"regcode_cnn_local_{activation}", ctx.dataset("regulatory_code"), "cnn_local",
                       activation=activation)


def attribution_scores(ctx: StudyContext, model, X, truth, label: dict) -> list[dict]:
    """Score every attribution method (and its gradient-corrected form) on ``X`` against ``truth``."""
    from seqlens.attribution import METHODS
    from seqlens.interpret.metrics import evaluate_attribution

    s = ctx.settings
    options = {"smoothgrad": dict(n_samples=s["smooth_n"], random_state=ctx.seed),
               "ig": dict(steps=s["ig_steps"]),
               "deepshap": dict(n_shuffles=s["shap_refs"], random_state=ctx.seed)}
    rows = []
    for method in s["attr_methods"]:
        corrections = (False,) if method in ("ism", "deepshap") else (False, True)
        for correct in corrections:
            kw = dict(options.get(method, {}))
            if correct:
                kw["correct"] = True
            attr = METHODS[method](model, X, target=0, device=ctx.device, **kw)
            reduce = "l2" if method == "ism" else "observed"
            scores = evaluate_attribution(attr, X, truth, reduce=reduce)
            rows.append({**label, "method": method, "corrected": correct, **scores})
            ctx.cache[f"attr:{label.get('model', '')}:{method}:{correct}"] = attr
    return rows


def run(ctx: StudyContext, report) -> None:
    sec = report.section(
        "interrogation", "2. Interrogation against ground truth",
        "Models trained on the simulated regulatory code (5 core JASPAR motifs, decoy motifs in the "
        "negatives). Every interpretation is scored against the embedded motif positions.")
    _attributions(ctx, report, sec)
    _motif_discovery(ctx, report, sec)
    _gia(ctx, report, sec)
    _glifac(ctx, report, sec)
    _surrogate(ctx, report, sec)


def _attributions(ctx, report, sec) -> None:
    from seqlens.plot.curves import save_figure
    from seqlens.plot.tracks import attribution_figure

    data = ctx.dataset("regulatory_code")
    X, truth = positive_test_sequences(data, ctx.settings["n_attr"])
    rows = []
    for act in ("relu", "exponential"):
        model = regcode_model(ctx, act)
        ctx.log(f"attributions for cnn_local {act} on {len(X)} positive test sequences")
        rows += attribution_scores(ctx, model, X, truth, {"model": f"cnn_local_{act}",
                                                          **ctx.scores(f"regcode_cnn_local_{act}")})
    df = pd.DataFrame(rows)
    cols = ["model", "test_auroc", "method", "corrected", "auroc", "aupr", "auroc_b", "snr", "cosine"]
    df = df[[c for c in cols if c in df.columns]]
    for r in rows:
        key = f"interrogation_{r['model']}_{r['method']}{'_corrected' if r['corrected'] else ''}_auroc"
        ctx.metrics[key] = r["auroc"]
    best = df.sort_values("auroc", ascending=False).iloc[0]
    exp_mean = df[df.model == "cnn_local_exponential"].auroc.mean()
    relu_mean = df[df.model == "cnn_local_relu"].auroc.mean()
    report.table(sec, df, "attribution_scores", "Attribution maps scored against embedded motifs",
                 reading=f"Mean attribution AUROC: exponential {exp_mean:.3f} vs ReLU {relu_mean:.3f}; "
                         f"best {best.method}{' (corrected)' if best.corrected else ''} on {best.model} "
                         f"({best.auroc:.3f}). Published (cnn-local): ReLU 0.77-0.81, exponential 0.82-0.89.")
    # example logos: the first positive test sequence, saliency of both models
    for act in ("exponential", "relu"):
        attr = ctx.cache[f"attr:cnn_local_{act}:saliency:True"]
        fig = attribution_figure(attr[0], X[0], truth[0], title=f"cnn-local {act}: corrected saliency")
        path = save_figure(fig, ctx.path("figures", f"attribution_example_{act}.png"))
        report.figure(sec, path, f"Example attribution map, {act} activation",
                      reading="Shaded spans are the embedded motifs; letters are the corrected saliency "
                              "at the observed base.")


def _motif_discovery(ctx, report, sec) -> None:
    """Seqlets -> patterns -> hits on the corrected saliency maps of both cnn-local models over
    every test sequence (positives and the negatives that carry the decoys), scored against the
    embedded motifs (recovery by Tomtom against JASPAR 2016, the simulation's release; hit
    precision/recall within 3 nt on the right strand)."""
    from seqlens.attribution import saliency
    from seqlens.interpret.discovery import discover, instances_for, score_discovery
    from seqlens.plot.discovery import save_pattern_figure
    from seqlens.simulate.datasets import jaspar2016

    data = ctx.dataset("regulatory_code")
    X = data.test.X
    instances = instances_for(data, "test")
    database = list(jaspar2016().values())
    rows = []
    for act in ("exponential", "relu"):
        ctx.log(f"motif discovery on corrected saliency of cnn_local {act} ({len(X)} sequences)")
        attr = saliency(regcode_model(ctx, act), X, target=0, correct=True, device=ctx.device)
        found = discover(attr, X, min_seqlets=10, database=database, random_state=ctx.seed)
        metrics, table = score_discovery(found.patterns, found.hits, instances,
                                         data.metadata["motifs"], found.matches)
        row = {"model": f"cnn_local_{act}", "seqlets": len(found.seqlets),
               **{k: metrics.get(k) for k in ("n_patterns", "core_recovered", "core_in_top3",
                                               "decoys_in_major", "spurious_patterns",
                                               "hit_precision", "hit_recall")}}
        rows.append(row)
        for key in ("core_recovered", "hit_precision", "hit_recall"):
            ctx.metrics[f"motifs_cnn_local_{act}_{key}"] = row[key]
        if act == "exponential":
            best = (found.matches.groupby("pattern").first() if found.matches is not None
                    and len(found.matches) else None)
            for pattern in [p for p in found.patterns if p.sign > 0][:3]:
                match = (f"; best JASPAR match {best.loc[pattern.name, 'target_name']} "
                         f"(q {best.loc[pattern.name, 'q_value']:.2g})"
                         if best is not None and pattern.name in best.index else "")
                path = save_pattern_figure(pattern, ctx.path("figures", f"motif_{pattern.name}.png"))
                report.figure(sec, path, f"Discovered pattern {pattern.name} ({pattern.n_seqlets} "
                                         f"seqlets{match})",
                              reading="Contribution-weight matrix, hypothetical CWM and PWM of the "
                                      "pattern's aligned seqlets.")
    df = pd.DataFrame(rows)
    exp, relu = rows
    report.table(sec, df, "motif_discovery", "Motif discovery from attribution maps, scored "
                 "against the embedded motifs",
                 reading=f"Core motifs recovered (top Tomtom hit = the true JASPAR motif, of "
                         f"{len(set(instances.loc[instances.core, 'motif_index']))}): exponential "
                         f"{exp['core_recovered']}, ReLU {relu['core_recovered']}; hit precision "
                         f"{exp['hit_precision']:.2f} vs {relu['hit_precision']:.2f}. With few "
                         "sequences or under-trained models few patterns pass min_seqlets; "
                         "benchmarks/motif_discovery.py has the full-scale comparison.")


def _gia(ctx, report, sec) -> None:
    from seqlens.interpret.gia import global_importance, null_sequences, spacing
    from seqlens.plot.curves import save_figure
    from seqlens.plot.gia import plot_spacing
    from seqlens.simulate import jaspar2016

    data = ctx.dataset("regulatory_code")
    model = regcode_model(ctx, "exponential")
    db = jaspar2016()
    core_names = set(data.metadata["core_motifs"])
    core = [m["id"] for m in data.metadata["motifs"] if m["name"] in core_names]
    decoys = list(data.metadata.get("decoy_ids", []))
    X_null = null_sequences("profile", n=ctx.settings["n_null"], X=data.test.X, random_state=ctx.seed)
    L = data.seq_length
    rows = []
    ctx.log(f"GIA of {len(core)} core and {len(decoys)} decoy motifs")
    for kind, ids in (("core", core), ("decoy", decoys)):
        for mid in ids:
            motif = db[mid]
            res = global_importance(model, X_null, patterns=[motif], positions=[L // 2 - motif.width // 2],
                                    target=0, device=ctx.device, random_state=ctx.seed)
            rows.append({"motif": mid, "name": motif.alt_name, "kind": kind, "consensus": motif.consensus(),
                         "importance": res.importance, "se": res.se})
    df = pd.DataFrame(rows).sort_values("importance", ascending=False, ignore_index=True)
    # a decoy whose consensus equals a core motif's (CEBPD vs CEBPB) cannot differ from it here
    core_consensus = set(df[df.kind == "core"].consensus)
    df["same_consensus_as_core"] = (df.kind == "decoy") & df.consensus.isin(core_consensus)
    min_core = df[df.kind == "core"].importance.min()
    distinct = df[(df.kind == "decoy") & ~df.same_consensus_as_core]
    max_decoy = distinct.importance.max() if len(distinct) else float("nan")
    n_over = int((distinct.importance >= min_core).sum())
    n_same = int(df.same_consensus_as_core.sum())
    ctx.metrics.update(gia_min_core_importance=float(min_core), gia_max_decoy_importance=float(max_decoy),
                       gia_decoys=len(decoys), gia_decoys_above_min_core=n_over,
                       gia_decoys_same_consensus_as_core=n_same)
    shown = pd.concat([df[df.kind == "core"], df[df.kind == "decoy"].head(10)])
    verdict = ("all core motifs above every such decoy" if min_core > max_decoy
               else f"{n_over} such decoys overlap")
    report.table(sec, shown, "gia_core_vs_decoy",
                 f"Global importance: core motifs vs the 10 strongest of {len(decoys)} decoys "
                 "(consensus, centre)",
                 reading=f"Smallest core-motif effect {min_core:.3f} vs largest effect {max_decoy:.3f} of "
                         f"the decoys whose consensus differs from every core motif's ({verdict}); "
                         f"{n_same} decoy(s) share a core motif's consensus and score as it does.")
    a, b = db[core[0]], db[core[1]]
    max_d = min(60, L - a.width - b.width - 2)
    sp = spacing(model, X_null[: max(50, ctx.settings["n_null"] // 4)], a, b,
                 distances=range(0, max_d, ctx.settings["spacing_step"]), orientations=("++", "+-"),
                 target=0, device=ctx.device, random_state=ctx.seed)
    fig = plot_spacing(sp, title=f"{a.alt_name} + {b.alt_name}: effect vs gap")
    path = save_figure(fig, ctx.path("figures", "gia_spacing.png"))
    peak = sp.loc[sp.importance.idxmax()]
    report.figure(sec, path, "GIA spacing curve of two core motifs",
                  reading=f"Largest joint effect {peak.importance:.3f} at a gap of {int(peak.distance)} bp "
                          f"({peak.orientation}); the regulatory code has no spacing rule, so a flat curve "
                          "is the expected answer.")


def _glifac(ctx, report, sec) -> None:
    from seqlens.interpret.filters import activation_motifs, match_filters
    from seqlens.interpret.interactions import evaluate_interactions, glifac_from_model
    from seqlens.plot.curves import save_figure
    from seqlens.plot.interactions import plot_interaction_heatmap
    from seqlens.simulate import get_motifs

    data = ctx.dataset("motif_interactions")
    model = ctx.trained("interactions_cnn_attention_exp", data, "cnn_attention",
                        epochs=ctx.settings["attention_epochs"], activation="exponential")
    names = {m["id"]: m["name"] for m in data.metadata["motifs"]}
    truth_motifs = get_motifs(list(names))
    X = data.test.X[: min(1000, len(data.test.X))]
    motifs = activation_motifs(model, X, device=ctx.device)
    matches = match_filters(motifs, truth_motifs)
    labels = [None] * len(motifs)
    sig = matches[matches.q_value <= 0.1].sort_values("p_value")
    for _, row in sig.drop_duplicates("filter").iterrows():
        labels[int(row["filter"])] = names[row.target]
    pairs = [tuple(p) for p in data.metadata["interacting_pairs"]]
    order = list(names.values())
    res = glifac_from_model(model, X, labels=labels, motifs=order, device=ctx.device,
                            random_state=ctx.seed, quantile=0.99)
    scores = evaluate_interactions(res.motif_matrix, pairs, motifs=order)
    ctx.metrics.update({f"glifac_{k}": v for k, v in scores.items()})
    ctx.metrics["glifac_filters_labelled"] = int(sum(lbl is not None for lbl in labels))
    fig = plot_interaction_heatmap(res.motif_matrix, true_pairs=pairs, title="GLIFAC motif interactions")
    path = save_figure(fig, ctx.path("figures", "glifac_heatmap.png"))
    report.figure(sec, path, "GLIFAC interaction map (CNN-attention, exponential)",
                  reading=f"AUROC {scores['auroc']:.3f}, AUPR {scores['aupr']:.3f} over motif pairs "
                          f"({scores['top_pairs_true']} of the {scores['n_true']} true pairs ranked on top; "
                          f"{ctx.metrics['glifac_filters_labelled']} filters matched a motif). "
                          "Paper: AUROC ~0.99.")


def _surrogate(ctx, report, sec) -> None:
    from seqlens.interpret.surrogate.pipeline import surrogate_analysis
    from seqlens.plot.curves import save_figure
    from seqlens.plot.surrogate import surrogate_figure

    data = ctx.dataset("regulatory_code")
    model = regcode_model(ctx, "exponential")
    X, truth = positive_test_sequences(data, 1)
    info = (truth[0] * np.log2(np.clip(truth[0], 1e-9, None) / 0.25)).sum(0)
    centre = int(np.argmax(np.convolve(info, np.ones(20), mode="same")))
    lo = int(np.clip(centre - 20, 0, data.seq_length - 40))
    window = (lo, lo + 40)
    kind = ctx.settings["surrogate_kind"]
    ctx.log(f"surrogate ({kind}) on window {window} with {ctx.settings['surrogate_n']} variants")
    res = surrogate_analysis(model, X[0], window=window, n=ctx.settings["surrogate_n"], rate=0.05,
                             kind=kind, device=ctx.device, random_state=ctx.seed, ridge=False)
    ctx.metrics.update({f"surrogate_{k.removeprefix('surrogate_')}": v for k, v in res.metrics.items()
                        if isinstance(v, (int, float))})
    test = res.test_index
    fig = surrogate_figure(res.surrogate, res.library.window_codes[test], res.y[test], start=window[0],
                           title=f"{kind.capitalize()} surrogate around the strongest motif")
    path = save_figure(fig, ctx.path("figures", "surrogate.png"))
    r = res.metrics.get("surrogate_pearson_r", float("nan"))
    parts = "logo, GE link" + (", pairwise map" if kind == "pairwise" else "")
    report.figure(sec, path, f"SQUID-style {kind} surrogate ({parts})",
                  reading=f"Held-out Pearson r {r:.3f} between surrogate and network on "
                          f"{len(test)} variants of a 40-nt window.")
