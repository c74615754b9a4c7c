"""GIA of core vs decoy motifs on the regulatory-code dataset (Koo & Ploenzke 2021 task 3).

Trains a CNN on ``regulatory_code`` (positives: 3-7 instances of the 5 core motifs; negatives: the
same number drawn from core + 50 decoy JASPAR motifs), then computes the global importance of each
motif's consensus (mean of both strands, embedded at the centre) and of sampled PWM instances over
profile null sequences of the test set. Claim: every core motif's GIA is larger than every decoy's.

Usage: python benchmarks/gia_regulatory_code.py [--n 20000] [--epochs 30] [--model cnn_local]
       [--n-null 500] [--seed 0] [--run RUN_DIR] [--out out/bench/gia_regulatory_code]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from seqlens.interpret import gia
from seqlens.io.atomic import write_json
from seqlens.models import build_model, load_model, save_model
from seqlens.simulate import regulatory_code
from seqlens.simulate.datasets import get_motifs
from seqlens.train import evaluate, fit


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--length", type=int, default=200)
    p.add_argument("--model", default="cnn_local")
    p.add_argument("--activation", default="relu")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--patience", type=int, default=5)
    p.add_argument("--n-null", type=int, default=500)
    p.add_argument("--null", default="profile")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default=None)
    p.add_argument("--more-epochs", type=int, default=0, help="continue training a loaded checkpoint")
    p.add_argument("--lookalike-p", type=float, default=0.01,
                   help="a decoy whose Tomtom p-value against a core motif is below this is a look-alike")
    p.add_argument("--run", default=None, help="reuse/save the trained checkpoint here")
    p.add_argument("--out", default="out/bench/gia_regulatory_code")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    run = Path(args.run) if args.run else out / "run"
    t0 = time.perf_counter()
    data = regulatory_code(n=args.n, length=args.length, random_state=args.seed)
    t_sim = time.perf_counter() - t0
    if (run / "config.json").exists():
        model = load_model(run)
        print(f"loaded {run}")
        t_train = 0.0
        if args.more_epochs:
            t1 = time.perf_counter()
            fit(model, data.train, data.valid, epochs=args.more_epochs, patience=args.patience,
                random_state=args.seed + 1, device=args.device, verbose=True)
            t_train = time.perf_counter() - t1
            save_model(model, run, metadata={"dataset": "regulatory_code", "n": args.n, "seed": args.seed})
    else:
        model = build_model(args.model, random_state=args.seed, seq_length=args.length, n_outputs=1,
                            activation=args.activation)
        t1 = time.perf_counter()
        fit(model, data.train, data.valid, epochs=args.epochs, patience=args.patience,
            random_state=args.seed, device=args.device, verbose=True, out_dir=out)
        t_train = time.perf_counter() - t1
        save_model(model, run, metadata={"dataset": "regulatory_code", "n": args.n, "seed": args.seed})
    test = evaluate(model, data.test, device=args.device)
    print(f"test metrics: {test}")
    # the logit (raw output) is the target: GIA in log-odds units
    t2 = time.perf_counter()
    nulls = gia.null_sequences(args.null, args.n_null, data.test.X, random_state=args.seed)
    f0 = gia.predict(model, nulls, device=args.device)
    meta = data.metadata
    core = set(meta["core_motifs"])
    names = [m["name"] for m in meta["motifs"]]
    ids = [m["id"] if "id" in m else m.get("jaspar_id") for m in meta["motifs"]]
    motifs = get_motifs(ids)
    rows = []
    L = nulls.shape[2]
    for name, motif in zip(names, motifs):
        pos = (L - motif.width) // 2
        row = {"motif": name, "core": name in core, "consensus": motif.consensus()}
        for mode, sample in (("consensus", False), ("sampled", True)):
            vals, ses = [], []
            for strand in "+-":
                r = gia.global_importance(model, nulls, motif, pos, strand, sample=sample,
                                          null_predictions=f0, device=args.device, random_state=args.seed)
                vals.append(r.importance)
                ses.append(r.se)
            row[f"gia_{mode}"] = float(np.mean(vals))
            row[f"se_{mode}"] = float(np.sqrt(np.sum(np.square(ses))) / 2)
        rows.append(row)
    t_gia = time.perf_counter() - t2
    # decoys that look like a core motif (Tomtom against the 5 core PWMs)
    from seqlens.motifs.tomtom import tomtom

    core_motifs = [m for nm, m in zip(names, motifs) if nm in core]
    decoy_idx = [i for i, nm in enumerate(names) if nm not in core]
    tt = tomtom([motifs[i] for i in decoy_idx], core_motifs, n_jobs=1)
    best_p = tt.groupby("query_index")["p_value"].min()
    best_t = tt.sort_values("p_value").groupby("query_index")["target_name"].first()
    for k, i in enumerate(decoy_idx):
        rows[i]["lookalike_p"] = float(best_p.get(k, 1.0))
        rows[i]["lookalike_of"] = best_t.get(k, "")
    df = pd.DataFrame(rows).sort_values("gia_consensus", ascending=False).reset_index(drop=True)
    df["lookalike"] = df["lookalike_p"].fillna(1.0) < args.lookalike_p
    df.to_csv(out / "gia_motifs.csv", index=False)
    with pd.option_context("display.width", 140, "display.max_rows", 80):
        print(df.to_string(float_format=lambda v: f"{v:.3f}"))
    res = {"test_auroc": test.get("auroc", test.get("test_auroc")), "n_null": int(len(nulls)),
           "null": args.null, "model": args.model, "activation": args.activation}
    for mode in ("consensus", "sampled"):
        c = df[df["core"]][f"gia_{mode}"]
        d = df[~df["core"]][f"gia_{mode}"]
        res[f"{mode}_core_min_gia"] = float(c.min())
        res[f"{mode}_core_mean_gia"] = float(c.mean())
        res[f"{mode}_decoy_max_gia"] = float(d.max())
        res[f"{mode}_decoy_mean_gia"] = float(d.mean())
        res[f"{mode}_decoy_max_motif"] = str(df[~df["core"]].sort_values(f"gia_{mode}").iloc[-1]["motif"])
        res[f"{mode}_core_above_all_decoys"] = bool(c.min() > d.max())
        res[f"{mode}_n_decoys_above_core_min"] = int((d >= c.min()).sum())
        d2 = df[~df["core"] & ~df["lookalike"]][f"gia_{mode}"]
        res[f"{mode}_nonlookalike_decoy_max_gia"] = float(d2.max())
        res[f"{mode}_core_above_all_nonlookalike_decoys"] = bool(c.min() > d2.max())
    res["n_lookalike_decoys"] = int(df["lookalike"].sum())
    res["lookalike_decoys"] = ",".join(df[df["lookalike"]]["motif"])
    for _, r in df[df["core"]].iterrows():
        res[f"gia_{r['motif'].lower()}"] = r["gia_consensus"]
    res.update(seconds_simulate=round(t_sim, 2), seconds_train=round(t_train, 2), seconds_gia=round(t_gia, 2))
    write_json(out / "metrics.json", res)
    print("\n".join(f"  {k:<36} {v}" for k, v in res.items()))
    return res


if __name__ == "__main__":
    main()
