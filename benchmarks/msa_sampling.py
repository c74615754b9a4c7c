"""Sampling for design: Potts (Gibbs) samples vs the natural PF00595 alignment.

Fits a pseudo-likelihood Potts model with the gap as a state (so that samples contain gaps like
the natural sequences) on PF00595 (focus ``DLG4_RAT/313-391``), draws sequences by Gibbs sampling
at temperature 1, and compares them with the training MSA: single-site frequency correlation
(goal >= 0.95), pairwise connected-correlation correlation (goal >= 0.7) and the mean Hamming
distance to the nearest natural sequence. A PSSM sampled the same way is the peer (it matches
single-site frequencies by construction and has no pair correlations). Optionally a VAE
(``--vae``) is sampled ancestrally.

Usage: python benchmarks/msa_sampling.py [--out DIR] [--n 1000] [--threads 1] [--vae]
       [--lambda-j 16] [--temperature 1.0 0.9]
Prints a table and writes ``<out>/msa_sampling.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from seqlens.io.atomic import write_json
from seqlens.msa import PSSM, Alignment, Potts
from seqlens.msa.sampling import sample, sample_statistics

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "msa"
if not DATA.exists():
    DATA = Path("/work/shared/data/msa")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--burn-in", type=int, default=500)
    ap.add_argument("--thin", type=int, default=20)
    ap.add_argument("--temperature", type=float, nargs="+", default=[1.0],
                    help="one or more sampling temperatures")
    ap.add_argument("--lambda-j", type=float, default=16.0, help="Potts coupling L2 (plmc -le)")
    ap.add_argument("--skip-pssm", action="store_true")
    ap.add_argument("--vae", action="store_true", help="also train and sample a VAE")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    msa = Alignment.read(DATA / "PF00595_mgap6.fasta.gz", focus="DLG4_RAT/313-391")
    w = msa.weights()
    q = msa.q
    codes = {c: i for i, c in enumerate(msa.alphabet.letters)}

    def to_codes(seqs):
        return np.array([[codes[c] for c in s] for s in seqs])

    results = {"n_sequences": msa.n_sequences, "length": msa.length, "neff": float(w.sum())}
    rows = []
    if not args.skip_pssm:
        t0 = time.perf_counter()
        pssm = PSSM().fit(msa)
        S = to_codes(sample(pssm, args.n, random_state=0))
        st = sample_statistics(S, msa.X, q, w)
        rows.append(("pssm", st, time.perf_counter() - t0))

    t0 = time.perf_counter()
    potts = Potts(preset="plmc", gaps="state", lambda_J=args.lambda_j, n_threads=args.threads).fit(msa)
    fit_s = time.perf_counter() - t0
    for T in args.temperature:
        t0 = time.perf_counter()
        S = to_codes(sample(potts, args.n, random_state=0, burn_in=args.burn_in, thin=args.thin,
                            temperature=T))
        st = sample_statistics(S, msa.X, q, w)
        tag = "potts_gibbs" if T == 1.0 else f"potts_gibbs_t{T:g}".replace(".", "")
        rows.append((tag, st, time.perf_counter() - t0))
    results["potts_fit_seconds"] = fit_s
    # sanity: the natural alignment against itself is the ceiling for these statistics
    rng = np.random.default_rng(0)
    half = rng.choice(msa.n_sequences, size=msa.n_sequences // 2, replace=False)
    rest = np.setdiff1d(np.arange(msa.n_sequences), half)
    sub = rng.choice(half, size=args.n, replace=False, p=w[half] / w[half].sum())
    rows.append(("natural_subsample", sample_statistics(msa.X[sub], msa.X[rest], q, w[rest]), 0.0))

    if args.vae:
        from seqlens.msa.vae import VAE

        t0 = time.perf_counter()
        vae = VAE(random_state=0).fit(msa)
        fit_v = time.perf_counter() - t0
        S = to_codes(vae.sample(args.n, random_state=0))
        rows.append(("vae_ancestral", sample_statistics(S, msa.X, q, w), time.perf_counter() - t0))
        results["vae_fit_seconds"] = fit_v

    print(f"{'sampler':<18} {'single_r':>9} {'pair_r':>8} {'hamming':>8} {'identity':>9} {'seconds':>8}")
    for name, st, sec in rows:
        print(f"{name:<18} {st['single_site_correlation']:>9.3f} {st['pair_correlation']:>8.3f} "
              f"{st['mean_nearest_hamming']:>8.1f} {st['mean_nearest_identity']:>9.3f} {sec:>8.1f}")
        for k, v in st.items():
            results[f"{name}_{k}"] = v
        results[f"{name}_seconds"] = sec
    results.update(temperatures=args.temperature, burn_in=args.burn_in, thin=args.thin,
                   n_samples=args.n, lambda_J=args.lambda_j)
    write_json(Path(args.out) / "msa_sampling.json", results)


if __name__ == "__main__":
    main()
