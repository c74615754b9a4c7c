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

Each validates its inputs and options before it writes anything, prints a table and writes
``metrics.json`` by the output rule (:mod:`seqlens.io.atomic`): ``<out>.partial/`` published as
``<out>``; ``sample`` writes ``<file>`` and ``<file>.metrics.json``. The helpers below
(option types, input checks, the Potts memory check) are shared with ``msa contacts``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from seqlens.cli.common import (
    add_resume_option,
    check_input,
    device_option,
    nonnegative_int,
    positive_float,
    positive_int,
    unit_interval,
)
from seqlens.errors import SeqlensError

MODEL_NAMES = ("pssm", "potts", "gaussian", "vae", "attention")
PRESETS = ("plmc", "evcouplings", "gremlin")
RESUME_NOTE = ("--resume continues an interrupted run in <out>.partial/; a fit is not "
               "checkpointed, so it is redone.")
REDO_NOTE = "--resume reuses an interrupted run's <out>.partial/; its work is redone."


# ---------------------------------------------------------------------------- option types
def lambda_j_option(text: str) -> str:
    """argparse type of ``--lambda-j``: a number or a formula in ``q`` and ``L`` (no ``eval``),
    checked at parse time (syntax, names, division by zero, >= 0 at ``q=21, L=1013``). The text
    is passed on; the model evaluates it with the alignment's ``q`` and ``L``."""
    import argparse

    from seqlens.expressions import ExpressionError, check_expression
    from seqlens.msa.potts import LAMBDA_EXAMPLE

    try:
        check_expression(text, LAMBDA_EXAMPLE, name="lambda", low=0.0)
    except ExpressionError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("lambda: ")) from None
    return text


def add_potts_options(p) -> None:
    """``--preset``, ``--lambda-j``, ``--max-memory-gb`` (Potts fits)."""
    p.add_argument("--preset", default="plmc", choices=PRESETS, help="Potts preset")
    p.add_argument("--lambda-j", type=lambda_j_option, default=None,
                   help="Potts / factored-attention coupling L2: a number >= 0 or a formula in "
                        "q (states) and L (columns) with + - * / ( ), e.g. 0.2*(L-1) (default: "
                        "the preset's)")
    p.add_argument("--max-memory-gb", type=positive_float, default=None,
                   help="refuse a Potts fit that needs more (default: the memory available "
                        "now; the estimate is printed before the fit)")


# ---------------------------------------------------------------------------- input checks
def model_folder(path: str) -> Path:
    """``--model``: a folder written by ``seqlens msa fit``."""
    p = Path(path)
    if not p.is_dir():
        raise SeqlensError(f"--model {path}: " + ("not a folder (a saved model is a folder from "
                                                  "'seqlens msa fit')" if p.exists() else
                                                  "no such model folder"))
    return p


def focus_value(text: str | None, default_first: bool):
    """``--focus``: None/'none' -> no focus, 'first' -> the first record, else a name."""
    if text is None:
        return True if default_first else None
    if text.lower() == "none":
        return None
    return True if text.lower() == "first" else text


def check_potts_memory(model, path: Path, fmt: str | None, focus, q: int) -> tuple[float, str] | None:
    """Refuse a Potts fit that cannot fit in memory from the file's dimensions (one streaming
    pass), before the alignment is read and encoded. Returns the estimate (bytes) and a line
    stating it and the memory available (None for a file without records)."""
    from seqlens.msa.alignment import alignment_dimensions

    n, length = alignment_dimensions(path, fmt, focus)
    if not (n and length):
        return None
    try:
        need = model.check_memory(n, length, q)
    except MemoryError as exc:
        raise type(exc)(f"{path}: {n} sequences x {length} columns: {exc}") from None
    limit, what = model.memory_limit()
    return need, (f"memory estimate {need / 1e6:.0f} MB for the fit of L={length} columns, {n} "
                  f"sequences (above the ~150 MB of numpy and numba); {what} {limit / 1e9:.3g} GB")


def read_checked_alignment(path: Path, focus, what: str, fmt: str | None = None,
                           alphabet: str = "protein", identical: str = "warn"):
    """Read an alignment and refuse what cannot be modelled: no columns, fewer than two usable
    sequences, only gaps; sequences that are all identical are an error (``identical="error"``)
    or a warning. Dropped sequences are reported in one warning."""
    import numpy as np

    from seqlens.msa import Alignment

    msa = Alignment.read(path, format=fmt, alphabet=alphabet, focus=focus)
    dropped = msa.dropped_records
    if len(dropped):
        name, _, reason = dropped[0]
        note = (f"{path}: dropped {len(dropped)} of {msa.n_records} sequences, e.g. "
                f"{name!r}: {reason}")
        if msa.n_sequences == 0:
            raise SeqlensError(note.replace("dropped", "every sequence was dropped:", 1))
        warnings.warn(note, stacklevel=2)
    if msa.length == 0:
        why = (f"the focus sequence {msa.focus!r} has no uppercase residues (focus mode models "
               "the focus's uppercase columns; lowercase marks insertions); try --focus none"
               if msa.focus is not None else "no match columns")
        raise SeqlensError(f"{path}: nothing to model: {why}")
    if msa.n_sequences < 2:
        raise SeqlensError(f"{path}: {msa.n_sequences} usable sequence; {what} needs at least 2")
    if (msa.X == msa.gap_code).all():
        raise SeqlensError(f"{path}: the {msa.length} model columns hold only gaps")
    if alphabet == "protein":
        residues = msa.X[msa.X != msa.gap_code]
        if np.isin(residues, [msa.alphabet.letters.index(c) for c in "ACGT"]).all():
            warnings.warn(f"{path}: only the letters A, C, G, T: a nucleotide alignment read as "
                          "protein? (msa contacts takes --alphabet rna)", stacklevel=2)
    if len(np.unique(msa.X, axis=0)) == 1:
        message = (f"{path}: all {msa.n_sequences} sequences are identical in the "
                   f"{msa.length} model columns; there is no variation to learn from")
        if identical == "error":
            raise SeqlensError(message)
        warnings.warn(message, stacklevel=2)
    return msa


def fit_model(model, msa, lambda_j: str | None):
    """``model.fit(msa)``; a ``--lambda-j`` formula out of range for this alignment's ``q`` and
    ``L`` is reported under the option's name."""
    from seqlens.expressions import ExpressionError

    try:
        return model.fit(msa)
    except ExpressionError as exc:
        if lambda_j is None:
            raise
        raise ExpressionError(f"--lambda-j {lambda_j}: {exc} for this alignment of "
                              f"{msa.length} columns") from None


# ---------------------------------------------------------------------------- parsers
def register_msa_models(msa_subparsers) -> None:
    """Add ``fit``, ``score``, ``mutations`` and ``sample`` to the ``seqlens msa`` subparsers."""
    p = msa_subparsers.add_parser("fit", help="fit a sequence-family model and save it",
                                  description="Fit a PSSM, Potts, Gaussian, VAE or factored-"
                                              "attention model on an alignment. " + RESUME_NOTE)
    p.add_argument("--msa", required=True, help="alignment (fasta/a2m/a3m/stockholm, .gz ok)")
    p.add_argument("--focus", default=None,
                   help="focus sequence name or prefix (default: the first sequence); 'none' for "
                        "all columns")
    p.add_argument("--model", required=True, choices=MODEL_NAMES)
    p.add_argument("--out", required=True, help="model folder to write")
    add_potts_options(p)
    p.add_argument("--gaps", default=None, choices=("ignore", "state"),
                   help="Potts/attention: gap as missing data or as a state")
    p.add_argument("--max-iter", type=positive_int, default=None,
                   help="iterations / epochs / VAE steps")
    p.add_argument("--heads", type=positive_int, default=32, help="factored attention heads")
    p.add_argument("--head-size", type=positive_int, default=16,
                   help="factored attention head size")
    p.add_argument("--max-seconds", type=positive_float, default=None, help="VAE wall-time limit")
    p.add_argument("--identity", type=unit_interval, default=0.8,
                   help="sequence-weight identity threshold in [0, 1]")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--device", type=device_option, default=None)
    p.add_argument("--threads", type=positive_int, default=2,
                   help="torch threads (default 2; 1 is faster on a busy machine)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_resume_option(p)
    p.set_defaults(func=run_fit)

    p = msa_subparsers.add_parser("score", help="score aligned sequences with a saved model",
                                  description="Score aligned sequences with a saved model. "
                                              + REDO_NOTE)
    p.add_argument("--model", required=True, help="model folder from 'seqlens msa fit'")
    p.add_argument("--sequences", required=True,
                   help="aligned sequences (model columns, or the training alignment's width)")
    p.add_argument("--out", required=True, help="output folder (scores.csv, metrics.json)")
    add_resume_option(p)
    p.set_defaults(func=run_score)

    p = msa_subparsers.add_parser("mutations", help="score a DMS table and correlate",
                                  description="Score the mutants of a DMS table and correlate "
                                              "the predictions with a phenotype. " + REDO_NOTE)
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
    p.add_argument("--n-samples", type=positive_int, default=None,
                   help="VAE: latent draws per ELBO")
    p.add_argument("--out", required=True, help="output folder")
    add_resume_option(p)
    p.set_defaults(func=run_mutations)

    p = msa_subparsers.add_parser("sample", help="sample sequences from a saved model",
                                  description="Sample sequences from a saved model. " + REDO_NOTE)
    p.add_argument("--model", required=True, help="model folder from 'seqlens msa fit'")
    p.add_argument("--n", type=positive_int, default=1000, help="sequences to draw (>= 1)")
    p.add_argument("--out", required=True,
                   help="FASTA file to write (<file>.metrics.json beside it)")
    p.add_argument("--temperature", type=positive_float, default=None,
                   help="T > 0 (default 1; Potts, factored attention and VAE)")
    p.add_argument("--method", default=None, choices=("gibbs", "metropolis"),
                   help="Markov chain (Potts, factored attention; default gibbs)")
    p.add_argument("--burn-in", type=nonnegative_int, default=None,
                   help="sweeps discarded first (default 200; Potts, factored attention)")
    p.add_argument("--thin", type=positive_int, default=None,
                   help="sweeps between samples of a chain (default 10; Potts, factored attention)")
    p.add_argument("--fix", default=None,
                   help="comma-separated focus residue numbers held at the wild type (Potts, "
                        "factored attention)")
    p.add_argument("--msa", default=None, help="alignment to compare the samples with")
    p.add_argument("--focus", default=None, help="focus of --msa (default: the first sequence)")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    add_resume_option(p)
    p.set_defaults(func=run_sample)


# ---------------------------------------------------------------------------- fit
def _fit_model(args):
    """The unfitted model of ``--model``; only its own module is imported (torch only for the
    VAE and factored attention)."""
    verbose = not args.quiet
    kw = {} if args.max_iter is None else {"max_iter": args.max_iter}
    if args.model == "pssm":
        from seqlens.msa.pssm import PSSM

        return PSSM(identity=args.identity)
    if args.model == "gaussian":
        from seqlens.msa.gaussian import Gaussian

        return Gaussian(identity=args.identity)
    if args.model == "potts":
        from seqlens.msa.potts import Potts

        return Potts(preset=args.preset, gaps=args.gaps, lambda_J=args.lambda_j,
                     identity=args.identity, max_memory_gb=args.max_memory_gb, device=args.device,
                     random_state=args.seed, verbose=verbose, n_threads=args.threads, **kw)
    if args.model == "attention":
        from seqlens.msa.attention import FactoredAttention

        lam = {} if args.lambda_j is None else {"lambda_J": args.lambda_j}
        return FactoredAttention(n_heads=args.heads, head_size=args.head_size,
                                 gaps=args.gaps or "ignore", identity=args.identity,
                                 device=args.device, random_state=args.seed, verbose=verbose,
                                 n_threads=args.threads, **lam, **kw)
    from seqlens.msa.vae import VAE

    vkw = {} if args.max_iter is None else {"max_steps": args.max_iter}
    return VAE(identity=args.identity, max_seconds=args.max_seconds, device=args.device,
               random_state=args.seed, verbose=verbose, n_threads=args.threads, **vkw)


def _refuse_unused(args, options: dict[str, object], model_name: str) -> None:
    """Refuse options given (not None) that the chosen model does not use."""
    given = [opt for opt, value in options.items() if value is not None]
    if given:
        raise SeqlensError(f"{', '.join(given)}: not used by the {model_name} model")


def _status(prefix: str, quiet: bool):
    """``say(text)``: one status line on stderr (nothing with ``--quiet``)."""
    import sys

    def say(text: str) -> None:
        if not quiet:
            print(f"{prefix}: {text}", file=sys.stderr, flush=True)

    return say


def run_fit(args) -> int:
    import time

    from seqlens.cli.common import report_metrics
    from seqlens.io.atomic import check_output_path, output_folder
    from seqlens.msa._threads import thread_limit
    from seqlens.msa.persist import save_msa_model

    out = check_output_path(args.out, "folder")
    path = check_input(args.msa, "--msa")
    if args.model != "potts":
        _refuse_unused(args, {"--max-memory-gb": args.max_memory_gb,
                              "--lambda-j": None if args.model == "attention" else args.lambda_j},
                       args.model)
    focus = focus_value(args.focus, default_first=True)
    model = _fit_model(args)
    say = _status("seqlens msa fit", args.quiet)
    estimate = check_potts_memory(model, path, None, focus, q=21) if args.model == "potts" else None
    if estimate:
        say(estimate[1])
    say(f"reading {path}")
    msa = read_checked_alignment(path, focus, f"a {args.model} fit")
    say(f"{msa.n_sequences} sequences x {msa.length} columns; sequence weights at identity "
        f"{args.identity}")
    with thread_limit(args.threads):
        msa.weights(args.identity)  # cached for the fit; the slow part before its progress bar
    say(f"fitting {args.model} (Neff {msa.neff(args.identity):.0f})")
    t0 = time.perf_counter()
    fit_model(model, msa, args.lambda_j)
    seconds = time.perf_counter() - t0
    metrics = {"model": args.model, "n_sequences": msa.n_sequences, "length": msa.length,
               "neff": float(msa.neff(args.identity)), "seconds": seconds}
    if estimate:
        from seqlens.resources import peak_memory

        metrics["memory_estimate_mb"] = round(estimate[0] / 1e6, 1)  # as stated before the fit
        metrics["peak_memory_mb"] = round(peak_memory() / 1e6, 1)  # of the process, fit included
    if hasattr(model, "n_parameters_"):
        metrics["n_parameters"] = int(model.n_parameters_)
        metrics["n_parameters_potts"] = int(model.n_parameters_potts_)
    with output_folder(out, resume=args.resume) as work:
        save_msa_model(model, work)
        report_metrics(metrics, work, title=f"seqlens msa fit: {args.model} -> {out}")
    return 0


# ---------------------------------------------------------------------------- score
def _read_rows(model, path: Path):
    """``(names, codes)`` of the aligned rows in ``path`` cut to the model's columns; records
    with letters outside the model alphabet are skipped with one warning (all -> error)."""
    import numpy as np

    from seqlens.io.msa import guess_format, read_msa
    from seqlens.msa.alignment import encode

    fmt = guess_format(path)
    names, rows = read_msa(path, fmt, keep_insertions=(fmt == "a2m"))
    rows = model.select_columns(rows, names, source=path)
    X = encode(rows, model.alphabet_)
    bad = np.flatnonzero((X == 255).any(axis=1))
    if len(bad):
        r = int(bad[0])
        c = int(np.argmax(X[r] == 255))
        example = (f"{names[r]!r}, model column {c + 1}: {rows[r][c]!r} is not in "
                   f"{model.alphabet_.letters}")
        if len(bad) == len(rows):
            raise SeqlensError(f"{path}: no record can be scored: every one has letters outside "
                               f"the model alphabet, e.g. {example}")
        warnings.warn(f"{path}: skipped {len(bad)} of {len(rows)} records with letters outside "
                      f"the model alphabet, e.g. {example}", stacklevel=2)
        keep = np.setdiff1d(np.arange(len(rows)), bad)
        names, X = [names[i] for i in keep], X[keep]
    return names, X


def run_score(args) -> int:
    import numpy as np
    import pandas as pd

    from seqlens.cli.common import report_metrics
    from seqlens.io.atomic import check_output_path, output_folder
    from seqlens.msa.homologs import sequence_scores
    from seqlens.msa.persist import load_msa_model

    out = check_output_path(args.out, "folder")
    path = check_input(args.sequences, "--sequences")
    model = load_msa_model(model_folder(args.model))
    names, X = _read_rows(model, path)
    scores = sequence_scores(model, X, kind="score")
    df = pd.DataFrame({"name": names, "score": scores})
    if hasattr(model, "energy"):
        df["energy"] = model.energy(X)
    finite = np.isfinite(scores)
    if not finite.all():
        raise SeqlensError(f"{path}: the model gave {int((~finite).sum())} non-finite scores "
                           f"(e.g. record {names[int(np.argmin(finite))]!r})")
    metrics = {"n_sequences": len(df), "mean_score": float(scores.mean()),
               "min_score": float(scores.min()), "max_score": float(scores.max())}
    with output_folder(out, resume=args.resume) as work:
        df.to_csv(work / "scores.csv", index=False)
        report_metrics(metrics, work, title=f"seqlens msa score: {path}")
    return 0


# ---------------------------------------------------------------------------- mutations
def _read_wildtype(value: str) -> str:
    """``--wildtype``: a sequence, or a FASTA file (first record)."""
    path = Path(value)
    if path.is_file():
        from seqlens.io.fasta import iter_fasta

        for _, seq in iter_fasta(path):
            return seq.upper()
        raise SeqlensError(f"--wildtype {value}: no sequence in the file")
    if not value.isalpha():
        raise SeqlensError(f"--wildtype: {value!r} is neither a file nor a sequence of letters")
    return value.upper()


SKIP_REASONS = {"n_skipped_outside": "outside the model columns",
                "n_skipped_wrong_wildtype": "wrong wild-type letter",
                "n_skipped_invalid_letter": "letter outside the model alphabet",
                "n_skipped_nan": "no phenotype value", "n_skipped_wildtype": "wild type",
                "n_skipped_synonymous": "synonymous"}


def check_dms_outcome(metrics: dict, table, path) -> None:
    """Refuse a DMS evaluation that scored too few mutants for a correlation, or fewer than it
    skipped for a wrong wild-type letter or a letter outside the alphabet (the table does not fit
    the model), naming the counts by reason; warn once, with the counts, about a minority of
    such rows."""
    import numpy as np

    counts = ", ".join(f"{metrics[k]} {why}" for k, why in SKIP_REASONS.items() if metrics.get(k))
    n, scored = metrics["n_mutants"], metrics["n_scored"]
    hint = ""
    if metrics.get("n_skipped_wrong_wildtype"):
        reason = table.loc[table["status"] == "wrong wild type", "reason"].iloc[0]
        mutant = table.loc[table["status"] == "wrong wild type", "mutant"].iloc[0]
        hint = (f"; e.g. {mutant!r}: {reason} (is the model of this protein? check --wildtype, "
                "--wildtype-start, --numbering)")
    bad = metrics.get("n_skipped_wrong_wildtype", 0) + metrics.get("n_skipped_invalid_letter", 0)
    if scored < 3 or bad > scored:
        need = "a correlation needs at least 3" if scored < 3 else "more were refused than scored"
        raise SeqlensError(f"{path}: {scored} of {n} mutants could be scored ({need}); skipped: "
                           f"{counts or 'none'}{hint}")
    if not np.isfinite(metrics["spearman"]):
        raise SeqlensError(f"{path}: the Spearman correlation is undefined: the {scored} scored "
                           "mutants all have the same phenotype or the same prediction")
    if bad:
        warnings.warn(f"{path}: scored {scored} of {n} mutants; skipped {counts}{hint}",
                      stacklevel=2)


def run_mutations(args) -> int:
    import math
    import time

    from seqlens.cli.common import report_metrics
    from seqlens.io.atomic import check_output_path, output_folder
    from seqlens.io.dms import read_dms
    from seqlens.msa.mutations import evaluate_dms
    from seqlens.msa.persist import load_msa_model
    from seqlens.plot.curves import save_figure
    from seqlens.plot.mutations import plot_mutation_scatter

    out = check_output_path(args.out, "folder")
    path = check_input(args.dms, "--dms")
    wildtype = _read_wildtype(args.wildtype) if args.wildtype else None
    model = load_msa_model(model_folder(args.model))
    if args.n_samples is not None:
        if not hasattr(model, "n_samples"):
            raise SeqlensError(f"--n-samples: not used by a {type(model).__name__} model (VAE only)")
        model.n_samples = args.n_samples
    table = read_dms(path, column=args.column)
    t0 = time.perf_counter()
    metrics, df = evaluate_dms(model, table, numbering=args.numbering, wildtype=wildtype,
                               start=args.wildtype_start)
    check_dms_outcome(metrics, df, path)
    metrics["seconds"] = time.perf_counter() - t0
    metrics["model"] = type(model).__name__
    metrics["column"] = table.attrs["column"]
    metrics = {k: v for k, v in metrics.items() if not (isinstance(v, float) and math.isnan(v))}
    ok = df["status"] == "ok"
    with output_folder(out, resume=args.resume) as work:
        df.to_csv(work / "predictions.csv", index=False)
        fig = plot_mutation_scatter(df["prediction"][ok], df["score"][ok],
                                    title=f"{type(model).__name__} vs {table.attrs['column']}",
                                    ylabel=table.attrs["column"],
                                    n_mutations=[len(m.split(":")) for m in df["mutant"][ok]])
        save_figure(fig, work / "scatter.png")
        report_metrics(metrics, work, title=f"seqlens msa mutations: {path}")
    return 0


# ---------------------------------------------------------------------------- sample
def _fixed_columns(model, text: str) -> list[int]:
    """``--fix 22,23``: model columns of focus residue numbers that have a focus letter."""
    res = {int(r): k for k, r in enumerate(model.columns_["residue"])}
    letters = model.columns_["focus_letter"]
    Q = model.h_.shape[1]
    out = []
    for item in text.split(","):
        try:
            k = res[int(item)]
        except ValueError:
            raise SeqlensError(f"--fix: {item.strip()!r} is not a residue number") from None
        except KeyError:
            raise SeqlensError(f"--fix: residue {item.strip()} is not a model column (model "
                               f"residues {min(res)}..{max(res)})") from None
        code = model.alphabet_.letters.find(str(letters[k]).upper())
        if not 0 <= code < Q:
            raise SeqlensError(f"--fix: residue {item.strip()} has no wild-type letter the model "
                               f"can hold ({letters[k]!r})")
        out.append(k)
    return out


def _sample_options(args, model) -> dict:
    """Keyword arguments of :func:`seqlens.msa.sampling.sample` for this model; options it does
    not use are refused."""
    name = type(model).__name__
    chain = {"--method": args.method, "--burn-in": args.burn_in, "--thin": args.thin,
             "--fix": args.fix}
    if hasattr(model, "h_") and hasattr(model, "J_"):
        kwargs = dict(temperature=args.temperature or 1.0, method=args.method or "gibbs",
                      burn_in=200 if args.burn_in is None else args.burn_in,
                      thin=args.thin or 10)
        if args.fix:
            kwargs["fixed"] = _fixed_columns(model, args.fix)
        return kwargs
    if name == "VAE":
        _refuse_unused(args, chain, name)
        return {} if args.temperature is None else {"temperature": args.temperature}
    if not hasattr(model, "sample"):
        raise SeqlensError(f"--model {args.model}: a {name} model cannot sample")
    _refuse_unused(args, {"--temperature": args.temperature, **chain}, name)
    return {}


def run_sample(args) -> int:
    import numpy as np

    from seqlens.cli.common import metrics_path, report_metrics
    from seqlens.io.atomic import check_output_path, output_file
    from seqlens.io.fasta import write_fasta
    from seqlens.msa.persist import load_msa_model
    from seqlens.msa.sampling import sample, sample_statistics

    out = check_output_path(args.out, "file")
    model = load_msa_model(model_folder(args.model))
    kwargs = _sample_options(args, model)
    msa = None
    if args.msa:
        msa = read_checked_alignment(check_input(args.msa, "--msa"),
                                     focus_value(args.focus, default_first=True), "a comparison")
        if msa.length != len(model.columns_):
            raise SeqlensError(f"--msa {args.msa}: {msa.length} columns, the model has "
                               f"{len(model.columns_)}")
    seqs = sample(model, args.n, random_state=args.seed, **kwargs)
    metrics = {"n_samples": len(seqs), "model": type(model).__name__}
    if msa is not None:
        from seqlens.msa.alignment import encode

        S = encode(seqs, msa.alphabet).astype(np.int64)
        metrics.update(sample_statistics(S, msa.X, msa.q, msa.weights()))
    with output_file(out, resume=args.resume) as work:
        write_fasta(work / out.name, [(f"sample_{i + 1}", s) for i, s in enumerate(seqs)],
                    line_width=0)
        report_metrics(metrics, metrics_path(work, out),
                       title=f"seqlens msa sample: {args.n} -> {out}")
    return 0
