"""``seqlens gia`` speaks from its first second (a line before the model is loaded, the plan before
the work) and ``--experiment spacing`` defaults to gaps 0-50 bp, not every gap the sequence allows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from seqlens.cli import gia as cli_gia
from seqlens.io.hdf5 import Dataset, Split, save_dataset
from seqlens.models import build_model, save_model

torch.set_num_threads(1)
A, B = "GGGGCGGGG", "CACGTG"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gia")
    rng = np.random.default_rng(0)

    def split(n, length):
        X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, length))].transpose(0, 2, 1).copy()
        return Split(X=X, Y=rng.integers(0, 2, (n, 1)).astype(np.float32))

    for length in (200, 100):
        save_dataset(tmp / f"d{length}.h5", Dataset(train=split(8, length), valid=split(8, length),
                                                    test=split(30, length)))
        save_model(build_model("cnn_p4", seq_length=length, filters=4, random_state=0), tmp / f"run{length}")
    return tmp


def _gia(env, run_cli, out, length=200, *extra):
    argv = ["gia", "--model", env / f"run{length}", "--data", env / f"d{length}.h5", "--experiment",
            "spacing", "--pattern", A, B, "--n-null", "10", "--device", "cpu", "--out", env / out, *extra]
    return run_cli(argv, env)


def test_default_gaps_are_0_to_50_and_the_plan_is_printed_first(env, run_cli):
    code, out, err, _ = _gia(env, run_cli, "g_default")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"seqlens gia spacing: loading {env / 'run200'} and {env / 'd200.h5'}"
    assert lines[1] == (f"seqlens gia spacing: {A} + {B} at gaps 0-50 bp (51 gaps) x 3 orientations = 153 "
                        f"interventions on 10 profile null sequences from the test split of "
                        f"{env / 'd200.h5'}: 1,530 predictions (--distances, --n-null to change)")
    table = pd.read_csv(env / "g_default" / "results.csv")
    assert len(table) == 153 and sorted(set(table["distance"])) == list(range(51))
    assert set(table["orientation"]) == {"++", "+-", "-+"}
    assert "spacing:" in err  # the progress bar of the interventions


def test_short_sequences_cap_the_default_gaps(env, run_cli):
    # 100 - 9 - 6 = 85 positions of room: still 0-50; at 60 nt it would be 0-45
    assert cli_gia._distances(type("Args", (), {"distances": None, "pattern": [A, B]})(), 60) == \
        list(range(46))
    code, out, err, _ = _gia(env, run_cli, "g_100", 100)
    assert code == 0, err
    assert "at gaps 0-50 bp (51 gaps)" in out


def test_explicit_distances_with_a_step(env, run_cli):
    code, out, err, _ = _gia(env, run_cli, "g_step", 200, "--distances", "0:10:2", "--quiet")
    assert code == 0, err
    assert "at gaps 0-8 bp every 2 bp (5 gaps) x 3 orientations = 15 interventions" in out
    assert sorted(set(pd.read_csv(env / "g_step" / "results.csv")["distance"])) == [0, 2, 4, 6, 8]
    assert "spacing:" not in err


def test_gaps_that_do_not_fit_are_refused_before_any_work(env, run_cli):
    code, _, err, added = _gia(env, run_cli, "g_far", 100, "--distances", "80:90")
    assert code == 2 and not added
    assert "--distances" in err and "exceed length 100 (they need 104 positions)" in err
    assert len(err.strip().splitlines()) == 1


def test_the_first_line_comes_before_the_model_is_loaded(env, run_cli, monkeypatch, capsys):
    import seqlens.cli.common as common

    seen = {}

    def load_cli_model(args, **kw):
        seen["before_loading"] = capsys.readouterr().out
        raise KeyboardInterrupt  # stop here: the point is what was printed before loading

    monkeypatch.setattr(common, "load_cli_model", load_cli_model)
    with pytest.raises(KeyboardInterrupt):
        cli_gia.run(cli_gia_args(env))
    assert seen["before_loading"].startswith("seqlens gia spacing: loading ")


def cli_gia_args(env):
    from seqlens.cli import build_parser

    return build_parser().parse_args(["gia", "--model", str(env / "run200"), "--data", str(env / "d200.h5"),
                                      "--experiment", "spacing", "--pattern", A, B,
                                      "--out", str(env / "never")])


def test_null_predictions_show_progress(env, run_cli):
    code, out, err, _ = _gia(env, run_cli, "g_filtered", 200, "--filter-null")
    assert code == 0, err
    assert "null: predict nulls" in err
    code, out, err, _ = _gia(env, run_cli, "g_quiet", 200, "--filter-null", "--quiet")
    assert code == 0 and "null: predict nulls" not in err
