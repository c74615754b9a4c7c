"""GLIFAC on the motif-interaction dataset (Ghotra & Koo 2021): relu vs exponential cnn_attention.

For each first-layer activation: train a ``cnn_attention`` model on ``motif_interactions`` (label 1 when
one of the 4 interacting pairs ELF1-SIX3, ESR1-FOXN, GATA1-TAL1, IRF1-SP1 is present), label its
filters by Tomtom (activation motifs vs the 12 dataset motifs, best hit with q <= 0.1), run GLIFAC on
the positive test sequences and score the motif x motif matrix against the interacting pairs over all
66 unordered pairs (AUROC, AUPR, SNR = mean true-pair score / mean other-pair score). The naive
per-sequence attention reading is scored the same way. Paper: GLIFAC AUROC ~0.99 with exponential.

Usage: python benchmarks/glifac_interactions.py [--n 60000] [--epochs 20]
       [--activations exponential relu] [--out out/bench/glifac_interactions]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from seqlens.interpret import interactions as ia
from seqlens.interpret.filters import activation_motifs, best_matches, match_filters
from seqlens.io.atomic import write_json
from seqlens.models import build_model, load_model, save_model
from seqlens.simulate import motif_interactions
from seqlens.simulate.datasets import get_motifs
from seqlens.train import evaluate, fit


def label_filters(model, X, names, motifs, q_cutoff=0.1, device=None):
    """Filter labels: dataset motif name of the best Tomtom hit with q <= cutoff, else None."""
    acts = activation_motifs(model, X, device=device)
    matches = match_filters(acts, motifs, n_jobs=1)
    best = best_matches(matches, len(acts))
    by_id = {m.name: nm for nm, m in zip(names, motifs)}
    labels = []
    for _, r in best.iterrows():
        ok = isinstance(r["target"], str) and r["q_value"] <= q_cutoff
        labels.append(by_id.get(r["target"]) if ok else None)
    return labels


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=60000,
                   help="sequences (the zoo entry's size; 20,000 overfit: validation AUROC ~0.60)")
    p.add_argument("--length", type=int, default=200)
    p.add_argument("--activations", nargs="+", default=["exponential", "relu"])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--patience", type=int, default=4)
    p.add_argument("--filters", type=int, default=32)
    p.add_argument("--pool", type=int, default=4)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--dense", type=int, default=128)
    p.add_argument("--threshold", type=float, default=0.1, help="GLIFAC attention threshold")
    p.add_argument("--quantile", type=float, default=None,
                   help="data-driven threshold: this quantile of the attention values (e.g. 0.99)")
    p.add_argument("--random-fraction", type=float, default=0.01)
    p.add_argument("--more-epochs", type=int, default=0, help="continue training a loaded checkpoint")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default=None)
    p.add_argument("--out", default="out/bench/glifac_interactions")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = motif_interactions(n=args.n, length=args.length, random_state=args.seed)
    meta = data.metadata
    names = [m["name"] for m in meta["motifs"]]
    motifs = get_motifs([m["id"] for m in meta["motifs"]])
    pairs = [tuple(x) for x in meta["interacting_pairs"]]
    pos = data.test.Y[:, 0] > 0.5
    X = data.test.X[pos]
    res: dict = {"n": args.n, "n_test_positive": int(pos.sum()), "threshold": args.threshold,
                 "quantile": args.quantile}
    for act in args.activations:
        t0 = time.perf_counter()
        run = out / f"run_{act}"
        if (run / "config.json").exists():
            model = load_model(run)
            if args.more_epochs:
                fit(model, data.train, data.valid, epochs=args.more_epochs, patience=args.patience,
                    random_state=args.seed + 1, device=args.device, verbose=True)
                save_model(model, run, metadata={"dataset": "motif_interactions", "activation": act})
        else:
            model = build_model("cnn_attention", random_state=args.seed, seq_length=args.length,
                                n_outputs=1, activation=act, filters=args.filters, pool=args.pool,
                                heads=args.heads, dense=args.dense)
            fit(model, data.train, data.valid, epochs=args.epochs, patience=args.patience,
                random_state=args.seed, device=args.device, verbose=True, out_dir=run)
            save_model(model, run, metadata={"dataset": "motif_interactions", "activation": act})
        t_train = time.perf_counter() - t0
        test = evaluate(model, data.test, device=args.device)
        labels = label_filters(model, data.test.X, names, motifs, device=args.device)
        t1 = time.perf_counter()
        att = ia.attention_maps(model, X, device=args.device)
        acts = ia.pooled_activations(model, X, device=args.device)
        g = ia.glifac(att, acts, labels, motifs=names, threshold=args.threshold,
                      random_fraction=args.random_fraction, random_state=args.seed, quantile=args.quantile)
        ev = ia.evaluate_interactions(g.motif_matrix, pairs, motifs=names)
        naive = ia.naive_attention_interactions(att, acts, labels, motifs=names)
        ev_naive = ia.evaluate_interactions(naive, pairs, motifs=names)
        t_glifac = time.perf_counter() - t1
        g.motif_matrix.to_csv(out / f"glifac_{act}.csv")
        naive.to_csv(out / f"naive_{act}.csv")
        try:
            from seqlens.plot.curves import save_figure
            from seqlens.plot.interactions import plot_interaction_heatmap

            save_figure(plot_interaction_heatmap(g.motif_matrix, true_pairs=pairs,
                                                 title=f"GLIFAC ({act})"), out / f"glifac_{act}.png")
        except Exception as exc:  # figure problems must not lose the numbers
            print(f"figure failed: {exc}")
        covered = sorted({lab for lab in labels if lab is not None})
        key = act[:3] if act.startswith("exp") else act
        res.update({
            f"{key}_test_auroc": test.get("test_auroc"),
            f"{key}_labelled_filters": int(sum(lab is not None for lab in labels)),
            f"{key}_motifs_covered": len(covered),
            f"{key}_glifac_auroc": ev["auroc"], f"{key}_glifac_aupr": ev["aupr"],
            f"{key}_glifac_snr": ev["snr"], f"{key}_glifac_top_pairs_true": ev["top_pairs_true"],
            f"{key}_naive_auroc": ev_naive["auroc"], f"{key}_naive_aupr": ev_naive["aupr"],
            f"{key}_naive_snr": ev_naive["snr"],
            f"{key}_n_attended_pairs": g.n_attended, f"{key}_n_pairs": g.n_pairs,
            f"{key}_attention_threshold": g.params["threshold"],
            f"{key}_seconds_train": round(t_train, 1), f"{key}_seconds_glifac": round(t_glifac, 1),
        })
        top = ia.pair_table(g.motif_matrix, pairs).head(8)
        print(f"\n== {act}: test AUROC {test.get('test_auroc'):.4f}; motifs covered by filters: {covered}")
        print(top.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        write_json(out / "metrics.json", res)
    res["n_interacting_pairs"] = len(pairs)
    write_json(out / "metrics.json", res)
    print("\n".join(f"  {k:<32} {v}" for k, v in res.items()))
    return res


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
