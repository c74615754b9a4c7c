"""``seqlens dataset``: a user's genomics files -> the HDF5 dataset that train/attribute/filters/gia read.

From a BED/narrowPeak of regions and a genome FASTA (one task per BED file)::

    seqlens dataset --bed peaks.narrowPeak --genome hg38.fa --out peaks.h5
        [--length 1000] [--negatives gc|shuffle|none] [--split chrom|random]

with bigWig signal as targets (``--bigwig a.bw`` or a stranded pair ``--bigwig plus.bw,minus.bw``;
``--signal mean|sum|max|profile``), or from FASTA files::

    seqlens dataset --fasta seqs.fa --labels labels.csv --out data.h5
    seqlens dataset --fasta pos.fa neg.fa --out data.h5
    seqlens dataset --fasta seqs.fa --header-labels --out data.h5

Writes ``--out`` (one HDF5 file, through ``<out>.partial/``) and ``<out>.metrics.json``, and prints
a summary table (sequences per split, positives per task, GC of positives vs negatives). The
layout and every rule (window centring, strands, chromosome ends, GC matching, splits) are those
of :mod:`seqlens.genome.dataset`. Every input is checked before anything is written; bad input is
one line naming the file, line and value (exit 2).
"""

from __future__ import annotations

from seqlens.cli.common import (
    add_resume_option,
    nonnegative_int,
    positive_int,
    unit_interval,
)


def _names(text: str) -> list[str]:
    """A comma-separated list option (``chr8,chr10``)."""
    return [t for t in (s.strip() for s in text.split(",")) if t]


def register(sub) -> None:
    p = sub.add_parser("dataset", help="build an HDF5 dataset from BED + genome, bigWig, or FASTA files",
                       description="Build the HDF5 dataset that train/attribute/filters/gia read from "
                                   "a user's files: BED/narrowPeak regions + a genome FASTA (one task "
                                   "per BED; bigWig signal as targets), or FASTA files with labels.")
    p.add_argument("--out", required=True, help="output HDF5 file (metrics go to <out>.metrics.json)")
    g = p.add_argument_group("regions of a genome")
    g.add_argument("--bed", nargs="+", metavar="BED", help="BED/narrowPeak files, one task each")
    g.add_argument("--genome", help="genome FASTA (indexed on first use; may be bgzip-compressed)")
    g.add_argument("--length", type=positive_int,
                   help="window length in bp (default 1000 for --bed; for --fasta: centre-crop or pad "
                        "every sequence to this length)")
    g.add_argument("--centre", choices=("auto", "summit", "middle"), default="auto",
                   help="centre windows on narrowPeak summits (column 10) or region middles (default "
                        "auto: summits where given)")
    g.add_argument("--jitter", type=nonnegative_int, default=0,
                   help="shift each window's centre by a seeded random integer in [-J, J]")
    g.add_argument("--unstranded", action="store_true",
                   help="ignore BED column 6 (default: windows of - strand regions are reverse-complemented)")
    g.add_argument("--edge", choices=("skip", "pad", "error"), default="skip",
                   help="windows reaching past a chromosome end: skip them (default), pad with N, or stop")
    g.add_argument("--chroms", type=_names, help="use only these chromosomes (comma list)")
    g = p.add_argument_group("negatives")
    g.add_argument("--negatives", choices=("auto", "gc", "shuffle", "none"), default="auto",
                   help="GC-matched background windows of the genome, dinucleotide shuffles of the "
                        "positives, or none (default auto: gc, or none with --bigwig)")
    g.add_argument("--negative-ratio", type=positive_int, default=1,
                   help="negatives per positive (default 1)")
    g.add_argument("--gc-bins", type=positive_int, default=50, help="GC bins for matching (default 50)")
    g.add_argument("--max-n", type=unit_interval, default=0.0,
                   help="largest fraction of N a background window may hold (default 0)")
    g = p.add_argument_group("bigWig targets")
    g.add_argument("--bigwig", nargs="+", metavar="BW",
                   help="bigWig tracks as targets; plus.bw,minus.bw for a stranded pair")
    g.add_argument("--signal", choices=("mean", "sum", "max", "profile"), default="mean",
                   help="per-track summary of the output window, or per-base profile counts (default mean)")
    g.add_argument("--output-length", type=positive_int,
                   help="central bases the targets cover (default: the window length)")
    g.add_argument("--bin-size", type=positive_int, default=1, help="profile bin size (default 1)")
    g = p.add_argument_group("FASTA input")
    g.add_argument("--fasta", nargs="+", metavar="FASTA",
                   help="FASTA file(s); several files without --labels are classes (pos.fa neg.fa)")
    g.add_argument("--labels", help="CSV/TSV table: a name column and label columns")
    g.add_argument("--name-column", help="name column of --labels (default 'name', else the first)")
    g.add_argument("--label-columns", type=_names,
                   help="label columns of --labels (comma list; default every numeric column)")
    g.add_argument("--header-labels", action="store_true",
                   help="labels follow the name in each FASTA header ('>s1 1 0' or '>s1 CTCF=1 REST=0')")
    g = p.add_argument_group("splits")
    g.add_argument("--split", choices=("chrom", "random"),
                   help="hold out chromosomes (default for --bed) or draw at random (default for --fasta)")
    g.add_argument("--valid-chroms", type=_names, help="validation chromosomes (default chr8)")
    g.add_argument("--test-chroms", type=_names, help="test chromosomes (default chr9)")
    g.add_argument("--valid-fraction", type=unit_interval, default=0.1, help="--split random (default 0.1)")
    g.add_argument("--test-fraction", type=unit_interval, default=0.1, help="--split random (default 0.1)")
    g = p.add_argument_group("output")
    g.add_argument("--ambiguous", choices=("zeros", "uniform"), default="zeros",
                   help="N and other ambiguity codes: all-zero columns, stored as uint8 (default), or "
                        "0.25 each, stored as float32")
    g.add_argument("--compression", choices=("none", "gzip", "lzf"), default="none",
                   help="HDF5 compression of the sequences (default none: fastest; gzip: ~5x smaller)")
    g.add_argument("--seed", type=nonnegative_int, default=0,
                   help="seeds jitter, random splits, background draws and shuffles")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    add_resume_option(g)
    p.set_defaults(func=run_dataset)


def _check_options(args) -> None:
    """One input mode, its files present, and no option of the other mode."""
    from seqlens.cli.common import check_input
    from seqlens.errors import SeqlensError

    if bool(args.bed) == bool(args.fasta):
        raise SeqlensError("give either --bed (with --genome) or --fasta")
    if args.bed:
        if not args.genome:
            raise SeqlensError("--bed needs --genome FASTA")
        wrong = [o for o, v in (("--labels", args.labels), ("--header-labels", args.header_labels),
                                ("--name-column", args.name_column), ("--label-columns", args.label_columns))
                 if v]
        for path in args.bed:
            check_input(path, "--bed")
        check_input(args.genome, "--genome")
    else:
        wrong = [o for o, v in (("--genome", args.genome), ("--bigwig", args.bigwig),
                                ("--chroms", args.chroms), ("--jitter", args.jitter),
                                ("--negatives", args.negatives != "auto"),
                                ("--output-length", args.output_length)) if v]
        for path in args.fasta:
            check_input(path, "--fasta")
        if args.labels:
            check_input(args.labels, "--labels")
    if wrong:
        raise SeqlensError(f"{', '.join(wrong)} cannot be used with {'--bed' if args.bed else '--fasta'}")
    for spec in args.bigwig or []:
        for path in spec.split(","):
            check_input(path, "--bigwig")


def run_dataset(args) -> int:
    from seqlens.cli.common import metrics_path, report_metrics
    from seqlens.genome.dataset import bed_dataset, fasta_dataset, summary_table
    from seqlens.io.atomic import check_output_path, output_file

    out = check_output_path(args.out, "file")
    _check_options(args)
    common = {"valid_chroms": args.valid_chroms, "test_chroms": args.test_chroms,
              "valid_fraction": args.valid_fraction, "test_fraction": args.test_fraction,
              "ambiguous": args.ambiguous, "random_state": args.seed, "verbose": not args.quiet,
              "compression": None if args.compression == "none" else args.compression}
    with output_file(out, resume=args.resume) as work:
        if args.bed:
            summary = bed_dataset(
                work / out.name, args.bed, args.genome, length=args.length or 1000, centre=args.centre,
                jitter=args.jitter, stranded=not args.unstranded, edge=args.edge,
                negatives=args.negatives, negative_ratio=args.negative_ratio, gc_bins=args.gc_bins,
                max_n=args.max_n, bigwig=args.bigwig, signal=args.signal,
                output_length=args.output_length, bin_size=args.bin_size, split=args.split or "chrom",
                chroms=args.chroms, **common)
        else:
            summary = fasta_dataset(
                work / out.name, args.fasta, labels=args.labels, name_column=args.name_column,
                label_columns=args.label_columns, header_labels=args.header_labels, length=args.length,
                split=args.split or "random", **common)
        import json

        from seqlens.io.hdf5 import open_hdf5

        with open_hdf5(work / out.name) as fh:
            tasks = json.loads(fh.attrs["metadata"])["tasks"]
        print(summary_table(summary, tasks))
        report_metrics(summary, metrics_path(work, out),
                       title=f"seqlens dataset: {summary['n_sequences']:,} sequences -> {out}")
    return 0
