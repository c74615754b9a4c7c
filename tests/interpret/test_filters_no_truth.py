"""First-layer filters on real data (no ground truth): database matches only, and filters with too
little information are not matched (a uniform filter must not "match" CTCF)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from seqlens.cli import main
from seqlens.interpret.filters import (
    MIN_MATCH_BITS,
    filter_statistics,
    filter_weight_motifs,
    informative,
    match_filters,
)
from seqlens.io.hdf5 import Dataset, Split, save_dataset
from seqlens.models import build_model, save_model
from seqlens.motifs.jaspar import fetch_motif, fetch_motifs
from seqlens.motifs.motif import Motif

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def newest():
    """JASPAR CORE vertebrates, newest release: the default database without ground truth."""
    return fetch_motifs(tax_group="vertebrates")


def test_a_uniform_filter_gets_no_match(newest):
    uniform = Motif.from_probabilities(np.full((4, 19), 0.25), name="uniform")
    assert not informative(uniform)
    # the failure this guards against: Tomtom finds CTCF "significant" for a uniform matrix
    unguarded = match_filters([uniform], newest, skip_uninformative=False)
    significant = unguarded[unguarded["q_value"] <= 0.1]
    assert "CTCF" in set(significant["target_name"])
    assert match_filters([uniform], newest).empty


def test_zero_weights_make_no_match_but_a_real_filter_does(newest):
    ctcf = fetch_motif("MA0139.2")
    weights = np.zeros((2, 4, ctcf.width))
    weights[1] = ctcf.weights()  # log-odds in bits: softmax base 2 gives its probabilities back
    zero, real = filter_weight_motifs(weights, method="softmax")  # not clipped: no metadata flag
    assert "informative" not in zero.metadata
    assert not informative(zero) and informative(real)
    table = match_filters([zero, real], newest)
    assert set(table["filter"]) == {1}
    best = table.sort_values("p_value").iloc[0]
    assert best["target_name"] == "CTCF" and best["q_value"] < 1e-3


def test_a_faint_motif_under_the_bit_floor_is_skipped():
    p = np.full((4, 10), 0.25)
    p[:, 0] = [0.7, 0.1, 0.1, 0.1]  # one column of 0.64 bits: 0.64 bits in all
    faint = Motif.from_probabilities(p, name="faint")
    assert faint.total_information() < MIN_MATCH_BITS and not informative(faint)
    assert informative(faint, min_bits=0.5)


def test_statistics_without_truth_are_database_matches_only():
    import pandas as pd

    table = pd.DataFrame({"filter": [0, 0, 2], "q_value": [0.01, 0.5, 0.2], "truth": [None] * 3})
    stats = filter_statistics(table, 4)
    assert stats == {"n_filters": 4, "match_any": 0.25, "n_matched": 1, "metric": "q_value",
                     "cutoff": 0.1}
    with_truth = filter_statistics(table.assign(truth=["MA0139.1", None, None]), 4, ["MA0139.1"])
    assert with_truth["match_fraction"] == 0.25 and with_truth["false_positive_rate"] == 0.0


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """A model whose filter 0 is all zeros and filter 1 is CTCF's log-odds, and a data set of
    random sequences without simulated motifs (real data, as far as the CLI can tell)."""
    tmp = tmp_path_factory.mktemp("no_truth")
    rng = np.random.default_rng(0)

    def split(n):
        X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, 100))].transpose(0, 2, 1).copy()
        return Split(X=X, Y=rng.integers(0, 2, (n, 1)).astype(np.float32))

    save_dataset(tmp / "real.h5", Dataset(train=split(20), valid=split(10), test=split(40)))
    model = build_model("cnn_p4", seq_length=100, filters=6, random_state=0)
    conv = model.conv1
    ctcf = fetch_motif("MA0139.2")
    assert conv.kernel_size[0] >= ctcf.width
    with torch.no_grad():
        conv.weight.mul_(0.01)  # the other filters: near-uniform, too little information
        conv.weight[0] = 0.0
        conv.weight[1] = 0.0
        conv.weight[1, :, :ctcf.width] = torch.as_tensor(ctcf.weights(), dtype=torch.float32)
    save_model(model, tmp / "run")
    return tmp, int(conv.out_channels)


def test_cli_without_truth_reports_jaspar_matches_only(real_run, capsys):
    tmp, n_filters = real_run
    capsys.readouterr()
    assert main(["filters", "--model", str(tmp / "run"), "--data", str(tmp / "real.h5"),
                 "--method", "softmax", "--device", "cpu", "--quiet", "--out", str(tmp / "f")]) == 0
    out = capsys.readouterr().out
    metrics = json.loads((tmp / "f" / "metrics.json").read_text())
    assert "match_fraction" not in metrics and "false_positive_rate" not in metrics
    assert "coverage" not in metrics and "false positive" not in out
    assert "no ground truth: database matches only" in out
    assert metrics["n_matched"] == 1 and metrics["match_any"] == pytest.approx(1 / n_filters)
    assert metrics["n_uninformative"] == n_filters - 1
    stats = json.loads((tmp / "f" / "stats.json").read_text())
    best = {row["filter"]: row for row in stats["best_matches"]}
    assert best[0]["target"] is None  # the zero filter: no match at all, not CTCF
    assert best[1]["target_name"] == "CTCF"
