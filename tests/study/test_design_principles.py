"""Design-principle experiments end to end at tiny settings."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from seqlens.io.motifs import read_meme
from seqlens.simulate import multitask_motifs
from seqlens.study.design_principles import (
    PUBLISHED_ACTIVATION,
    activation_comparison,
    pool_size_sweep,
    read_runs,
    rescore_runs,
    summarise,
    truth_ids_of,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny():
    return multitask_motifs(n=300, length=200, random_state=0)


def test_truth_ids_come_from_the_metadata(tiny):
    ids = truth_ids_of(tiny)
    assert len(ids) == 12 and "MA0079.3" in ids and "MA0083.3" in ids


def test_pool_size_sweep_end_to_end(tiny, tmp_path):
    runs, summary = pool_size_sweep(tiny, pools=(4, 25), seeds=(0,), epochs=1, batch_size=64,
                                    out_dir=tmp_path)
    assert list(runs["pool"]) == [4, 25] and list(summary["pool"]) == [4, 25]
    assert (runs["n_filters"] == 30).all()
    assert ((runs["train_seconds"] > 0) & (runs["train_seconds"] < runs["seconds"])).all()
    assert (runs["match_distance"] == "euclidean").all()
    for pool in (4, 25):  # each run's filters and Tomtom table are kept for rescoring
        run_dir = tmp_path / "filters" / f"cnn_p{pool}_relu_seed0"
        assert len(read_meme(run_dir / "motifs.meme")) == 30
        assert set(pd.read_csv(run_dir / "matches.csv")["filter"]) <= set(range(30))
    # rescoring from the saved tables: the same criterion gives the same statistics
    log = tmp_path / "runs.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in runs.to_dict(orient="records")))
    truth = truth_ids_of(tiny)
    again = rescore_runs(read_runs([log]), truth, "q_value", 0.1)
    for col in ("match_fraction", "match_any", "coverage"):
        np.testing.assert_allclose(again[col], runs[col])
    none = rescore_runs(read_runs([log]), truth, "e_value", 0.0)
    assert (none["match_any"] == 0).all() and (none["match_metric"] == "e_value").all()
    loose = rescore_runs(read_runs([log]), truth, "p_value", 1.0)
    assert (loose["match_any"] >= runs["match_any"]).all() and (loose["match_any"] > 0).all()
    (tmp_path / "filters" / "cnn_p4_relu_seed0" / "matches.csv").unlink()
    with pytest.raises(FileNotFoundError, match="cnn_p4 relu seed 0"):
        rescore_runs(read_runs([log]), truth, "q_value", 0.1)
    for col in ("test_auroc", "match_fraction", "match_any", "false_positive_rate", "coverage"):
        assert runs[col].between(0, 1).all(), col
    np.testing.assert_allclose(runs["false_positive_rate"],
                               runs["match_any"] - runs["match_fraction"])
    assert (tmp_path / "pool_size_sweep.png").stat().st_size > 1000
    assert len(pd.read_csv(tmp_path / "runs.csv")) == 2
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["n_runs"] == 2 and "pool4_match_fraction_mean" in metrics


def test_activation_comparison_end_to_end(tiny, tmp_path):
    runs, summary = activation_comparison(tiny, models=("cnn_50",), activations=("relu", "exponential"),
                                          seeds=(0,), epochs=1, batch_size=64, out_dir=tmp_path)
    assert list(summary["activation"]) == ["relu", "exponential"]
    assert list(runs["activation"]) == ["relu", "exponential"]
    assert summary["published_match_fraction"].iloc[0] == PUBLISHED_ACTIVATION[("cnn_50", "relu")]
    assert np.isnan(summary["published_match_fraction"].iloc[1])
    assert (tmp_path / "activation_comparison.png").exists()


def test_summary_mean_and_best_k():
    runs = pd.DataFrame({
        "model": ["a"] * 4, "activation": ["relu"] * 4, "seconds": [1.0] * 4,
        "match_fraction": [0.1, 0.5, 0.3, 0.9], "test_auroc": [0.8, 0.9, 0.7, 0.6],
        "test_aupr": 0.5, "match_any": 1.0, "false_positive_rate": 0.0, "coverage": 0.5,
    })
    s = summarise(runs, ["model", "activation"], best=3).iloc[0]
    assert s["match_fraction_mean"] == pytest.approx(0.45)
    assert s["best3_match_fraction"] == pytest.approx((0.9 + 0.5 + 0.3) / 3)
    assert s["test_auroc_std"] == pytest.approx(np.std([0.8, 0.9, 0.7, 0.6], ddof=1))
    assert s["n_runs"] == 4 and s["seconds"] == 4.0
