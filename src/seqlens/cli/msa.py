"""``seqlens msa <action>``: sequence-family models. ``contacts`` lives here; ``fit``, ``score``,
``mutations`` and ``sample`` in :mod:`seqlens.cli.msa_models`.

``msa contacts --couplings FILE`` scores another tool's couplings instead of fitting (plmc
``.params``/``.couplings``, CCMpred ``.mat``, EVcouplings ``CouplingScores.csv``; numbered
through ``--msa``); ``--write-couplings plmc,params,ccmpred,evcouplings`` writes the fitted
scores in those formats (:mod:`seqlens.io.couplings`)."""

from __future__ import annotations

from seqlens.cli.common import (
    add_resume_option,
    device_option,
    nonnegative_int,
    positive_float,
    positive_int,
    unit_interval,
)
from seqlens.cli.msa_models import RESUME_NOTE, add_potts_options

COUPLING_FORMATS = ("params", "plmc", "ccmpred", "evcouplings")
COUPLING_SUFFIXES = {".params": "params", ".couplings": "plmc", ".mat": "ccmpred", ".csv": "evcouplings"}


def register(sub) -> None:
    p = sub.add_parser("msa", help="alignment models: contacts, fit, score, mutations, sample")
    actions = p.add_subparsers(dest="msa_action", metavar="ACTION")
    actions.required = True
    c = actions.add_parser("contacts", help="predict contacts from an alignment and score them",
                           description="Fit a model of an alignment, rank residue pairs by "
                                       "coupling strength and score them against a structure or "
                                       "a distance table. " + RESUME_NOTE)
    c.add_argument("--msa", required=True, help="alignment file (fasta/a2m/a3m/stockholm, .gz ok)")
    c.add_argument("--format", default=None,
                   choices=["fasta", "a2m", "a3m", "stockholm", "plain"],
                   help="alignment format (default: from extension)")
    c.add_argument("--alphabet", default="protein", choices=["protein", "rna"])
    c.add_argument("--focus", default=None,
                   help="focus sequence name (prefix); default: the first sequence, as in msa fit "
                        "(columns and --distances/--pdb numbered by its residues); 'none' models "
                        "every column, numbered by column, and warns with --distances (tables are "
                        "usually numbered by residues)")
    c.add_argument("--model", default="potts", choices=["potts", "gaussian", "pssm", "mi"])
    add_potts_options(c)
    c.add_argument("--max-iter", type=positive_int, default=None, help="Potts iterations")
    c.add_argument("--identity", type=unit_interval, default=0.8,
                   help="sequence-weight identity threshold in [0, 1]")
    c.add_argument("--pdb", default=None, help="structure file (PDB or mmCIF) for the truth")
    c.add_argument("--chain", default=None, help="chain of --pdb (default: first)")
    c.add_argument("--atoms", default="cb", choices=["cb", "heavy"],
                   help="structure distance: C-beta (virtual for Gly) or minimum heavy atom")
    c.add_argument("--map", default="align", choices=["align", "numbering"],
                   help="structure -> focus residues: pairwise alignment of the sequences, or the "
                        "structure's residue numbers taken as focus residue numbers")
    c.add_argument("--distances", default=None, help="distance table (csv i,j,dist or 'i j ... dist')")
    c.add_argument("--threshold", type=positive_float, default=None,
                   help="contact distance cut-off in A (default 8 for cb/tables, 5 for heavy)")
    c.add_argument("--couplings", default=None,
                   help="score this coupling file instead of fitting: plmc .params or .couplings, "
                        "CCMpred .mat, EVcouplings CouplingScores .csv (format from the suffix); "
                        "plmc and CCMpred positions are numbered through --msa")
    c.add_argument("--couplings-format", default=None, choices=COUPLING_FORMATS,
                   help="format of --couplings (default: from its suffix)")
    c.add_argument("--write-couplings", default=None, type=_coupling_formats,
                   help="also write the scores as: plmc (plmc.couplings), params (plmc.params, "
                        "Potts only), ccmpred (ccmpred.mat), evcouplings (CouplingScores.csv); "
                        "a comma list")
    c.add_argument("--out", required=True, help="output folder")
    c.add_argument("--device", type=device_option, default=None)
    c.add_argument("--seed", type=nonnegative_int, default=0)
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    add_resume_option(c)
    c.set_defaults(func=run_contacts)
    from seqlens.cli.msa_models import register_msa_models

    register_msa_models(actions)


def _model(args):
    from seqlens.msa import PSSM, Gaussian, MutualInformation, Potts

    if args.model == "potts":
        return Potts(preset=args.preset, max_iter=args.max_iter, lambda_J=args.lambda_j,
                     identity=args.identity, max_memory_gb=args.max_memory_gb, device=args.device,
                     random_state=args.seed, verbose=not args.quiet)
    if args.model == "gaussian":
        return Gaussian(pseudocount=0.5, identity=args.identity)
    if args.model == "pssm":
        return PSSM(identity=args.identity)
    return MutualInformation(identity=args.identity)


def _read_truth(args, msa):
    """``(truth, threshold, source)``: the distance table of ``--pdb`` (in focus residue
    numbers) or ``--distances``; ``(None, None, None)`` without either."""
    from seqlens.cli.common import check_input
    from seqlens.io.structures import map_to_focus, read_distance_table, structure_distances

    if args.pdb:
        path = check_input(args.pdb, "--pdb")
        table, seq, numbers = structure_distances(path, args.chain, mode=args.atoms)
        if args.map == "align":
            table = map_to_focus(table, seq, numbers, msa.focus_sequence(),
                                 msa.columns["residue"].to_numpy())
        return table, args.threshold or (5.0 if args.atoms == "heavy" else 8.0), path
    if args.distances:
        import warnings

        path = check_input(args.distances, "--distances")
        if msa.focus is None:
            warnings.warn(f"--distances {path} with --focus none: the alignment's columns are "
                          "numbered 1..L by column, while a distance table is usually numbered by "
                          "the residues of a focus sequence; drop --focus none (default: the first "
                          "sequence) or give --focus NAME unless the table is numbered by column",
                          stacklevel=2)
        return read_distance_table(path), args.threshold or 8.0, path
    return None, None, None


def _precision(pairs, truth, msa, threshold, source) -> dict:
    """Precision metrics; refuses a truth that scores no predicted pair, and reports (null)
    precisions with no scored pair at larger separations."""
    import warnings

    from seqlens.errors import SeqlensError
    from seqlens.msa import precision_table
    from seqlens.msa.contacts import known_distances

    if len(known_distances(pairs, truth, 6)) == 0:
        res = msa.columns["residue"]
        have = (f"it has {len(truth)} pairs, residues {int(truth[['i', 'j']].min().min())}.."
                f"{int(truth[['i', 'j']].max().max())}" if len(truth) else "it has no pairs")
        raise SeqlensError(
            f"{source}: no predicted pair (separation >= 6) has a distance here ({have}; the "
            f"model columns are residues {int(res.min())}..{int(res.max())}); check --chain, "
            "--atoms, --map or the table's numbering")
    prec = precision_table(pairs, truth, msa.length, threshold=threshold)
    empty = sorted(k for k, v in prec.items() if v != v)
    if empty:
        warnings.warn(f"{source}: no scored pair for {', '.join(empty)} (written as null)",
                      stacklevel=2)
    metrics = {k: (None if v != v else round(v, 4)) for k, v in prec.items()}
    metrics["precision_at_L"] = metrics["precision_at_L_sep6"]
    metrics["contact_threshold"] = threshold
    return metrics


def run_contacts(args) -> int:
    import time
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    from seqlens.cli.common import check_input, report_metrics
    from seqlens.cli.msa_models import (
        check_potts_memory,
        fit_model,
        focus_value,
        read_checked_alignment,
    )
    from seqlens.errors import SeqlensError
    from seqlens.io.atomic import check_output_path, output_folder
    from seqlens.msa import contact_table
    from seqlens.plot.contacts import plot_contact_map

    out = check_output_path(args.out, "folder")
    path = check_input(args.msa, "--msa")
    focus = focus_value(args.focus, default_first=True)
    if args.pdb and args.map == "align" and focus is None:
        raise SeqlensError("--pdb with --map align needs a focus (the structure is aligned to the "
                           "focus sequence); drop --focus none or give --focus NAME")
    if args.model != "potts" and (args.lambda_j is not None or args.max_memory_gb is not None
                                  or args.max_iter is not None):
        raise SeqlensError(f"--lambda-j, --max-iter, --max-memory-gb: Potts options, not used by "
                           f"--model {args.model}")
    if args.couplings and args.write_couplings:
        raise SeqlensError("--write-couplings writes a fitted model's scores; with --couplings "
                           "nothing is fitted")
    if args.write_couplings and "params" in args.write_couplings and args.model != "potts":
        raise SeqlensError(f"--write-couplings params: plmc parameters need --model potts, not "
                           f"{args.model}")
    model = None if args.couplings else _model(args)
    if args.model == "potts" and model is not None:
        check_potts_memory(model, path, args.format, focus, q=5 if args.alphabet == "rna" else 21)
    msa = read_checked_alignment(path, focus, "contact prediction", fmt=args.format,
                                 alphabet=args.alphabet, identical="error")
    truth, threshold, source = _read_truth(args, msa)
    t0 = time.perf_counter()
    if args.couplings:
        pairs, label = _read_couplings(args, msa), Path(args.couplings).name
    else:
        fit_model(model, msa, args.lambda_j)
        scores, label = model.contacts(), args.model
        bad = ~np.isfinite(scores[np.triu_indices(msa.length, 1)])
        if bad.any():
            raise SeqlensError(f"{path}: the {args.model} fit gave {int(bad.sum())} non-finite pair "
                               f"scores; the alignment has too little variation (Neff "
                               f"{msa.neff(args.identity):.1f} over {msa.length} columns)")
        pairs = contact_table(scores, msa.columns)
    seconds = time.perf_counter() - t0
    metrics = {"model": label, "n_sequences": msa.n_sequences, "n_dropped": len(msa.dropped),
               "length": msa.length, "neff": round(msa.neff(args.identity), 3),
               "seconds": round(seconds, 3)}
    if truth is not None:
        metrics.update(_precision(pairs, truth, msa, threshold, source))
    with output_folder(out, resume=args.resume) as work:
        pairs.to_csv(work / "scores.csv", index=False)
        if truth is not None:
            rows = [{"separation": s, "top": k, "precision": metrics[f"precision_at_{k}_sep{s}"]}
                    for s in (6, 12, 24) for k in ("L", "L2", "L5")]
            pd.DataFrame(rows).to_csv(work / "precision.csv", index=False)
        ax = plot_contact_map(pairs, truth, n_top=msa.length, threshold=threshold or 8.0,
                              title=f"{Path(args.msa).name}: {label}, top L pairs")
        ax.figure.savefig(work / "contact_map.png", dpi=120, format="png", bbox_inches="tight")
        plt.close(ax.figure)
        if args.write_couplings:
            _write_couplings(work, args.write_couplings, model, msa, pairs, args.identity)
        if args.model == "pssm" and not args.couplings:
            print("note: a site-independent model has no couplings; its scores are all zero")
        report_metrics(metrics, work, title=f"seqlens msa contacts ({label})")
    return 0


def _coupling_formats(text: str) -> list[str]:
    """argparse ``type`` of ``--write-couplings``: a comma list of :data:`COUPLING_FORMATS`."""
    import argparse

    names = [t.strip().lower() for t in text.split(",") if t.strip()]
    bad = [n for n in names if n not in COUPLING_FORMATS]
    if not names or bad:
        raise argparse.ArgumentTypeError(f"expected a comma list of {', '.join(COUPLING_FORMATS)}, "
                                         f"got {text!r}")
    return list(dict.fromkeys(names))


def _plmc_positions(msa):
    """plmc's numbering of the model columns: alignment column + focus region start - 1."""
    from seqlens.msa.alignment import _REGION

    m = _REGION.search(msa.focus or "")
    return msa.columns["alignment_column"].to_numpy() + (int(m.group(1)) - 1 if m else 0)


def _read_couplings(args, msa):
    """The ranked pair table (focus residues) of ``--couplings``, in any of the formats."""
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from seqlens.cli.common import check_input
    from seqlens.errors import SeqlensError
    from seqlens.io import couplings as fmt
    from seqlens.msa.contacts import contact_table, frobenius

    path = check_input(args.couplings, "--couplings")
    kind = args.couplings_format or COUPLING_SUFFIXES.get(Path(path.name.removesuffix(".gz")).suffix.lower())
    if kind is None:
        raise SeqlensError(f"--couplings {path}: unknown suffix; give --couplings-format "
                           f"({', '.join(COUPLING_FORMATS)})")
    if kind == "evcouplings":
        return fmt.read_evcouplings_csv(path)
    if kind == "ccmpred":
        S, _ = fmt.read_ccmpred_mat(path)
        if len(S) != msa.length:
            raise SeqlensError(f"--couplings {path}: a {len(S)} x {len(S)} matrix, but --msa "
                               f"{args.msa} has {msa.length} model columns")
        return contact_table(S, msa.columns)
    if kind == "params":
        p = fmt.read_plmc_params(path)
        ii, jj = np.triu_indices(p.length, 1)
        S = frobenius(p.J.astype(np.float64))  # over all of plmc's states, as its .couplings
        letters = np.array(list(p.focus_sequence))
        table = pd.DataFrame({"i": p.positions[ii], "A_i": letters[ii], "j": p.positions[jj],
                                  "A_j": letters[jj], "score": S[ii, jj]})
        pairs = table.sort_values("score", ascending=False, kind="stable")
    else:
        pairs = fmt.read_plmc_couplings(path)
    return fmt.renumber(pairs, _plmc_positions(msa), msa.columns["residue"], f"--couplings {path}")


def _write_couplings(work, kinds: list[str], model, msa, pairs, identity) -> None:
    """The fitted scores (``pairs``: ranked, focus residues) in other tools' formats."""
    import inspect

    import numpy as np

    from seqlens.io import couplings as fmt

    if "plmc" in kinds:
        plmc = pairs.assign(i=_plmc_positions(msa)[pairs["col_i"]], j=_plmc_positions(msa)[pairs["col_j"]])
        fmt.write_plmc_couplings(work / "plmc.couplings", plmc)
    if "ccmpred" in kinds:
        S = np.zeros((msa.length, msa.length))
        S[pairs["col_i"], pairs["col_j"]] = S[pairs["col_j"], pairs["col_i"]] = pairs["score"]
        fmt.write_ccmpred_mat(work / "ccmpred.mat", S, {"seqlens": {"model": type(model).__name__}})
    if "evcouplings" in kinds:
        fn = model.contacts(apc=False) if "apc" in inspect.signature(model.contacts).parameters else None
        table = pairs if fn is None else pairs.assign(fn=fn[pairs["col_i"], pairs["col_j"]])
        fmt.write_evcouplings_csv(work / "CouplingScores.csv", table)
    if "params" in kinds:
        from seqlens.msa.stats import frequencies

        fi, fij = frequencies(msa, identity)
        weights = msa.weights_full(identity)
        neighbors = np.where(weights > 0, 1 / np.where(weights > 0, weights, 1), 0.0)
        params = fmt.plmc_params_from_potts(model, fi, fij, _plmc_positions(msa),
                                            n_neighbors=neighbors, n_skipped=int((weights == 0).sum()))
        fmt.write_plmc_params(work / "plmc.params", params)
