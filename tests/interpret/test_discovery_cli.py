"""``seqlens motifs`` end to end on a tiny planted case, and its one-line errors."""

import json

import h5py
import numpy as np
import pandas as pd
import pytest

import seqlens.cli as cli
from seqlens.io.hdf5 import Dataset, Split, save_dataset

from .discovery_cases import MOTIF, planted


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """attr.h5 in the layout of ``seqlens attribute`` and a truth dataset with the instances."""
    d = tmp_path_factory.mktemp("case")
    attr, X, starts, strands = planted(40, seed=11)
    with h5py.File(d / "attr.h5", "w") as fh:
        fh["X"] = X
        fh["indices"] = np.arange(len(X))
        fh.create_dataset("names", data=np.array([f"s{i}" for i in range(len(X))], dtype=object),
                          dtype=h5py.string_dtype())
        fh["saliency"] = attr
        fh.attrs["metadata"] = json.dumps({"methods": ["saliency"], "split": "test"})
    empty = Split(X[:1], np.zeros((1, 1), np.float32))
    extras = {"instance_split": np.full(40, 2, np.int8), "instance_seq": np.arange(40, dtype=np.int32),
              "instance_motif": np.zeros(40, np.int16), "instance_start": starts.astype(np.int32),
              "instance_end": (starts + len(MOTIF)).astype(np.int32),
              "instance_strand": strands.astype(np.int8)}
    truth = Dataset(empty, empty, Split(X, np.ones((40, 1), np.float32)),
                    metadata={"motifs": [{"name": "GATTACA", "id": "MA9999.1"}]}, extras=extras)
    save_dataset(d / "truth.h5", truth)
    return d, attr, X


def run(args, capsys):
    code = cli.main(["motifs", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_motifs_end_to_end(case, tmp_path, capsys):
    d, _, _ = case
    out = tmp_path / "motifs"
    code, stdout, err = run(["--attr", d / "attr.h5", "--truth", d / "truth.h5", "--out", out,
                             "--window", 10, "--flank", 3, "--min-seqlets", 10, "--hit-quantile",
                             0, "--threads", 1], capsys)
    assert code == 0, err
    for name in ("patterns.meme", "patterns.csv", "seqlets.csv", "hits.csv", "modisco.h5",
                 "figures/pos_0.png", "index.html", "metrics.json", "manifest.json"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["method"] == "saliency" and metrics["n_sequences"] == 40
    assert metrics["n_patterns"] == 1 and metrics["n_seqlets"] == 40
    assert metrics["hit_precision"] == 1.0 and metrics["hit_recall"] == 1.0
    assert metrics["spurious_patterns"] == 0 and metrics["n_core"] == 1
    # the family-level figures come along (no family mates here: the same values)
    assert metrics["hit_precision_family"] == 1.0 and metrics["hit_recall_family"] == 1.0
    assert "hit_precision" in stdout and "seqlens motifs: saliency maps of 40" in stdout
    hits = pd.read_csv(out / "hits.csv")
    assert hits["name"].tolist() == [f"s{i}" for i in range(40)]
    patterns = pd.read_csv(out / "patterns.csv")
    assert patterns.loc[0, "consensus"] in (MOTIF, "CTGTAATC")
    assert patterns.loc[0, "truth_motif"] == "GATTACA"
    seqlets = pd.read_csv(out / "seqlets.csv")
    assert (seqlets["pattern"] == "pos_0").all() and seqlets["name"].str.startswith("s").all()
    assert "pos_0.png" in (out / "index.html").read_text()
    with h5py.File(out / "modisco.h5") as fh:
        assert fh["pos_patterns/pattern_0/seqlets/n_seqlets"][0] == 40


def test_motifs_reads_npz_maps_with_sequences_from_data(case, tmp_path, capsys):
    _, attr, X = case
    np.savez(tmp_path / "shap.npz", attr.transpose(0, 2, 1))  # (N, L, A) as modisco-lite takes
    np.savez(tmp_path / "ohe.npz", X)
    code, _, err = run(["--attr", tmp_path / "shap.npz", "--data", tmp_path / "ohe.npz", "--out",
                        tmp_path / "o", "--window", 10, "--min-seqlets", 10, "--quiet"], capsys)
    assert code == 0, err
    assert json.loads((tmp_path / "o" / "metrics.json").read_text())["n_patterns"] == 1


def _bad_attr(path, **kw):
    _, X, _, _ = planted(6)
    with h5py.File(path, "w") as fh:
        for k, v in {"X": X, "saliency": np.zeros_like(X), **kw}.items():
            if v is not None:
                fh[k] = v
    return path


@pytest.mark.parametrize("make, extra, message", [
    (lambda p: p / "missing.h5", [], "--attr {d}/missing.h5: no such file"),
    (lambda p: _bad_attr(p / "a.h5"), ["--method", "ism"], "--method ism: "),
    (lambda p: _bad_attr(p / "a.h5", X=None), [], "holds no sequences (X); give them with --data"),
    (lambda p: _bad_attr(p / "a.h5", X=np.full((6, 4, 80), 0.5, np.float32)), [],
     "sequences are not one-hot (sequence 0, position 0"),
    (lambda p: _bad_attr(p / "a.h5", saliency=np.zeros((6, 4, 70), np.float32)), [],
     "has shape (6, 4, 70), but the sequences have shape (6, 4, 80)"),
    (lambda p: _bad_attr(p / "a.h5", saliency=np.full((6, 4, 80), np.nan, np.float32)), [],
     "saliency has NaN or Inf values (first in sequence 0)"),
    (lambda p: _bad_attr(p / "a.h5"), [], "no seqlet passes --fdr 0.05"),
])
def test_motifs_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, make, extra, message):
    attr = make(tmp_path)
    out = tmp_path / "out"
    code, _, err = run(["--attr", attr, "--out", out, *extra], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("seqlens motifs: error: ")
    assert message.format(d=tmp_path) in err
    assert not out.exists() and not (tmp_path / "out.partial").exists()


def test_motifs_refuses_a_truth_that_does_not_fit(case, tmp_path, capsys):
    d, _, X = case
    plain = Dataset(*(Split(X, np.zeros((40, 1), np.float32)) for _ in range(3)))
    save_dataset(tmp_path / "plain.h5", plain)
    code, _, err = run(["--attr", d / "attr.h5", "--truth", tmp_path / "plain.h5", "--out",
                        tmp_path / "o"], capsys)
    assert code == 2 and "no embedded instances" in err
    other = Dataset(*(Split(X[::-1].copy(), np.zeros((40, 1), np.float32)) for _ in range(3)),
                    metadata={"motifs": []}, extras={"instance_split": np.zeros(0, np.int8)})
    save_dataset(tmp_path / "other.h5", other)
    code, _, err = run(["--attr", d / "attr.h5", "--truth", tmp_path / "other.h5", "--out",
                        tmp_path / "o"], capsys)
    assert code == 2 and "sequences differ from those of --attr" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("option, value", [("--fdr", "1.5"), ("--window", "0"),
                                           ("--min-similarity", "2"), ("--null", "gauss")])
def test_motifs_bad_options_fail_at_parse_time(tmp_path, capsys, option, value):
    with pytest.raises(SystemExit) as exc:
        cli.main(["motifs", "--attr", "a.h5", "--out", str(tmp_path / "o"), option, value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option in err


def test_motifs_without_patterns_warns_and_still_writes(case, tmp_path, capsys):
    d, _, _ = case
    out = tmp_path / "few"
    code, _, err = run(["--attr", d / "attr.h5", "--out", out, "--window", 10,
                        "--min-seqlets", 500, "--quiet"], capsys)
    assert code == 0
    assert "seqlens: warning: 40 seqlets but no pattern with at least --min-seqlets 500" in err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_patterns"] == 0 and metrics["n_seqlets"] == 40 and metrics["n_hits"] == 0
    assert (out / "seqlets.csv").is_file() and not (out / "patterns.meme").exists()
