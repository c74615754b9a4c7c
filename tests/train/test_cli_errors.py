"""Bad options and inputs of ``seqlens train``, ``predict`` and ``simulate``: exit 2, one line on
stderr naming the problem, no traceback, no new files."""

import json

import h5py
import numpy as np
import pytest

from seqlens.cli import main
from seqlens.io.fasta import write_fasta
from seqlens.io.hdf5 import Dataset, Split, save_dataset

from .conftest import toy_data

LONG_JSON = json.dumps({"dropout": 0.1, "x" * 300: 1})  # > 255 characters: not a file name


def _dataset(**change):
    parts = {name: toy_data(n, length=24, seed=s)
             for name, n, s in (("train", 40, 0), ("valid", 12, 1), ("test", 12, 2))}
    for key, value in change.items():
        name, which = key.split("_")
        X, Y = parts[name]
        parts[name] = (value, Y) if which == "X" else (X, value)
    return Dataset(*(Split(*parts[n]) for n in ("train", "valid", "test")),
                   metadata={"tasks": ["motif"]})


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    save_dataset(d / "ok.h5", _dataset())
    _, Y = toy_data(40, length=24, seed=0)
    seven = Y.copy()
    seven[5, 0] = 7
    save_dataset(d / "labels7.h5", _dataset(train_Y=seven))
    save_dataset(d / "negative.h5", _dataset(train_Y=Y - 1))
    X, _ = toy_data(12, length=30, seed=2)
    save_dataset(d / "test_length.h5", _dataset(test_X=X))
    five = np.zeros((12, 5, 24), np.float32)
    five[:, 0] = 1.0
    save_dataset(d / "five_letters.h5", _dataset(test_X=five))
    save_dataset(d / "two_tasks_test.h5", _dataset(test_Y=np.zeros((12, 2), np.float32)))
    save_dataset(d / "no_tasks.h5", _dataset(train_Y=np.zeros((40, 0), np.float32)))
    names = _dataset()
    names.extras["names_test"] = np.array([b"a", b"b"])
    save_dataset(d / "names.h5", names)
    # NaN labels / Inf inputs written raw (save_dataset would keep them too)
    for name, key, value in (("nanY.h5", "Y_valid", np.nan), ("infX.h5", "X_test", np.inf)):
        save_dataset(d / name, _dataset())
        with h5py.File(d / name, "a") as fh:
            arr = fh[key][()]
            arr.reshape(len(arr), -1)[3, 0] = value
            del fh[key]
            fh[key] = arr
    (d / "cfg_bad.json").write_text('{"dropout": ')
    (d / "cfg_binary.json").write_bytes(b"\xff\xfe\x00bad")
    (d / "cfg_list.json").write_text("[1, 2]")
    (d / "folder").mkdir()
    write_fasta(d / "short.fa", [("a", "ACGT" * 3)])
    (d / "not_a_run").mkdir()
    run = d / "run"
    assert main(["train", "--data", str(d / "ok.h5"), "--model", "cnn", "--filters", "4",
                 "--pool", "4", "--epochs", "1", "--out", str(run), "--quiet", "--threads", "1",
                 "--device", "cpu"]) == 0
    return d


TRAIN = ["train", "--data", "{in}/ok.h5", "--model", "cnn", "--filters", "4", "--pool", "4",
         "--epochs", "1", "--quiet", "--threads", "1", "--device", "cpu", "--out", "{out}/run"]
PREDICT = ["predict", "--model", "{in}/run", "--data", "{in}/ok.h5", "--out", "{out}/p.csv",
           "--device", "cpu"]
SIMULATE = ["simulate", "regulatory_code", "--n", "30", "--out", "{out}/s.h5"]


def _with(base, *extra, drop=()):
    args = list(base)
    for opt in drop:
        i = args.index(opt)
        del args[i:i + 2]
    return args + list(extra)


# (label, argv, a piece of the message)
CASES = [
    ("epochs 0", _with(TRAIN, "--epochs", "0"), "--epochs: expected an integer >= 1, got '0'"),
    ("epochs -3", _with(TRAIN, "--epochs", "-3"), "--epochs"),
    ("batch 0", _with(TRAIN, "--batch-size", "0"), "--batch-size"),
    ("batch -1", _with(TRAIN, "--batch-size", "-1"), "--batch-size"),
    ("lr -1", _with(TRAIN, "--lr", "-1"), "--lr: expected a number > 0"),
    ("lr 0", _with(TRAIN, "--lr", "0"), "--lr"),
    ("lr nan", _with(TRAIN, "--lr", "nan"), "--lr"),
    ("lr text", _with(TRAIN, "--lr", "fast"), "--lr"),
    ("patience 0", _with(TRAIN, "--patience", "0"), "--patience: expected -1 (off) or an integer"),
    ("patience -2", _with(TRAIN, "--patience", "-2"), "--patience"),
    ("lr-patience -5", _with(TRAIN, "--lr-patience", "-5"), "--lr-patience"),
    ("weight decay -1", _with(TRAIN, "--weight-decay", "-1"), "--weight-decay"),
    ("dropout 1.5", _with(TRAIN, "--dropout", "1.5"), "--dropout"),
    ("filters 0", _with(TRAIN, "--filters", "0"), "--filters"),
    ("kernel -1", _with(TRAIN, "--kernel-size", "-1"), "--kernel-size"),
    ("clip 0", _with(TRAIN, "--clip-grad", "0"), "--clip-grad"),
    ("epsilon -1", _with(TRAIN, "--epsilon", "-1"), "--epsilon"),
    ("adv steps 0", _with(TRAIN, "--adv-steps", "0"), "--adv-steps"),
    ("noise -1", _with(TRAIN, "--noise-std", "-1"), "--noise-std"),
    ("max augs 0", _with(TRAIN, "--max-augs", "0"), "--max-augs"),
    ("finetune -1", _with(TRAIN, "--finetune-epochs", "-1"), "--finetune-epochs"),
    ("mixup 0", _with(TRAIN, "--mixup", "0"), "--mixup"),
    ("seed -1", _with(TRAIN, "--seed", "-1"), "--seed"),
    ("threads 0", _with(TRAIN, "--threads", "0"), "--threads"),
    ("device bogus", _with(TRAIN, "--device", "gpu9"), "--device"),
    ("device cuda:99", _with(TRAIN, "--device", "cuda:99"), "no such CUDA device"),
    ("long config json", _with(TRAIN, "--config", LONG_JSON), "unexpected keyword argument"),
    ("config malformed", _with(TRAIN, "--config", '{"dropout": '), "--config: malformed JSON"),
    ("config list", _with(TRAIN, "--config", " [1, 2]"), "no such file"),
    ("config not object", _with(TRAIN, "--config", "{}[]"), "malformed JSON"),
    ("config NaN", _with(TRAIN, "--config", '{"dropout": NaN}'), "NaN is not a JSON number"),
    ("config negative", _with(TRAIN, "--config", '{"filters": -1}'), "negative dimension"),
    ("config file missing", _with(TRAIN, "--config", "{in}/nope.json"), "nope.json: no such file"),
    ("config file bad", _with(TRAIN, "--config", "{in}/cfg_bad.json"), "cfg_bad.json: malformed"),
    ("config file binary", _with(TRAIN, "--config", "{in}/cfg_binary.json"), "not a UTF-8"),
    ("config file list", _with(TRAIN, "--config", "{in}/cfg_list.json"),
     "cfg_list.json: must be a JSON object of architecture keywords, got list"),
    ("config folder", _with(TRAIN, "--config", "{in}/folder"), "--config {in}/folder: cannot read"),
    ("evoaug bogus", _with(TRAIN, "--evoaug", "wobble"), "unknown augmentation 'wobble'"),
    ("monitor bogus", _with(TRAIN, "--monitor", "accuracy"), "monitor must be 'loss' or one of"),
    ("monitor for mse", _with(TRAIN, "--loss", "mse", "--monitor", "auroc"), "for loss 'mse'"),
    ("mixup layer alone", _with(TRAIN, "--mixup-layer", "conv1"), "--mixup-layer needs --mixup"),
    ("mixup layer bogus", _with(TRAIN, "--mixup", "0.2", "--mixup-layer", "nope"),
     "--mixup-layer 'nope' is not a module"),
    ("unknown model", _with(TRAIN, "--model", "nonesuch"), "unknown model"),
    ("data folder", _with(TRAIN, "--data", "{in}/folder", drop=["--data"]),
     "--data {in}/folder: a folder, not a file"),
    ("data missing", _with(TRAIN, "--data", "{in}/nope.h5", drop=["--data"]),
     "--data {in}/nope.h5: no such file"),
    ("labels 7 under bce", _with(TRAIN, "--data", "{in}/labels7.h5", drop=["--data"]),
     "labels7.h5: Y_train record 5 (task 0) has label 7; --loss bce needs labels in [0, 1]"),
    ("negative counts", _with(TRAIN, "--data", "{in}/negative.h5", "--loss", "poisson",
                              drop=["--data"]),
     "negative.h5: Y_train record 1 (task 0) has label -1; --loss poisson needs counts >= 0"),
    ("NaN labels", _with(TRAIN, "--data", "{in}/nanY.h5", drop=["--data"]), "nanY.h5: Y_valid"),
    ("Inf inputs", _with(TRAIN, "--data", "{in}/infX.h5", drop=["--data"]), "infX.h5: X_test"),
    ("split shapes", _with(TRAIN, "--data", "{in}/test_length.h5", drop=["--data"]),
     "test_length.h5: X_test/Y_test have shapes"),
    ("no tasks", _with(TRAIN, "--data", "{in}/no_tasks.h5", drop=["--data"]), "no_tasks.h5"),
    ("out is a file", _with(TRAIN, "--out", "{out}/file", drop=["--out"]), "an existing file"),
    ("out under a file", _with(TRAIN, "--out", "{out}/file/run", drop=["--out"]), "is a file"),
    ("out foreign folder", _with(TRAIN, "--out", "{out}/foreign", drop=["--out"]),
     "not a complete seqlens output"),

    ("predict batch 0", _with(PREDICT, "--batch-size", "0"), "--batch-size"),
    ("predict batch -1", _with(PREDICT, "--batch-size", "-1"), "--batch-size"),
    ("predict threads 0", _with(PREDICT, "--threads", "0"), "--threads"),
    ("predict data folder", _with(PREDICT, "--data", "{in}/folder", drop=["--data"]),
     "a folder, not a file"),
    ("predict data missing", _with(PREDICT, "--data", "{in}/nope.fa", drop=["--data"]),
     "--data {in}/nope.fa: no such file"),
    ("predict five letters", _with(PREDICT, "--data", "{in}/five_letters.h5", drop=["--data"]),
     "five_letters.h5: sequences have 5 letters per position, but the model in"),
    ("predict short fasta", _with(PREDICT, "--data", "{in}/short.fa", drop=["--data"]),
     "sequences have length 12, but the model in {in}/run expects 24"),
    ("predict label columns", _with(PREDICT, "--data", "{in}/two_tasks_test.h5",
                                    drop=["--data"]), "Y_test has 2 columns"),
    ("predict names", _with(PREDICT, "--data", "{in}/names.h5", drop=["--data"]),
     "names.h5: names_test has 2 names, but X_test has 12 sequences"),
    ("predict NaN input", _with(PREDICT, "--data", "{in}/infX.h5", drop=["--data"]), "X_test"),
    ("predict not a run", _with(PREDICT, "--model", "{in}/not_a_run", drop=["--model"]),
     "not_a_run"),
    ("predict out folder", _with(PREDICT, "--out", "{out}/foreign", drop=["--out"]),
     "an existing folder"),

    ("simulate n 0", _with(SIMULATE, "--n", "0", drop=["--n"]), "--n"),
    ("simulate n -5", _with(SIMULATE, "--n", "-5", drop=["--n"]), "--n"),
    ("simulate n 2", _with(SIMULATE, "--n", "2", drop=["--n"]), "n must be at least 3"),
    ("simulate length 0", _with(SIMULATE, "--length", "0"), "--length"),
    ("simulate length 5", _with(SIMULATE, "--length", "5"), "but length is 5"),
    ("simulate seed -1", _with(SIMULATE, "--seed", "-1"), "--seed"),
    ("simulate unknown", ["simulate", "nonesuch", "--out", "{out}/s.h5"], "invalid choice"),
    ("simulate out folder", _with(SIMULATE, "--out", "{out}/foreign", drop=["--out"]),
     "an existing folder"),
]


def _tree(folder):
    return sorted((str(p.relative_to(folder)), p.stat().st_size) for p in folder.rglob("*"))


@pytest.mark.parametrize("label,argv,message", CASES, ids=[c[0] for c in CASES])
def test_bad_option_or_input(label, argv, message, inputs, tmp_path, capsys):
    outs = tmp_path / "outs"
    (outs / "foreign").mkdir(parents=True)
    (outs / "foreign" / "notes.txt").write_text("mine")
    (outs / "file").write_text("a file")
    before = _tree(outs)

    def fill(text):
        return text.replace("{in}", str(inputs)).replace("{out}", str(outs))

    try:
        rc = main([fill(a) for a in argv])
    except SystemExit as exc:  # argparse: option out of range or malformed
        rc = exc.code
    assert rc == 2, label
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert fill(message) in lines[0], lines[0]
    assert _tree(outs) == before  # nothing written, nothing left behind


def test_config_text_and_file():
    from seqlens.cli.train import _config

    long = {"dropout": 0.1, "dense": [8] * 120}
    assert len(json.dumps(long)) > 255 and _config("  " + json.dumps(long)) == long


def test_config_file_and_hdf5_without_suffix(inputs, tmp_path, capsys):
    (tmp_path / "cfg.json").write_text('{"dense": [4]}')
    run = tmp_path / "run"
    argv = _with(TRAIN, "--config", str(tmp_path / "cfg.json"), "--out", str(run), drop=["--out"])
    assert main([a.replace("{in}", str(inputs)) for a in argv]) == 0
    assert json.loads((run / "config.json").read_text())["model"]["dense"] == [4]
    data = tmp_path / "dataset.bin"  # HDF5 content, no .h5 suffix: not read as FASTA
    data.write_bytes((inputs / "ok.h5").read_bytes())
    out = tmp_path / "p.csv"
    assert main(["predict", "--model", str(run), "--data", str(data), "--out", str(out)]) == 0
    metrics = json.loads((tmp_path / "p.csv.metrics.json").read_text())
    assert metrics["n_sequences"] == 12 and 0 <= metrics["test_auroc"] <= 1


def test_predict_warns_about_labels_the_model_cannot_score(inputs, tmp_path, capsys):
    out = tmp_path / "p.csv"
    assert main(["predict", "--model", str(inputs / "run"), "--data", str(inputs / "labels7.h5"),
                 "--split", "train", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "labels7.h5: Y_train record 5 (task 0) has label 7, but a model trained with loss bce" \
           " needs labels in [0, 1]; no metrics computed" in err
    metrics = json.loads((tmp_path / "p.csv.metrics.json").read_text())
    assert metrics == {"n_sequences": 40, "n_tasks": 1}


def test_resume_refuses_other_settings_and_keeps_the_partial(inputs, tmp_path, capsys,
                                                             monkeypatch):
    import seqlens.train.trainer as trainer

    out = tmp_path / "run"
    argv = [a.replace("{in}", str(inputs)) for a in _with(TRAIN, "--epochs", "3", "--out", str(out),
                                                          drop=["--out", "--epochs"])]
    real = trainer.save_state

    def stop_after_first_epoch(folder, info, tensors):
        real(folder, info, tensors)
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(trainer, "save_state", stop_after_first_epoch)
        assert main(argv) == 130
    partial = tmp_path / "run.partial"
    assert "interrupted; unfinished output kept in" in capsys.readouterr().err
    state = (partial / "resume" / "state.json").read_text()
    for change, what in ((["--lr", "0.01"], "(lr 0.001 -> 0.01)"),
                         (["--filters", "6"], "model.config.filters 4 -> 6")):
        assert main(argv + change + ["--resume"]) == 2
        err = capsys.readouterr().err.strip()
        assert "the unfinished run was started with other settings" in err and what in err, err
        assert "\n" not in err and (partial / "resume" / "state.json").read_text() == state
    assert main(argv + ["--resume"]) == 0
    assert not partial.exists()
    assert len(json.loads((out / "history.json").read_text())) == 3
