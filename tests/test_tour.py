"""The README's "A five-minute tour" runs exactly as written, with the defaults, in a fresh folder.

Every fenced ``bash`` block of the tour section is run by one ``bash -e`` in a temporary folder,
with the virtual environment's ``bin`` first on ``PATH`` (as after ``source .venv/bin/activate``)
and nothing else changed: no environment variable shortens the work, so the defaults themselves
must finish. Then every ``python`` block runs as a script in the same folder. Each command and
block is timed; ``python tests/test_tour.py`` prints the step-by-step table (wall and CPU
seconds, load average) that the README's "five minutes" is measured with.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BUDGET_S = 300  # the tour's promise: five minutes on an idle 2-core machine
MARK = "@@tour-step"


def tour_blocks(language: str, readme: Path = ROOT / "README.md") -> list[str]:
    """The fenced ``language`` blocks of the README's tour section, in order."""
    text = readme.read_text(encoding="utf-8")
    start = re.search(r"^## A five-minute tour[ \t]*$", text, re.M)
    assert start, f"{readme}: no '## A five-minute tour' section"
    end = re.search(r"^## ", text[start.end():], re.M)
    section = text[start.end(): start.end() + end.start() if end else len(text)]
    return re.findall(rf"^```{language}[ \t]*\n(.*?)^```[ \t]*$", section, re.M | re.S)


def tour_commands(readme: Path = ROOT / "README.md") -> list[str]:
    """The shell commands of the tour's ``bash`` blocks, in order: continuation lines joined,
    blank and comment-only lines left out (trailing comments stay; bash ignores them)."""
    commands = []
    for block in tour_blocks("bash", readme):
        for command in re.sub(r"\\\n", " ", block).splitlines():
            if command.strip() and not command.lstrip().startswith("#"):
                commands.append(command.strip())
    return commands


def run_tour(folder: Path, commands: list[str], timeout: float) -> tuple[int, str, list[dict]]:
    """Run ``commands`` by one ``bash -e`` in ``folder`` (shell state carries over, as when a user
    pastes the block). Returns the exit code, the output and one row per finished command
    (``command``, ``wall_s``, ``cpu_s``: user + system time of the command and its children)."""
    lines = ["set -eo pipefail", f"TIMEFORMAT='{MARK} %R %U %S'"]
    for i, command in enumerate(commands):
        lines.append(f"echo '{MARK}-start {i}' >&2")
        lines.append(f"time {{\n{command}\n}}")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(["bash", "-c", "\n".join(lines)], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=timeout)
    output = proc.stdout + proc.stderr
    rows = []
    for match in re.finditer(rf"^{MARK} ([\d.]+) ([\d.]+) ([\d.]+)$", proc.stderr, re.M):
        wall, user, system = (float(v) for v in match.groups())
        rows.append({"command": commands[len(rows)], "wall_s": wall, "cpu_s": user + system})
    return proc.returncode, output, rows


def run_python(folder: Path, blocks: list[str], timeout: float) -> tuple[int, str, list[dict]]:
    """Run each Python block as a script in ``folder``, in order; stop at the first that fails.
    Returns the exit code, the output and one row per finished block (as :func:`run_tour`)."""
    import resource

    rows, output = [], ""
    for k, block in enumerate(blocks):
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-"], input=block, cwd=folder, capture_output=True,
                              text=True, timeout=timeout)
        wall = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        output += proc.stdout + proc.stderr
        if proc.returncode:
            return proc.returncode, output, rows
        rows.append({"command": f"python block {k + 1}", "wall_s": wall,
                     "cpu_s": cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime})
    return 0, output, rows


def test_tour_commands_are_found():
    commands = tour_commands()
    assert any(c.startswith("seqlens simulate") for c in commands)
    assert any(c.startswith("seqlens train") for c in commands)
    assert not any(c.endswith("\\") for c in commands)
    assert len(tour_blocks("python")) == 2


def _metrics(path: Path) -> dict:
    import json

    return json.loads(path.read_text())


def test_tour_runs_as_written(tmp_path):
    t0 = time.perf_counter()
    commands = tour_commands()
    code, output, rows = run_tour(tmp_path, commands, timeout=4 * BUDGET_S)
    failed = commands[len(rows)] if len(rows) < len(commands) else None
    assert code == 0, f"tour command failed (exit {code}): {failed}\n{output[-4000:]}"
    assert len(rows) == len(commands) and "Traceback" not in output, output[-4000:]
    code, py_output, py_rows = run_python(tmp_path, tour_blocks("python"), timeout=2 * BUDGET_S)
    assert code == 0, f"tour python block {len(py_rows) + 1} failed:\n{py_output[-4000:]}"
    assert not list(tmp_path.rglob("*.partial")), "a tour command left an unfinished run"
    # what the tour promises, in figures
    assert _metrics(tmp_path / "runs/exp/metrics.json")["test_auroc"] > 0.8
    attr = _metrics(tmp_path / "runs/exp/attr.h5.metrics.json")
    assert attr["n_sequences"] == 500 and attr["deepshap_auroc"] > 0.6
    assert _metrics(tmp_path / "runs/exp/filters/metrics.json")["jaspar_release"] == 2016
    assert _metrics(tmp_path / "runs/exp/gia/metrics.json")["n_null"] == 1000
    assert (tmp_path / "runs/exp/gia/results.csv").read_text().count("\n") == 1 + 153
    assert _metrics(tmp_path / "runs/exp/squid/metrics.json")["sequence"] == "test_0"
    assert _metrics(tmp_path / "dhfr/metrics.json")["precision_at_L_sep6"] > 0.9
    assert _metrics(tmp_path / "dlg4/metrics.json")["n_scored"] > 1000
    elapsed = time.perf_counter() - t0
    # the README's figure is measured on an idle 2-core machine; a busy CI machine gets slack
    assert elapsed < 4 * BUDGET_S, f"the tour took {elapsed:.0f} s"


def test_surrogate_reads_the_wild_type_from_a_dataset(tmp_path, run_cli):
    """``surrogate --data FILE.h5 --record I`` (the tour's way to name a wild type) is the same
    as giving that sequence with ``--sequence``."""
    import numpy as np

    from seqlens.alphabet import decode
    from seqlens.io.hdf5 import Dataset, Split, save_dataset
    from seqlens.models import build_model, save_model

    rng = np.random.default_rng(0)

    def split(n):
        X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, 100))].transpose(0, 2, 1).copy()
        return Split(X=X, Y=rng.integers(0, 2, (n, 1)).astype(np.float32))

    data = Dataset(train=split(4), valid=split(4), test=split(6))
    save_dataset(tmp_path / "d.h5", data)
    save_model(build_model("cnn_p4", seq_length=100, filters=4, random_state=0), tmp_path / "run")
    common = ["surrogate", "--model", tmp_path / "run", "--window", "40:60", "--n", "300", "--no-plots",
              "--no-ridge", "--quiet", "--device", "cpu"]
    code, _, err, _ = run_cli(common + ["--data", tmp_path / "d.h5", "--record", "3", "--out",
                                        tmp_path / "a"], tmp_path)
    assert code == 0, err
    code, _, err, _ = run_cli(common + ["--sequence", decode(data.test.X[3])[0], "--out", tmp_path / "b"],
                              tmp_path)
    assert code == 0, err
    a, b = _metrics(tmp_path / "a/metrics.json"), _metrics(tmp_path / "b/metrics.json")
    assert a["sequence"] == "test_3" and b["sequence"] == "sequence"
    assert a["surrogate_pearson_r"] == b["surrogate_pearson_r"]
    code, _, err, added = run_cli(common + ["--data", tmp_path / "d.h5", "--split", "valid", "--record", "9",
                                            "--out", tmp_path / "c"], tmp_path)
    assert code == 2 and "d.h5 (valid): no record '9' (has 4 records)" in err and not added


def _main() -> int:
    """Run the tour in a fresh folder and print the time of every step."""
    commands = tour_commands()
    with tempfile.TemporaryDirectory() as tmp:
        load = os.getloadavg()
        code, output, rows = run_tour(Path(tmp), commands, timeout=3600)
        if not code:
            code, py_output, py_rows = run_python(Path(tmp), tour_blocks("python"), timeout=3600)
            rows, output = rows + py_rows, output + py_output
    width = 70
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; after: "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}; CPUs: {os.cpu_count()}")
    print(f"| {'step':<{width}} | wall s | CPU s |")
    print(f"|{'-' * (width + 2)}|-------:|------:|")
    for row in rows:
        short = row["command"] if len(row["command"]) <= width else row["command"][: width - 3] + "..."
        print(f"| {short:<{width}} | {row['wall_s']:6.1f} | {row['cpu_s']:5.1f} |")
    print(f"| {'total':<{width}} | {sum(r['wall_s'] for r in rows):6.1f} | "
          f"{sum(r['cpu_s'] for r in rows):5.1f} |")
    if code:
        print(output[-4000:])
    return code


if __name__ == "__main__":
    sys.exit(_main())
