"""Potts pseudo-likelihood fits, seqlens vs pydca's plmDCA in the same run: CPU seconds, peak memory,
contact precision and couplings agreement.

Both sides fit the same sequences (the focus columns, written once as a FASTA that pydca reads;
seqlens reads the original alignment with the same focus) with plmc's settings: lambda_h 0.01,
lambda_J 16 (absolute), sequence weights at identity 0.8, ``--max-iter`` L-BFGS iterations
(default 100, plmc's ``-m 100``), gaps not modelled (seqlens ``gaps="ignore"``; pydca models the
gap state and drops it from the scores). Each fit runs in a fresh subprocess (so ``ru_maxrss`` is
its own peak), at each thread count of ``--threads``, ``--repeat`` rounds with the order of the
two tools alternating; a throw-away process first fills numba's cache so that compilation is not
timed (``seqlens.msa.precompile`` does that at install). The ratio is of CPU seconds (user +
system of the fit's process, interpreter start-up included for both), the measure a busy machine
disturbs least; wall seconds are printed beside it.

Reported per family: CPU and wall seconds, peak RSS and the RSS after the imports in MiB (``VmHWM`` of
the child; the model's memory is the difference), precision of the top L pairs (|i - j| >= 6;
DHFR: min atom distance < 5 A from ``DHFR_distances_longrange.csv``; PF00595: < 8 A from
``PF00595_struct.dat``), and on DHFR the Spearman correlation of the APC Frobenius scores with
plmc's own ``DHFR.couplings``; the Spearman correlation of the two tools' scores with each other.

plmc itself is on no package registry (PyPI, Debian) and is not run; the figures remembered for it
(DHFR: about 58 s wall on 2 threads, 714 MB, P@L 0.805) are printed as context, labelled so, and
never divided into a ratio.

    python benchmarks/potts_speed.py [--families dhfr,pdz] [--peer-families dhfr]
                                     [--threads 1,2] [--max-iter 100] [--repeat 1] [--out out/bench]

pydca installs with ``pip install --no-deps --no-build-isolation pydca==1.23`` (``make bench-peers``);
without it the seqlens side still runs and the table says the peer is missing. pydca is slow (about 13x
seqlens' CPU time on DHFR), so by default it fits DHFR only (``--peer-families dhfr,pdz`` adds
PF00595, 36,690 sequences). Prints a table and writes ``<out>/potts_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "msa"
if not DATA.exists():
    DATA = Path("/work/shared/data/msa")
FAMILIES = {
    "dhfr": dict(file="DHFR.a2m", focus="DYR_ECOLI"),
    "pdz": dict(file="PF00595_mgap6.fasta.gz", focus="DLG4_RAT/313-391"),
}
REMEMBERED_PLMC = {"dhfr_wall_seconds_2_threads": 58.0, "dhfr_peak_mb": 714.0,
                   "dhfr_precision_at_L": 0.805}

# peak RSS of the child's own image (VmHWM; ru_maxrss would carry the parent's peak over fork+exec), MiB
HWM = "from seqlens.resources import peak_memory\ndef hwm():\n    return peak_memory() / 2**20\n"

OURS = HWM + r"""
import json, sys, time
c0, w0 = time.process_time(), time.perf_counter()
start_mb = hwm()
import numpy as np
from seqlens.msa import Alignment, Potts
import_mb = hwm()
msa = Alignment.read({path!r}, focus={focus!r})
m = Potts(preset="plmc", max_iter={max_iter}, n_threads={threads}).fit(msa)
cpu, wall = time.process_time() - c0, time.perf_counter() - w0
np.save({scores!r}, m.contacts())
print(json.dumps(dict(cpu_seconds=cpu, wall_seconds=wall, n_iter=m.n_iter_,
                      n_evals=getattr(m, "n_evals_", None), start_mb=start_mb, import_mb=import_mb,
                      peak_mb=hwm(),
                      torch_imported="torch" in sys.modules)))
"""

PYDCA = HWM + r"""
import json, time
c0, w0 = time.process_time(), time.perf_counter()
start_mb = hwm()
import numpy as np
from pydca.plmdca import plmdca
import_mb = hwm()
m = plmdca.PlmDCA({fasta!r}, "protein", seqid=0.8, lambda_h=0.01, lambda_J=16.0,
                  max_iterations={max_iter}, num_threads={threads})
pairs = m.compute_sorted_FN_APC()
cpu, wall = time.process_time() - c0, time.perf_counter() - w0
L = m.sequences_len
S = np.zeros((L, L))
for (i, j), s in pairs:
    S[i, j] = S[j, i] = s
np.save({scores!r}, S)
print(json.dumps(dict(cpu_seconds=cpu, wall_seconds=wall, start_mb=start_mb, import_mb=import_mb,
                      peak_mb=hwm())))
"""

WARMUP = r"""
import numpy as np
from seqlens.msa import Alignment, Potts
msa = Alignment.read({path!r}, focus={focus!r})
Potts(preset="plmc", max_iter=2, n_threads={threads}).fit(msa.subset(np.arange(50)))
"""


def _child(code: str, env: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _quality(fam: str, msa, scores) -> dict:
    """Precision of the top L pairs and (DHFR) Spearman vs plmc's DHFR.couplings."""
    import pandas as pd
    from scipy.stats import spearmanr

    from seqlens.io.structures import read_distance_table
    from seqlens.msa import contact_table, precision_at, precision_table

    pairs = contact_table(scores, msa.columns)
    out = {}
    if fam == "dhfr":
        truth = pd.read_csv(DATA / "DHFR_distances_longrange.csv")[["i", "j", "dist"]]
        out["precision_at_L"] = precision_at(pairs, truth, msa.length, 6, 5.0)
        ref = pd.read_csv(DATA / "DHFR.couplings", sep=" ", header=None,
                          names=["i", "A_i", "j", "A_j", "z", "score"])
        ours = pairs.set_index(["alignment_i", "alignment_j"])["score"]
        ours = ours.reindex(pd.MultiIndex.from_arrays([ref["i"], ref["j"]])).to_numpy()
        out["spearman_vs_plmc_couplings"] = float(spearmanr(ref["score"], ours).statistic)
    else:
        # the structure table numbers alignment columns
        by_column = pairs.assign(i=pairs["alignment_i"], j=pairs["alignment_j"])
        prec = precision_table(by_column, read_distance_table(DATA / "PF00595_struct.dat"),
                               msa.length, threshold=8.0)
        out["precision_at_L"] = prec["precision_at_L_sep6"]
    return out


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("seqlens", "pydca", "numpy", "numba", "scipy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--families", default="dhfr,pdz")
    p.add_argument("--peer-families", default="dhfr",
                   help="families pydca also fits (it is slow on PF00595's 36,690 sequences)")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    p.add_argument("--max-iter", type=int, default=100)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--out", default="out/bench")
    args = p.parse_args(argv)
    import numpy as np
    from scipy.stats import spearmanr

    from seqlens.io.fasta import write_fasta
    from seqlens.msa import Alignment

    versions = _versions()
    families = [f for f in args.families.split(",") if f]
    peer_families = set(args.peer_families.split(",")) if versions["pydca"] else set()
    threads_list = [int(t) for t in args.threads.split(",")]
    result = {"versions": versions, "loadavg_start": list(os.getloadavg()),
              "settings": {"both": "lambda_h 0.01, lambda_J 16, identity 0.8, gaps not scored, "
                                   f"max_iter {args.max_iter}", "seqlens": "Potts(preset='plmc')",
                           "pydca": "PlmDCA(seqid=0.8, lambda_h=0.01, lambda_J=16.0) + "
                                    "compute_sorted_FN_APC"},
              "families": {}, "ratios": []}
    if not versions["pydca"]:
        result["peer_missing"] = ("pydca is not installed: pip install --no-deps "
                                  "--no-build-isolation pydca==1.23")
    tmp = Path(tempfile.mkdtemp(prefix="potts_speed_"))
    for fam in families:
        spec = FAMILIES[fam]
        path = str(DATA / spec["file"])
        msa = Alignment.read(path, focus=spec["focus"])
        fasta = tmp / f"{fam}_focus.fasta"
        write_fasta(fasta, list(zip(msa.names, msa.rows())), line_width=0)
        fam_out = {"n_sequences": msa.n_sequences, "length": msa.length, "runs": []}
        for threads in threads_list:
            env = dict(os.environ, OMP_NUM_THREADS=str(threads), NUMBA_NUM_THREADS=str(threads))
            subprocess.run([sys.executable, "-c", WARMUP.format(path=path, focus=spec["focus"],
                                                                threads=threads)],
                           env=env, check=True, capture_output=True)
            tools = ["seqlens"] + (["pydca"] if fam in peer_families else [])
            for r in range(args.repeat):
                for tool in (tools if r % 2 == 0 else tools[::-1]):
                    scores = str(tmp / f"{fam}_{tool}_{threads}_{r}.npy")
                    code = (OURS.format(path=path, focus=spec["focus"], max_iter=args.max_iter,
                                        threads=threads, scores=scores) if tool == "seqlens" else
                            PYDCA.format(fasta=str(fasta), max_iter=args.max_iter,
                                         threads=threads, scores=scores))
                    run = {"tool": tool, "threads": threads, "round": r,
                           "loadavg": os.getloadavg()[0], **_child(code, env)}
                    if "error" not in run:
                        S = np.load(scores)
                        run.update(_quality(fam, msa, S))
                        run["model_mb"] = run["peak_mb"] - run["import_mb"]
                        run["scores_file"] = scores
                    fam_out["runs"].append(run)
                    print(f"{fam:5s} {tool:8s} threads {threads} round {r}: "
                          + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                      for k, v in run.items()
                                      if k not in ("tool", "threads", "round", "scores_file")),
                          flush=True)
            ours = [x for x in fam_out["runs"] if x["tool"] == "seqlens" and x["threads"] == threads
                    and "error" not in x]
            peer = [x for x in fam_out["runs"] if x["tool"] == "pydca" and x["threads"] == threads
                    and "error" not in x]
            if ours and peer:
                o = min(ours, key=lambda x: x["cpu_seconds"])
                q = min(peer, key=lambda x: x["cpu_seconds"])
                agree = float(spearmanr(np.load(o["scores_file"])[np.triu_indices(msa.length, 1)],
                                        np.load(q["scores_file"])[np.triu_indices(msa.length, 1)]
                                        ).statistic)
                result["ratios"].append({
                    "work": f"Potts PLM fit, {fam} ({msa.n_sequences} x {msa.length}), "
                            f"{args.max_iter} iterations, {threads} thread(s)",
                    "peer": f"pydca {versions['pydca']}",
                    "peer_setting": "PlmDCA seqid 0.8, lambda_h 0.01, lambda_J 16",
                    "ours": "Potts(preset='plmc')", "threads": threads,
                    "ratio_cpu": o["cpu_seconds"] / q["cpu_seconds"],
                    "ratio_wall": o["wall_seconds"] / q["wall_seconds"],
                    "ratio_peak_memory": o["peak_mb"] / q["peak_mb"],
                    "values": f"Spearman(ours, pydca scores) {agree:.4f}; P@L ours "
                              f"{o['precision_at_L']:.3f}, pydca {q['precision_at_L']:.3f}",
                    "note": "min CPU over rounds, each side; interpreter start-up included"})
        result["families"][fam] = fam_out
    result["loadavg_end"] = list(os.getloadavg())
    result.update({f"context_remembered_plmc_{k}": v for k, v in REMEMBERED_PLMC.items()})
    result["context_note"] = ("plmc is not run (on no package registry): its remembered figures are "
                              "context only, never a ratio")
    print(f"\nPotts PLM, {args.max_iter} iterations; versions {versions}; load "
          f"{result['loadavg_start'][0]:.2f} -> {result['loadavg_end'][0]:.2f}")
    print("| family | tool | threads | CPU s | wall s | peak MiB | model MiB | P@L | Spearman vs plmc |")
    print("|---|---|---|---|---|---|---|---|---|")
    for fam, f in result["families"].items():
        for x in f["runs"]:
            if "error" in x:
                print(f"| {fam} | {x['tool']} | {x['threads']} | failed: {x['error']} |")
                continue
            sp = x.get("spearman_vs_plmc_couplings")
            print(f"| {fam} | {x['tool']} | {x['threads']} | {x['cpu_seconds']:.1f} | "
                  f"{x['wall_seconds']:.1f} | {x['peak_mb']:.0f} | {x['model_mb']:.0f} | "
                  f"{x['precision_at_L']:.3f} | {'-' if sp is None else f'{sp:.4f}'} |")
    for r in result["ratios"]:
        print(f"seqlens / pydca, {r['work']}: CPU {r['ratio_cpu']:.3f}, "
              f"wall {r['ratio_wall']:.3f}, peak memory {r['ratio_peak_memory']:.2f}; {r['values']}")
    print("context (remembered, not run, not a ratio): plmc on DHFR "
          + ", ".join(f"{k} {v}" for k, v in REMEMBERED_PLMC.items()))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "potts_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
