"""A Potts fit at the scale of a long protein family (L = 500): peak memory against the estimate
that ``seqlens msa fit`` states before fitting, and the CPU and wall time.

No real family of that length is in ``shared/data/msa``, so the alignment is synthetic, made in
this run and not kept: a random sparse Potts model (``--length`` columns, ``--states`` residue
states, fields ``N(0, --field-sd)``, each column coupled to ``--partners`` random others with
blocks ``N(0, --coupling-sd)``) is sampled with seqlens' own Gibbs sampler
(:func:`seqlens.msa.sampling.sample_potts`), and the samples, written as a FASTA file without
gaps, are fitted by ``seqlens msa fit --model potts`` (plmc preset: lambda_h 0.01, lambda_J 16,
weights at identity 0.8) in a fresh process, at ``--threads``. The fit is capped at
``--max-iter`` L-BFGS iterations (default 20, not plmc's 100, so that the run stays at a few
minutes on a shared 2-core machine: about 200 CPU-s for the fit and 30 for the sampling); the
memory does not depend on the iteration count after the first ``m = 5`` (the L-BFGS history is
full by then).

Reported: the estimate the CLI prints (``Potts.memory_estimate``: the fit's working memory on top
of the runtime), the runtime measured in the same run (peak RSS of a fresh process after
``import seqlens.msa`` and one numba kernel call: numpy, numba and its compiler), the fit
process's peak RSS (``VmHWM``), and whether peak <= runtime + estimate; CPU seconds (user +
system of the fit's process) and wall seconds, iterations and evaluations; as a check that the
fit learned the model, the fraction of the true coupled pairs among the top-ranked APC scores
(as many pairs as the model has). The load average is printed at the start and the end.

    python benchmarks/potts_scale.py [--length 500] [--sequences 3000] [--states 20]
                                     [--max-iter 20] [--threads 1] [--out out/bench]

Prints a table and writes ``<out>/potts_scale.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# peak RSS of the child's own image (VmHWM), in MB of 10^6 bytes as the estimate
HWM = "from seqlens.resources import peak_memory\ndef hwm():\n    return peak_memory() / 1e6\n"

# the runtime: a fresh process after the imports and one (cached) numba kernel
RUNTIME = HWM + r"""
import json
import numpy as np
from seqlens.msa import sequence_weights
sequence_weights(np.zeros((4, 3), dtype=np.uint8), 0.8)
print(json.dumps(dict(runtime_mb=hwm())))
"""

FIT = HWM + r"""
import json, sys
from seqlens.cli import main
rc = main({argv!r})
print(json.dumps(dict(rc=rc, peak_mb=hwm(), torch_imported="torch" in sys.modules)))
"""


def random_sparse_potts(L: int, Q: int, partners: int, field_sd: float, coupling_sd: float,
                        seed: int):
    """``(h, J, pairs)``: fields ``(L, Q)``, symmetric couplings ``(L, Q, L, Q)`` (float64, zero
    except the blocks of ``pairs``), and the coupled pairs ``(P, 2)``, ``i < j``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    h = rng.normal(0.0, field_sd, size=(L, Q))
    pairs = set()
    for i in range(L):
        for j in rng.choice(np.delete(np.arange(L), i), size=partners, replace=False):
            pairs.add((min(i, int(j)), max(i, int(j))))
    pairs = np.array(sorted(pairs))
    J = np.zeros((L, Q, L, Q))
    for i, j in pairs:
        block = rng.normal(0.0, coupling_sd, size=(Q, Q))
        J[i, :, j, :] = block
        J[j, :, i, :] = block.T
    return h, J, pairs


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _child(code: str) -> tuple[dict, float, float]:
    """Run ``code`` in a fresh interpreter: its last JSON line, CPU seconds, wall seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"child failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), cpu, wall


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--length", type=int, default=500)
    ap.add_argument("--sequences", type=int, default=3000)
    ap.add_argument("--states", type=int, default=20, help="residue states (20: protein)")
    ap.add_argument("--partners", type=int, default=3, help="coupled partners per column")
    ap.add_argument("--field-sd", type=float, default=2.5)
    ap.add_argument("--coupling-sd", type=float, default=0.6)
    ap.add_argument("--chains", type=int, default=100, help="Gibbs chains")
    ap.add_argument("--burn-in", type=int, default=10, help="Gibbs sweeps discarded")
    ap.add_argument("--thin", type=int, default=1, help="Gibbs sweeps between samples")
    ap.add_argument("--max-iter", type=int, default=20, help="L-BFGS iterations (plmc: 100)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="out/bench")
    args = ap.parse_args(argv)

    import numba
    import numpy as np

    import seqlens
    from seqlens.msa.alignment import PROTEIN_MSA
    from seqlens.msa.sampling import sample_potts

    L, Q = args.length, args.states
    if Q > 20:
        raise SystemExit("--states: at most 20 (the protein letters; gaps are not sampled)")
    load_start = _load()
    print(f"potts_scale: L={L}, Q={Q}, N={args.sequences}, {args.threads} thread(s), "
          f"max_iter {args.max_iter}; load average {load_start}", flush=True)

    t0 = time.process_time()
    h, J, true_pairs = random_sparse_potts(L, Q, args.partners, args.field_sd, args.coupling_sd,
                                           args.seed)
    X = sample_potts(h, J, args.sequences, burn_in=args.burn_in, thin=args.thin,
                     n_chains=args.chains, random_state=args.seed)
    sample_cpu = time.process_time() - t0
    del J
    letters = np.array(list(PROTEIN_MSA.letters[:Q]))
    head = X[:200]  # the mean difference of pairs among the first 200 samples
    identity = (head[:, None, :] == head[None, :, :]).mean(axis=2)
    diversity = float(1.0 - identity[~np.eye(*identity.shape, dtype=bool)].mean())
    print(f"sampled {len(X)} sequences in {sample_cpu:.1f} CPU-s (Gibbs: {args.chains} chains, "
          f"burn-in {args.burn_in}, thin {args.thin}); mean pairwise difference {diversity:.2f}",
          flush=True)

    with tempfile.TemporaryDirectory(prefix="potts_scale_") as tmp:
        fasta = Path(tmp) / "synthetic.fasta"
        fasta.write_text("".join(f">s{k}\n{''.join(letters[row])}\n" for k, row in enumerate(X)))
        del X
        runtime, _, _ = _child(RUNTIME)  # also warms numba's cache of the weights kernel
        cli = ["msa", "fit", "--msa", str(fasta), "--model", "potts", "--max-iter",
               str(args.max_iter), "--threads", str(args.threads), "--out", str(Path(tmp) / "m")]
        res, cpu, wall = _child(FIT.format(argv=cli))
        if res["rc"] != 0:
            raise SystemExit(f"seqlens msa fit exited {res['rc']}")
        metrics = json.loads((Path(tmp) / "m" / "metrics.json").read_text())
        config = json.loads((Path(tmp) / "m" / "config.json").read_text())
        from seqlens.msa.persist import load_msa_model

        model = load_msa_model(Path(tmp) / "m")
        scores = model.contacts()
    ii, jj = np.triu_indices(L, 1)
    top = np.argsort(-scores[ii, jj], kind="stable")[: len(true_pairs)]
    truth = {(int(i), int(j)) for i, j in true_pairs}
    recovered = float(np.mean([(int(ii[k]), int(jj[k])) in truth for k in top]))

    estimate = metrics["memory_estimate_mb"]
    result = dict(
        length=L, states=Q, sequences=args.sequences, coupled_pairs=len(true_pairs),
        n_parameters=int(L * Q + L * (L - 1) // 2 * Q * Q), threads=args.threads,
        max_iter=args.max_iter, n_iter=config["state"]["n_iter_"],
        n_evals=config["state"].get("n_evals_"), neff=metrics["neff"],
        sample_cpu_seconds=round(sample_cpu, 1), mean_pairwise_difference=round(diversity, 3),
        memory_estimate_mb=estimate, runtime_mb=round(runtime["runtime_mb"], 1),
        peak_mb=round(res["peak_mb"], 1),
        peak_above_runtime_mb=round(res["peak_mb"] - runtime["runtime_mb"], 1),
        within_estimate=bool(res["peak_mb"] <= runtime["runtime_mb"] + estimate),
        fit_cpu_seconds=round(cpu, 1), fit_wall_seconds=round(wall, 1),
        true_pairs_in_top=round(recovered, 3), torch_imported=res["torch_imported"])
    load_end = _load()
    report = dict(
        benchmark="potts_scale", result=result, load_average_start=load_start,
        load_average_end=load_end,
        settings=dict(vars(args), preset="plmc", lambda_h=0.01, lambda_J=16.0, identity=0.8),
        versions=dict(seqlens=seqlens.__version__, numpy=np.__version__,
                      numba=numba.__version__, python=platform.python_version()))

    rows = [("alignment", f"{args.sequences} x {L} (synthetic, Q={Q}, {len(true_pairs)} coupled "
                          f"pairs)"),
            ("parameters", f"{result['n_parameters'] / 1e6:.1f} M"),
            ("iterations / evaluations", f"{result['n_iter']} / {result['n_evals']} (cap "
                                         f"{args.max_iter})"),
            ("memory estimate (fit)", f"{estimate:.0f} MB"),
            ("runtime (imports + numba)", f"{result['runtime_mb']:.0f} MB"),
            ("peak RSS of the fit", f"{result['peak_mb']:.0f} MB"),
            ("peak - runtime", f"{result['peak_above_runtime_mb']:.0f} MB"),
            ("within runtime + estimate", str(result["within_estimate"])),
            ("fit CPU / wall", f"{cpu:.1f} s / {wall:.1f} s ({args.threads} thread(s))"),
            ("true pairs among top-ranked", f"{recovered:.3f}"),
            ("load average start / end", f"{load_start} / {load_end}")]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "potts_scale.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out / 'potts_scale.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
