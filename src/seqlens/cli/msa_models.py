"""``seqlens msa fit|score|mutations|sample``: sequence-family models from the command line.

``register_msa_models(msa_subparsers)`` adds the four subcommands to the ``seqlens msa`` group:

* ``fit --msa F [--focus NAME] --model pssm|potts|gaussian|vae|attention --out M``: fit and save
  the model folder ``M`` (``config.json`` + ``weights.pt``, loaded with ``weights_only=True``);
* ``score --model M --sequences S --out DIR``: ``scores.csv`` of aligned sequences (either the
  model's columns or the full width of the training alignment);
* ``mutations --model M --dms T.csv --column CRIPT --out DIR``: predictions, scatter plot and
  the Spearman correlation;
* ``sample --model M --n 1000 --out samples.fasta [--msa F]``: sequences (Gibbs for Potts and
  factored attention, ancestral for the VAE) and, with ``--msa``, their statistics against it.

Each prints a table and writes ``metrics.json`` (for ``sample``: beside the FASTA file).
"""

from __future__ import annotations

from pathlib import Path

MODEL_NAMES = ("pssm", "potts", "gaussian", "vae", "attention")


# ---------------------------------------------------------------------------- parsers
def register_msa_models(msa_subparsers) -> None:
    """Add ``fit``, ``score``, ``mutations`` and ``sample`` to the ``seqlens msa`` subparsers."""
    p = msa_subparsers.add_parser("fit", help="fit a sequence-family model and save it",
                                  description="Fit a PSSM, Potts, Gaussian, VAE or factored-"
                                              "attention model on an alignment.")
    p.add_argument("--msa", required=True, help="alignment (fasta/a2m/a3m/stockholm, .gz ok)")
    p.add_argument("--focus", default=None,
                   help="focus sequence name or prefix (default: the first sequence); 'none' for "
                        "all columns")
    p.add_argument("--model", required=True, choices=MODEL_NAMES)
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument("--preset", default="plmc", help="Potts preset (plmc, evcouplings, gremlin)")
    p.add_argument("--gaps", default=None, choices=("ignore", "state"),
                   help="Potts/attention: gap as missing data or as a state")
    p.add_argument("--max-iter", type=int, default=None, help="iterations / epochs / VAE steps")
    p.add_argument("--heads", type=int, default=32, help="factored attention heads")
    p.add_argument("--head-size", type=int, default=16, help="factored attention head size")
    p.add_argument("--max-seconds", type=float, default=None, help="VAE wall-time limit")
    p.add_argument("--identity", type=float, default=0.8, help="sequence-weight threshold")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=2,
                   help="torch threads (default 2; 1 is faster on a busy machine)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_fit)

    p = msa_subparsers.add_parser("score", help="score aligned sequences with a saved model")
    p.add_argument("--model", required=True, help="model folder from 'seqlens msa fit'")
    p.add_argument("--sequences", required=True,
                   help="aligned sequences (model columns, or the training alignment's width)")
    p.add_argument("--out", required=True, help="output folder (scores.csv, metrics.json)")
    p.set_defaults(func=run_score)

    p = msa_subparsers.add_parser("mutations", help="score a DMS table and correlate")
    p.add_argument("--model", required=True, help="model folder from 'seqlens msa fit'")
    p.add_argument("--dms", required=True, help="DMS table (DeepSequence or ProteinGym CSV)")
    p.add_argument("--column", default=None, help="phenotype column (e.g. CRIPT; default DMS_score)")
    p.add_argument("--numbering", default="auto", choices=("auto", "header", "align"),
                   help="residue numbering of the focus: header, aligned to the table's wild "
                        "type, or auto (default)")
    p.add_argument("--wildtype", default=None,
                   help="full wild-type sequence (letters, or a FASTA file whose first record is "
                        "it) to re-align the focus numbering to, instead of the table's wild type")
    p.add_argument("--wildtype-start", type=int, default=1,
                   help="residue number of the first wild-type letter (default 1)")
    p.add_argument("--n-samples", type=int, default=None, help="VAE: latent draws per ELBO")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=run_mutations)

    p = msa_subparsers.add_parser("sample", help="sample sequences from a saved model")
    p.add_argument("--model", required=True, help="model folder from 'seqlens msa fit'")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--out", required=True, help="FASTA file to write (metrics.json beside it)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--method", default="gibbs", choices=("gibbs", "metropolis"))
    p.add_argument("--burn-in", type=int, default=200)
    p.add_argument("--thin", type=int, default=10)
    p.add_argument("--fix", default=None,
                   help="comma-separated focus residue numbers held at the wild type")
    p.add_argument("--msa", default=None, help="alignment to compare the samples with")
    p.add_argument("--focus", default=None, help="focus of --msa (default: the first sequence)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run_sample)


def _read_alignment(path, focus):
    from seqlens.msa import Alignment

    if focus is not None and focus.lower() == "none":
        return Alignment.read(path)
    return Alignment.read(path, focus=focus if focus else True)


def run_fit(args) -> int:
    import time

    from seqlens.cli.common import report_metrics
    from seqlens.msa import PSSM, Gaussian, Potts
    from seqlens.msa.attention import FactoredAttention
    from seqlens.msa.vae import VAE

    msa = _read_alignment(args.msa, args.focus)
    verbose = not args.quiet
    kw = {} if args.max_iter is None else {"max_iter": args.max_iter}
    if args.model == "pssm":
        model = PSSM(identity=args.identity)
    elif args.model == "gaussian":
        model = Gaussian(identity=args.identity)
    elif args.model == "potts":
        model = Potts(preset=args.preset, gaps=args.gaps, identity=args.identity, device=args.device,
                      random_state=args.seed, verbose=verbose, n_threads=args.threads, **kw)
    elif args.model == "attention":
        model = FactoredAttention(n_heads=args.heads, head_size=args.head_size,
                                  gaps=args.gaps or "ignore", identity=args.identity,
                                  device=args.device, random_state=args.seed, verbose=verbose,
                                  n_threads=args.threads, **kw)
    else:
        vkw = {} if args.max_iter is None else {"max_steps": args.max_iter}
        model = VAE(identity=args.identity, max_seconds=args.max_seconds, device=args.device,
                    random_state=args.seed, verbose=verbose, n_threads=args.threads, **vkw)
    t0 = time.perf_counter()
    model.fit(msa)
    seconds = time.perf_counter() - t0
    from seqlens.msa.persist import save_msa_model

    save_msa_model(model, args.out)
    metrics = {"model": args.model, "n_sequences": msa.n_sequences, "length": msa.length,
               "neff": float(msa.neff(args.identity)), "seconds": seconds}
    if hasattr(model, "n_parameters_"):
        metrics["n_parameters"] = int(model.n_parameters_)
        metrics["n_parameters_potts"] = int(model.n_parameters_potts_)
    report_metrics(metrics, args.out, title=f"seqlens msa fit: {args.model} -> {args.out}")
    return 0


def _aligned_codes(model, path):
    """Rows of ``path`` as model codes: either the model's L columns or the training width."""
    import numpy as np

    from seqlens.errors import SequenceError
    from seqlens.io.msa import read_msa

    names, rows = read_msa(path)
    L = len(model.columns_)
    cols = model.columns_["alignment_column"].to_numpy() - 1
    out = []
    for name, r in zip(names, rows):
        r = r.replace(".", "-")
        if len(r) != L:
            if len(r) <= cols.max():
                raise SequenceError(f"{path}: record {name!r} has {len(r)} columns; the model has "
                                    f"{L} (or the training alignment's {cols.max() + 1}+)")
            r = "".join(r[c] for c in cols)
        out.append(r)
    return names, np.asarray(model._code(out))


def run_score(args) -> int:
    import pandas as pd

    from seqlens.cli.common import report_metrics
    from seqlens.io.atomic import atomic_path
    from seqlens.msa.homologs import sequence_scores
    from seqlens.msa.persist import load_msa_model

    model = load_msa_model(args.model)
    names, X = _aligned_codes(model, args.sequences)
    scores = sequence_scores(model, X, kind="score")
    df = pd.DataFrame({"name": names, "score": scores})
    if hasattr(model, "energy"):
        df["energy"] = model.energy(X)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "scores.csv") as tmp:
        df.to_csv(tmp, index=False)
    report_metrics({"n_sequences": len(df), "mean_score": float(scores.mean()),
                    "min_score": float(scores.min()), "max_score": float(scores.max())},
                   out, title=f"seqlens msa score: {args.sequences}")
    return 0


def _read_wildtype(value: str) -> str:
    """``--wildtype``: a sequence, or a FASTA file (first record)."""
    path = Path(value)
    if path.is_file():
        from seqlens.io.fasta import iter_fasta

        for _, seq in iter_fasta(path):
            return seq.upper()
        raise SystemExit(f"--wildtype {value}: no sequence in the file")
    if not value.isalpha():
        raise SystemExit(f"--wildtype: {value!r} is neither a file nor a sequence of letters")
    return value.upper()


def run_mutations(args) -> int:
    import time

    from seqlens.cli.common import report_metrics
    from seqlens.io.atomic import atomic_path
    from seqlens.io.dms import read_dms
    from seqlens.msa.mutations import evaluate_dms
    from seqlens.msa.persist import load_msa_model
    from seqlens.plot.curves import save_figure
    from seqlens.plot.mutations import plot_mutation_scatter

    model = load_msa_model(args.model)
    if args.n_samples and hasattr(model, "n_samples"):
        model.n_samples = args.n_samples
    table = read_dms(args.dms, column=args.column)
    t0 = time.perf_counter()
    wildtype = _read_wildtype(args.wildtype) if args.wildtype else None
    metrics, df = evaluate_dms(model, table, numbering=args.numbering, wildtype=wildtype,
                               start=args.wildtype_start)
    metrics["seconds"] = time.perf_counter() - t0
    metrics["model"] = type(model).__name__
    metrics["column"] = table.attrs["column"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "predictions.csv") as tmp:
        df.to_csv(tmp, index=False)
    ok = df["status"] == "ok"
    fig = plot_mutation_scatter(df["prediction"][ok], df["score"][ok],
                                title=f"{type(model).__name__} vs {table.attrs['column']}",
                                ylabel=table.attrs["column"],
                                n_mutations=[len(m.split(":")) for m in df["mutant"][ok]])
    save_figure(fig, out / "scatter.png")
    report_metrics(metrics, out, title=f"seqlens msa mutations: {args.dms}")
    return 0


def run_sample(args) -> int:
    import numpy as np

    from seqlens.cli.common import report_metrics
    from seqlens.io.fasta import write_fasta
    from seqlens.msa.persist import load_msa_model
    from seqlens.msa.sampling import sample, sample_statistics

    model = load_msa_model(args.model)
    kwargs = {}
    if hasattr(model, "h_") and hasattr(model, "J_"):
        kwargs = dict(temperature=args.temperature, method=args.method, burn_in=args.burn_in,
                      thin=args.thin)
        if args.fix:
            res = {int(r): k for k, r in enumerate(model.columns_["residue"])}
            try:
                kwargs["fixed"] = [res[int(r)] for r in args.fix.split(",")]
            except KeyError as exc:
                from seqlens.errors import SeqlensError

                raise SeqlensError(f"--fix: residue {exc} is not a model column") from None
    elif args.temperature != 1.0:
        kwargs = dict(temperature=args.temperature)
    seqs = sample(model, args.n, random_state=args.seed, **kwargs)
    out = Path(args.out)
    write_fasta(out, [(f"sample_{i + 1}", s) for i, s in enumerate(seqs)], line_width=0)
    metrics = {"n_samples": len(seqs), "model": type(model).__name__}
    if args.msa:
        msa = _read_alignment(args.msa, args.focus)
        if msa.length != len(model.columns_):
            from seqlens.errors import SeqlensError

            raise SeqlensError(f"{args.msa}: {msa.length} columns, the model has {len(model.columns_)}")
        codes = {c: i for i, c in enumerate(msa.alphabet.letters)}
        S = np.array([[codes[c] for c in s] for s in seqs])
        metrics.update(sample_statistics(S, msa.X, msa.q, msa.weights()))
    report_metrics(metrics, out.parent, title=f"seqlens msa sample: {args.n} -> {out}")
    return 0
