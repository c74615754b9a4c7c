"""Reliability of ``seqlens msa ...``: bad inputs and options fail in one line (exit 2) before
anything is written, silent wrong results are errors or counted warnings, resources are checked
from the file's dimensions, and tampered model folders are refused."""

import io
import json
import pickle
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqlens.cli import main

LETTERS = "ACDEFGHIKLMNPQRSTVWY"
L = 12


def _write_fasta(path: Path, rows, names=None) -> Path:
    names = names or [f"s{i}" for i in range(len(rows))]
    path.write_text("".join(f">{n}\n{r}\n" for n, r in zip(names, rows)))
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Inputs and two fitted models (PSSM, Potts) shared by the tests of this module."""
    d = tmp_path_factory.mktemp("msa_cli")
    rng = np.random.default_rng(0)
    rows = ["".join(rng.choice(list(LETTERS), L)) for _ in range(24)]
    focus = rows[0]
    _write_fasta(d / "ok.fasta", rows)
    _write_fasta(d / "allgap.fasta", ["-" * L] * 5)
    _write_fasta(d / "one.fasta", rows[:1])
    _write_fasta(d / "identical.fasta", [focus] * 5)
    _write_fasta(d / "wide.fasta", [r + "ACDEF" for r in rows[:4]])
    (d / "existing_file").write_text("x")
    (d / "a_folder").mkdir()
    (d / "a_folder" / "other.txt").write_text("not seqlens")
    for name, model, extra in (("pssm", "pssm", []), ("gaussian", "gaussian", []),
                               ("potts", "potts", ["--max-iter", "3", "--threads", "1"])):
        assert main(["msa", "fit", "--msa", str(d / "ok.fasta"), "--model", model, "--out",
                     str(d / name), "--quiet", *extra]) == 0
    good = [f"{focus[i]}{i + 1}{'A' if focus[i] != 'A' else 'C'}" for i in range(L)]
    dms = pd.DataFrame({"mutant": good, "score": np.linspace(0, 1, L)})
    dms.to_csv(d / "dms_ok.csv", index=False)
    shifted = [f"{LETTERS[(LETTERS.index(focus[i]) + 1) % 20]}{i + 1}{focus[i]}" for i in range(L)]
    pd.DataFrame({"mutant": shifted, "score": np.linspace(0, 1, L)}).to_csv(
        d / "dms_wrongwt.csv", index=False)
    pd.DataFrame({"mutant": [f"A{500 + i}G" for i in range(6)], "score": np.arange(6.0)}).to_csv(
        d / "dms_outside.csv", index=False)
    pd.DataFrame({"mutant": good, "score": 1.0}).to_csv(d / "dms_const.csv", index=False)
    # 2 of 12 rows with a wrong wild-type letter (outvoted by the right one at their residue)
    minority = good + shifted[:2]
    pd.DataFrame({"mutant": minority, "score": np.linspace(0, 1, L + 2)}).to_csv(
        d / "dms_minority.csv", index=False)
    (d / "dist_far.csv").write_text("i,j,dist\n200,230,4.0\n201,240,5.0\n")
    (d / "dist_short.csv").write_text(
        "i,j,dist\n" + "".join(f"{i},{j},{abs(i - j)}.5\n" for i in range(1, L + 1)
                               for j in range(i + 6, min(i + 9, L + 1))))
    (d / "noca.pdb").write_text(
        "".join(f"ATOM  {k + 1:5d}  N   ALA A{k + 1:4d}    {k * 3.8:8.3f}   0.000   0.000  1.00  "
                "0.00           N\n" for k in range(L)) + "END\n")
    d.joinpath("o").mkdir()
    return {"dir": d, "rows": rows, "focus": focus}


def _run(argv, capsys):
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exc:  # usage errors: argparse exits with 2
        rc = exc.code
    captured = capsys.readouterr()
    return rc, captured.err


def _assert_refused(argv, capsys, pattern, folder):
    before = sorted(p.name for p in folder.iterdir())
    rc, err = _run(argv, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2, err
    assert "Traceback" not in err and "internal error" not in err
    assert len([line for line in lines if "error" in line]) == 1, err
    assert any(re.search(pattern, line) for line in lines), err
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written, no .partial


# ---------------------------------------------------------------------------- the table
def _cases():
    fit = ["msa", "fit", "--msa", "{d}/ok.fasta", "--out", "{o}/x", "--quiet"]
    con = ["msa", "contacts", "--msa", "{d}/ok.fasta", "--out", "{o}/x", "--quiet"]
    nofile = ["msa", "contacts", "--msa", "{d}/does_not_exist.fasta", "--out", "{o}/x"]
    samp = ["msa", "sample", "--model", "{d}/potts", "--out", "{o}/s.fasta"]
    score = ["msa", "score", "--model", "{d}/pssm", "--out", "{o}/x"]
    mut = ["msa", "mutations", "--model", "{d}/pssm", "--out", "{o}/x"]
    return [
        # --lambda-j: checked at parse time, before the (missing) alignment is looked at
        ("lambda power", nofile + ["--lambda-j", "9**9**9**9"], r"--lambda-j: expected a number"),
        ("lambda div0", nofile + ["--lambda-j", "1/0"], r"--lambda-j: division by zero"),
        ("lambda syntax", nofile + ["--lambda-j", "(("], r"--lambda-j: unexpected end"),
        ("lambda negative", nofile + ["--lambda-j", "-5"], r"--lambda-j: value -5 is outside"),
        ("lambda name", nofile + ["--lambda-j", "N*2"], r"unknown name 'N'"),
        ("lambda negative for this L", con + ["--model", "potts", "--lambda-j", "L-100"],
         r"--lambda-j L-100: .*value -88 .* 12 columns"),
        ("lambda for mi", con + ["--model", "mi", "--lambda-j", "1"], r"not used by --model mi"),
        ("lambda for pssm", fit + ["--model", "pssm", "--lambda-j", "1"], r"--lambda-j: not used"),
        # ranges at parse time
        ("identity 5", nofile + ["--identity", "5"], r"--identity: expected a number in \[0, 1\]"),
        ("identity -0.1", fit + ["--model", "pssm", "--identity", "-0.1"], r"--identity"),
        ("contacts max-iter 0", nofile + ["--max-iter", "0"], r"--max-iter: expected an integer >= 1"),
        ("threshold -1", nofile + ["--threshold", "-1"], r"--threshold: expected a number > 0"),
        ("format bogus", nofile + ["--format", "bogus"], r"--format: invalid choice"),
        ("preset bogus", nofile + ["--preset", "bogus"], r"--preset: invalid choice"),
        ("device bogus", nofile + ["--device", "bogus"], r"--device: expected cpu, cuda"),
        ("fit max-iter -1", fit + ["--model", "potts", "--max-iter", "-1"], r"--max-iter"),
        ("fit heads 0", fit + ["--model", "attention", "--heads", "0"], r"--heads"),
        ("fit head-size 0", fit + ["--model", "attention", "--head-size", "0"], r"--head-size"),
        ("fit threads 0", fit + ["--model", "potts", "--threads", "0"], r"--threads"),
        ("fit max-seconds 0", fit + ["--model", "vae", "--max-seconds", "0"], r"--max-seconds"),
        ("fit seed -1", fit + ["--model", "pssm", "--seed", "-1"], r"--seed"),
        ("fit memory limit 0", fit + ["--model", "potts", "--max-memory-gb", "0"],
         r"--max-memory-gb"),
        ("sample n 0", samp + ["--n", "0"], r"--n: expected an integer >= 1"),
        ("sample n -5", samp + ["--n", "-5"], r"--n: expected an integer >= 1"),
        ("sample temperature 0", samp + ["--temperature", "0"], r"--temperature: expected a number > 0"),
        ("sample temperature -1", samp + ["--temperature", "-1"], r"--temperature"),
        ("sample burn-in -1", samp + ["--burn-in", "-1"], r"--burn-in: expected an integer >= 0"),
        ("sample thin 0", samp + ["--thin", "0"], r"--thin: expected an integer >= 1"),
        ("sample fix x", samp + ["--n", "3", "--fix", "2,x"], r"--fix: 'x' is not a residue number"),
        ("sample fix 999", samp + ["--n", "3", "--fix", "999"], r"--fix: residue 999 is not a model"),
        ("sample pssm temperature", ["msa", "sample", "--model", "{d}/pssm", "--temperature", "0.5",
                                     "--out", "{o}/s.fasta"], r"--temperature: not used by the PSSM"),
        ("sample gaussian", ["msa", "sample", "--model", "{d}/gaussian", "--out", "{o}/s.fasta"],
         r"--model .*gaussian: a Gaussian model cannot sample"),
        ("sample msa width", samp + ["--n", "3", "--msa", "{d}/wide.fasta"],
         r"17 columns, the model has 12"),
        ("mutations n-samples 0", mut + ["--dms", "{d}/dms_ok.csv", "--n-samples", "0"],
         r"--n-samples: expected an integer >= 1"),
        ("mutations n-samples pssm", mut + ["--dms", "{d}/dms_ok.csv", "--n-samples", "2"],
         r"--n-samples: not used by a PSSM"),
        ("mutations wildtype", mut + ["--dms", "{d}/dms_ok.csv", "--wildtype", "XX12"],
         r"--wildtype: 'XX12' is neither a file nor"),
        # paths
        ("fit out is a file", ["msa", "fit", "--msa", "{d}/ok.fasta", "--model", "pssm", "--out",
                               "{d}/existing_file"], r"an existing file; this command writes a folder"),
        ("contacts out under a file", con + ["--model", "mi", "--out", "{d}/existing_file/x"],
         r"existing_file is a file, not a folder"),
        ("contacts out foreign folder", con + ["--model", "mi", "--out", "{d}/a_folder"],
         r"not a complete seqlens output"),
        ("sample out is a folder", ["msa", "sample", "--model", "{d}/potts", "--out", "{d}/a_folder"],
         r"an existing folder; this command writes a file"),
        ("score out is a file", score + ["--sequences", "{d}/ok.fasta", "--out", "{d}/existing_file"],
         r"an existing file"),
        ("msa missing", ["msa", "fit", "--msa", "{d}/nope.fasta", "--model", "pssm", "--out",
                         "{o}/x"], r"--msa .*nope.fasta: no such file"),
        ("msa is a folder", ["msa", "fit", "--msa", "{d}/a_folder", "--model", "pssm", "--out",
                             "{o}/x"], r"a folder, not a file"),
        ("model missing", score + ["--sequences", "{d}/ok.fasta", "--model", "{d}/nope"],
         r"no such model folder"),
        ("model is an alignment", score + ["--sequences", "{d}/ok.fasta", "--model", "{d}/ok.fasta"],
         r"not a folder"),
        # degenerate alignments
        ("contacts all gaps", con + ["--msa", "{d}/allgap.fasta", "--model", "mi"], r"only gaps"),
        ("fit all gaps", fit + ["--msa", "{d}/allgap.fasta", "--model", "gaussian"], r"only gaps"),
        ("contacts one sequence", con + ["--msa", "{d}/one.fasta", "--model", "gaussian"],
         r"1 usable sequence; contact prediction needs at least 2"),
        ("fit one sequence", fit + ["--msa", "{d}/one.fasta", "--model", "potts"],
         r"1 usable sequence; a potts fit needs at least 2"),
        ("contacts identical", con + ["--msa", "{d}/identical.fasta", "--model", "mi"],
         r"all 5 sequences are identical"),
        # silent wrong results that are errors now
        ("score wider than the model", score + ["--sequences", "{d}/wide.fasta"],
         r"wide.fasta: record 's0' has 17 columns; the model takes rows of its 12 columns or "
         r"of the 12 columns"),
        ("mutations all wrong wild type", mut + ["--dms", "{d}/dms_wrongwt.csv"],
         r"dms_wrongwt.csv: 0 of 12 mutants could be scored .*12 wrong wild-type letter"),
        ("mutations all outside", mut + ["--dms", "{d}/dms_outside.csv"],
         r"dms_outside.csv: 0 of 6 mutants .* 6 outside the model columns"),
        ("mutations constant phenotype", mut + ["--dms", "{d}/dms_const.csv"],
         r"Spearman correlation is undefined"),
        ("contacts truth without overlap", con + ["--model", "mi", "--distances", "{d}/dist_far.csv"],
         r"dist_far.csv: no predicted pair .* residues 200..240; the model columns are residues 1..12"),
        ("contacts pdb without CA/CB", con + ["--model", "mi", "--focus", "first", "--pdb",
                                             "{d}/noca.pdb"], r"noca.pdb: .*CA"),
        ("contacts pdb needs a focus", con + ["--model", "mi", "--focus", "none", "--pdb",
                                             "{d}/noca.pdb"], r"--pdb with --map align needs a focus"),
    ]


@pytest.mark.parametrize("label,argv,pattern", _cases(), ids=[c[0] for c in _cases()])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(data, capsys, label, argv, pattern):
    d = data["dir"]
    argv = [a.format(d=d, o=d / "o") for a in argv]
    _assert_refused(argv, capsys, pattern, d / "o")
    assert sorted(p.name for p in d.iterdir() if p.name.endswith(".partial")) == []


# ---------------------------------------------------------------------------- resources
def test_potts_memory_refused_from_dimensions_before_reading(data, tmp_path, capsys, monkeypatch):
    from seqlens.msa import Alignment
    from seqlens.msa.alignment import alignment_dimensions

    aln = _write_fasta(tmp_path / "big.fasta", data["rows"][:3])
    with aln.open("a") as fh:  # a broken record far down: a full read would fail on it
        fh.write(">broken\nAC\n")
    assert alignment_dimensions(aln, focus=True) == (4, L)

    def no_read(*args, **kwargs):
        raise AssertionError("the alignment was read before the memory check")

    monkeypatch.setattr(Alignment, "read", classmethod(no_read))
    for command in ("fit", "contacts"):
        argv = ["msa", command, "--msa", aln, "--model", "potts", "--max-memory-gb", "1e-6",
                "--out", tmp_path / command, "--quiet"]
        rc, err = _run(argv, capsys)
        assert rc == 2 and len(err.strip().splitlines()) == 1, err
        assert f"big.fasta: 4 sequences x {L} columns: Potts fit needs about" in err
        assert "GB" in err and "limit is 1e-06 GB" in err
        assert not (tmp_path / command).exists()


def test_memory_estimate_of_a_large_alignment_is_refused_without_a_large_file(monkeypatch):
    """L=2000, N=50,000 (the issue's case) is refused from its dimensions with 25.6 GB
    available."""
    from seqlens.errors import FitMemoryError
    from seqlens.msa import Potts, potts

    monkeypatch.setattr(potts, "available_memory", lambda: (25.6e9, "available memory"))
    model = Potts(device="cpu", n_threads=1)
    with pytest.raises(FitMemoryError, match=r"needs about 4\d\.\d GB .*L=2000 .*limit is 25.6 GB "
                                             r"\(available memory\)"):
        model.check_memory(50_000, 2000)
    assert model.check_memory(50_000, 100) < 5e9  # a normal family passes
    assert issubclass(FitMemoryError, MemoryError)


def test_alignment_dimensions_match_a_full_read(data_dir):
    from seqlens.msa import Alignment
    from seqlens.msa.alignment import alignment_dimensions

    for focus in (None, "DYR_ECOLI"):
        msa = Alignment.read(data_dir / "DHFR.a2m", focus=focus)
        assert alignment_dimensions(data_dir / "DHFR.a2m", focus=focus) == (msa.n_records,
                                                                            msa.length)


# ---------------------------------------------------------------------------- silent wrong results
def test_mutations_minority_of_wrong_wildtype_rows_is_one_warning_with_counts(data, capsys):
    d = data["dir"]
    out = d / "o" / "mut_minority"
    rc, err = _run(["msa", "mutations", "--model", d / "pssm", "--dms", d / "dms_minority.csv",
                    "--out", out], capsys)
    assert rc == 0, err
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert "scored 12 of 14 mutants; skipped 2 wrong wild-type letter" in warnings[0]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_scored"] == 12 and metrics["n_skipped_wrong_wildtype"] == 2
    assert metrics["numbering"] == "header" and -1 <= metrics["spearman"] <= 1
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "metrics.json",
                                                    "predictions.csv", "scatter.png"]


def test_score_takes_model_columns_or_the_training_width(tmp_path, capsys):
    """A focus with gaps keeps fewer columns than the file has: rows of either width score the
    same; other widths are refused (they used to be cut silently)."""
    rng = np.random.default_rng(1)
    rows = ["".join(rng.choice(list(LETTERS), 10)) for _ in range(12)]
    rows[0] = rows[0][:3] + "--" + rows[0][5:]  # focus: 8 residues in 10 columns
    _write_fasta(tmp_path / "train.fasta", rows)
    assert main(["msa", "fit", "--msa", str(tmp_path / "train.fasta"), "--model", "pssm",
                 "--out", str(tmp_path / "m"), "--quiet"]) == 0
    cut = [r[:3] + r[5:] for r in rows]
    _write_fasta(tmp_path / "cut.fasta", cut)
    for name in ("train", "cut"):
        rc, err = _run(["msa", "score", "--model", tmp_path / "m", "--sequences",
                        tmp_path / f"{name}.fasta", "--out", tmp_path / f"s_{name}"], capsys)
        assert rc == 0, err
    a = pd.read_csv(tmp_path / "s_train" / "scores.csv")
    b = pd.read_csv(tmp_path / "s_cut" / "scores.csv")
    np.testing.assert_allclose(a["score"], b["score"])
    _write_fasta(tmp_path / "nine.fasta", [r[:9] for r in rows])
    rc, err = _run(["msa", "score", "--model", tmp_path / "m", "--sequences",
                    tmp_path / "nine.fasta", "--out", tmp_path / "s_nine"], capsys)
    assert rc == 2 and "has 9 columns; the model takes rows of its 8 columns or of the 10" in err
    assert not (tmp_path / "s_nine").exists()


def test_contacts_metrics_are_strict_json_with_null_for_unscored_separations(data, capsys):
    d = data["dir"]
    out = d / "o" / "con_short"
    rc, err = _run(["msa", "contacts", "--msa", d / "ok.fasta", "--model", "mi", "--distances",
                    d / "dist_short.csv", "--out", out, "--quiet"], capsys)
    assert rc == 0, err
    assert "no scored pair for precision_at_L2_sep12" in err  # separations 6..8 only
    metrics = json.loads((out / "metrics.json").read_text(),
                         parse_constant=lambda c: pytest.fail(f"{c} in metrics.json"))
    assert metrics["precision_at_L_sep24"] is None and metrics["precision_at_L_sep12"] is None
    assert 0 <= metrics["precision_at_L"] <= 1 and metrics["contact_threshold"] == 8.0
    assert (out / "manifest.json").exists() and not Path(f"{out}.partial").exists()


def test_sample_writes_fasta_and_metrics_beside_it(data, tmp_path, capsys):
    d = data["dir"]
    fa = tmp_path / "runs" / "s.fasta"
    rc, err = _run(["msa", "sample", "--model", d / "potts", "--n", "6", "--burn-in", "2",
                    "--thin", "1", "--fix", "3", "--msa", d / "ok.fasta", "--out", fa], capsys)
    assert rc == 0, err
    assert sorted(p.name for p in fa.parent.iterdir()) == ["s.fasta", "s.fasta.metrics.json"]
    seqs = fa.read_text().split()[1::2]
    assert len(seqs) == 6 and all(s[2] == data["focus"][2] for s in seqs)
    metrics = json.loads((tmp_path / "runs" / "s.fasta.metrics.json").read_text())
    assert metrics["n_samples"] == 6 and metrics["model"] == "Potts"


def test_fit_resume_redoes_the_fit_and_publishes(data, tmp_path, capsys):
    d = data["dir"]
    out = tmp_path / "m"
    partial = tmp_path / "m.partial"
    partial.mkdir()
    (partial / "weights.pt").write_bytes(b"left by a killed run")
    rc, err = _run(["msa", "fit", "--msa", d / "ok.fasta", "--model", "pssm", "--out", out,
                    "--quiet", "--resume"], capsys)
    assert rc == 0, err
    assert not partial.exists()
    from seqlens.msa.persist import load_msa_model

    assert load_msa_model(out).log_probs_.shape == (L, 21)


# ---------------------------------------------------------------------------- checkpoints
def _clone(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def _rehash(folder: Path) -> None:
    """Recompute the checkpoint hash and manifest after an edit (a deliberate tamper)."""
    from seqlens.io.atomic import write_manifest
    from seqlens.io.checkpoint import _digest

    config = json.loads((folder / "config.json").read_text())
    config.pop("sha256")
    config["sha256"] = _digest(config, (folder / "weights.pt").read_bytes())
    (folder / "config.json").write_text(json.dumps(config))
    write_manifest(folder)


class _Evil:
    marker = None

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def _evil_zip(marker: Path) -> bytes:
    import torch

    evil = _Evil()
    evil.marker = str(marker)
    buffer = io.BytesIO()
    torch.save({"x": torch.zeros(1)}, buffer)
    buffer.seek(0)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            payload = zin.read(item.filename)
            if item.filename.endswith("data.pkl"):
                payload = pickle.dumps(evil, protocol=2)
            zout.writestr(item, payload)
    return out.getvalue()


def _flip(folder: Path) -> None:
    b = bytearray((folder / "weights.pt").read_bytes())
    for k in range(len(b) // 2, len(b) // 2 + 16):
        b[k] ^= 0xFF
    (folder / "weights.pt").write_bytes(bytes(b))


def _edit(key, value):
    def edit(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        part = config
        for k in key[:-1]:
            part = part[k]
        part[key[-1]] = value
        (folder / "config.json").write_text(json.dumps(config))
    return edit


TAMPERS = [
    ("flipped weights", "potts", _flip, False, r"SHA-256 .* does not match"),
    ("truncated weights", "pssm", lambda f: (f / "weights.pt").write_bytes(
        (f / "weights.pt").read_bytes()[:100]), False, r"SHA-256"),
    ("empty weights", "pssm", lambda f: (f / "weights.pt").write_bytes(b""), False, r"SHA-256"),
    ("edited state", "potts", _edit(("state", "Q_"), 3), False, r"SHA-256"),
    ("edited columns", "pssm", _edit(("columns", "residue"), [1, 2]), False, r"SHA-256"),
    ("bad json", "pssm", lambda f: (f / "config.json").write_text("{]"), False,
     r"corrupt checkpoint config"),
    ("no manifest", "pssm", lambda f: (f / "manifest.json").unlink(), False, r"no manifest.json"),
    ("unknown params, rehashed", "pssm", _edit(("params", "evil"), 1), True,
     r"unknown PSSM keys \['evil'\]"),
    ("unknown state, rehashed", "pssm", _edit(("state", "score"), "x"), True, r"unknown PSSM keys"),
    ("short columns, rehashed", "pssm", _edit(("columns", "residue"), [1, 2]), True,
     r"cannot rebuild PSSM"),
    ("alphabet, rehashed", "potts", _edit(("alphabet", "letters"), "ACGT-"), True,
     r"inconsistent Potts checkpoint: fields \(12, 20\)"),
    ("no columns, rehashed", "potts", _edit(("columns",), {}), True,
     r"inconsistent Potts checkpoint: the column table"),
    ("class, rehashed", "pssm", _edit(("class",), "Foo"), True, r"unknown model class 'Foo'"),
    ("lambda formula, rehashed", "potts", _edit(("params", "lambda_J"), "9**9"), True,
     r"cannot rebuild Potts \(lambda_J"),
]


@pytest.mark.parametrize("label,base,tamper,rehash,pattern", TAMPERS, ids=[t[0] for t in TAMPERS])
def test_tampered_checkpoints_are_refused(data, tmp_path, capsys, label, base, tamper, rehash,
                                          pattern):
    folder = _clone(data["dir"] / base, tmp_path / "m")
    tamper(folder)
    if rehash:
        _rehash(folder)
    for argv in (["msa", "score", "--model", folder, "--sequences", data["dir"] / "ok.fasta",
                  "--out", tmp_path / "o" / "scores"],
                 ["msa", "sample", "--model", folder, "--n", "3", "--out", tmp_path / "o" / "s.fa"]):
        (tmp_path / "o").mkdir(exist_ok=True)
        _assert_refused(argv, capsys, pattern, tmp_path / "o")


@pytest.mark.parametrize("rehash", [False, True])
def test_pickle_payload_never_runs(data, tmp_path, capsys, rehash):
    marker = tmp_path / "PWNED"
    folder = _clone(data["dir"] / "potts", tmp_path / "m")
    (folder / "weights.pt").write_bytes(_evil_zip(marker))
    if rehash:
        _rehash(folder)
    (tmp_path / "o").mkdir()
    _assert_refused(["msa", "score", "--model", folder, "--sequences", data["dir"] / "ok.fasta",
                     "--out", tmp_path / "o" / "x"], capsys,
                    r"cannot read weights safely" if rehash else r"SHA-256", tmp_path / "o")
    assert not marker.exists()


def test_memory_estimate_by_hand():
    """N=4 rows, L=3 columns, Q=2 states, one thread, m=5: 13 float32 vectors of 3 x 2 + 3 x 4
    = 18 parameters, one task of S=1 site (L // 2) with tables 2 (3 x 3 + 512) x 1 x 2 x 4
    bytes, and 4 x 3 x 48 bytes of rows."""
    from seqlens.msa import Potts

    assert Potts.memory_estimate(4, 3, 2, backend="numba", n_threads=1) == (
        13 * 18 * 4 + 2 * (3 * 3 + 512) * 1 * 2 * 4 + 4 * 3 * 48) == 9848


def test_fit_states_the_estimate_and_refuses_beyond_the_available_memory(data, tmp_path, capsys,
                                                                         monkeypatch):
    from seqlens.msa import Potts, potts

    aln = data["dir"] / "ok.fasta"
    need = Potts(n_threads=1).check_memory(24, L)
    monkeypatch.setattr(potts, "available_memory", lambda: (need - 1, "available memory"))
    argv = ["msa", "fit", "--msa", aln, "--model", "potts", "--threads", "1", "--out",
            tmp_path / "m"]
    rc, err = _run(argv, capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert (f"ok.fasta: 24 sequences x {L} columns: Potts fit needs about {need / 1e9:.3g} GB "
            f"(L={L} columns") in err
    assert f"limit is {(need - 1) / 1e9:.3g} GB (available memory)" in err
    assert not (tmp_path / "m").exists()

    monkeypatch.setattr(potts, "available_memory", lambda: (need + 1, "available memory"))
    rc, err = _run(argv + ["--max-iter", "2"], capsys)
    assert rc == 0, err
    assert (f"seqlens msa fit: memory estimate {need / 1e6:.0f} MB for the fit of L={L} columns, "
            f"24 sequences") in err
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert metrics["memory_estimate_mb"] == round(need / 1e6, 1) and metrics["peak_memory_mb"] > 0
