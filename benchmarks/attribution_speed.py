"""Attribution speed against the peers at their best setting, in one run: ISM and DeepSHAP against
tangermeme (and captum's DeepLiftShap), and an attribution logo to PNG against tangermeme's
``plot_logo``.

Same model (a zoo architecture with seeded random weights, or a saved run folder), same sequences
and the same dinucleotide-shuffled references for every tool, same thread count
(``torch.set_num_threads``) for both sides.

The peer's best setting is searched in the same run, then confirmed:

1. **sweep**: ours once, then every peer setting once, back to back. ISM settings: tangermeme's
   ``saturation_mutagenesis`` at ``batch_size`` 32, 256 and 1024 with ``fast=False`` (plain
   batched ISM) and with its fastISM path forced on (``fast=True`` with its 30-s threshold patched
   to 0; the cost includes its ``torch.export`` capture and self-check, which a user pays on every
   call; when its check rejects the path it runs plain ISM and the table says so), and its default
   (``fast=True``, batch 32: plain ISM on jobs it estimates under 30 s, else fastISM; timed for
   the record but not a candidate, since its choice varies between runs). DeepSHAP settings:
   tangermeme's ``deep_lift_shap`` at ``batch_size`` 16, 32, 64 and 256 (input/reference pairs
   per batch). The setting with the least CPU time wins.
2. **confirm**: ``--repeat`` rounds of ours and the winning peer setting (and captum), their order
   alternating between rounds; a ratio is the median of the per-round ratios, of CPU seconds (the
   process's user + system time: what a loaded shared machine disturbs least) and of wall seconds.

Values are compared too (ISM: max |ours - peer| of the raw output changes; DeepSHAP: max
|ours - peer| and each tool's summation-to-delta error). Ours: ``seqlens.attribution.ism``
(default settings: fast plan, 256 mutants at a time; CNN + attention hybrids update their
attention layer incrementally) and ``deep_lift_shap`` (defaults, batch 32). Logo: ours is
``save_logo(attr, "x.png", figsize, dpi)`` (the raster PNG path), the peer a new matplotlib figure,
``plot_logo``, ``savefig`` and close; the PNG pixel sizes and bytes of both are printed.

The load average is printed at the start and the end; on a loaded machine ratios of CPU seconds
are the ones to read. Each model is one row; ``name@NxL`` sets its sequence count and length;
``zoo:key[/seed]`` is a shipped zoo model with its trained weights (``seqlens.study.zoo``; by
default the attention entry in Ghotra & Koo's layout).

Usage:
    python benchmarks/attribution_speed.py [--model cnn_local@32x200 residualbind_dna400@4x400 ...]
        [--methods ism,deepshap,logo] [--repeat 3] [--threads 1] [--shuffles 20]
        [--peer-batch-sizes 32,256,1024] [--out out/bench/attribution_speed.json]

Prints a table and writes JSON: one flat dict per model under ``models``, and ``ratios``: one
record per (work, peer) with the settings of both sides (read by ``benchmarks/peers_summary.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from seqlens.attribution import deep_lift_shap, ism
from seqlens.io.atomic import write_json
from seqlens.shuffle import dinucleotide_shuffle

TARGET = 0.5  # the goal: ours <= 0.5 x the peer's best setting
DEFAULT_MODELS = ["cnn_dist@32x200", "cnn_local@32x200", "cnn_attention@8x200",
                  "zoo:interactions_cnn_attention_exponential@8x200", "residualbind_dna400@4x400"]
DEEPSHAP_BATCH_SIZES = (16, 32, 64, 256)  # tangermeme's deep_lift_shap settings swept (pairs per batch)


def _clock(fn):
    """``(wall seconds, CPU seconds of this process, result)``."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def _loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _version(name):
    try:
        return importlib.import_module(name).__version__
    except Exception:
        return None


def _np(a):
    return a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)


class _Target(torch.nn.Module):
    """Model with a single output (the peers' default target handling differs)."""

    def __init__(self, model, target):
        super().__init__()
        self.model, self.target = model, target

    def forward(self, x):
        return self.model(x)[:, self.target:self.target + 1]


@contextlib.contextmanager
def _tangermeme_fastpath_forced():
    """tangermeme's fastISM path even on small jobs (its 30 s threshold patched to 0)."""
    import tangermeme.saturation_mutagenesis as tsm

    old = tsm._FAST_MIN_SECONDS
    tsm._FAST_MIN_SECONDS = 0.0
    try:
        yield
    finally:
        tsm._FAST_MIN_SECONDS = old


def _sweep_and_confirm(ours, peers: dict, repeat: int, others: dict | None = None,
                       candidates=None) -> dict:
    """Time ``ours`` and every peer setting once (the sweep), then ``repeat`` rounds of ours, the
    fastest peer setting by CPU time among ``candidates`` (default all), and ``others``
    (single-setting peers), order alternating.

    Returns ``{"sweep": {name: (wall, cpu)}, "best": name, "rounds": {name: [(wall, cpu)]},
    "outputs": {name: last result or the exception}}``."""
    outputs, sweep = {}, {}
    for name, fn in {"ours": ours, **peers}.items():
        try:
            wall, cpu, outputs[name] = _clock(fn)
            sweep[name] = (wall, cpu)
        except Exception as exc:  # a peer setting that fails is reported, not fatal
            outputs[name] = exc
    timed = [k for k in (peers if candidates is None else candidates) if k in sweep]
    best = min(timed, key=lambda k: sweep[k][1]) if timed else None
    fns = {"ours": ours, **({best: peers[best]} if best else {}), **(others or {})}
    rounds: dict = {k: [] for k in fns}
    for r in range(repeat):
        order = list(fns) if r % 2 == 0 else list(fns)[::-1]
        for k in order:
            if isinstance(outputs.get(k), Exception):
                continue
            try:
                wall, cpu, outputs[k] = _clock(fns[k])
                rounds[k].append((wall, cpu))
            except Exception as exc:
                outputs[k] = exc
    return {"sweep": sweep, "best": best, "rounds": rounds, "outputs": outputs}


def _ratios(rounds, a, b) -> dict:
    """Median per-round ratios a / b of CPU and wall seconds, and the medians of each."""
    ra, rb = rounds.get(a) or [], rounds.get(b) or []
    n = min(len(ra), len(rb))
    if not n:
        return {}
    return {"ratio_cpu": statistics.median(ra[i][1] / rb[i][1] for i in range(n)),
            "ratio_wall": statistics.median(ra[i][0] / rb[i][0] for i in range(n)),
            "ours_cpu_s": statistics.median(x[1] for x in ra[:n]),
            "ours_wall_s": statistics.median(x[0] for x in ra[:n]),
            "peer_cpu_s": statistics.median(x[1] for x in rb[:n]),
            "peer_wall_s": statistics.median(x[0] for x in rb[:n]), "rounds": n}


def _record(work, ours_setting, peer, peer_setting, r: dict, args, values: str = "", note: str = ""):
    met = r.get("ratio_cpu") is not None and r["ratio_cpu"] <= TARGET
    return {"benchmark": "attribution_speed", "work": work, "ours": ours_setting, "peer": peer,
            "peer_setting": peer_setting, "threads": args.threads, **r, "target": TARGET, "met": met,
            "values": values, "note": note}


def _load(spec: str, args):
    """``(model with one output, label, N, L)`` for ``name[@NxL]``, ``zoo:key[/seed][@NxL]`` (a
    shipped zoo model with its trained weights, seed 0 by default) or a run folder."""
    from seqlens.models import build_model, load_model

    name, _, size = spec.partition("@")
    n, length = (int(v) for v in size.lower().split("x")) if size else (args.n, args.length)
    if name.startswith("zoo:"):
        from seqlens.study.zoo import load_zoo_model

        key, _, seed = name[4:].partition("/")
        model, _ = load_zoo_model(key, int(seed or 0))
        return _Target(model.eval(), 0).eval(), name, n, model.config.get("seq_length", length)
    if Path(name).is_dir():
        model = load_model(name)
        length = model.config.get("seq_length", length)
    else:
        kw = {"activation": args.activation} if args.activation else {}
        model = build_model(name, seq_length=length, random_state=args.seed, **kw)
    return _Target(model.eval(), 0).eval(), Path(name).name, n, length


def bench_ism(model, label, Xt, args, versions, res, records):
    from seqlens.attribution.fast_ism import LocalPlan

    work = f"ISM {label} {len(Xt)}x{Xt.shape[-1]}"
    with torch.no_grad():
        res["ism_fast_plan_used"] = LocalPlan.build(model, Xt[:1]) is not None
    ism(model, Xt[:1])  # warm-up (imports, first-call costs), for every tool alike
    ours = lambda: ism(model, Xt)  # noqa: E731
    peers = {}
    if versions["tangermeme"]:
        from tangermeme.saturation_mutagenesis import saturation_mutagenesis as tsm

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tsm(model, Xt[:1], device="cpu", fast=False, raw_outputs=True)

        def peer(fast, bs, forced=False):
            def run():
                with (_tangermeme_fastpath_forced() if forced else contextlib.nullcontext()), \
                        warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    y0, y_hat = tsm(model, Xt, device="cpu", fast=fast, batch_size=bs, raw_outputs=True)
                why = [str(w.message) for w in caught if "using fast=False" in str(w.message)]
                return y0, y_hat, (why[0][:200] if why else None)
            return run

        for bs in args.peer_batch_sizes:
            peers[f"fast=False, batch_size={bs}"] = peer(False, bs)
        for bs in args.peer_batch_sizes:
            peers[f"fastISM forced (fast=True, 30 s threshold 0), batch_size={bs}"] = peer(True, bs, True)
        peers["default (fast=True, batch_size=32)"] = peer(True, 32)
    naive = {"naive": lambda: ism(model, Xt, fast=False)}
    # the default picks plain ISM or fastISM from a timing of its first batch, so it varies from run
    # to run between two settings that are both swept: timed once for the record, not a candidate
    fixed = [k for k in peers if not k.startswith("default")]
    out = _sweep_and_confirm(ours, peers, args.repeat, others=naive, candidates=fixed)
    fast = _np(out["outputs"]["ours"])
    res["ism_seconds_cpu"] = statistics.median(x[1] for x in out["rounds"]["ours"])
    res["ism_fast_vs_naive_max_abs_diff"] = float(np.abs(fast - _np(out["outputs"]["naive"])).max())
    r = _ratios(out["rounds"], "ours", "naive")
    res["ism_speedup_vs_naive_cpu"] = 1 / r["ratio_cpu"] if r else None
    res["ism_peer_sweep_cpu_s"] = {k: round(v[1], 3) for k, v in out["sweep"].items()}
    for k, v in out["outputs"].items():
        if isinstance(v, Exception):
            res.setdefault("errors", {})[k] = repr(v)[:300]
    best = out["best"]
    if best is None:
        return
    y0, y_hat, fallback = out["outputs"][best]
    diff = float(np.abs(_np(y_hat[..., 0] - y0[:, None, None, 0]) - fast).max())
    fallbacks = {k: v[2] for k, v in out["outputs"].items()
                 if k != "ours" and isinstance(v, tuple) and len(v) == 3 and v[2]}
    if fallbacks:
        res["tangermeme_fastism_fallbacks"] = fallbacks
    r = _ratios(out["rounds"], "ours", best)
    res.update({"ism_peer_best_setting": best, **{f"ism_{k}": v for k, v in r.items()},
                "ism_max_abs_diff_tangermeme": diff})
    plan = "used" if res["ism_fast_plan_used"] else "not used"
    ours_setting = f"seqlens ism (defaults: fast plan {plan})"
    note = f"tangermeme fell back to plain ISM: {fallback}" if fallback else ""
    records.append(_record(work, ours_setting, f"tangermeme {versions['tangermeme']}", best, r, args,
                           f"max |ours - tangermeme| = {diff:.1e}", note))


def bench_deepshap(model, label, X, args, versions, res, records):
    work = f"DeepSHAP {label} {len(X)}x{X.shape[-1]}, {args.shuffles} references"
    R = torch.from_numpy(dinucleotide_shuffle(X, args.shuffles, random_state=args.seed))
    Xt = torch.from_numpy(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        deep_lift_shap(model, Xt[:1], references=R[:1])
    ours = lambda: deep_lift_shap(model, Xt, references=R, return_delta=True)  # noqa: E731
    peers, others = {}, {}
    if versions["tangermeme"]:
        from tangermeme.deep_lift_shap import deep_lift_shap as t_dls

        def peer(bs):
            return lambda: t_dls(model, Xt, references=R, batch_size=bs, warning_threshold=1e-3,
                                 device="cpu", only_warn=True)

        for bs in DEEPSHAP_BATCH_SIZES:
            peers[f"batch_size={bs}"] = peer(bs)
    if versions["captum"]:
        from captum.attr import DeepLiftShap

        def run_captum():
            outs, deltas = [], []
            for i in range(len(Xt)):
                a, dd = DeepLiftShap(model).attribute(Xt[i:i + 1], baselines=R[i], target=0,
                                                      return_convergence_delta=True)
                outs.append(a.detach())
                deltas.append(dd.detach())
            return torch.cat(outs), torch.cat(deltas)

        others["captum"] = run_captum
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = _sweep_and_confirm(ours, peers, args.repeat, others)
    attr, delta = out["outputs"]["ours"]
    res["deepshap_max_abs_delta"] = float(delta.abs().max())
    res["deepshap_peer_sweep_cpu_s"] = {k: round(v[1], 3) for k, v in out["sweep"].items()}
    for k, v in out["outputs"].items():
        if isinstance(v, Exception):
            res.setdefault("errors", {})[f"deepshap {k}"] = repr(v)[:300]
    setting = "seqlens deep_lift_shap (defaults: batch 32, exact rules)"
    if out["best"] and not isinstance(out["outputs"][out["best"]], Exception):
        r = _ratios(out["rounds"], "ours", out["best"])
        # tangermeme's default output: each column's sum of our (hypothetical) contributions, put on
        # the observed letter (tests/attribution/test_tangermeme_compat.py)
        t_attr = _np(out["outputs"][out["best"]])
        diff = float(np.abs(t_attr - _np(attr.sum(1, keepdim=True) * Xt)).max())
        with torch.no_grad():  # its summation to delta: sum of attributions = f(x) - mean f(references)
            fx = model(Xt)[:, 0]
            fr = model(R.reshape(-1, *R.shape[2:]))[:, 0].reshape(R.shape[:2]).mean(1)
        t_delta = float(np.abs(t_attr.sum((1, 2)) - _np(fx - fr)).max())
        res.update({"deepshap_peer_best_setting": out["best"], **{f"deepshap_{k}": v for k, v in r.items()},
                    "deepshap_max_abs_diff_tangermeme": diff, "tangermeme_deepshap_max_abs_delta": t_delta})
        records.append(_record(work, setting, f"tangermeme {versions['tangermeme']}", out["best"], r, args,
                               f"max |ours - tangermeme| = {diff:.1e}; sum-to-delta: ours "
                               f"{res['deepshap_max_abs_delta']:.1e}, tangermeme {t_delta:.1e}"))
    if "captum" in others and not isinstance(out["outputs"].get("captum"), Exception):
        c_attr, c_delta = out["outputs"]["captum"]
        r = _ratios(out["rounds"], "ours", "captum")
        diff = float(np.abs(_np(c_attr) - _np(attr)).max())
        res.update({f"deepshap_captum_{k}": v for k, v in r.items()})
        records.append(_record(work, setting, f"captum {versions['captum']}",
                               "DeepLiftShap, one sequence and its references per call", r, args,
                               f"max |ours - captum| = {diff:.1e}; captum sum-to-delta "
                               f"{float(c_delta.abs().max()):.1e}"))


def bench_logo(args, versions, records) -> dict:
    """A 1-kb attribution track (observed letters only, ``attr * X``) written to PNG at the same
    size and dpi by both tools. Ours: ``save_logo(attr, "x.png", figsize, dpi)`` (the raster
    path); peer: new figure, ``plot_logo``, ``savefig``, close. Our matplotlib logo on the same
    figure steps is timed too, for the record (its ratio is not the headline)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqlens.plot.logos import logo, save_logo

    rng = np.random.default_rng(args.seed)
    L, size, dpi = 1000, (20.0, 2.0), 100
    X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, L)].T
    attr = (rng.normal(size=(4, L)).astype(np.float32) * X)
    tmp = Path(tempfile.mkdtemp(prefix="logo_speed_"))

    def draw(fn, path):
        def run():
            fig, ax = plt.subplots(figsize=size)
            fn(ax)
            fig.savefig(path, dpi=dpi)
            plt.close(fig)
            return path.stat().st_size
        return run

    def ours():
        return save_logo(attr, tmp / "ours.png", dpi=dpi, figsize=size).stat().st_size

    ours()  # warm-up: glyph rasters, fonts
    others = {"seqlens logo on a matplotlib figure": draw(lambda ax: logo(attr, ax=ax), tmp / "ours_mpl.png")}
    others["seqlens logo on a matplotlib figure"]()
    peers = {}
    if versions["tangermeme"]:
        from tangermeme.plot import plot_logo

        peers["plot_logo (defaults)"] = draw(lambda ax: plot_logo(attr, ax=ax), tmp / "tangermeme.png")
        peers["plot_logo (defaults)"]()
    out = _sweep_and_confirm(ours, peers, max(args.repeat, 3), others)
    from PIL import Image

    files = {k: tmp / f"{k}.png" for k in ("ours", "tangermeme") if (tmp / f"{k}.png").exists()}
    res = {"logo_length": L, "logo_figsize": list(size), "logo_dpi": dpi,
           "logo_png_pixels": {k: list(Image.open(f).size) for k, f in files.items()},
           "logo_png_bytes": {k: f.stat().st_size for k, f in files.items()}}
    if out["best"]:
        r = _ratios(out["rounds"], "ours", out["best"])
        res.update({f"logo_{k}": v for k, v in r.items()})
        records.append(_record(f"logo of a {L}-nt attribution track to PNG", "seqlens.plot.logos.save_logo "
                               "(raster PNG path)", f"tangermeme {versions['tangermeme']}", out["best"], r,
                               args, note=f"{size[0]:g}x{size[1]:g} in at {dpi} dpi, Agg; PNG pixels "
                               f"{res['logo_png_pixels']}, bytes {res['logo_png_bytes']}"))
        r2 = _ratios(out["rounds"], "seqlens logo on a matplotlib figure", out["best"])
        res.update({f"logo_matplotlib_{k}": v for k, v in r2.items()})
    return res


_COLUMNS = [  # (key, header, format)
    ("ism_ours_cpu_s", "ism_cpu_s", ".2f"),
    ("ism_peer_cpu_s", "tm_cpu_s", ".2f"),
    ("ism_ratio_cpu", "ism/tm_cpu", ".3f"),
    ("ism_ratio_wall", "ism/tm_wall", ".3f"),
    ("ism_speedup_vs_naive_cpu", "x_naive", ".1f"),
    ("ism_fast_vs_naive_max_abs_diff", "diff_naive", ".1e"),
    ("ism_max_abs_diff_tangermeme", "diff_tm", ".1e"),
    ("deepshap_ours_cpu_s", "shap_cpu_s", ".2f"),
    ("deepshap_ratio_cpu", "shap/tm_cpu", ".3f"),
    ("deepshap_captum_ratio_cpu", "shap/captum", ".3f"),
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
    p.add_argument("--model", nargs="+", default=DEFAULT_MODELS,
                   help="zoo presets, zoo:KEY[/SEED] (shipped zoo models) or run folders, each "
                        "optionally @NxL (sequences x length)")
    p.add_argument("--activation", default=None)
    p.add_argument("--n", type=int, default=16, help="sequences when a model has no @NxL")
    p.add_argument("--length", type=int, default=200, help="length when a model has no @NxL")
    p.add_argument("--shuffles", type=int, default=20)
    p.add_argument("--methods", default="ism,deepshap,logo", help="comma-separated: ism, deepshap, logo")
    p.add_argument("--repeat", type=int, default=3, help="confirmation rounds (median)")
    p.add_argument("--peer-batch-sizes", default="32,256,1024", help="tangermeme ISM batch sizes swept")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="out/bench/attribution_speed.json")
    args = p.parse_args(argv)
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if set(args.methods) - {"ism", "deepshap", "logo"}:
        p.error(f"unknown methods {sorted(set(args.methods) - {'ism', 'deepshap', 'logo'})}")
    args.peer_batch_sizes = [int(b) for b in args.peer_batch_sizes.split(",") if b]
    torch.set_num_threads(args.threads)
    versions = {"torch": torch.__version__, "tangermeme": _version("tangermeme"),
                "captum": _version("captum"), "matplotlib": _version("matplotlib"), "numpy": np.__version__,
                "python": platform.python_version()}
    load_start = _loadavg()
    print(f"attribution speed, {args.threads} thread(s) for every tool (torch.set_num_threads), "
          f"{os.cpu_count()} CPUs, load average {load_start} at the start; "
          + ", ".join(f"{k} {v}" for k, v in versions.items()))
    out = {"settings": {k: v for k, v in vars(args).items()}, "versions": versions,
           "loadavg_start": load_start, "cpus": os.cpu_count(), "models": {}, "ratios": []}
    rows = []
    specs = [m for arg in args.model for m in arg.split(",") if m]
    for spec in specs if {"ism", "deepshap"} & set(args.methods) else []:
        model, label, n, length = _load(spec, args)
        rng = np.random.default_rng(args.seed)
        X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, length))].transpose(0, 2, 1).copy()
        res = {"model": label, "n_sequences": n, "length": length, "loadavg_before": _loadavg()}
        with torch.no_grad():
            if "ism" in args.methods:
                bench_ism(model, label, torch.from_numpy(X), args, versions, res, out["ratios"])
        if "deepshap" in args.methods:
            bench_deepshap(model, label, X, args, versions, res, out["ratios"])
        rows.append(res)
        out["models"][label] = res
        print(_table([res]), flush=True)
    if "logo" in args.methods:
        out["logo"] = bench_logo(args, versions, out["ratios"])
    out["loadavg_end"] = _loadavg()

    print()
    if rows:
        print(_table(rows))
    for r in rows:
        for key in ("ism_peer_best_setting", "deepshap_peer_best_setting", "tangermeme_fastism_fallbacks",
                    "errors"):
            if key in r:
                print(f"  {r['model']}: {key} = {r[key]}")
    print(f"\nratios (ours / peer's best setting, same run; target <= {TARGET}; load average "
          f"{load_start} -> {out['loadavg_end']}):")
    for rec in out["ratios"]:
        print(f"  {rec['work']}: {rec.get('ratio_cpu', float('nan')):.3f} CPU, "
              f"{rec.get('ratio_wall', float('nan')):.3f} wall vs {rec['peer']} [{rec['peer_setting']}]"
              f"{' - met' if rec['met'] else ' - NOT met'}; {rec['values']} {rec['note']}".rstrip())
    if not versions["tangermeme"]:
        print("  (tangermeme not installed: pip install 'tangermeme>=1.6' to compare)")
    if not versions["captum"]:
        print("  (captum not installed: pip install 'captum>=0.9' to compare)")
    write_json(args.out, out)
    return out


if __name__ == "__main__":
    main()
