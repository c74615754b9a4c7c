"""``seqlens msa <action>``: sequence-family models. Actions: ``contacts`` (more to come:
fit / score / mutations / sample)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("msa", help="alignment models: contacts, fit, score, mutations, sample")
    actions = p.add_subparsers(dest="msa_action", metavar="ACTION")
    actions.required = True
    c = actions.add_parser("contacts", help="predict contacts from an alignment and score them")
    c.add_argument("--msa", required=True, help="alignment file (fasta/a2m/a3m/stockholm, .gz ok)")
    c.add_argument("--format", default=None, help="alignment format (default: from extension)")
    c.add_argument("--alphabet", default="protein", choices=["protein", "rna"])
    c.add_argument("--focus", default=None,
                   help="focus sequence name (prefix); 'first' for the first record; default none")
    c.add_argument("--model", default="potts", choices=["potts", "gaussian", "pssm", "mi"])
    c.add_argument("--preset", default="plmc", help="Potts preset: plmc, evcouplings, gremlin")
    c.add_argument("--max-iter", type=int, default=None, help="Potts iterations")
    c.add_argument("--lambda-j", default=None, help="Potts coupling L2 (number or formula in q, L)")
    c.add_argument("--identity", type=float, default=0.8, help="sequence-weight identity threshold")
    c.add_argument("--pdb", default=None, help="structure file (PDB or mmCIF) for the truth")
    c.add_argument("--chain", default=None, help="chain of --pdb (default: first)")
    c.add_argument("--atoms", default="cb", choices=["cb", "heavy"],
                   help="structure distance: C-beta (virtual for Gly) or minimum heavy atom")
    c.add_argument("--map", default="align", choices=["align", "numbering"],
                   help="structure -> focus residues: pairwise alignment of the sequences, or the "
                        "structure's residue numbers taken as focus residue numbers")
    c.add_argument("--distances", default=None, help="distance table (csv i,j,dist or 'i j ... dist')")
    c.add_argument("--threshold", type=float, default=None,
                   help="contact distance cut-off in A (default 8 for cb/tables, 5 for heavy)")
    c.add_argument("--out", required=True, help="output folder")
    c.add_argument("--device", default=None)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=run_contacts)
    from seqlens.cli.msa_models import register_msa_models

    register_msa_models(actions)


def _model(args):
    from seqlens.msa import PSSM, Gaussian, MutualInformation, Potts

    if args.model == "potts":
        lam = args.lambda_j
        if lam is not None:
            try:
                lam = float(lam)
            except ValueError:
                pass
        return Potts(preset=args.preset, max_iter=args.max_iter, lambda_J=lam, identity=args.identity,
                     device=args.device, random_state=args.seed, verbose=not args.quiet)
    if args.model == "gaussian":
        return Gaussian(pseudocount=0.5, identity=args.identity)
    if args.model == "pssm":
        return PSSM(identity=args.identity)
    return MutualInformation(identity=args.identity)


def run_contacts(args) -> int:
    import time
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqlens.cli.common import report_metrics
    from seqlens.io.atomic import atomic_path
    from seqlens.io.structures import map_to_focus, read_distance_table, structure_distances
    from seqlens.msa import Alignment, contact_table, precision_table
    from seqlens.plot.contacts import plot_contact_map

    out = Path(args.out)
    focus = True if args.focus == "first" else args.focus
    t0 = time.perf_counter()
    msa = Alignment.read(args.msa, format=args.format, alphabet=args.alphabet, focus=focus)
    if len(msa.dropped):
        print(f"dropped {len(msa.dropped)} sequence(s), e.g. {msa.dropped.iloc[0]['name']}: "
              f"{msa.dropped.iloc[0]['reason']}")
    model = _model(args).fit(msa)
    scores = model.contacts()
    seconds = time.perf_counter() - t0
    pairs = contact_table(scores, msa.columns)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "scores.csv") as tmp:
        pairs.to_csv(tmp, index=False)
    metrics = {"model": args.model, "n_sequences": msa.n_sequences, "n_dropped": len(msa.dropped),
               "length": msa.length, "neff": round(msa.neff(args.identity), 3),
               "seconds": round(seconds, 3)}
    truth = None
    threshold = args.threshold
    if args.pdb:
        table, seq, numbers = structure_distances(args.pdb, args.chain, mode=args.atoms)
        if args.map == "align":
            truth = map_to_focus(table, seq, numbers, msa.focus_sequence(),
                                 msa.columns["residue"].to_numpy())
        else:
            truth = table
        threshold = threshold or (5.0 if args.atoms == "heavy" else 8.0)
    elif args.distances:
        truth = read_distance_table(args.distances)
        threshold = threshold or 8.0
    if truth is not None:
        prec = precision_table(pairs, truth, msa.length, threshold=threshold)
        metrics.update({k: round(v, 4) for k, v in prec.items()})
        metrics["precision_at_L"] = metrics["precision_at_L_sep6"]
        metrics["contact_threshold"] = threshold
        with atomic_path(out / "precision.csv") as tmp:
            rows = [{"separation": s, "top": k, "precision": metrics[f"precision_at_{k}_sep{s}"]}
                    for s in (6, 12, 24) for k in ("L", "L2", "L5")]
            import pandas as pd

            pd.DataFrame(rows).to_csv(tmp, index=False)
    ax = plot_contact_map(pairs, truth, n_top=msa.length, threshold=threshold or 8.0,
                          title=f"{Path(args.msa).name}: {args.model}, top L pairs")
    with atomic_path(out / "contact_map.png") as tmp:
        ax.figure.savefig(tmp, dpi=120, format="png", bbox_inches="tight")
    plt.close(ax.figure)
    if args.model == "pssm":
        print("note: a site-independent model has no couplings; its scores are all zero")
    report_metrics(metrics, out, title=f"seqlens msa contacts ({args.model})")
    return 0
