"""``seqlens data list`` / ``seqlens data path NAME``: the example files bundled with seqlens
(the Python equivalents: :func:`seqlens.data.list_data` and :func:`seqlens.data.data_path`)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("data", help="bundled example data: list the files or print one's path",
                       description="The example files bundled with seqlens (alignments, distance "
                                   "tables, a DMS table, a ChIP-seq dataset, JASPAR 2016), e.g. "
                                   "seqlens msa contacts --msa \"$(seqlens data path DHFR.a2m.gz)\".")
    actions = p.add_subparsers(dest="data_action", metavar="ACTION")
    actions.required = True
    actions.add_parser("list", help="one line per bundled file: name and description") \
        .set_defaults(func=run_list)
    path = actions.add_parser("path", help="print the absolute path of a bundled file")
    path.add_argument("name", help="file name as listed by 'seqlens data list'")
    path.set_defaults(func=run_path)


def run_list(args) -> int:
    from seqlens.data import list_data

    files = list_data()
    width = max(map(len, files))
    for name, description in files.items():
        print(f"{name:<{width}}  {description}")
    return 0


def run_path(args) -> int:
    from seqlens.data import data_path
    from seqlens.errors import SeqlensError

    try:
        print(data_path(args.name))
    except FileNotFoundError as exc:
        raise SeqlensError(str(exc)) from None
    return 0
