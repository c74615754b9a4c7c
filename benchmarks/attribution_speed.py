"""Attribution speed: our ISM (fast and naive) and DeepSHAP against tangermeme and captum.

Same model (a zoo model, random weights unless a run folder is given) and the same sequences and
dinucleotide-shuffled references for every tool, in one run. Reports seconds, the speed ratio
against each peer, the max abs difference of the values, and the DeepSHAP summation-to-delta error.
Peers are optional: tangermeme (>= 1.6: ``saturation_mutagenesis(fast=True)``, ``deep_lift_shap``)
and captum (``DeepLiftShap``) are used when importable, otherwise the table says so.

Timings are the median of ``--repeat`` runs, interleaved between the tools so that load from other
jobs hits every tool alike; a ratio is the median of the per-repeat ratios.

Note on tangermeme's ``fast=True``: it times a first batch with plain ISM and keeps plain ISM
whenever the whole job would take under 30 s that way, so on small jobs ``fast=True`` *is* its
plain batched ISM. That is what a user gets and what ``ism_ratio_ours_over_tangermeme`` compares
with. ``--tangermeme-fastpath`` also times its fastISM path forced on (the 30 s threshold patched
to 0; the cost includes its ``torch.export`` capture and self-check) as
``ism_ratio_ours_over_tangermeme_fastpath``.

Usage: python benchmarks/attribution_speed.py [--model cnn_dist [cnn_local ...]] [--n 20]
       [--length 200] [--shuffles 20] [--methods ism,deepshap] [--repeat 3] [--device cpu]
       [--threads 2] [--tangermeme-fastpath] [--tangermeme-batch-size 32]
       [--out out/bench/attribution_speed.json]

Several models (space- or comma-separated) give one row each; the JSON holds one flat dict per
model under ``models`` and flat ``<model>_<key>`` copies of the ratios and differences.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from seqlens.attribution import deep_lift_shap, ism
from seqlens.io.atomic import write_json
from seqlens.shuffle import dinucleotide_shuffle


def _clock(fn):
    t = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - t, out


def _interleaved(fns: dict, repeat: int) -> tuple[dict, dict, dict]:
    """Run each of ``fns`` ``repeat`` times, interleaved; (median seconds, per-repeat seconds,
    last outputs) per name. A function that raises is dropped (its error is in the outputs)."""
    times: dict = {k: [] for k in fns}
    outs: dict = {}
    for _ in range(repeat):
        for k, fn in fns.items():
            if isinstance(outs.get(k), Exception):
                continue
            try:
                t, outs[k] = _clock(fn)
                times[k].append(t)
            except Exception as exc:  # report, do not fail the benchmark
                outs[k] = exc
    med = {k: statistics.median(v) for k, v in times.items() if v}
    return med, times, outs


def _ratio(times, a, b):
    """Median over repeats of time[a] / time[b]."""
    if not times.get(a) or not times.get(b):
        return None
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


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


@contextlib.contextmanager
def _tangermeme_fastpath_forced():
    """tangermeme's fastISM path even on small jobs (patches its 30 s threshold to 0)."""
    import tangermeme.saturation_mutagenesis as tsm

    old = tsm._FAST_MIN_SECONDS
    tsm._FAST_MIN_SECONDS = 0.0
    try:
        yield
    finally:
        tsm._FAST_MIN_SECONDS = old


def bench_model(name: str, args, versions: dict) -> dict:
    from seqlens.models import build_model, load_model

    if Path(name).is_dir():
        model = load_model(name)
    else:
        kw = {"activation": args.activation} if args.activation else {}
        model = build_model(name, seq_length=args.length, random_state=args.seed, **kw)
    model = _Target(model.eval(), 0).to(args.device).eval()
    rng = np.random.default_rng(args.seed)
    X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (args.n, args.length))].transpose(0, 2, 1).copy()
    Xt = torch.from_numpy(X)
    res: dict = {"model": name, "n_sequences": args.n, "length": args.length,
                 "tangermeme_batch_size": args.tangermeme_batch_size or 32}
    methods = set(args.methods)

    # ---- ISM ---------------------------------------------------------------------------------
    if "ism" in methods:
        from seqlens.attribution.fast_ism import LocalPlan

        with torch.no_grad():
            res["ism_fast_path_used"] = LocalPlan.build(model.eval(), Xt[:1].to(args.device)) is not None
        ism(model, Xt[:1], device=args.device)  # warm-up
        fns = {"ours": lambda: ism(model, Xt, device=args.device),
               "naive": lambda: ism(model, Xt, fast=False, device=args.device)}
        if versions["tangermeme"]:
            from tangermeme.saturation_mutagenesis import saturation_mutagenesis

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                saturation_mutagenesis(model, Xt[:1], device=args.device, fast=True)  # warm-up
            tkw = {} if args.tangermeme_batch_size is None else {"batch_size": args.tangermeme_batch_size}
            fns["tangermeme"] = lambda: saturation_mutagenesis(model, Xt, device=args.device, fast=True,
                                                               raw_outputs=True, **tkw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            med, times, outs = _interleaved(fns, args.repeat)
        fast, naive = _np(outs["ours"]), _np(outs["naive"])
        res["ism_fast_seconds"] = med["ours"]
        res["ism_naive_seconds"] = med["naive"]
        res["ism_speedup_vs_naive"] = 1 / _ratio(times, "ours", "naive")
        res["ism_fast_vs_naive_max_abs_diff"] = float(np.abs(fast - naive).max())
        if "tangermeme" in fns:
            if isinstance(outs["tangermeme"], Exception):
                res["tangermeme_error"] = repr(outs["tangermeme"])[:300]
            else:
                y0, y_hat = outs["tangermeme"]
                # raw outputs: y(mutant) - y(original) at every letter (0 at the observed one)
                t = _np(y_hat[..., 0] - y0[:, None, None, 0])
                res["tangermeme_ism_seconds"] = med["tangermeme"]
                res["ism_ratio_ours_over_tangermeme"] = _ratio(times, "ours", "tangermeme")
                res["ism_max_abs_diff_tangermeme"] = float(np.abs(t - fast).max())
            if args.tangermeme_fastpath:
                try:
                    with _tangermeme_fastpath_forced(), warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        fp_s, (y0, y_hat) = _clock(lambda: saturation_mutagenesis(
                            model, Xt, device=args.device, fast=True, raw_outputs=True, **tkw))
                    res["tangermeme_fastpath_ism_seconds"] = fp_s
                    res["ism_ratio_ours_over_tangermeme_fastpath"] = med["ours"] / fp_s
                    why = [str(w.message) for w in caught if "using fast=False" in str(w.message)]
                    res["tangermeme_fastpath_used"] = not why
                    if why:
                        res["tangermeme_fastpath_fallback"] = why[0][:300]
                    t = _np(y_hat[..., 0] - y0[:, None, None, 0])
                    res["ism_max_abs_diff_tangermeme_fastpath"] = float(np.abs(t - fast).max())
                except Exception as exc:
                    res["tangermeme_fastpath_error"] = repr(exc)[:300]

    # ---- DeepSHAP ----------------------------------------------------------------------------
    if "deepshap" in methods:
        R = dinucleotide_shuffle(X, args.shuffles, random_state=args.seed)
        Rt = torch.from_numpy(R)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            deep_lift_shap(model, Xt[:1], references=Rt[:1], device=args.device)
        fns = {"ours": lambda: deep_lift_shap(model, Xt, references=Rt, return_delta=True,
                                              device=args.device)}
        if versions["tangermeme"]:
            from tangermeme.deep_lift_shap import deep_lift_shap as t_dls

            fns["tangermeme"] = lambda: t_dls(model, Xt, references=Rt, device=args.device,
                                              warning_threshold=1e-3)
        if versions["captum"]:
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

            fns["captum"] = run_captum
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            med, times, outs = _interleaved(fns, args.repeat)
        ours, d = outs["ours"]
        res["deepshap_seconds"] = med["ours"]
        res["deepshap_max_abs_delta"] = float(d.abs().max())
        if "tangermeme" in fns:
            if isinstance(outs["tangermeme"], Exception):
                res["tangermeme_deepshap_error"] = repr(outs["tangermeme"])[:300]
            else:
                res["tangermeme_deepshap_seconds"] = med["tangermeme"]
                res["deepshap_ratio_ours_over_tangermeme"] = _ratio(times, "ours", "tangermeme")
                diff = np.abs(_np(outs["tangermeme"]) - _np(ours))
                res["deepshap_max_abs_diff_tangermeme"] = float(diff.max())
        if "captum" in fns:
            if isinstance(outs["captum"], Exception):
                res["captum_error"] = repr(outs["captum"])[:300]
            else:
                c_attr, c_delta = outs["captum"]
                res["captum_deepshap_seconds"] = med["captum"]
                res["deepshap_ratio_ours_over_captum"] = _ratio(times, "ours", "captum")
                res["captum_deepshap_max_abs_delta"] = float(c_delta.abs().max())
                res["deepshap_max_abs_diff_captum"] = float(np.abs(_np(c_attr) - _np(ours)).max())
    return res


_COLUMNS = [  # (key, header, format)
    ("ism_fast_seconds", "ism_s", ".3f"),
    ("ism_naive_seconds", "naive_s", ".3f"),
    ("tangermeme_ism_seconds", "tm_ism_s", ".3f"),
    ("ism_ratio_ours_over_tangermeme", "ism/tm", ".3f"),
    ("ism_ratio_ours_over_tangermeme_fastpath", "ism/tm_fp", ".3f"),
    ("ism_fast_vs_naive_max_abs_diff", "diff_naive", ".1e"),
    ("ism_max_abs_diff_tangermeme", "diff_tm", ".1e"),
    ("deepshap_seconds", "shap_s", ".3f"),
    ("deepshap_ratio_ours_over_tangermeme", "shap/tm", ".3f"),
    ("deepshap_ratio_ours_over_captum", "shap/captum", ".3f"),
    ("deepshap_max_abs_delta", "shap_delta", ".1e"),
]


def _table(rows: list[dict]) -> str:
    cols = [c for c in _COLUMNS if any(c[0] in r for r in rows)]
    width = max(12, *(len(r["model"]) for r in rows))
    lines = [f"{'model':<{width}s} " + " ".join(f"{h:>11s}" for _, h, _ in cols)]
    for r in rows:
        cells = [format(r[k], f) if isinstance(r.get(k), (int, float)) else "-" for k, _, f in cols]
        lines.append(f"{r['model']:<{width}s} " + " ".join(f"{c:>11s}" for c in cells))
    return "\n".join(lines)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", nargs="+", default=["cnn_dist"],
                   help="zoo names or run folders (several, space- or comma-separated)")
    p.add_argument("--activation", default=None)
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--length", type=int, default=200)
    p.add_argument("--shuffles", type=int, default=20)
    p.add_argument("--methods", default="ism,deepshap", help="comma-separated: ism, deepshap")
    p.add_argument("--repeat", type=int, default=3, help="timing repeats (median)")
    p.add_argument("--tangermeme-batch-size", type=int, default=None,
                   help="batch_size for tangermeme's ISM (default: its own default, 32)")
    p.add_argument("--tangermeme-fastpath", action="store_true",
                   help="also time tangermeme's fastISM path forced on (see module doc)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="out/bench/attribution_speed.json")
    args = p.parse_args(argv)
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = set(args.methods) - {"ism", "deepshap"}
    if unknown:
        p.error(f"unknown methods {sorted(unknown)}")
    models = [m for arg in args.model for m in arg.split(",") if m]
    torch.set_num_threads(args.threads)
    versions = {"torch": torch.__version__, "tangermeme": _version("tangermeme"),
                "captum": _version("captum")}
    out = {"n_sequences": args.n, "length": args.length, "shuffles": args.shuffles, "repeat": args.repeat,
           "device": args.device, "threads": args.threads, **versions, "models": {}}
    rows = []
    for name in models:
        res = bench_model(name, args, versions)
        rows.append(res)
        out["models"][name] = res
        key = Path(name).name if Path(name).is_dir() else name
        for k, v in res.items():
            if k not in ("model", "n_sequences", "length"):
                out[f"{key}_{k}"] = v

    print(f"attribution speed: {args.n} x {args.length} bp, {args.shuffles} references, {args.device}, "
          f"{args.threads} threads, median of {args.repeat}; torch {versions['torch']}, "
          f"tangermeme {versions['tangermeme']}, captum {versions['captum']}")
    print(_table(rows))
    for r in rows:
        extra = {k: v for k, v in r.items() if k.endswith(("_error", "_used", "_fallback"))}
        if extra:
            print(f"  {r['model']}: " + ", ".join(f"{k}={v}" for k, v in extra.items()))
    if not versions["tangermeme"]:
        print("  (tangermeme not installed: pip install 'tangermeme>=1.6' to compare)")
    if not versions["captum"]:
        print("  (captum not installed: pip install 'captum>=0.9' to compare)")
    write_json(args.out, out)
    return out


if __name__ == "__main__":
    main()
