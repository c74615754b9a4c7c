"""``seqlens variants``: score variants from a VCF with a trained model.

``seqlens variants --model RUN_DIR --vcf variants.vcf[.gz] --genome genome.fa --out DIR [--rc]
[--attribute N --method deepshap]`` builds a reference and an alternate window around every variant
(:mod:`seqlens.genome.variants`: centred on the first REF letter; indels keep the window length by
trimming or extending both flanks symmetrically; ``N`` past chromosome ends), runs the model on both
(:mod:`seqlens.interpret.variants`) and writes to ``DIR``:

* ``variants.tsv``: ``chrom, pos, id, ref, alt, kind, padded`` then per task ``ref_<task>``,
  ``alt_<task>``, ``effect_<task>`` (alt - ref on the raw scale: logits of a classifier, log counts
  of a profile model) and, for classifiers, ``effect_prob_<task>`` (Poisson models:
  ``effect_rate_<task>``); profile models add ``jsd_<track>`` (change of the predicted profile shape);
* ``metrics.json``: counts of variants by kind, windows padded, largest and median |effect|, seconds;
* with ``--attribute N``: ``attributions.h5`` (maps of the reference and alternate windows of the N
  variants with the largest |effect|, for the task where it is largest) and ``logos/`` (one PNG per
  variant: reference and alternate logos around the variant).

Without a genome: ``--sequences seqs.fa`` (plain or gzip; sequences held in memory) with a VCF whose
CHROM names the records and POS is 1-based in them, or a table ``name, offset, ref, alt[, id]``
(offset 0-based) as ``--vcf``. Every variant is checked (chromosome, REF against the genome) before
anything is written; a bad one is a one-line error naming the file, line and value.
"""

from __future__ import annotations

import re
from pathlib import Path

from seqlens.cli.common import (
    add_model_option,
    add_resume_option,
    check_input,
    device_option,
    nonnegative_int,
    positive_int,
)

ATTRIBUTION_METHODS = ("deepshap", "saliency", "grad_x_input", "ig", "ism")
CHUNK = 4096  # variants encoded and scored at a time (memory stays flat in the VCF's size)


def register(sub) -> None:
    p = sub.add_parser("variants", help="score variants (VCF) with a trained model",
                       description="Effects (alt - ref) of SNVs and short indels from a VCF on the "
                                   "outputs of a trained model, with optional attribution logos.")
    add_model_option(p)
    p.add_argument("--vcf", "--variants", dest="variants", required=True,
                   help="VCF (plain or gzip), or a table name,offset,ref,alt[,id] with --sequences")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--genome", help="genome FASTA (indexed with a .fai, built when missing)")
    src.add_argument("--sequences", help="FASTA of sequences (plain or gzip) whose record names the "
                                         "variants use as chromosomes (no genome needed)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--length", type=positive_int,
                   help="window length (default: the model's sequence length)")
    p.add_argument("--rc", action="store_true",
                   help="average each output over the window and its reverse complement")
    p.add_argument("--ambiguous", choices=("zeros", "uniform"), default="zeros",
                   help="encoding of N (and padding past chromosome ends): all-zero columns (default, as "
                        "seqlens dataset) or 0.25 each")
    p.add_argument("--link", choices=("sigmoid", "exp", "none"),
                   help="output link for the second effect column (default: from the model's loss: "
                        "sigmoid for bce, exp for poisson, none otherwise)")
    p.add_argument("--attribute", type=nonnegative_int, default=0, metavar="N",
                   help="attribution maps and logos for the N variants with the largest |effect|")
    p.add_argument("--method", choices=ATTRIBUTION_METHODS, default="deepshap",
                   help="attribution method for --attribute (default deepshap)")
    p.add_argument("--n-shuffles", type=positive_int, default=20, help="DeepSHAP references")
    p.add_argument("--batch-size", type=positive_int, default=256)
    p.add_argument("--device", type=device_option, help="cpu, cuda (default: CUDA when available)")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--threads", type=positive_int)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_resume_option(p)
    p.set_defaults(func=run_variants)


def _link(args, loss: str | None) -> str | None:
    from seqlens.train import LINKS

    if args.link is not None:
        return None if args.link == "none" else args.link
    return LINKS.get(loss) if loss else None


def _table(variants, windows, effects, tasks: list[str]):
    import pandas as pd

    from seqlens.interpret.variants import LINKS

    cols = {"chrom": [v.chrom for v in variants], "pos": [v.pos for v in variants],
            "id": [v.id for v in variants], "ref": [v.ref for v in variants],
            "alt": [v.alt for v in variants], "kind": [v.kind for v in variants],
            "padded": [w.padded for w in windows]}
    linked = effects.linked_effect
    for t, name in enumerate(tasks):
        cols[f"ref_{name}"] = effects.ref[:, t]
        cols[f"alt_{name}"] = effects.alt[:, t]
        cols[f"effect_{name}"] = effects.effect[:, t]
        if linked is not None:
            cols[f"effect_{LINKS[effects.link][1]}_{name}"] = linked[:, t]
        if effects.profile_jsd is not None:
            cols[f"jsd_{name}"] = effects.profile_jsd[:, t]
    return pd.DataFrame(cols)


def _score(model, variants, windows, args, link):
    """:class:`VariantEffects` of all variants, encoded and scored ``CHUNK`` at a time."""
    import numpy as np

    from seqlens.genome.variants import encode_windows
    from seqlens.interpret.variants import VariantEffects, variant_effects

    parts = []
    for start in range(0, len(windows), CHUNK):
        part = windows[start:start + CHUNK]
        ref, alt = encode_windows(part, args.ambiguous)
        parts.append(variant_effects(model, ref, alt, link=link, rc=args.rc,
                                     shifts=[w.ref_offset - w.alt_offset for w in part],
                                     batch_size=args.batch_size, device=args.device,
                                     verbose=not args.quiet and start == 0))
    jsd = [p.profile_jsd for p in parts]
    return VariantEffects(np.concatenate([p.ref for p in parts]), np.concatenate([p.alt for p in parts]),
                          link, np.concatenate(jsd) if jsd[0] is not None else None)


def _attribute(model, windows, effects, rows, args, profile: bool):
    """Maps ``(n, A, L)`` of the reference and alternate windows of ``rows``, each for the task with
    its largest |effect|."""
    import numpy as np

    from seqlens import attribution as at
    from seqlens.genome.variants import encode_windows

    ref, alt = encode_windows([windows[i] for i in rows], args.ambiguous)
    tasks = np.abs(effects.effect[rows]).argmax(1)
    target = ("counts", tasks) if profile else tasks
    kw = dict(target=target, device=args.device)
    if args.method == "deepshap":
        kw.update(n_shuffles=args.n_shuffles, random_state=args.seed)
    maps = [np.asarray(at.attribute(model, X, args.method, **kw), dtype=np.float32) for X in (ref, alt)]
    return ref, alt, maps[0], maps[1], tasks


def _variant_figure(ref_x, alt_x, ref_map, alt_map, w, alleles: tuple[str, str], title: str,
                    flank: int = 30):
    """Reference and alternate attribution logos (observed letters) of window ``w`` within
    ``flank`` letters of the variant, whose alleles are shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqlens.plot.logos import logo

    fig, axes = plt.subplots(2, 1, figsize=(10, 3.6), sharey=True)
    for ax, X, M, offset, allele, label in (
            (axes[0], ref_x, ref_map, w.ref_offset, alleles[0], "reference"),
            (axes[1], alt_x, alt_map, w.alt_offset, alleles[1], "alternate")):
        lo = max(offset - flank, 0)
        hi = min(offset + len(allele) + flank, X.shape[1])
        logo((M * X)[:, lo:hi], ax=ax, start=lo - offset, ylabel=label)
        ax.axvspan(0, len(allele), color="grey", alpha=0.15, lw=0)
    axes[1].set_xlabel("position relative to the variant")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:80]


def _write_attributions(work: Path, table, rows, ref, alt, ref_map, alt_map, tasks, task_names,
                        windows, method: str) -> None:
    import json

    import h5py
    import numpy as np

    from seqlens.plot.curves import save_figure

    with h5py.File(work / "attributions.h5", "w") as fh:
        fh.create_dataset("rows", data=np.asarray(rows, dtype=np.int64))
        fh.create_dataset("X_ref", data=ref, compression="gzip")
        fh.create_dataset("X_alt", data=alt, compression="gzip")
        fh.create_dataset("ref", data=ref_map, compression="gzip")
        fh.create_dataset("alt", data=alt_map, compression="gzip")
        fh.create_dataset("task", data=np.asarray(tasks, dtype=np.int64))
        fh.attrs["metadata"] = json.dumps({"method": method, "tasks": task_names,
                                           "rows": "row of variants.tsv (0-based)"})
    (work / "logos").mkdir(exist_ok=True)
    for rank, i in enumerate(rows):
        r = table.iloc[i]
        name = f"{r['chrom']}:{r['pos']} {r['ref']}>{r['alt']}" + (f" ({r['id']})" if r["id"] else "")
        task = task_names[tasks[rank]]
        title = f"{name}: effect on {task} {r[f'effect_{task}']:+.3g} ({method})"
        fig = _variant_figure(ref[rank], alt[rank], ref_map[rank], alt_map[rank], windows[i],
                              (r["ref"], r["alt"]), title)
        save_figure(fig, work / "logos" / f"{rank + 1:03d}_{_safe(name)}.png")


def run_variants(args) -> int:
    import time

    import numpy as np

    from seqlens.cli.common import load_cli_model, report_metrics, set_torch_threads
    from seqlens.cli.train import _task_names
    from seqlens.errors import SeqlensError
    from seqlens.genome.reference import Genome
    from seqlens.genome.variants import Sequences, encode_windows, variant_windows
    from seqlens.interpret.variants import is_profile_model
    from seqlens.io.atomic import check_output_path, output_folder
    from seqlens.io.vcf import read_variants

    set_torch_threads(args.threads)
    t0 = time.perf_counter()
    out = check_output_path(args.out, "folder")
    path = check_input(args.variants, "--vcf")
    fasta = check_input(args.genome or args.sequences, "--genome" if args.genome else "--sequences")
    loaded = load_cli_model(args)
    length = args.length or loaded.config.get("seq_length")
    if length is None:
        raise SeqlensError(f"--model {args.model}: the model does not record its sequence length; give "
                           "--length")
    loaded.check_input((2, 4, int(length)), f"--length {length}")
    model = loaded.model
    variants = read_variants(path)
    with (Genome(fasta) if args.genome else Sequences(fasta)) as genome:
        windows = variant_windows(genome, variants, int(length))
    profile = is_profile_model(model, encode_windows(windows[:1], args.ambiguous)[0])
    loss = loaded.metadata.get("loss")
    link = None if profile else _link(args, loss)
    if profile and args.rc:
        raise SeqlensError("--rc is not available for profile models: their stranded tracks swap under "
                           "reverse complement")

    with output_folder(out, resume=args.resume) as work:
        effects = _score(model, variants, windows, args, link)
        tasks = _task_names(loaded.metadata.get("tasks"), effects.ref.shape[1])
        table = _table(variants, windows, effects, tasks)
        table.to_csv(work / "variants.tsv", sep="\t", index=False)
        size = np.abs(effects.effect).max(1)
        kinds = table["kind"].value_counts()
        metrics = {"n_variants": len(variants), "n_tasks": len(tasks), "window_length": int(length),
                   **{f"n_{k}": int(kinds.get(k, 0)) for k in ("snv", "mnv", "insertion", "deletion")},
                   "n_padded": int(table["padded"].sum()), "rc_averaged": bool(args.rc),
                   "max_abs_effect": float(size.max()), "median_abs_effect": float(np.median(size))}
        if args.attribute:
            rows = [int(i) for i in np.argsort(-size, kind="stable")[:args.attribute]]
            ref, alt, ref_map, alt_map, top_tasks = _attribute(model, windows, effects, rows, args, profile)
            _write_attributions(work, table, rows, ref, alt, ref_map, alt_map, top_tasks, tasks, windows,
                                args.method)
            metrics["n_attributed"] = len(rows)
        metrics["seconds"] = time.perf_counter() - t0
        report_metrics(metrics, work, title=f"seqlens variants: {len(variants)} variants -> {out}")
    return 0
