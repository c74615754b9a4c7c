"""Filters -> motifs: extraction, clipping, weights, receptive fields, matching, statistics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from seqlens.interpret.filters import (
    activation_motifs,
    best_matches,
    clip_motif,
    filter_activations,
    filter_statistics,
    filter_weight_motifs,
    match_filters,
    motif_base_id,
    receptive_field,
    truth_hits,
)
from seqlens.io.motifs import read_jaspar
from seqlens.motifs.motif import Motif

torch.set_num_threads(1)
JASPAR2016 = Path(__file__).resolve().parents[2] / "src" / "seqlens" / "data" / \
    "jaspar2016_vertebrates.pfm"


def one_hot(seqs: list[str]) -> np.ndarray:
    idx = np.array([["ACGT".index(c) for c in s] for s in seqs])
    return np.eye(4, dtype=np.float32)[idx].transpose(0, 2, 1).copy()


def conv_model(weights, padding="same", activation=True) -> nn.Module:
    w = torch.as_tensor(np.asarray(weights), dtype=torch.float32)
    if w.ndim == 2:
        w = w[None]
    conv = nn.Conv1d(4, w.shape[0], w.shape[2], padding=padding)
    with torch.no_grad():
        conv.weight.copy_(w)
        conv.bias.zero_()
    return nn.Sequential(conv, nn.ReLU()) if activation else nn.Sequential(conv)


@pytest.fixture(scope="module")
def jaspar2016() -> list[Motif]:
    return read_jaspar(JASPAR2016)


@pytest.fixture(scope="module")
def ctcf_case(jaspar2016):
    """Random sequences, half with a sampled CTCF (MA0139.1) site; a filter equal to its log-odds."""
    ctcf = next(m for m in jaspar2016 if m.name == "MA0139.1")
    rng = np.random.default_rng(0)
    n, length = 400, 100
    X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, length))].transpose(0, 2, 1).copy()
    sites = ctcf.sample(n // 2, random_state=1)
    pos = rng.integers(0, length - ctcf.width, n // 2)
    for i in range(n // 2):
        X[i, :, pos[i]:pos[i] + ctcf.width] = sites[i]
    return ctcf, X, conv_model(ctcf.weights())


def test_log_odds_filter_recovers_its_motif(ctcf_case):
    ctcf, X, model = ctcf_case
    (m,) = activation_motifs(model, X)
    assert m.name == "filter0" and m.is_counts
    assert m.width == ctcf.width and m.metadata["clip_start"] == 0
    # nearly every planted site (and hardly any background window) passes half the maximum
    assert 150 <= m.metadata["n_sites"] <= 215
    assert m.consensus() == ctcf.consensus()
    assert np.abs(m.probabilities() - ctcf.probabilities()).max() < 0.15
    corr = np.corrcoef(m.probabilities().ravel(), ctcf.probabilities().ravel())[0, 1]
    assert corr > 0.97
    # the counts are kept: every column sums to the number of windows
    np.testing.assert_allclose(m.counts.sum(axis=0), m.metadata["n_sites"])


@pytest.mark.parametrize("distance", ["euclidean", "pearson"])
def test_recovered_filter_matches_its_jaspar_id(ctcf_case, jaspar2016, distance):
    _, X, model = ctcf_case
    motifs = activation_motifs(model, X)
    table = match_filters(motifs, jaspar2016, truth_ids=["MA0139.1"], distance=distance)
    best = best_matches(table, 1).iloc[0]
    assert best["target"] == "MA0139.1" and best["target_name"] == "CTCF"
    assert best["q_value"] < 1e-3 and best["strand"] == "+" and best["offset"] == 0
    assert best["truth"] == "MA0139.1"


def test_synonym_versions_count_in_latest_jaspar(ctcf_case):
    from seqlens.motifs.jaspar import fetch_motifs

    _, X, model = ctcf_case
    db = fetch_motifs(tax_group="vertebrates")  # newest release: CTCF is MA0139.2 there
    table = match_filters(activation_motifs(model, X), db, truth_ids=["MA0139.1"])
    best = best_matches(table, 1).iloc[0]
    assert motif_base_id(best["target"]) == "MA0139" and best["target"] != "MA0139.1"
    stats = filter_statistics(table, 1, ["MA0139.1"])
    assert stats["match_fraction"] == 1.0 and stats["coverage"] == 1.0


def test_weight_softmax_inverts_log_odds(jaspar2016):
    sp1 = next(m for m in jaspar2016 if m.name == "MA0079.3")
    p = sp1.probabilities(pseudocount=0.0)
    w = np.log2(p + 1e-9) - np.log2(0.25)
    (m,) = filter_weight_motifs(w[None], method="softmax", base=2.0)
    np.testing.assert_allclose(m.probabilities(), p, atol=1e-6)
    # normalise: shift each column to a minimum of 0, then divide by the column sum
    (n,) = filter_weight_motifs(np.array([[[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [4.0, 0.0]]]),
                                method="normalise")
    np.testing.assert_allclose(n.probabilities()[:, 0], [0, 1 / 6, 2 / 6, 3 / 6])
    np.testing.assert_allclose(n.probabilities()[:, 1], 0.25)
    # from a model: its first conv
    model = conv_model(w)
    (k,) = filter_weight_motifs(model)
    np.testing.assert_allclose(k.probabilities(), p, atol=1e-5)


def test_clipping_keeps_exactly_the_informative_columns():
    m = np.full((4, 20), 0.25)
    m[:, 6] = [0.97, 0.01, 0.01, 0.01]  # ~1.76 bits
    m[:, 8] = [0.4, 0.4, 0.1, 0.1]  # ~0.28 bits: not informative, but inside the span
    m[:, 11] = [0.01, 0.01, 0.01, 0.97]
    m[:, 15] = [0.35, 0.25, 0.25, 0.15]  # ~0.04 bits: outside
    motif = Motif.from_probabilities(m)
    tight = clip_motif(motif, min_information=0.5, pad=0)
    assert (tight.metadata["clip_start"], tight.metadata["clip_stop"]) == (6, 12)
    np.testing.assert_allclose(tight.matrix, m[:, 6:12])
    padded = clip_motif(motif, min_information=0.5, pad=3)
    assert (padded.metadata["clip_start"], padded.metadata["clip_stop"]) == (3, 15)
    # padding stops at the motif's ends
    edge = clip_motif(motif[5:14], min_information=0.5, pad=3)
    assert (edge.metadata["clip_start"], edge.metadata["clip_stop"]) == (0, 9)
    # nothing informative: returned whole
    flat = clip_motif(Motif.from_probabilities(np.full((4, 7), 0.25)))
    assert flat.width == 7 and not flat.metadata["informative"]
    assert tight.metadata["informative"]


def test_edge_windows_pad_or_skip():
    w = np.zeros((4, 3))
    w[0, 1] = 1.0  # an A in the middle column
    model = conv_model(w)
    X = one_hot(["AAAAA"])
    (pad,) = activation_motifs(model, X, edges="pad", clip=False)
    assert pad.metadata["n_sites"] == 5
    # windows start at -1..3: the first and last hang one column over, filled with background
    np.testing.assert_allclose(pad.counts[:, 0], [4.25, 0.25, 0.25, 0.25])
    np.testing.assert_allclose(pad.counts[:, 1], [5, 0, 0, 0])
    np.testing.assert_allclose(pad.counts[:, 2], [4.25, 0.25, 0.25, 0.25])
    (skip,) = activation_motifs(model, X, edges="skip", clip=False)
    assert skip.metadata["n_sites"] == 3
    np.testing.assert_allclose(skip.counts, [[3, 3, 3], [0, 0, 0], [0, 0, 0], [0, 0, 0]])


def test_threshold_and_weighting():
    w = np.zeros((4, 3))
    w[0, 1], w[1, 1] = 2.0, 1.0  # A scores 2, C scores 1 in the middle column
    model = conv_model(w)
    X = one_hot(["GAGCG"])
    (half,) = activation_motifs(model, X, threshold=0.5, edges="skip", clip=False)
    assert half.metadata["n_sites"] == 1 and half.metadata["threshold"] == pytest.approx(1.0)
    np.testing.assert_allclose(half.counts[:, 1], [1, 0, 0, 0])
    (low,) = activation_motifs(model, X, threshold=0.4, edges="skip", clip=False)
    np.testing.assert_allclose(low.counts, [[0, 1, 0], [0, 1, 0], [2, 0, 2], [0, 0, 0]])
    (wtd,) = activation_motifs(model, X, threshold=0.4, edges="skip", clip=False, weighted=True)
    np.testing.assert_allclose(wtd.counts, [[0, 2, 0], [0, 1, 0], [3, 0, 3], [0, 0, 0]])
    assert wtd.metadata["n_sites"] == 2


def test_dead_filter_gives_an_empty_motif_and_no_matches(jaspar2016):
    model = conv_model(-np.ones((4, 5)))  # relu(negative) = 0 everywhere
    (m,) = activation_motifs(model, one_hot(["ACGTACGTAC"]))
    assert m.metadata["empty"] and m.metadata["n_sites"] == 0
    np.testing.assert_allclose(m.probabilities(), 0.25)
    table = match_filters([m], jaspar2016[:30])
    assert len(table) == 0
    assert filter_statistics(table, 1, ["MA0139.1"])["match_any"] == 0.0
    # a near-uniform (uninformative) motif is not matched unless asked for
    flat = clip_motif(Motif.from_probabilities(np.full((4, 10), 0.25) + np.eye(4, 10) * 0.05))
    assert len(match_filters([flat], jaspar2016)) == 0
    assert len(match_filters([flat], jaspar2016, skip_uninformative=False)) > 0


def test_receptive_field_of_a_deeper_layer():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2),
                          nn.Conv1d(3, 2, 3, padding=1), nn.ReLU())
    assert receptive_field(model) == (3, 1, -1)
    assert receptive_field(model, "2") == (4, 2, -1)
    assert receptive_field(model, "3") == (8, 2, -3)
    assert receptive_field(model, model[4]) == (8, 2, -3)
    # gradient of one output position reaches only inputs inside its span
    X = torch.tensor(one_hot(["ACGTACGTACGTACGTACGT"]), requires_grad=True)
    model[3](model[2](model[1](model[0](X))))[0, :, 4].sum().backward()
    touched = np.flatnonzero(X.grad.abs().sum(dim=1)[0].numpy() > 0)
    assert touched.min() >= -3 + 4 * 2 and touched.max() <= -3 + 4 * 2 + 7
    acts = filter_activations(model, one_hot(["ACGTACGTACGTACGTACGT"] * 3), layer="4")
    assert acts.shape == (3, 2, 10)
    ms = activation_motifs(model, one_hot(["ACGTACGTACGTACGTACGT"] * 3), layer="4", clip=False)
    assert len(ms) == 2 and all(m.width == 8 for m in ms if not m.metadata["empty"])


def test_zoo_style_first_layer_is_used():
    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv1d(4, 2, 3, padding="same")
            self.activation1 = nn.ReLU()
            self.head = nn.Linear(2, 1)

        def first_layer_activations(self, X, pooled=False):
            return self.activation1(self.conv1(X))

        def forward(self, X):
            return self.head(self.first_layer_activations(X).amax(-1))

    model = Tiny()
    X = one_hot(["ACGTTGCA", "GGGGCCCC"])
    acts = filter_activations(model, X, batch_size=1)
    ref = model.first_layer_activations(torch.tensor(X)).detach().numpy()
    np.testing.assert_allclose(acts, ref, rtol=1e-6)
    assert (acts >= 0).all()


def toy_matches() -> pd.DataFrame:
    rows = [
        (0, "MA0001.2", 0.001, 0.01), (0, "MA0500.1", 0.02, 0.05),  # truth (other version)
        (1, "MA0999.1", 0.001, 0.05), (1, "MA0002.1", 0.3, 0.5),  # only a non-truth hit
        (2, "MA0002.1", 0.01, 0.2),  # truth hit, but q above 0.1
        (3, "MA0003.1", 0.0001, 0.001), (4, "MA0001.1", 0.0005, 0.08),
    ]
    table = pd.DataFrame(rows, columns=["filter", "target", "p_value", "q_value"])
    table["e_value"] = table["p_value"] * 100
    table["truth"] = truth_hits(table["target"], ["MA0001.1", "MA0002.1", "MA0003.1", "MA0004.1"])
    return table


def test_statistics_on_a_toy_table():
    table = toy_matches()
    truths = [t if isinstance(t, str) else None for t in table["truth"]]
    assert truths == ["MA0001.1", None, None, "MA0002.1", "MA0002.1", "MA0003.1", "MA0001.1"]
    truth = ["MA0001.1", "MA0002.1", "MA0003.1", "MA0004.1"]
    s = filter_statistics(table, 8, truth, metric="q_value", cutoff=0.1)
    assert s["match_fraction"] == 3 / 8  # filters 0, 3, 4
    assert s["match_any"] == 4 / 8  # + filter 1
    assert s["false_positive_rate"] == 1 / 8
    assert s["coverage"] == 2 / 4 and s["n_truth_covered"] == 2  # MA0001, MA0003
    e = filter_statistics(table, 8, truth, metric="e_value", cutoff=1.0)
    assert e["match_fraction"] == 4 / 8  # filter 2's e-value 1.0 counts now
    assert e["match_any"] == 5 / 8 and e["coverage"] == 3 / 4
    with pytest.raises(ValueError, match="metric"):
        filter_statistics(table, 8, truth, metric="score")


def test_synonym_mapping_and_callable():
    ids = ["MA0079.5", "MA1234.1", "KLF1"]
    assert truth_hits(ids, ["MA0079.3"]) == ["MA0079.3", None, None]
    assert truth_hits(ids, ["MA0079.3"], synonyms={"MA0079": ["MA1234.1"]}) == \
        ["MA0079.3", "MA0079.3", None]
    assert truth_hits(ids, ["MA0079.3"], synonyms=lambda t, g: t == "KLF1") == \
        ["MA0079.3", None, "MA0079.3"]


def test_meme_export_round_trips(ctcf_case, tmp_path):
    from seqlens.io.motifs import read_meme, write_meme

    _, X, model = ctcf_case
    two = conv_model(np.stack([np.asarray(model[0].weight[0].detach()), -np.ones((4, 19))]))
    motifs = activation_motifs(two, X)
    write_meme(tmp_path / "motifs.meme", motifs)
    back = read_meme(tmp_path / "motifs.meme")
    assert [m.name for m in back] == ["filter0", "filter1"]
    np.testing.assert_allclose(back[0].probabilities(), motifs[0].probabilities(), atol=1e-6)
    assert back[0].n_sites == pytest.approx(motifs[0].metadata["n_sites"]) or \
        back[0].metadata.get("nsites") == pytest.approx(motifs[0].metadata["n_sites"])
    np.testing.assert_allclose(back[1].probabilities(), 0.25)


def test_logo_grid_titles_best_matches(ctcf_case, jaspar2016):
    import matplotlib

    matplotlib.use("Agg")
    from seqlens.plot.filters import filter_logo_grid

    _, X, model = ctcf_case
    motifs = activation_motifs(model, X) + activation_motifs(conv_model(-np.ones((4, 5))), X)
    table = match_filters(motifs, jaspar2016)
    fig = filter_logo_grid(motifs, table, ncols=2)
    titles = [ax.get_title() for ax in fig.axes]
    assert "CTCF MA0139.1" in titles[0] and "q=" in titles[0]
    assert "no windows" in titles[1]


def test_cli_writes_motifs_matches_stats_and_grid(ctcf_case, tmp_path):
    from seqlens.cli import main
    from seqlens.io.hdf5 import Dataset, Split, save_dataset
    from seqlens.models import build_model, save_model

    ctcf, X, _ = ctcf_case
    model = build_model("cnn", seq_length=X.shape[2], filters=2, kernel_size=19, n_outputs=1,
                        batch_norm=False, dense=[], random_state=0)
    with torch.no_grad():
        model.conv1.weight.zero_()
        model.conv1.weight[0] = torch.tensor(ctcf.weights(), dtype=torch.float32)
        model.conv1.bias.zero_()
    save_model(model, tmp_path / "run" / "model")
    split = Split(X, np.zeros((len(X), 1), np.float32))
    meta = {"motifs": [{"name": "CTCF", "id": "MA0139.1"}, {"name": "SP1", "id": "MA0079.3"}]}
    save_dataset(tmp_path / "data.h5", Dataset(split, split, split, metadata=meta))
    out = tmp_path / "out"
    rc = main(["filters", "--model", str(tmp_path / "run"), "--data", str(tmp_path / "data.h5"),
               "--jaspar", str(JASPAR2016), "--out", str(out), "--quiet"])
    assert rc == 0
    for name in ("motifs.meme", "matches.csv", "stats.json", "filters.png", "metrics.json"):
        assert (out / name).exists(), name
    stats = json.loads((out / "stats.json").read_text())
    assert stats["match_fraction"] == 0.5 and stats["match_any"] == 0.5
    assert stats["coverage"] == 0.5 and stats["false_positive_rate"] == 0.0
    assert stats["best_matches"][0]["target"] == "MA0139.1"
    assert stats["best_matches"][1]["target"] is None
    matches = pd.read_csv(out / "matches.csv")
    assert set(matches["filter"]) == {0}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["match_fraction"] == 0.5 and metrics["n_database"] == 519


def test_receptive_field_of_zoo_cnn_blocks():
    from seqlens.models import build_model

    model = build_model("cnn_p4", n_outputs=2, random_state=0)
    assert receptive_field(model) == (19, 1, -9)
    assert receptive_field(model, "pool1") == (22, 4, -9)
    assert receptive_field(model, "blocks.0.0") == (38, 4, -17)
    assert receptive_field(model, "blocks.0") == (38 + 24 * 4, 100, -17)
    X = one_hot(["ACGT" * 50] * 2)
    ms = activation_motifs(model, X, layer="blocks.0.2", clip=False, threshold=0.9)
    assert len(ms) == 128 and {m.width for m in ms} == {38}
