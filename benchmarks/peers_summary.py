"""One table of every peer ratio the benchmarks wrote: ``make bench-peers`` runs the peer benchmarks,
then this.

Reads every JSON file under the given folders (default ``out/bench``). A benchmark that lists
``ratios`` records (``benchmarks/attribution_speed.py``: work, ours and the peer with their
settings, CPU and wall ratios from the same run, threads, target, met) gives one row per record;
any other benchmark JSON gives one row per flat numeric key that names a ratio (``*ratio*``, e.g.
``cpu_ratio_windows_vs_extract_loci_10000`` of ``dataset_speed.py``) or a speed-up (``*speedup*``,
shown as its inverse, ours / peer), with the file's load average where it has one. Nothing is
measured here: every number is the one the benchmark measured in its own run. Where several
files hold a row for the same work and peer (e.g. a rerun into another file), the most recently
written one is kept (``--all`` keeps every row).

Usage: python benchmarks/peers_summary.py [out/bench ...] [--out out/bench/peers_summary]
Prints a Markdown table and writes ``<out>.md`` and ``<out>.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from seqlens.io.atomic import write_json


def _fmt(v, spec=".3f") -> str:
    if v is None:
        return "-"
    return format(v, spec) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def _records(path: Path, data: dict) -> list[dict]:
    """Summary rows of one benchmark JSON file."""
    load = data.get("loadavg_start") or data.get("loadavg") or data.get("load_average")
    if isinstance(data.get("ratios"), list):
        rows = []
        for r in data["ratios"]:
            rows.append({"file": path.name, "work": r.get("work"), "peer": r.get("peer"),
                         "peer_setting": r.get("peer_setting"), "ours": r.get("ours"),
                         "threads": r.get("threads"), "ratio_cpu": r.get("ratio_cpu"),
                         "ratio_wall": r.get("ratio_wall"), "target": r.get("target"), "met": r.get("met"),
                         "values": r.get("values", ""), "note": r.get("note", ""),
                         "load": data.get("loadavg_start"), "load_end": data.get("loadavg_end")})
        return rows
    rows = []
    for key, value in data.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value:
            continue
        if "ratio" in key:
            ratio, note = value, "flat key (see the benchmark's doc for its peer)"
        elif "speedup" in key:
            ratio, note = 1 / value, f"1 / {key} (see the benchmark's doc for its peer)"
        else:
            continue
        cpu = "cpu" in key
        rows.append({"file": path.name, "work": key, "peer": None, "peer_setting": None, "ours": None,
                     "threads": data.get("threads"), "ratio_cpu": ratio if cpu else None,
                     "ratio_wall": None if cpu else ratio, "target": None, "met": None, "values": "",
                     "note": note, "load": load, "load_end": None})
    return rows


def collect(folders) -> list[dict]:
    rows = []
    for folder in folders:
        folder = Path(folder)
        files = [folder] if folder.is_file() else sorted(folder.rglob("*.json"))
        for path in files:
            if path.name.startswith("peers_summary") or path.name.endswith(".metrics.json"):
                continue
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                rows.extend({**r, "mtime": path.stat().st_mtime} for r in _records(path, data))
    return rows


def newest(rows: list[dict]) -> list[dict]:
    """One row per (work, peer): the one from the most recently written file (a rerun of a
    benchmark into another file supersedes the older one)."""
    best: dict = {}
    for r in rows:
        key = (r["work"], r["peer"])
        if key not in best or r["mtime"] > best[key]["mtime"]:
            best[key] = r
    return [r for r in rows if best[(r["work"], r["peer"])] is r]


def table(rows: list[dict]) -> str:
    head = ["work", "peer [its setting]", "threads", "ours/peer CPU", "ours/peer wall", "target", "met",
            "values", "load avg", "file"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        peer = f"{r['peer']} [{r['peer_setting']}]" if r["peer"] else "-"
        met = {True: "yes", False: "**no**"}.get(r["met"], "-")
        values = (f"{r['values']} {r['note']}".strip() or "-").replace("|", "\\|")  # Markdown cells
        lines.append("| " + " | ".join([
            str(r["work"]), peer, _fmt(r["threads"], "d"), _fmt(r["ratio_cpu"]), _fmt(r["ratio_wall"]),
            _fmt(r["target"], "g"), met, values, _fmt(r["load"]), r["file"]]) + " |")
    return "\n".join(lines)


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("folders", nargs="*", default=["out/bench"], help="folders (or files) of benchmark JSON")
    p.add_argument("--out", default="out/bench/peers_summary", help="writes <out>.md and <out>.json")
    p.add_argument("--all", action="store_true",
                   help="keep superseded rows (default: the newest file's row per work and peer)")
    args = p.parse_args(argv)
    rows = collect(args.folders)
    if not args.all:
        rows = newest(rows)
    text = table(rows)
    print(text)
    if not rows:
        print("(no benchmark JSON with ratios found under " + ", ".join(args.folders) + ")")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text("# Peer ratios (ours / peer, same run)\n\n" + text + "\n")
    write_json(out.with_suffix(".json"), {"rows": rows})
    return rows


if __name__ == "__main__":
    main()
