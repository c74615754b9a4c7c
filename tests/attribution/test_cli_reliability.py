"""``seqlens attribute`` / ``evaluate-attributions``: bad inputs and options are one-line errors
(exit 2, no traceback, no files), outputs follow the output rule, ``--resume`` reuses finished
methods, and the attribution library raises SeqlensError for bad counts."""

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from seqlens.cli import main
from seqlens.errors import SeqlensError
from seqlens.io.hdf5 import Dataset, Split, save_dataset
from seqlens.models import build_model, save_model

L = 100


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A tiny model, a dataset with ground truth, a FASTA and a few broken inputs."""
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("attr")
    rng = np.random.default_rng(0)

    def split(n):
        X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, L))].transpose(0, 2, 1)
        truth = np.full((n, 4, L), 0.25, np.float32)
        for i in range(n):
            s = rng.integers(0, L - 8)
            truth[i, :, s:s + 6] = np.eye(4)[:, [0, 1, 2, 3, 0, 1]]
            X[i, :, s:s + 6] = truth[i, :, s:s + 6]
        return Split(X, rng.integers(0, 2, (n, 1)).astype(np.float32), truth)

    save_dataset(tmp / "d.h5", Dataset(split(6), split(4), split(6)))
    save_dataset(tmp / "other.h5", Dataset(split(6), split(4), split(6)))
    plain = Dataset(Split(split(6).X, np.zeros((6, 1), np.float32)), Split(split(4).X, np.zeros((4, 1))),
                    Split(split(6).X, np.zeros((6, 1), np.float32)))
    save_dataset(tmp / "no_truth.h5", plain)
    five = Split(np.eye(5, dtype=np.float32)[rng.integers(0, 5, (4, L))].transpose(0, 2, 1), np.zeros((4, 1)))
    save_dataset(tmp / "five.h5", Dataset(five, five, five))
    save_model(build_model("cnn_p4", seq_length=L, random_state=0), tmp / "run", metadata={"loss": "bce"})
    seqs = ["".join(rng.choice(list("ACGT"), L)) for _ in range(3)]
    (tmp / "s.fa").write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(seqs)))
    (tmp / "long.fa").write_text(">big\n" + "ACGT" * 2500 + "\n")
    (tmp / "a_file").write_text("x")
    (tmp / "folder").mkdir()
    (tmp / "o").mkdir()
    (tmp / "o" / "b_logos").write_text("not a folder")
    return tmp


def attribute_args(env, **over) -> list:
    opts = {"--model": env / "run", "--data": env / "d.h5", "--out": env / "o" / "a.h5",
            "--method": "saliency", "--device": "cpu", "--quiet": None, **over}
    argv = ["attribute"]
    for k, v in opts.items():
        if v is False:
            continue
        argv += [k] if v is None else [k, v]
    return argv


ATTRIBUTE_BAD = [
    ({"--method": "ig", "--steps": "0"}, "--steps"),
    ({"--method": "ig", "--steps": "-3"}, "--steps"),
    ({"--n": "-1"}, "--n"),
    ({"--n": "0"}, "--n"),
    ({"--n": "two"}, "--n"),
    ({"--batch-size": "0"}, "--batch-size"),
    ({"--batch-size": "-1"}, "--batch-size"),
    ({"--method": "nope"}, "unknown attribution method 'nope'"),
    ({"--method": "saliency,bogus"}, "unknown attribution method 'bogus'"),
    ({"--method": ","}, "--method is empty"),
    ({"--method": "smoothgrad", "--samples": "0"}, "--samples"),
    ({"--method": "smoothgrad", "--sigma": "-0.5"}, "--sigma"),
    ({"--method": "smoothgrad", "--sigma": "nan"}, "--sigma"),
    ({"--method": "deepshap", "--n-shuffles": "0"}, "--n-shuffles"),
    ({"--target": "5"}, "--target 5 out of range"),
    ({"--target": "-1"}, "--target"),
    ({"--threads": "0"}, "--threads"),
    ({"--seed": "-1"}, "--seed"),
    ({"--logos": "-2"}, "--logos"),
    ({"--split": "bogus"}, "--split"),
    ({"--device": "foo"}, "--device: expected cpu, cuda"),
    ({"--device": "cuda:7"}, "no such CUDA device"),
    ({"--data": "FOLDER"}, "folder"),
    ({"--data": "MISSING.fa"}, "MISSING.fa"),
    ({"--data": "long.fa"}, "length 10,000, but the model"),
    ({"--data": "five.h5"}, "sequences have 5 letters per position, but the model"),
    ({"--data": "s.fa", "--positives": None}, "--positives needs HDF5"),
    ({"--model": "MISSING_RUN"}, "MISSING_RUN"),
    ({"--model": "d.h5"}, "d.h5"),
    ({"--out": "FOLDER"}, "an existing folder"),
    ({"--out": "a_file/x.h5"}, "is a file"),
    ({"--out": "o/b.h5", "--logos": "1"}, "--logos: "),
]


@pytest.mark.parametrize("over, expected", ATTRIBUTE_BAD, ids=[str(c[0]) for c in ATTRIBUTE_BAD])
def test_attribute_bad_inputs_are_one_line_errors(env, run_cli, over, expected):
    names = {"FOLDER": env / "folder", "MISSING.fa": env / "MISSING.fa", "long.fa": env / "long.fa",
             "s.fa": env / "s.fa", "MISSING_RUN": env / "MISSING_RUN", "d.h5": env / "d.h5",
             "a_file/x.h5": env / "a_file" / "x.h5", "five.h5": env / "five.h5",
             "o/b.h5": env / "o" / "b.h5"}
    over = {k: names.get(v, v) for k, v in over.items()}
    rc, out, err, added = run_cli(attribute_args(env, **over), env)
    assert rc == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert expected in err, err
    assert not added  # nothing written, no .partial left


EVALUATE_BAD = [
    ({"--attr": "d.h5"}, "missing 'X' or 'indices'"),
    ({"--attr": "FOLDER"}, "folder"),
    ({"--attr": "MISSING.h5"}, "MISSING.h5"),
    ({"--truth": "no_truth.h5"}, "no ground truth"),
    ({"--truth": "other.h5"}, "sequences differ"),
    ({"--attr": "nan.h5"}, "NaN"),
    ({"--split": "bogus"}, "--split"),
    ({"--out": "a_file"}, "an existing file"),
]


@pytest.fixture(scope="module")
def attr_file(env):
    out = env / "maps" / "a.h5"
    assert main([str(a) for a in attribute_args(env, **{"--out": out, "--n": "4"})]) == 0
    with h5py.File(out) as src, h5py.File(env / "maps" / "nan.h5", "w") as dst:
        for k in src:
            dst.create_dataset(k, data=src[k][()])
        dst["saliency"][0, 0, 0] = np.nan
        dst.attrs["metadata"] = src.attrs["metadata"]
    return out


@pytest.mark.parametrize("over, expected", EVALUATE_BAD, ids=[str(c[0]) for c in EVALUATE_BAD])
def test_evaluate_bad_inputs_are_one_line_errors(env, attr_file, run_cli, over, expected):
    names = {"d.h5": env / "d.h5", "FOLDER": env / "folder", "MISSING.h5": env / "MISSING.h5",
             "no_truth.h5": env / "no_truth.h5", "other.h5": env / "other.h5",
             "nan.h5": attr_file.parent / "nan.h5", "a_file": env / "a_file"}
    opts = {"--attr": attr_file, "--truth": env / "d.h5", "--out": env / "o" / "ev",
            **{k: names.get(v, v) for k, v in over.items()}}
    rc, out, err, added = run_cli(["evaluate-attributions", *[x for kv in opts.items() for x in kv]], env)
    assert rc == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert expected in err, err
    assert not added


def test_metrics_go_beside_the_file_and_evaluate_writes_a_folder(env, capsys, tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    assert main([str(x) for x in attribute_args(env, **{"--out": a, "--n": "3"})]) == 0
    assert main([str(x) for x in attribute_args(env, **{"--out": b, "--n": "5"})]) == 0
    assert json.loads((tmp_path / "a.h5.metrics.json").read_text())["n_sequences"] == 3
    assert json.loads((tmp_path / "b.h5.metrics.json").read_text())["n_sequences"] == 5
    assert main(["evaluate-attributions", "--attr", str(a), "--truth", str(env / "d.h5")]) == 0
    ev = tmp_path / "a.h5.evaluation"
    assert sorted(p.name for p in ev.iterdir()) == ["manifest.json", "metrics.json"]
    assert 0 <= json.loads((ev / "metrics.json").read_text())["saliency_auroc"] <= 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.h5", "a.h5.evaluation", "a.h5.metrics.json", "b.h5", "b.h5.metrics.json"]


def test_resume_reuses_only_maps_made_with_the_same_settings(env, capsys, tmp_path):
    from seqlens.cli import build_parser
    from seqlens.cli.attribute import _run_key
    from seqlens.cli.common import save_finished
    from seqlens.models import read_checkpoint_info

    out = tmp_path / "r.h5"
    args = [str(x) for x in attribute_args(env, **{"--out": out, "--n": "3", "--method": "saliency,ism"})]
    assert main(args) == 0
    with h5py.File(out) as fh:
        want, X = {m: fh[m][()] for m in ("saliency", "ism")}, fh["X"][()]
    capsys.readouterr()
    # an interrupted run left a finished saliency map (planted here, with a marker value) and an
    # ISM map made with other settings
    key = _run_key(build_parser().parse_args(args), read_checkpoint_info(env / "run"), X, np.arange(3))
    kept = tmp_path / "r.h5.partial" / "methods"
    kept.mkdir(parents=True)
    planted = np.full_like(want["saliency"], 7.0)
    sec = np.float64(1.5)
    save_finished(kept / "saliency.npz", {**key, "method": "saliency"}, attr=planted, seconds=sec)
    save_finished(kept / "ism.npz", {**key, "seed": 3, "method": "ism"}, attr=planted, seconds=sec)
    assert main(args + ["--resume"]) == 0
    printed = capsys.readouterr().out
    assert "saliency: reusing" in printed and "ism.npz was made with other settings" in printed
    with h5py.File(out) as fh:
        np.testing.assert_array_equal(fh["saliency"][()], planted)  # reused, not recomputed
        np.testing.assert_allclose(fh["ism"][()], want["ism"], atol=1e-6)  # recomputed
    assert json.loads((tmp_path / "r.h5.metrics.json").read_text())["saliency_seconds"] == 1.5
    assert not (tmp_path / "r.h5.partial").exists()


def test_library_counts_are_seqlens_errors():
    from seqlens import attribution as at

    model = torch.nn.Sequential(torch.nn.Conv1d(4, 2, 3), torch.nn.Flatten(), torch.nn.LazyLinear(1))
    X = np.eye(4, dtype=np.float32)[np.zeros((2, 10), int)].transpose(0, 2, 1)
    model(torch.as_tensor(X))
    for call, name in [(lambda: at.integrated_gradients(model, X, steps=0), "steps"),
                       (lambda: at.smoothgrad(model, X, n_samples=0), "n_samples"),
                       (lambda: at.saliency(model, X, batch_size=0), "batch_size"),
                       (lambda: at.ism(model, X, batch_size=-1), "batch_size"),
                       (lambda: at.deep_lift_shap(model, X, n_shuffles=0), "n_shuffles"),
                       (lambda: at.attribute(model, X, method="nope"), "unknown method")]:
        with pytest.raises(SeqlensError, match=name):
            call()


class _Failing(torch.nn.Module):
    """A conv model whose forward raises ``error`` on call ``at`` (a Ctrl-C, or running out of
    memory, mid-loop)."""

    def __init__(self, at: int, error: type[BaseException]):
        super().__init__()
        self.conv, self.at, self.error, self.calls = torch.nn.Conv1d(4, 3, 5, padding=2), at, error, 0

    def forward(self, x):
        self.calls += 1
        if self.calls == self.at:  # once: a swallowed error would let the run finish
            raise self.error
        return torch.relu(self.conv(x)).amax(-1)


@pytest.mark.parametrize("error", [KeyboardInterrupt, MemoryError])
@pytest.mark.parametrize("at", [1, 2, 3])
def test_ism_plan_does_not_swallow_interrupts_or_memory_errors(at, error):
    """Ctrl-C or MemoryError while the fast-ISM plan is traced and checked against the model
    stops ISM: planning falls back to plain ISM only on planning errors (a broad ``except
    Exception`` swallowed the MemoryError)."""
    from seqlens.attribution import ism

    X = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (3, 20))].transpose(0, 2, 1)
    with pytest.raises(error):
        ism(_Failing(at, error), X, batch_size=8, device="cpu")


def test_ism_loop_stops_promptly_on_ctrl_c(interrupted_after):
    from seqlens.attribution import ism

    model = build_model("cnn_p4", seq_length=L, random_state=0)
    X = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (400, L))].transpose(0, 2, 1)
    assert interrupted_after(0.5, lambda: ism(model, X, batch_size=64, device="cpu")) < 3


def test_no_broad_except_in_attribution_and_interpret():
    """No ``except:``, ``except BaseException`` or ``except Exception`` (they can swallow Ctrl-C
    or hide bugs) in attribution/ and interpret/."""
    import ast

    import seqlens

    root = Path(seqlens.__file__).parent
    bad = []
    for folder in ("attribution", "interpret"):
        for path in (root / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ExceptHandler):
                    names = [n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)] if node.type else [
                        "bare"]
                    if {"bare", "BaseException", "Exception"} & set(names):
                        bad.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not bad, bad
