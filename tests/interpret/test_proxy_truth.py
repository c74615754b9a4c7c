"""A proxy ground truth from motif-scan hits, for attribution maps of real data: exact columns at the
hits, scores labelled as a proxy in the CLI (``evaluate-attributions --motifs``)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from seqlens.alphabet import one_hot, reverse_complement
from seqlens.interpret.metrics import evaluate_attribution, information, proxy_truth
from seqlens.motifs.jaspar import fetch_motif

L = 120


@pytest.fixture(scope="module")
def planted():
    """40 random sequences; CTCF's consensus planted forward in 0-9 (at 10 + i) and reverse
    complemented in 10-19 (at 50); 20-39 left random."""
    ctcf = fetch_motif("MA0139.2")
    site = ctcf.consensus()
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), L)) for _ in range(40)]
    where = {}
    for i in range(10):
        seqs[i] = seqs[i][:10 + i] + site + seqs[i][10 + i + len(site):]
        where[i] = (10 + i, "+")
    for i in range(10, 20):
        seqs[i] = seqs[i][:50] + reverse_complement(site) + seqs[i][50 + len(site):]
        where[i] = (50, "-")
    X = one_hot(seqs).astype(np.float32)
    return ctcf, X, where


def test_hits_write_the_motif_columns_exactly(planted):
    ctcf, X, where = planted
    truth, hits = proxy_truth(X, [ctcf])
    W = ctcf.width
    columns = {"+": ctcf.probabilities(), "-": ctcf.reverse_complement().probabilities()}
    for i, (start, strand) in where.items():
        row = hits[(hits["sequence_index"] == i) & (hits["start"] == start)]
        assert list(row["strand"]) == [strand] and row["p_value"].iloc[0] < 1e-8
        if (hits["sequence_index"] == i).sum() == 1:  # a lone hit: its columns exactly
            np.testing.assert_allclose(truth[i, :, start:start + W], columns[strand])
    assert (hits["sequence_index"] == 0).sum() == 1
    # away from hits the proxy holds no information
    hit_rows = set(hits["sequence_index"])
    for i in set(range(len(X))) - hit_rows:
        np.testing.assert_allclose(truth[i], 0.25)
    assert set(range(20)) <= hit_rows
    info = information(truth)
    assert info[0, 10:10 + W].sum() == pytest.approx(ctcf.total_information())
    assert info[0, :10].max() == 0 and info[0, 10 + W:].max() == 0


def test_overlapping_hits_keep_the_more_informative_column(planted):
    ctcf, X, _ = planted
    truth, hits = proxy_truth(X[1:2], [ctcf])
    # sequence 1: the planted site at 11 (+) and a weak reverse hit at 9 (-) overlap
    assert sorted(zip(hits["start"], hits["strand"])) == [(9, "-"), (11, "+")]
    W = ctcf.width
    fwd, rev = ctcf.probabilities(), ctcf.reverse_complement().probabilities()
    n_weak = 0
    for pos in range(9, 11 + W):
        candidates = []  # the planted (stronger) hit first: it wins ties of information
        if 11 <= pos < 11 + W:
            candidates.append(fwd[:, pos - 11])
        if 9 <= pos < 9 + W:
            candidates.append(rev[:, pos - 9])
        bits = [information(c[None, :, None])[0, 0] for c in candidates]
        best = candidates[int(np.argmax(bits))]
        n_weak += len(candidates) == 2 and bits[1] > bits[0]
        np.testing.assert_allclose(truth[0, :, pos], best)
    assert n_weak >= 1  # the weak hit does win some columns


def test_a_map_on_the_sites_scores_high_and_noise_scores_chance(planted):
    ctcf, X, where = planted
    truth, _ = proxy_truth(X[:20], [ctcf])
    good = np.zeros(X[:20].shape)
    for i, (start, _) in where.items():
        good[i, :, start:start + ctcf.width] = X[i, :, start:start + ctcf.width]
    rng = np.random.default_rng(1)
    noise = rng.normal(size=X[:20].shape) * X[:20]
    assert evaluate_attribution(good, X[:20], truth)["auroc"] > 0.95
    assert abs(evaluate_attribution(noise, X[:20], truth)["auroc"] - 0.5) < 0.1


def _attr_file(path, X, maps):
    with h5py.File(path, "w") as fh:
        fh.create_dataset("X", data=X)
        fh.create_dataset("indices", data=np.arange(len(X)))
        for m, a in maps.items():
            fh.create_dataset(m, data=a.astype(np.float32))
        fh.attrs["metadata"] = json.dumps({"methods": list(maps), "split": "test"})


def test_cli_scores_against_motifs_as_a_labelled_proxy(planted, tmp_path, run_cli):
    ctcf, X, where = planted
    good = np.zeros(X.shape, dtype=np.float32)
    for i, (start, _) in where.items():
        good[i, :, start:start + ctcf.width] = X[i, :, start:start + ctcf.width]
    noise = (np.random.default_rng(2).normal(size=X.shape) * X).astype(np.float32)
    _attr_file(tmp_path / "attr.h5", X, {"saliency": good, "ism": noise})
    code, out, err, _ = run_cli(["evaluate-attributions", "--attr", tmp_path / "attr.h5",
                                 "--motifs", "MA0139.2", "--out", tmp_path / "ev"], tmp_path)
    assert code == 0, err
    assert "PROXY truth" in out
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["proxy_saliency_auroc"] > 0.95
    assert abs(metrics["proxy_ism_auroc"] - 0.5) < 0.15
    assert metrics["proxy_n_motifs"] == 1 and metrics["proxy_n_sequences_with_hits"] >= 20
    assert not any(k.startswith(("saliency_", "ism_")) for k in metrics)  # all labelled proxy_


def test_cli_motif_file_and_errors(planted, tmp_path, run_cli):
    from seqlens.io.motifs import write_meme

    ctcf, X, _ = planted
    _attr_file(tmp_path / "attr.h5", X, {"saliency": X.copy()})
    write_meme(tmp_path / "ctcf.meme", [ctcf])
    code, _, err, _ = run_cli(["evaluate-attributions", "--attr", tmp_path / "attr.h5",
                               "--motifs", tmp_path / "ctcf.meme", "--out", tmp_path / "ev"], tmp_path)
    assert code == 0, err
    assert json.loads((tmp_path / "ev" / "metrics.json").read_text())["proxy_n_hits"] >= 20
    # no hits: one line naming the file, nothing written
    _attr_file(tmp_path / "none.h5", X[20:], {"saliency": X[20:].copy()})
    code, _, err, added = run_cli(["evaluate-attributions", "--attr", tmp_path / "none.h5",
                                   "--motifs", "MA0139.2", "--threshold", "1e-12",
                                   "--out", tmp_path / "ev2"], tmp_path)
    assert code == 2 and "no hit" in err and "none.h5" in err and not added
    code, _, err, _ = run_cli(["evaluate-attributions", "--attr", tmp_path / "attr.h5",
                               "--motifs", "NOT_A_TF_NAME", "--out", tmp_path / "ev3"], tmp_path)
    assert code == 2 and "NOT_A_TF_NAME" in err and len(err.strip().splitlines()) == 1
    code, _, err, _ = run_cli(["evaluate-attributions", "--attr", tmp_path / "attr.h5"], tmp_path)
    assert code == 2 and "--truth" in err and "--motifs" in err
