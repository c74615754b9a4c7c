"""Motif discovery from attribution maps, scored against the simulation's truth; seqlens vs
modisco-lite on the same maps.

For each (dataset, activation, seed): the reference zoo's model (``seqlens.study.zoo``, trained to
early stopping at its paper's recipe) and its dataset regenerated exactly, then DeepSHAP
(hypothetical contributions, dinucleotide-shuffled references) and saliency maps (plain and with
gradient correction) of ALL test sequences (positives and negatives), then
``seqlens.interpret.discovery`` (seqlets, patterns) and, with ``--modisco``, modisco-lite's
``TFMoDISco`` on the same maps, each in its own process (time and peak memory of that process, one
thread). Both are scored by the same code: core motifs recovered (a pattern whose top Tomtom hit
against JASPAR 2016 vertebrates is the true matrix), decoys among the patterns holding >= 5% of the
seqlets, spurious patterns (matching no simulated motif, by Tomtom nor by truth overlap), and hit
precision/recall (seqlens' hit caller on each tool's patterns; a hit is right when it falls on a
true instance of its pattern's motif, +-3 nt, right strand). Each figure also at the JASPAR TF
family level (``*_family``: a top Tomtom hit or a hit on a motif of the true motif's family, e.g.
CEBPD for CEBPB, counts), next to the strict one; and the ceiling of a sequence-only caller: FIMO
with the TRUE core matrices, scored by the same rules (``fimo_true_matrices``), and its precision at
each tool's recall (``hit_precision_ceiling``: the best a caller reading only the sequence could do
at that recall).

Usage (1 thread):
    python benchmarks/motif_discovery.py --modisco
Options: --activations relu exponential, --seeds 0 1 2 (the zoo's built seeds), --dataset
multitask_motifs (per task), --dataset zbed2 (real ChIP-seq: IRF/ISRE match of the top pattern).
Maps are cached under --cache. Prints a table and writes <out>/motif_discovery.json. A zoo rebuilt
elsewhere is used with SEQLENS_ZOO=DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

# The reference zoo's model of each (dataset, first-layer activation); every one was trained to early
# stopping at its paper's recipe (seqlens.study.zoo).
ZOO_KEYS = {
    ("regulatory_code", "exponential"): "regcode_cnn_local_exponential",
    ("regulatory_code", "relu"): "regcode_cnn_local_relu",
    ("multitask_motifs", "exponential"): "multitask_cnn_p4_exponential",
    ("multitask_motifs", "relu"): "multitask_cnn_p4_relu",
    ("zbed2", "exponential"): "zbed2_residualbind_exponential",
}


# ----------------------------------------------------------------------------------- data & maps
def zoo_model(dataset: str, activation: str, seed: int):
    """``(model, info, data)`` of the zoo entry for (dataset, activation) and ``seed``: the model,
    its stored metadata and the entry's dataset regenerated exactly as the model was trained on."""
    from seqlens.study.zoo import ENTRIES, available_seeds, load_zoo_model, split_digest

    key = ZOO_KEYS.get((dataset, activation))
    if key is None:
        raise SystemExit(f"the zoo has no {activation} model of {dataset}")
    if seed not in available_seeds(key):
        raise SystemExit(f"zoo model {key} seed {seed} is not built (built: {available_seeds(key)})")
    model, meta = load_zoo_model(key, seed)
    data = _dataset(ENTRIES[key])
    if meta.get("test_sha256") and split_digest(data.test) != meta["test_sha256"]:
        raise SystemExit(f"the regenerated test split of {key} differs from the one it was scored on")
    info = {"model": key, "activation": activation, "seed": seed,
            "test_auroc": meta.get("metrics", {}).get("test_auroc"),
            "epochs_run": meta.get("epochs_run"), "best_epoch": meta.get("best_epoch")}
    return model, info, data


_DATA: dict = {}


def _dataset(entry):
    """The entry's dataset, regenerated once per (dataset, n) in this process."""
    from seqlens.study.zoo import zoo_dataset

    key = (entry.dataset, entry.n)
    if key not in _DATA:
        _DATA.clear()
        _DATA[key] = zoo_dataset(entry)
    return _DATA[key]


def attribution_maps(model, X, target, names, args, stem: Path) -> dict:
    """The maps ``names`` of every sequence for output ``target``: ``deepshap`` (hypothetical
    contributions), ``saliency`` and ``saliency_corrected``, each cached in ``<stem>_<name>.npy``."""
    from seqlens.attribution import deep_lift_shap, saliency
    from seqlens.attribution._utils import correct_gradients

    stem.parent.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in names:
        path = stem.parent / f"{stem.name}_{name}.npy"
        if not path.exists():
            t0 = time.perf_counter()
            if name == "deepshap":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    m = deep_lift_shap(model, X, target=target, hypothetical=True,
                                       n_shuffles=args.n_shuffles, batch_size=32, random_state=0)
            else:
                m = saliency(model, X, target=target, batch_size=256)
                if name == "saliency_corrected":
                    m = correct_gradients(m)
            np.save(path, np.asarray(m, np.float32))
            print(f"{name} of {len(X)} sequences (output {target}): {time.perf_counter() - t0:.1f} s",
                  flush=True)
        out[name] = np.load(path)
    return out


def prepare(args, dataset: str, activation: str, seed: int):
    """Data, model info and maps (every test sequence) of one (dataset, activation, seed), the
    maps cached under --cache."""
    model, info, data = zoo_model(dataset, activation, seed)
    tag = f"{info['model']}_s{seed}"
    targets = [0]
    if dataset == "multitask_motifs":
        targets = args.tasks if args.tasks is not None else range(data.n_tasks)
    maps = {t: attribution_maps(model, data.test.X, t, args.maps, args, Path(args.cache) / f"{tag}_t{t}")
            for t in targets}
    return data, info, maps


# ------------------------------------------------------------------------ the tools, one process each
def _status_mb(key: str) -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of this process, in MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    """Reset this process's peak resident size (Linux: 5 > /proc/self/clear_refs), so the peak
    measured after a step is that step's, not an import's."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def _child(tool: str, inputs: str, out_h5: str, threads: int, queue) -> None:
    """Run one tool on the maps in ``inputs`` (npz: X, attr) and write its patterns to
    ``out_h5`` in tfmodisco-lite's layout; report seconds and peak memory (resident, of the
    discovery itself: the peak is reset after the inputs are read and the modules imported)."""
    for var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    import torch

    torch.set_num_threads(threads)
    with np.load(inputs) as z:
        X, attr = z["X"], z["attr"]
    if tool == "seqlens":
        from seqlens.interpret.discovery import discover, write_modisco_h5

        torch.nn.functional.conv1d(torch.ones(1, 4, 8), torch.ones(1, 4, 3))  # load kernels
    else:
        import modiscolite
        from modiscolite.tfmodisco import TFMoDISco
    base = _status_mb("VmRSS")
    _reset_peak()
    t0 = time.perf_counter()
    if tool == "seqlens":
        # discover's defaults: seqlets, patterns and the sites' PWMs (refine_sites); no hits here
        found = discover(attr, X, hits=False, random_state=0)
        table, patterns = found.seqlets, found.patterns
        seconds = time.perf_counter() - t0
        peak = _status_mb("VmHWM")
        write_modisco_h5(out_h5, patterns, attr, X)
        n_seqlets = len(table)
        in_patterns = sum(p.n_seqlets for p in patterns)
    else:
        # modisco-lite's documented settings (its `modisco motifs` command: -n 20000 -l 2 -z 20
        # -t 30 -f 5 -g 10 -j 0, seqlet FDR 0.05), the whole sequence as the window
        pos, neg = TFMoDISco(one_hot=X.transpose(0, 2, 1).copy(),
                             hypothetical_contribs=attr.transpose(0, 2, 1).copy(),
                             max_seqlets_per_metacluster=20000, sliding_window_size=20,
                             flank_size=5, trim_to_window_size=30, initial_flank_to_add=10,
                             final_flank_to_add=0, target_seqlet_fdr=0.05, n_leiden_runs=2)
        seconds = time.perf_counter() - t0
        peak = _status_mb("VmHWM")
        modiscolite.io.save_hdf5(out_h5, pos, neg, X.shape[2])
        n_seqlets = None  # modisco-lite does not return the seqlets outside its patterns
        in_patterns = sum(len(p.seqlets) for p in [*(pos or []), *(neg or [])])
    queue.put({"seconds": seconds, "peak_mb": peak, "peak_above_input_mb": peak - base,
               "n_seqlets": n_seqlets, "n_pattern_seqlets": in_patterns})


def run_tool(tool: str, X, attr, threads: int, work: Path, reuse=()) -> tuple[list, dict]:
    """Patterns and cost of one tool, run in a fresh (spawned) process; for a tool in ``reuse``,
    those of an earlier run in ``work`` (its ``<tool>.h5`` and ``<tool>_cost.json``) when both
    exist, so hits can be scored again without running the tool again."""
    import multiprocessing as mp

    from seqlens.interpret.discovery import read_modisco_h5

    work.mkdir(parents=True, exist_ok=True)
    inputs, out_h5, cost_json = work / f"{tool}_inputs.npz", work / f"{tool}.h5", work / f"{tool}_cost.json"
    if tool in reuse and out_h5.exists() and cost_json.exists():
        cost = {**json.loads(cost_json.read_text()), "reused": True}
    else:
        np.savez(inputs, X=X.astype(np.float32), attr=attr.astype(np.float32))
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        proc = ctx.Process(target=_child, args=(tool, str(inputs), str(out_h5), threads, queue))
        proc.start()
        cost = queue.get()
        proc.join()
        inputs.unlink()
        cost_json.write_text(json.dumps(cost))
    has = out_h5.exists()
    if has:
        import h5py

        with h5py.File(out_h5, "r") as fh:
            has = "pos_patterns" in fh or "neg_patterns" in fh
    return (read_modisco_h5(out_h5) if has else []), cost


HIT_FDRS = (0.05, 0.2)


def score_tool(patterns, X, attr, instances, motifs, database, tolerance: int = 3,
               fdrs=HIT_FDRS, families=None) -> dict:
    """Recovery, decoys, spurious patterns and hit precision/recall of one tool's patterns (the
    same scanner and Tomtom for every tool); precision/recall also at other sequence FDRs of
    the scanner (``hit_precision_fdr0.05``, ...; ``fdrs``), to compare tools at equal recall;
    ``families`` (:func:`family_test`) adds the family-level figures."""
    from seqlens.interpret.discovery import call_hits, match_hits, score_discovery, top_matches
    from seqlens.interpret.discovery.hits import HIT_COLUMNS

    t0 = time.perf_counter()
    hits = call_hits(patterns, attr, X) if patterns else pd.DataFrame(columns=HIT_COLUMNS)
    t_hits = time.perf_counter() - t0
    matches = top_matches(patterns, database) if patterns else None
    metrics, table = score_discovery(patterns, hits, instances, motifs, matches, tolerance,
                                     families=families)
    metrics["seconds_hits"] = t_hits
    truth = dict(zip(table.get("pattern", []), table.get("truth_motif_index", [])))
    core = instances["core"].to_numpy()
    for f in fdrs:
        h = call_hits(patterns, attr, X, fdr=f) if patterns else hits
        ok, found, _ = match_hits(h, instances, truth, tolerance)
        metrics[f"hit_precision_fdr{f}"] = float(ok.mean()) if len(h) else float("nan")
        metrics[f"hit_recall_fdr{f}"] = float(found[core].mean()) if core.any() else float("nan")
    return metrics, table, matches


CEILING_P = (1e-3, 5e-4, 3e-4, 2e-4, 1.5e-4, 1e-4, 7e-5, 5e-5, 3e-5, 2e-5, 1e-5)


def ceiling_at_recall(ceiling: dict, recall: float, rule: str = "") -> float:
    """The precision of the true-matrix FIMO caller (:func:`true_matrix_ceiling`) at ``recall``,
    linear between its p-value thresholds (nan outside the recalls they reach): the precision a
    caller that knew the true matrices would have at a tool's recall."""
    pts = sorted((ceiling[f"p{p:g}_hit_recall{rule}"], ceiling[f"p{p:g}_hit_precision{rule}"])
                 for p in CEILING_P)
    r, prec = np.array(pts).T
    if not r[0] <= recall <= r[-1]:
        return float("nan")
    return float(np.interp(recall, r, prec))


def true_matrix_ceiling(X, instances, motifs, families, tolerance: int = 3, p_values=CEILING_P) -> dict:
    """Hit precision/recall of a sequence-only caller that knows the answer: FIMO with the true
    JASPAR matrices of the core motifs at each p-value in ``p_values``, overlapping windows
    suppressed (as the hit caller does, higher score first), scored by the strict and the family
    rules (each matrix's truth motif is itself)."""
    from seqlens.interpret.discovery import match_hits
    from seqlens.interpret.discovery.hits import _non_overlapping
    from seqlens.interpret.discovery.truth import family_members
    from seqlens.motifs.scan import scan
    from seqlens.simulate.datasets import get_motifs

    core_idx = sorted(set(instances.loc[instances["core"], "motif_index"].tolist()))
    ids = [m["id"] for m in motifs]
    mats = get_motifs([ids[k] for k in core_idx])
    strict = {str(k): k for k in core_idx}
    family = {str(k): family_members(ids, families, k) for k in core_idx}
    core = instances["core"].to_numpy()
    out = {}
    for p in p_values:
        s = scan(mats, X, threshold=p)
        h = pd.DataFrame({"seq": s["sequence_index"], "start": s["start"], "end": s["end"],
                          "strand": s["strand"], "score": s["score"], "seq_score": s["score"],
                          "pattern": [str(core_idx[i]) for i in s["motif_index"]]})
        h = _non_overlapping(h, 0.5).reset_index(drop=True)
        for rule, truth in (("", strict), ("_family", family)):
            ok, found, _ = match_hits(h, instances, truth, tolerance)
            out[f"p{p:g}_hit_precision{rule}"] = float(ok.mean()) if len(h) else float("nan")
            out[f"p{p:g}_hit_recall{rule}"] = float(found[core].mean())
        out[f"p{p:g}_n_hits"] = int(len(h))
    return out


def task_scores(patterns, X, attr, instances, matches, task: int, motifs, tolerance: int = 3,
                families=None) -> dict:
    """Multitask: is output ``task``'s own motif recovered by a *positive* pattern of its map (top
    Tomtom hit), and the hits of those patterns against that motif's instances (precision of
    their hits, recall of its instances). Patterns whose seqlets mostly fall on its instances
    (``task_motif_by_truth``) or with the motif among their 3 best Tomtom hits
    (``task_motif_in_top3``: a family member such as CEBPE or MAFF ranked first) are scanned too;
    ``task_motif_recovered_family``: a positive pattern's top hit is of the motif's JASPAR family
    (``families``, :func:`family_test`)."""
    from seqlens.interpret.discovery import call_hits, match_hits
    from seqlens.interpret.discovery.truth import pattern_truth
    from seqlens.motifs.jaspar import same_base_id

    want = motifs[task].get("id", "")
    pos = [p for p in patterns if p.sign > 0]
    top = {} if matches is None else {r.pattern: r.target for r in matches[matches["rank"] == 0]
                                      .itertuples()}
    by_match = [p for p in pos if p.name in top and same_base_id(top[p.name], want)]
    by_truth = [p for p in pos if pattern_truth(p, instances)["truth_motif_index"] == task]
    top3 = set() if matches is None else {r.pattern for r in matches[matches["rank"] < 3].itertuples()
                                          if same_base_id(r.target, want)}
    mine = {p.name: p for p in [*by_match, *by_truth, *(p for p in pos if p.name in top3)]}
    out = {"task_motif_recovered": bool(by_match), "task_motif_by_truth": bool(by_truth),
           "task_motif_in_top3": any(p.name in top3 for p in pos),
           "task_top_pattern_is_motif": bool(pos) and pos[0].name in {p.name for p in by_match}}
    if families is not None:
        out["task_motif_recovered_family"] = any(families(want, top[p.name]) for p in pos
                                                 if p.name in top)
    if mine:
        hits = call_hits(list(mine.values()), attr, X)
        ok, found, _ = match_hits(hits, instances, dict.fromkeys(mine, task), tolerance)
        m = (instances["motif_index"] == task).to_numpy()
        out["task_motif_hit_precision"] = float(ok.mean()) if len(hits) else float("nan")
        out["task_motif_hit_recall"] = float(found[m].mean())
    else:
        out["task_motif_hit_precision"] = out["task_motif_hit_recall"] = float("nan")
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--dataset", default="regulatory_code",
                   choices=("regulatory_code", "multitask_motifs", "zbed2"))
    p.add_argument("--activations", nargs="+", default=["exponential"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--maps", nargs="+", default=["deepshap", "saliency_corrected"],
                   choices=("deepshap", "saliency", "saliency_corrected"))
    p.add_argument("--n-shuffles", type=int, default=10, help="DeepSHAP references")
    p.add_argument("--tasks", type=int, nargs="+", default=None,
                   help="multitask_motifs: only these outputs (default: all 12)")
    p.add_argument("--modisco", action="store_true", help="also run modisco-lite (if installed)")
    p.add_argument("--seqlet-pwm", action="store_true",
                   help="also score seqlens' patterns with their seqlets' PWM (site_iter 0)")
    p.add_argument("--prep-only", action="store_true", help="train and compute maps only")
    p.add_argument("--scaling", action="store_true",
                   help="also time each tool on 1/8, 1/4, 1/2 and all of the dataset's sequences "
                        "(every split; memory vs seqlets)")
    p.add_argument("--reuse", nargs="+", default=(), choices=("seqlens", "modisco"),
                   help="reuse these tools' patterns and cost from an earlier run in --cache "
                        "(to score hits again)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--cache", default="/tmp/motif_bench")
    p.add_argument("--out", default="out/bench/motif_discovery")
    args = p.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for act in args.activations:
        for seed in args.seeds:
            prepare(args, args.dataset, act, seed)
    if args.prep_only:
        return {}
    tools = ["seqlens"]
    if args.modisco:
        try:
            import modiscolite  # noqa: F401

            tools.append("modisco")
        except ImportError:
            print("modisco-lite is not installed; running seqlens only", flush=True)
    if args.dataset == "zbed2":
        return zbed2(args, tools)
    from seqlens.interpret.discovery import instances_for
    from seqlens.interpret.discovery.truth import family_test
    from seqlens.simulate.datasets import jaspar2016
    from seqlens.study.zoo import split_digest

    database = list(jaspar2016().values())
    families = family_test(database)
    runs, ceilings = [], {}
    for act in args.activations:
        for seed in args.seeds:
            data, info, maps = prepare(args, args.dataset, act, seed)
            instances = instances_for(data, "test")
            motifs = data.metadata["motifs"]
            tasks = data.metadata.get("tasks", ["task0"])
            multitask = args.dataset == "multitask_motifs"
            fdrs = () if multitask else HIT_FDRS  # 12 maps per model: one scan each
            X = data.test.X
            digest = split_digest(data.test)
            if digest not in ceilings:
                ceilings[digest] = true_matrix_ceiling(X, instances, motifs, families)
                print(f"FIMO with the true core matrices ({act} s{seed}'s test split): "
                      f"{ceilings[digest]}", flush=True)
            for t, task_maps in maps.items():
                for mname in args.maps:
                    for tool in tools:
                        work = Path(args.cache) / "runs" / f"{args.dataset}_{act}_s{seed}_t{t}_{mname}"
                        patterns, cost = run_tool(tool, X, task_maps[mname], args.threads, work,
                                                  args.reuse)
                        metrics, _, matches = score_tool(patterns, X, task_maps[mname], instances,
                                                         motifs, database, fdrs=fdrs,
                                                         families=families)
                        row = {"dataset": args.dataset, "activation": act, "seed": seed,
                               "task": tasks[t] if multitask else "", "map": mname,
                               "tool": tool, "test_auroc": info.get("test_auroc"), **cost,
                               **metrics}
                        if multitask:
                            row.update(task_scores(patterns, X, task_maps[mname], instances,
                                                   matches, t, motifs, families=families))
                        else:
                            _add_ceiling(row, ceilings[digest])
                        runs.append(row)
                        print(_line(row), flush=True)
                        if tool == "seqlens" and args.seqlet_pwm:
                            for p in patterns:
                                p.site_pwm, p.n_sites = None, 0
                            metrics, _, matches = score_tool(patterns, X, task_maps[mname], instances,
                                                             motifs, database, fdrs=fdrs,
                                                             families=families)
                            runs.append({**row, **metrics, "tool": "seqlens_seqlet_pwm"})
                            if multitask:
                                runs[-1].update(task_scores(patterns, X, task_maps[mname], instances,
                                                            matches, t, motifs, families=families))
                            else:
                                _add_ceiling(runs[-1], ceilings[digest])
                            print(_line(runs[-1]), flush=True)
            if args.scaling:
                scaling(args, tools, act, seed)
    return summarise(args, runs, tools, list(ceilings.values()))


def scaling(args, tools, act: str, seed: int) -> None:
    """Seconds, peak memory and seqlets of each tool on growing subsets of ALL the dataset's
    sequences (train, valid and test: 20,000 for regulatory_code), maps of the first ``--maps``
    for output 0 (cached), to see whether memory stays flat as the seqlets grow."""
    from seqlens.io.atomic import write_json

    model, info, data = zoo_model(args.dataset, act, seed)
    X = np.concatenate([data.train.X, data.valid.X, data.test.X])
    tag = f"{act}_s{seed}"
    attr = attribution_maps(model, X, 0, args.maps[:1], args,
                            Path(args.cache) / f"{info['model']}_s{seed}_all")[args.maps[0]]
    rows = []
    for frac in (0.125, 0.25, 0.5, 1.0):
        n = int(round(frac * len(X)))
        for tool in tools:
            work = Path(args.cache) / "runs" / f"scaling_{args.maps[0]}_{tag}_{n}"
            _, cost = run_tool(tool, X[:n], attr[:n], args.threads, work)
            rows.append({"tool": tool, "n_sequences": n, **cost})
            print(f"scaling {tool} n={n}: {cost}", flush=True)
    df = pd.DataFrame(rows)
    print(df.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    write_json(Path(args.out) / f"motif_discovery_scaling_{args.dataset}_{tag}.json",
               {"rows": rows})


def _add_ceiling(row: dict, ceiling: dict) -> None:
    """``hit_precision_ceiling`` (and ``_family``): the true-matrix caller's precision at the
    row's recall (:func:`ceiling_at_recall`)."""
    for rule in ("", "_family"):
        row[f"hit_precision_ceiling{rule}"] = ceiling_at_recall(ceiling, row[f"hit_recall{rule}"], rule)


def _key(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in str(name).lower()).strip("_")


def _line(row: dict) -> str:
    keys = ("activation", "seed", "task", "map", "tool", "core_recovered", "decoys_in_major",
            "spurious_patterns", "n_patterns", "hit_precision", "hit_recall", "hit_precision_ceiling",
            *TASK_COLUMNS, "seconds", "peak_above_input_mb")
    return " ".join(f"{k}={row[k]:.3f}" if isinstance(row.get(k), float) else f"{k}={row.get(k)}"
                    for k in keys if row.get(k, "") != "")


COLUMNS = ("core_recovered", "core_recovered_family", "core_in_top3", "decoys_in_major",
           "spurious_patterns", "n_patterns", "hit_precision", "hit_recall", "hit_precision_ceiling",
           "hit_precision_family", "hit_recall_family", "hit_precision_ceiling_family",
           "hit_precision_positive", "hit_precision_positive_family",
           "hit_precision_negative", "hit_precision_negative_family", "false_hits_on_other_instances",
           *(f"hit_{m}_fdr{f}" for f in HIT_FDRS for m in ("precision", "recall")),
           "seconds", "peak_above_input_mb", "peak_mb")


TASK_COLUMNS = ("task_motif_recovered", "task_motif_recovered_family", "task_motif_in_top3",
                "task_motif_by_truth",
                "task_top_pattern_is_motif",
                "task_motif_hit_precision", "task_motif_hit_recall")


def summarise(args, runs: list[dict], tools: list[str], ceilings=()) -> dict:
    """Mean +- sd over seeds per (activation, map, tool); time/memory ratios vs modisco-lite
    from the same invocation; the true-matrix ceilings (:func:`true_matrix_ceiling`, one per test
    split); a table on stdout and <out>/motif_discovery.json."""
    import torch

    from seqlens.io.atomic import write_json

    df = pd.DataFrame(runs)
    group = ["activation", "map", "tool"] + (["task"] if df["task"].astype(bool).any() else [])
    cols = [c for c in COLUMNS if c in df] + [c for c in TASK_COLUMNS if c in df]
    summary = df.groupby(group, sort=False)[cols].agg(["mean", "std"])
    summary.columns = [f"{a}_{b}" for a, b in summary.columns]
    summary = summary.reset_index()
    per_seed = None
    if "task" in group:  # multitask: tasks whose own motif is recovered, per seed, then mean +- sd
        g = df.groupby(["activation", "map", "tool", "seed"], sort=False)
        per_seed = pd.DataFrame({"tasks": g["task"].count(),
                                 "task_motifs_recovered": g["task_motif_recovered"].sum(),
                                 "task_motifs_recovered_family": g["task_motif_recovered_family"].sum(),
                                 "task_motifs_in_top3": g["task_motif_in_top3"].sum(),
                                 "task_top_pattern_is_motif": g["task_top_pattern_is_motif"].sum(),
                                 "task_motif_hit_precision": g["task_motif_hit_precision"].mean(),
                                 "task_motif_hit_recall": g["task_motif_hit_recall"].mean(),
                                 "seconds": g["seconds"].mean()}).reset_index()
        per_seed = per_seed.groupby(["activation", "map", "tool"], sort=False).agg(
            ["mean", "std"]).drop(columns="seed")
        per_seed.columns = [f"{a}_{b}" for a, b in per_seed.columns]
        per_seed = per_seed.reset_index()
    ratios = {}
    if "modisco" in tools:
        keys = ["activation", "seed", "map"] + (["task"] if "task" in group else [])
        wide = df.pivot_table(index=keys, columns="tool",
                              values=["seconds", "peak_above_input_mb", "peak_mb"])
        for v in ("seconds", "peak_above_input_mb", "peak_mb"):
            r = wide[(v, "seqlens")] / wide[(v, "modisco")]
            ratios[f"{v}_ratio_seqlens_over_modisco_mean"] = float(r.mean())
            ratios[f"{v}_ratio_seqlens_over_modisco_max"] = float(r.max())
    versions = {"torch": torch.__version__, "numpy": np.__version__}
    try:
        import importlib.metadata as md

        versions["modisco_lite"] = md.version("modisco-lite")
    except Exception:  # noqa: BLE001 - not installed
        pass
    load = os.getloadavg()
    with pd.option_context("display.width", 200, "display.max_columns", 40):
        print(f"\nmotif discovery on {args.dataset} (reference zoo models, all test sequences), "
              f"{args.threads} thread(s); versions {versions}; load average {load}")
        print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        if per_seed is not None:
            print("\nper seed (tasks whose own motif a positive pattern recovers; mean over tasks of "
                  "the task motif's hit precision/recall), mean +- sd over seeds:")
            print(per_seed.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for k, v in ratios.items():
        print(f"  {k}: {v:.3f}")
    for c in ceilings:
        print("FIMO with the true core matrices (strict / family rule), per p-value:")
        for p in CEILING_P:
            print(f"  p <= {p:g}: {c[f'p{p:g}_n_hits']} hits, precision {c[f'p{p:g}_hit_precision']:.3f}"
                  f" / {c[f'p{p:g}_hit_precision_family']:.3f}, recall {c[f'p{p:g}_hit_recall']:.3f}"
                  f" / {c[f'p{p:g}_hit_recall_family']:.3f}")
    out = Path(args.out)
    result = {"dataset": args.dataset, "threads": args.threads,
              "versions": versions, "load_average": list(load), "runs": runs,
              "summary": summary.to_dict(orient="records"), **ratios,
              "fimo_true_matrices": list(ceilings)}
    if per_seed is not None:
        result["summary_over_tasks"] = per_seed.to_dict(orient="records")
    write_json(out / "motif_discovery.json", result)
    return result


def zbed2(args, tools: list[str]) -> dict:
    """ZBED2 ChIP-seq: the top positive patterns of each tool and their JASPAR matches; does
    the top positive pattern match an IRF-family motif at q <= 0.05?"""
    from seqlens.interpret.discovery import top_matches
    from seqlens.io.atomic import write_json
    from seqlens.motifs.jaspar import fetch_motifs

    database = fetch_motifs(collection="CORE", tax_group="vertebrates")
    irf = {m.name for m in database
           if any("interferon" in f.lower() for f in m.metadata.get("tf_family", []))
           or m.alt_name.upper().startswith(("IRF", "STAT1::STAT2", "PRDM1"))}
    runs = []
    for act in args.activations:
        for seed in args.seeds:
            data, info, maps = prepare(args, "zbed2", act, seed)
            X = data.test.X
            for mname in args.maps:
                for tool in tools:
                    work = Path(args.cache) / "runs" / f"zbed2_{act}_s{seed}_{mname}"
                    patterns, cost = run_tool(tool, X, maps[0][mname], args.threads, work, args.reuse)
                    pos = [p for p in patterns if p.sign > 0]
                    matches = top_matches(pos[:5], database, top_n=len(database)) if pos else None
                    row = {"dataset": "zbed2", "activation": act, "seed": seed, "map": mname,
                           "tool": tool, "test_auroc": info.get("test_auroc"), **cost,
                           "n_patterns": len(patterns), "n_positive_patterns": len(pos)}
                    for i, p in enumerate(pos[:5]):
                        mine = matches[matches["pattern"] == p.name]
                        good = mine[mine["q_value"] <= 0.05]
                        fam = mine[mine["target"].isin(irf)]
                        row[f"pattern{i}_n_seqlets"] = p.n_seqlets
                        row[f"pattern{i}_consensus"] = p.consensus()
                        row[f"pattern{i}_matches"] = "; ".join(
                            f"{r.target} {r.target_name} q={r.q_value:.2g}"
                            for r in mine.head(5).itertuples())
                        # the best IRF/ISRE-family match, wherever it ranks (ZBED2's own matrix,
                        # MA1971, is a BED zinc finger, not in the family)
                        row[f"pattern{i}_best_irf"] = (f"{fam.iloc[0].target} {fam.iloc[0].target_name} "
                                                       f"q={fam.iloc[0].q_value:.2g} rank "
                                                       f"{int(fam.iloc[0]['rank'])}") if len(fam) else ""
                        row[f"pattern{i}_irf_q05"] = bool(good["target"].isin(irf).any())
                    row["top_pattern_irf_q05"] = row.get("pattern0_irf_q05", False)
                    runs.append(row)
                    print(json.dumps(row, indent=1, default=str), flush=True)
    write_json(Path(args.out) / "motif_discovery_zbed2.json", {"runs": runs})
    return {"runs": runs}


if __name__ == "__main__":
    main()
