"""Attribution speed: our ISM (fast and naive) and DeepSHAP against tangermeme and captum.

Same model (a zoo model, random weights unless --model RUN_DIR) and the same sequences and
dinucleotide-shuffled references for every tool, in one run. Reports seconds, the speed ratio
against each peer, the max abs difference of the values, and the DeepSHAP summation-to-delta error.
Peers are optional: tangermeme (>= 1.6: ``saturation_mutagenesis(fast=True)``, ``deep_lift_shap``)
and captum (``DeepLiftShap``) are used when importable, otherwise the table says so.

Usage: python benchmarks/attribution_speed.py [--model cnn_dist] [--n 20] [--length 200]
       [--shuffles 20] [--device cpu] [--threads 2] [--out out/bench/attribution_speed.json]
"""

from __future__ import annotations

import argparse
import importlib
import time
import warnings

import numpy as np
import torch

from seqlens.attribution import deep_lift_shap, ism
from seqlens.io.atomic import write_json
from seqlens.shuffle import dinucleotide_shuffle


def _timed(fn, repeat=1):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return best, out


def _np(a):
    return a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)


def _version(name):
    try:
        return importlib.import_module(name).__version__
    except Exception:
        return None


class _Target(torch.nn.Module):
    """Model with a single output (the peers' default target handling differs)."""

    def __init__(self, model, target):
        super().__init__()
        self.model, self.target = model, target

    def forward(self, x):
        return self.model(x)[:, self.target:self.target + 1]


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", default="cnn_dist", help="zoo name or run folder")
    p.add_argument("--activation", default=None)
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--length", type=int, default=200)
    p.add_argument("--shuffles", type=int, default=20)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="out/bench/attribution_speed.json")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    from pathlib import Path

    from seqlens.models import build_model, load_model

    if Path(args.model).is_dir():
        model = load_model(args.model)
    else:
        kw = {"activation": args.activation} if args.activation else {}
        model = build_model(args.model, seq_length=args.length, random_state=args.seed, **kw)
    model = _Target(model.eval(), 0).to(args.device).eval()
    rng = np.random.default_rng(args.seed)
    X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (args.n, args.length))].transpose(0, 2, 1).copy()
    R = dinucleotide_shuffle(X, args.shuffles, random_state=args.seed)
    Xt, Rt = torch.from_numpy(X), torch.from_numpy(R)
    res = {"model": args.model, "n_sequences": args.n, "length": args.length, "shuffles": args.shuffles,
           "device": args.device, "threads": args.threads, "torch": torch.__version__,
           "tangermeme": _version("tangermeme"), "captum": _version("captum")}

    # ---- ISM ---------------------------------------------------------------------------------
    ism(model, Xt[:1], device=args.device)  # warm-up
    res["ism_fast_seconds"], fast = _timed(lambda: ism(model, Xt, device=args.device))
    res["ism_naive_seconds"], naive = _timed(lambda: ism(model, Xt, fast=False, device=args.device))
    res["ism_fast_vs_naive_max_abs_diff"] = float(np.abs(_np(fast) - _np(naive)).max())
    res["ism_speedup_vs_naive"] = res["ism_naive_seconds"] / res["ism_fast_seconds"]

    # ---- DeepSHAP ----------------------------------------------------------------------------
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        deep_lift_shap(model, Xt[:1], references=Rt[:1], device=args.device)
    res["deepshap_seconds"], (ours, d) = _timed(lambda: deep_lift_shap(
        model, Xt, references=Rt, return_delta=True, device=args.device))
    res["deepshap_max_abs_delta"] = float(d.abs().max())

    # ---- tangermeme --------------------------------------------------------------------------
    if res["tangermeme"]:
        try:
            from tangermeme.deep_lift_shap import deep_lift_shap as t_dls
            from tangermeme.saturation_mutagenesis import saturation_mutagenesis

            t_ism_s, t_ism = _timed(lambda: saturation_mutagenesis(model, Xt, device=args.device, fast=True))
            res["tangermeme_ism_seconds"] = t_ism_s
            res["ism_ratio_ours_over_tangermeme"] = res["ism_fast_seconds"] / t_ism_s
            t = _np(t_ism)
            if t.shape == _np(fast).shape:
                # tangermeme's ISM is y(mutant) - y(original) at every letter (0 at the observed one)
                res["ism_max_abs_diff_tangermeme"] = float(np.abs(t - _np(fast)).max())
            t_dls_s, t_attr = _timed(lambda: t_dls(model, Xt, references=Rt, device=args.device,
                                                    warning_threshold=1e-3))
            res["tangermeme_deepshap_seconds"] = t_dls_s
            res["deepshap_ratio_ours_over_tangermeme"] = res["deepshap_seconds"] / t_dls_s
            res["deepshap_max_abs_diff_tangermeme"] = float(np.abs(_np(t_attr) - _np(ours)).max())
        except Exception as exc:  # report, do not fail the benchmark
            res["tangermeme_error"] = repr(exc)[:300]
    # ---- captum ------------------------------------------------------------------------------
    if res["captum"]:
        try:
            from captum.attr import DeepLiftShap

            def run_captum():
                outs, deltas = [], []
                for i in range(args.n):
                    a, dd = DeepLiftShap(model).attribute(Xt[i:i + 1].to(args.device),
                                                          baselines=Rt[i].to(args.device), target=0,
                                                          return_convergence_delta=True)
                    outs.append(a.detach().cpu())
                    deltas.append(dd.detach().cpu())
                return torch.cat(outs), torch.cat(deltas)

            c_s, (c_attr, c_delta) = _timed(run_captum)
            res["captum_deepshap_seconds"] = c_s
            res["deepshap_ratio_ours_over_captum"] = res["deepshap_seconds"] / c_s
            res["captum_deepshap_max_abs_delta"] = float(c_delta.abs().max())
            res["deepshap_max_abs_diff_captum"] = float(np.abs(_np(c_attr) - _np(ours)).max())
        except Exception as exc:
            res["captum_error"] = repr(exc)[:300]

    print(f"attribution speed: {args.model}, {args.n} x {args.length} bp, {args.shuffles} references, "
          f"{args.device}, {args.threads} threads")
    for k, v in res.items():
        print(f"  {k:<40s} {v:.4g}" if isinstance(v, float) else f"  {k:<40s} {v}")
    if not res["tangermeme"]:
        print("  (tangermeme not installed: pip install 'tangermeme>=1.6' to compare)")
    if not res["captum"]:
        print("  (captum not installed: pip install 'captum>=0.9' to compare)")
    write_json(args.out, res)
    return res


if __name__ == "__main__":
    main()
