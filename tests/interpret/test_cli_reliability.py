"""``seqlens gia``, ``surrogate`` and ``filters``: bad inputs and options are one-line errors (exit 2,
no traceback, no files), outputs are published with a manifest, ``surrogate --resume`` reuses the
network's outputs, and the long gradient-free loops stop promptly on Ctrl-C."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from seqlens.cli import main
from seqlens.io.hdf5 import Dataset, Split, save_dataset
from seqlens.models import build_model, save_model

L = 100
MEME = "MEME version 4\n\nALPHABET= {letters}\n\nstrands: + -\n\n"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("interp")
    rng = np.random.default_rng(0)

    def split(n):
        X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, L))].transpose(0, 2, 1)
        return Split(X, rng.integers(0, 2, (n, 1)).astype(np.float32))

    save_dataset(tmp / "d.h5", Dataset(split(8), split(8), split(24)))
    five = Split(np.eye(5, dtype=np.float32)[rng.integers(0, 5, (4, L))].transpose(0, 2, 1), np.zeros((4, 1)))
    save_dataset(tmp / "five.h5", Dataset(five, five, five))
    save_model(build_model("cnn_p4", seq_length=L, random_state=0), tmp / "run")
    seq = "".join(rng.choice(list("ACGT"), L))
    (tmp / "s.fa").write_text(f">other\n{'A' * L}\n>wt\n{seq}\n")
    (tmp / "long.fa").write_text(">big\n" + "ACGT" * 2500 + "\n")
    dna = MEME.format(letters="ACGT") + "".join(
        f"MOTIF {name}\nletter-probability matrix: alength= 4 w= 4 nsites= 20 E= 0\n" +
        "".join(" ".join("0.7" if j == (i + k) % 4 else "0.1" for j in range(4)) + "\n" for i in range(4))
        + "\n" for k, name in enumerate(["m1", "m2"]))
    (tmp / "ok.meme").write_text(dna)
    (tmp / "protein.meme").write_text(
        MEME.format(letters="ACDEFGHIKLMNPQRSTVWY")
        + "MOTIF p1\nletter-probability matrix: alength= 20 w= 3 nsites= 20 E= 0\n"
        + "".join(" ".join(["0.05"] * 20) + "\n" for _ in range(3)))
    (tmp / "a_file").write_text("x")
    (tmp / "folder").mkdir()
    (tmp / "other_stuff").mkdir()
    (tmp / "other_stuff" / "notes.txt").write_text("mine")
    return tmp


NAMES = {"FIVE": "five.h5", "FOLDER": "folder", "MISSING": "missing.h5", "A_FILE": "a_file",
         "OTHER": "other_stuff", "LONG": "long.fa", "PROTEIN": "protein.meme", "MISSING_MEME": "missing.meme"}


def argv_of(command: str, env: Path, opts: dict) -> list:
    argv = [command]
    for k, v in opts.items():
        if v is False:
            continue
        argv.append(k)
        for x in (v if isinstance(v, list) else [] if v is None else [v]):
            argv.append(env / NAMES[x] if x in NAMES else x)
    return argv


def check_one_line_error(env, run_cli, argv, expected):
    rc, out, err, added = run_cli(argv, env)
    assert rc == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert expected in err, err
    assert not added  # nothing written, no .partial left


GIA_BAD = [
    ({"--n-null": "0"}, "--n-null"),
    ({"--n-null": "-5"}, "--n-null"),
    ({"--batch-size": "0"}, "--batch-size"),
    ({"--seed": "-1"}, "--seed"),
    ({"--experiment": "kmer-screen", "--pattern": [], "--k": "9"}, "--k 9: at most 8"),
    ({"--experiment": "kmer-screen", "--pattern": [], "--k": "0"}, "--k"),
    ({"--pattern": "GAXA"}, "--pattern: pattern 'GAXA': invalid character 'X'"),
    ({"--pattern": "A" * 120}, "longer than the sequences"),
    ({"--experiment": "spacing"}, "needs 2 --pattern"),
    ({"--experiment": "spacing", "--pattern": ["GATA", "CACGTG"], "--distances": "50:10"},
     "--distances 50:10 is empty"),
    ({"--experiment": "spacing", "--pattern": ["GATA", "CACGTG"], "--distances": "a:b"}, "START:STOP"),
    ({"--experiment": "spacing", "--pattern": ["GATA", "CACGTG"], "--distances=-1:5": None}, "START must"),
    ({"--experiment": "spacing", "--pattern": ["GATA", "CACGTG"], "--distances": "0:5:0"}, "STEP > 0"),
    ({"--experiment": "spacing", "--pattern": ["GATA", "CACGTG"], "--distances": "0:200"}, "exceed length"),
    ({"--experiment": "mutagenesis", "--pattern": "CANNTG"}, "mutagenesis needs a k-mer"),
    ({"--experiment": "copies", "--max-copies": "50"}, "max_copies=50 copies"),
    ({"--experiment": "copies", "--max-copies": "0"}, "--max-copies"),
    ({"--experiment": "gc", "--flank": "60"}, "flank=60 does not fit"),
    ({"--experiment": "gc", "--flank": "0"}, "--flank"),
    ({"--experiment": "hairpin", "--stem": "0"}, "--stem"),
    ({"--experiment": "hairpin", "--stem": "60"}, "does not fit"),
    ({"--experiment": "bogus"}, "--experiment"),
    ({"--position": "98"}, "--position 98"),
    ({"--position": "-1"}, "--position"),
    ({"--target": "3"}, "--target 3 out of range"),
    ({"--null": "bogus"}, "--null"),
    ({"--device": "foo"}, "--device"),
    ({"--data": "FOLDER"}, "a folder"),
    ({"--data": "MISSING"}, "no such file"),
    ({"--data": "FIVE"}, "5 letters per position"),
    ({"--model": "MISSING"}, "missing.h5"),
    ({"--out": "A_FILE"}, "an existing file"),
    ({"--out": "OTHER"}, "not a complete seqlens output"),
]


@pytest.mark.parametrize("over, expected", GIA_BAD, ids=[str(c[0])[:60] for c in GIA_BAD])
def test_gia_bad_inputs_are_one_line_errors(env, run_cli, over, expected):
    opts = {"--model": env / "run", "--data": env / "d.h5", "--experiment": "importance",
            "--pattern": "GATA", "--n-null": "16", "--out": env / "o_gia", "--device": "cpu",
            "--quiet": None, **over}
    check_one_line_error(env, run_cli, argv_of("gia", env, opts), expected)


SURROGATE_BAD = [
    ({"--n": "-5"}, "--n"),
    ({"--n": "0"}, "--n"),
    ({"--n": "5"}, "--n 5: the fit needs at least 10"),
    ({"--window": "120:80"}, "--window 120:80"),
    ({"--window": "0:500"}, "outside the sequence of length 100"),
    ({"--window": "abc"}, "--window abc"),
    ({"--window": "10:10"}, "--window 10:10"),
    ({"--rate": "-0.1"}, "--rate"),
    ({"--rate": "0"}, "--rate 0: every variant would be the wild type"),
    ({"--n-mutations": "0"}, "--n-mutations 0: every variant"),
    ({"--n-mutations": "50"}, "--n-mutations 50: the window has only 20"),
    ({"--test-fraction": "1"}, "--test-fraction 1.0: must be below 1"),
    ({"--test-fraction": "1.5"}, "--test-fraction"),
    ({"--l2": "-1"}, "--l2"),
    ({"--target": "5"}, "--target 5 out of range"),
    ({"--batch-size": "0"}, "--batch-size"),
    ({"--seed": "-1"}, "--seed"),
    ({"--kind": "bogus"}, "--kind"),
    ({"--device": "cuda:7"}, "no such CUDA device"),
    ({"--fasta": False, "--sequence": "ACGZ" * 25}, "invalid character 'Z'"),
    ({"--fasta": False, "--sequence": "ACGT" * 25 + "N"}, "length 101, but the model"),
    ({"--fasta": False, "--sequence": " "}, "--sequence is empty"),
    ({"--fasta": "LONG", "--record": "0"}, "record 'big': sequences have length 10,000, but the model"),
    ({"--record": "nope"}, "no record 'nope'"),
    ({"--fasta": "FOLDER"}, "a folder"),
    ({"--fasta": "MISSING"}, "no such file"),
    ({"--out": "A_FILE"}, "an existing file"),
]


@pytest.mark.parametrize("over, expected", SURROGATE_BAD, ids=[str(c[0])[:60] for c in SURROGATE_BAD])
def test_surrogate_bad_inputs_are_one_line_errors(env, run_cli, over, expected):
    opts = {"--model": env / "run", "--fasta": env / "s.fa", "--record": "wt", "--window": "10:30",
            "--n": "200", "--out": env / "o_sur", "--device": "cpu", "--quiet": None,
            "--no-plots": None, **over}
    check_one_line_error(env, run_cli, argv_of("surrogate", env, opts), expected)


def test_surrogate_refuses_a_library_larger_than_memory(env, run_cli, monkeypatch):
    import seqlens.cli.surrogate as cli_surrogate

    monkeypatch.setattr(cli_surrogate, "_memory_limit", lambda: 1 << 20)
    argv = ["surrogate", "--model", env / "run", "--fasta", env / "s.fa", "--n", "100000",
            "--out", env / "o_sur", "--quiet"]
    check_one_line_error(env, run_cli, argv, "--n 100000 variants of a 100-letter sequence")


FILTERS_BAD = [
    ({"--jaspar": "PROTEIN"}, "motif 'p1' has alphabet PROTEIN"),
    ({"--jaspar": "FOLDER"}, "a folder"),
    ({"--jaspar": "1999"}, "unknown JASPAR release"),
    ({"--jaspar": "MISSING_MEME"}, "no such motif file"),
    ({"--threshold": "1.5"}, "--threshold"),
    ({"--threshold": "-0.1"}, "--threshold"),
    ({"--cutoff": "0"}, "--cutoff"),
    ({"--max-seqs": "0"}, "--max-seqs"),
    ({"--batch-size": "0"}, "--batch-size"),
    ({"--ncols": "0"}, "--ncols"),
    ({"--metric": "bogus"}, "--metric"),
    ({"--device": "foo"}, "--device"),
    ({"--layer": "nope"}, "--layer nope: no module named 'nope'"),
    ({"--model": "MISSING"}, "no such model folder"),
    ({"--data": "FIVE"}, "5 letters per position"),
    ({"--data": "FOLDER"}, "a folder"),
    ({"--data": "MISSING"}, "no such file"),
    ({"--truth": "MISSING"}, "--truth"),
    ({"--out": "A_FILE"}, "an existing file"),
]


@pytest.mark.parametrize("over, expected", FILTERS_BAD, ids=[str(c[0])[:60] for c in FILTERS_BAD])
def test_filters_bad_inputs_are_one_line_errors(env, run_cli, over, expected):
    opts = {"--model": env / "run", "--data": env / "d.h5", "--jaspar": env / "ok.meme",
            "--max-seqs": "8", "--out": env / "o_filt", "--device": "cpu", "--quiet": None, **over}
    check_one_line_error(env, run_cli, argv_of("filters", env, opts), expected)


def test_outputs_are_published_with_a_manifest(env, tmp_path):
    from seqlens.io.atomic import check_output_folder

    runs = {
        "gia": ["gia", "--model", env / "run", "--data", env / "d.h5", "--experiment", "importance",
                "--pattern", "GATA", "--n-null", "8", "--device", "cpu", "--quiet"],
        "filters": ["filters", "--model", env / "run", "--data", env / "d.h5", "--jaspar",
                    env / "ok.meme", "--max-seqs", "8", "--device", "cpu", "--quiet"],
    }
    for name, argv in runs.items():
        out = tmp_path / name
        assert main([str(a) for a in argv + ["--out", out]]) == 0
        info = check_output_folder(out, verify=True)
        assert "metrics.json" in info["files"] and not (tmp_path / f"{name}.partial").exists()
    assert json.loads((tmp_path / "gia" / "metrics.json").read_text())["n_null"] == 8
    stats = json.loads((tmp_path / "filters" / "stats.json").read_text())
    assert stats["n_database"] == 2 and stats["n_sequences"] == 8


@pytest.mark.filterwarnings("ignore:surrogate did not converge")
def test_surrogate_resume_reuses_the_network_outputs(env, tmp_path, capsys):
    from seqlens.cli import build_parser
    from seqlens.cli import surrogate as cli_surrogate
    from seqlens.cli.common import save_finished
    from seqlens.interpret.surrogate.library import mutagenesis_library, predict_library
    from seqlens.io.atomic import check_output_folder
    from seqlens.models import load_model, read_checkpoint_info

    out = tmp_path / "sur"
    argv = [str(a) for a in ["surrogate", "--model", env / "run", "--fasta", env / "s.fa", "--record",
                             "wt", "--window", "10:30", "--n", "300", "--device", "cpu", "--quiet",
                             "--no-plots", "--no-ridge", "--out", out]]
    assert main(argv) == 0
    assert "library_outputs.npz" not in check_output_folder(out)["files"]
    y_mean = float(np.load(out / "surrogate.npz")["y_mean"])
    capsys.readouterr()
    # an interrupted run kept the network's outputs: planted here as outputs + 1 (a marker)
    args = build_parser().parse_args(argv)
    _, seq = cli_surrogate._wild_type(args)
    lib = mutagenesis_library(seq, n=300, rate=0.1, window=(10, 30), random_state=0)
    y = predict_library(load_model(env / "run"), lib, device="cpu")
    key = cli_surrogate._run_key(args, read_checkpoint_info(env / "run"), seq, (10, 30))
    (tmp_path / "sur.partial").mkdir()
    save_finished(tmp_path / "sur.partial" / "library_outputs.npz", key, y=y + 1.0)
    assert main(argv + ["--resume"]) == 0
    assert "reusing the network outputs" in capsys.readouterr().out
    assert float(np.load(out / "surrogate.npz")["y_mean"]) == pytest.approx(y_mean + 1.0, abs=1e-9)
    assert not (tmp_path / "sur.partial").exists()


def test_gia_spacing_and_surrogate_library_stop_promptly_on_ctrl_c(interrupted_after):
    from seqlens.interpret import gia
    from seqlens.interpret.surrogate import surrogate_analysis

    model = build_model("cnn_p4", seq_length=L, random_state=0)
    nulls = gia.null_sequences("uniform", 2000, length=L, random_state=0)
    assert interrupted_after(0.5, lambda: gia.spacing(model, nulls, "GATA", "CACGTG", device="cpu")) < 3
    seq = "ACGT" * (L // 4)
    assert interrupted_after(0.5, lambda: surrogate_analysis(model, seq, n=200000, device="cpu")) < 3
