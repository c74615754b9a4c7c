"""Motif discovery on small planted cases: seqlets, patterns, CWMs, hits, truth scores, HDF5."""

import numpy as np
import pandas as pd
import pytest

from seqlens.errors import SeqlensError
from seqlens.interpret.discovery import (
    aligned_windows,
    call_hits,
    discover,
    find_patterns,
    match_hits,
    read_modisco_h5,
    seqlets,
    trim_span,
    write_modisco_h5,
)
from seqlens.interpret.discovery.patterns import pattern_similarity
from seqlens.interpret.discovery.seqlets import fdr_threshold, laplace_null, window_sums

from .discovery_cases import MOTIF, WEIGHTS, onehot, planted, revcomp


def test_seqlets_exactly_at_planted_bumps():
    rng = np.random.default_rng(1)
    N, L = 30, 100
    X = onehot(["".join(rng.choice(list("ACGT"), L)) for _ in range(N)])
    attr = rng.normal(0, 0.01, X.shape).astype(np.float32)
    bumps = {3: (40, 1.0), 7: (10, 1.0), 12: (70, -1.0), 20: (0, 1.0)}
    for i, (p, sign) in bumps.items():
        attr[i, :, p:p + 8] += sign * X[i, :, p:p + 8]
    df = seqlets(attr, X, window=8, flank=2, random_state=0)
    assert len(df) == len(bumps)
    got = {r.seq: (r.core_start, r.core_end, r.sign, r.start, r.end) for r in df.itertuples()}
    for i, (p, sign) in bumps.items():
        assert got[i] == (p, p + 8, sign, max(p - 2, 0), p + 10)
    assert list(df.columns) == ["seqlet", "seq", "start", "end", "core_start", "core_end", "sign",
                                "score"]
    assert df["seqlet"].tolist() == list(range(len(df)))
    assert df.attrs["null"] == "permutation" and df.attrs["threshold_positive"] > 0.1
    assert df.loc[df["seq"] == 3, "score"].item() == pytest.approx(
        (attr[3] * X[3])[:, 40:48].sum(), rel=1e-5)


def test_seqlets_merge_overlapping_windows_and_are_deterministic():
    rng = np.random.default_rng(2)
    X = onehot(["".join(rng.choice(list("ACGT"), 60)) for _ in range(10)])
    attr = rng.normal(0, 0.01, X.shape).astype(np.float32)
    attr[0, :, 20:26] += X[0, :, 20:26]  # one bump wider than the window: one seqlet
    attr[1, :, 10:14] += X[1, :, 10:14]  # two bumps 30 apart: two seqlets
    attr[1, :, 40:44] += X[1, :, 40:44]
    a = seqlets(attr, X, window=4, flank=1, random_state=3)
    assert a.groupby("seq").size().to_dict() == {0: 1, 1: 2}
    assert 20 <= a.loc[a["seq"] == 0, "core_start"].item() <= 22
    assert sorted(a.loc[a["seq"] == 1, "core_start"]) == [10, 40]
    pd.testing.assert_frame_equal(a, seqlets(attr, X, window=4, flank=1, random_state=3))


def test_seqlet_nulls():
    rng = np.random.default_rng(3)
    values = rng.laplace(0.5, 2.0, 200_000)
    fit = laplace_null(values)
    assert fit["mu"] == pytest.approx(0.5, abs=0.2)
    assert fit["lambda_pos"] == pytest.approx(0.5, rel=0.25)
    assert window_sums(np.arange(6.0)[None], 3).tolist() == [[3.0, 6.0, 9.0, 12.0]]
    # FDR threshold: 100 null-like values under a uniform tail and 10 large ones
    obs = np.r_[np.linspace(0, 1, 100), np.full(10, 10.0)]
    t = fdr_threshold(obs, lambda s: np.clip(1.01 - s, 0, 1) / 1.01, fdr=0.05)
    assert t == 10.0
    assert fdr_threshold(obs, lambda s: np.ones_like(s), fdr=0.05) == np.inf
    assert fdr_threshold(obs, lambda s: np.ones_like(s), fdr=0.05, min_frac=0.05) == 10.0
    attr, X, _, _ = planted(20)
    laplace = seqlets(attr, X, window=8, null="laplace", min_windows_frac=0.01)
    maps = seqlets(attr, X, window=8, null=attr[:, :, ::-1] * 0.1, null_X=X)
    assert laplace.attrs["null"] == "laplace" and len(laplace) >= 20
    assert maps.attrs["null"] == "maps" and (maps["sign"] > 0).sum() == 20


@pytest.mark.parametrize("kw, match", [
    (dict(window=0), "window"), (dict(fdr=1.5), "fdr"), (dict(null="gauss"), "null"),
    (dict(sign="up"), "sign"), (dict(null=np.zeros((2, 4, 80))), "null_X")])
def test_seqlets_refuse_bad_arguments(kw, match):
    attr, X, _, _ = planted(4)
    with pytest.raises(SeqlensError, match=match):
        seqlets(attr, X, **kw)


def test_seqlets_refuse_bad_maps():
    attr, X, _, _ = planted(4)
    with pytest.raises(SeqlensError, match="shape"):
        seqlets(attr[:, :, :-1], X)
    bad = attr.copy()
    bad[2, 1, 5] = np.nan
    with pytest.raises(SeqlensError, match="sequence 2"):
        seqlets(bad, X)


# ------------------------------------------------------------------------------------ patterns
def test_clustering_merges_a_motif_and_its_reverse_complement():
    attr, X, starts, strands = planted(60)
    table = seqlets(attr, X, window=10, flank=3, random_state=0)
    assert len(table) == 60
    patterns = find_patterns(attr, X, table, min_seqlets=10)
    assert len(patterns) == 1
    p = patterns[0]
    assert p.name == "pos_0" and p.sign == 1 and p.n_seqlets == 60
    assert p.consensus() in (MOTIF, revcomp(MOTIF))
    s = p.seqlets.sort_values("seq")
    # one orientation per planted strand, and each window at the same offset from its site
    rel = s["strand"].to_numpy() * strands
    assert len(set(rel)) == 1
    site_col = np.where(s["strand"] > 0, starts - s["start"], s["end"] - (starts + len(MOTIF)))
    assert len(set(site_col)) == 1
    assert p.trim[1] - p.trim[0] == len(MOTIF)
    assert (s["similarity"] > 0.9).all()


def test_cwm_is_the_mean_of_the_aligned_seqlets():
    attr, X, _, _ = planted(40, seed=4)
    p = find_patterns(attr, X, seqlets(attr, X, window=10, flank=3), min_seqlets=10)[0]
    s = p.seqlets
    hyp, x = aligned_windows([attr, X], s["seq"], s["start"], s["strand"], p.width)
    np.testing.assert_allclose(p.cwm, (hyp * x).mean(0), atol=1e-6)
    np.testing.assert_allclose(p.hcwm, hyp.mean(0), atol=1e-6)
    inside = x.sum(1).sum(0)
    np.testing.assert_allclose(p.pwm[:, inside > 0], (x.sum(0) / inside)[:, inside > 0], atol=1e-9)
    np.testing.assert_allclose(p.pwm.sum(0), 1.0)
    motif = p.motif()
    assert motif.width == p.trim[1] - p.trim[0] and motif.n_sites == pytest.approx(40)


def test_aligned_windows_reverse_complement_and_edges():
    X = onehot(["ACGTTA"])
    fwd, = aligned_windows([X], [0], [1], [1], 3)
    rev, = aligned_windows([X], [0], [1], [-1], 3)
    edge, = aligned_windows([X], [0], [4], [1], 4)
    letters = np.array(list("ACGT"))
    assert "".join(letters[fwd[0].argmax(0)]) == "CGT"
    assert "".join(letters[rev[0].argmax(0)]) == "ACG"  # reverse complement of CGT
    assert edge[0, :, 2:].sum() == 0 and "".join(letters[edge[0, :, :2].argmax(0)]) == "TA"


def test_two_motifs_make_two_patterns_and_similarity_is_symmetric():
    a1, X1, _, _ = planted(40, seed=5)
    rng = np.random.default_rng(6)
    other = "CCGGAAGT"
    seqs = []
    a2 = rng.normal(0, 0.02, (40, 4, 80)).astype(np.float32)
    for _ in range(40):
        s = list(rng.choice(list("ACGT"), 80))
        st = int(rng.integers(2, 70))
        s[st:st + 8] = other
        seqs.append("".join(s))
    X2 = onehot(seqs)
    for i, s in enumerate(seqs):
        st = s.index(other)
        a2[i, :, st:st + 8] += 1.5 * X2[i, :, st:st + 8]
    attr, X = np.concatenate([a1, a2]), np.concatenate([X1, X2])
    patterns = find_patterns(attr, X, seqlets(attr, X, window=10, flank=3), min_seqlets=10)
    assert sorted(p.consensus() for p in patterns) in (sorted([MOTIF, other]),
                                                      sorted([revcomp(MOTIF), other]),
                                                      sorted([MOTIF, revcomp(other)]),
                                                      sorted([revcomp(MOTIF), revcomp(other)]))
    assert sorted(p.n_seqlets for p in patterns) == [40, 40]
    import torch

    sim = pattern_similarity(torch.randn(3, 4, 9))
    np.testing.assert_allclose(sim, sim.T, atol=1e-5)
    np.testing.assert_allclose(np.diag(sim), 1.0, atol=1e-5)


def test_trim_span():
    cwm = np.zeros((4, 10))
    cwm[0, 3], cwm[1, 6], cwm[2, 8] = 1.0, -0.5, 0.1
    assert trim_span(cwm, 0.3, 0) == (3, 7)
    assert trim_span(cwm, 0.3, 1) == (2, 8)
    assert trim_span(np.zeros((4, 5))) == (0, 5)


# ---------------------------------------------------------------------------------------- hits
def test_hits_find_planted_instances_at_their_positions_and_strands():
    attr, X, starts, strands = planted(50, seed=7)
    p = find_patterns(attr, X, seqlets(attr, X, window=10, flank=3), min_seqlets=10)[0]
    # fdr 0.01: no chance 6-of-8 match of the 5,300 windows either
    hits = call_hits([p], attr, X, names=[f"s{i}" for i in range(50)], fdr=0.01)
    assert len(hits) == 50 and hits["seq"].tolist() == list(range(50))
    assert hits["name"].tolist() == [f"s{i}" for i in range(50)]
    assert (hits["end"] - hits["start"] == len(MOTIF)).all()
    # the trimmed pattern is the motif: hits start at the sites, strand relative to the pattern
    assert (hits["start"].to_numpy() == starts).all()
    want = np.where(strands * (1 if p.consensus() == MOTIF else -1) > 0, "+", "-")
    assert (hits["strand"].to_numpy() == want).all()
    assert list(hits.columns) == ["seq", "name", "start", "end", "strand", "pattern", "score",
                                  "similarity", "contribution", "seq_score"]
    assert set(hits.attrs["thresholds"]) == {"pos_0"}


def test_hits_of_a_negative_pattern_are_its_negative_sites():
    attr, X, starts, _ = planted(40, seed=11)
    attr = -attr  # a model reading the motif as a repressor
    p = find_patterns(attr, X, seqlets(attr, X, window=10, flank=3), min_seqlets=10)[0]
    assert p.name == "neg_0" and p.sign == -1
    hits = call_hits([p], attr, X, fdr=0.01)
    # signed CWM vs signed contributions: the sites match at similarity ~1, contribution > 0
    assert hits["seq"].tolist() == list(range(40)) and (hits["start"].to_numpy() == starts).all()
    assert (hits["similarity"] > 0.95).all() and (hits["contribution"] > 5).all()


def test_hits_need_sequence_and_contribution():
    attr, X, starts, _ = planted(30, seed=8)
    p = find_patterns(attr, X, seqlets(attr, X, window=10, flank=3), min_seqlets=10)[0]
    wiped = attr.copy()
    for i in range(0, 30, 3):  # no contribution left at every third site
        wiped[i, :, starts[i]:starts[i] + 8] = 0
    hits = call_hits([p], wiped, X, fdr=0.01, min_contribution=0.5)
    assert sorted(hits["seq"]) == [i for i in range(30) if i % 3]


def test_discover_runs_every_step():
    attr, X, _, _ = planted(40, seed=9)
    from seqlens.simulate.datasets import jaspar2016

    res = discover(attr, X, window=10, flank=3, min_seqlets=10, database=jaspar2016().values())
    assert len(res.patterns) == 1 and 38 <= len(res.hits) <= 40
    assert set(res.matches["pattern"]) == {"pos_0"} and res.matches["rank"].tolist() == [0, 1, 2]
    assert set(res.seconds) == {"seqlets", "patterns", "sites", "hits", "tomtom"}
    assert res.patterns[0].n_sites >= 38  # the default site_iter=2 sets the sites' PWM


# ----------------------------------------------------------------------------------- truth
def test_match_hits_frames_tolerance_and_palindromes():
    inst = pd.DataFrame({"seq": [0, 0, 1, 2], "motif": "m", "motif_id": "x",
                         "motif_index": [0, 1, 0, 0], "start": [10, 40, 5, 20],
                         "end": [20, 50, 15, 30], "strand": ["+", "+", "-", "+"], "core": True})
    # pattern p: frame +2 nt and opposite orientation to the motif
    hits = pd.DataFrame({"seq": [0, 1, 2, 0, 2], "start": [12, 5, 27, 40, 60],
                         "end": [20, 13, 35, 48, 68], "strand": ["-", "+", "-", "-", "-"],
                         "pattern": "p"})
    ok, found, frames = match_hits(hits, inst, {"p": 0}, tolerance=3)
    assert frames["p"][0][0] == -1
    assert ok.tolist() == [True, True, False, False, False]  # row 3: other motif; row 4: nothing
    assert found.tolist() == [True, False, True, False]
    ok0, _, _ = match_hits(hits, inst, {"p": 0}, tolerance=0, palindrome_fraction=1.1)
    assert ok0.sum() == 2
    # a palindromic pattern: both orientations hit as often, both are right
    pal = pd.DataFrame({"seq": [0, 1, 2], "start": [10, 5, 20], "end": [20, 15, 30],
                        "strand": ["+", "+", "-"], "pattern": "q"})
    ok, found, frames = match_hits(pal, inst, {"q": 0})
    assert len(frames["q"]) == 2 and ok.all()


def test_pattern_truth_is_the_plurality_motif_of_a_merged_pattern():
    from seqlens.interpret.discovery import build_pattern
    from seqlens.interpret.discovery.truth import pattern_truth

    attr, X, starts, strands = planted(20, L=60, seed=5)
    pat = build_pattern(attr, X, np.arange(20), starts, strands, len(MOTIF), "neg_0", -1)

    def instances(motif_of_seq):
        return pd.DataFrame({"seq": np.arange(20), "motif": [f"m{k}" for k in motif_of_seq],
                             "motif_id": "", "motif_index": motif_of_seq, "start": starts,
                             "end": starts + len(MOTIF), "strand": "+", "core": False})

    # seqlets split 8 / 7 / 5 over three look-alike motifs: no majority, the plurality is m0
    merged = pattern_truth(pat, instances(np.repeat([0, 1, 2], [8, 7, 5])))
    assert merged["truth_motif"] == "m0" and merged["truth_fraction"] == pytest.approx(0.4)
    assert merged["on_any_motif"] == pytest.approx(1.0)
    # spread over five motifs (1/5 each): under a quarter, no truth motif
    spread = pattern_truth(pat, instances(np.repeat(np.arange(5), 4)))
    assert spread["truth_motif_index"] == -1 and spread["truth_fraction"] == pytest.approx(0.2)
    assert pattern_truth(pat, instances(np.repeat([0, 1, 2], [8, 7, 5])),
                         min_fraction=0.5)["truth_motif_index"] == -1


def test_score_discovery_splits_hit_precision_by_sign_and_locates_wrong_hits():
    from seqlens.interpret.discovery import build_pattern, score_discovery

    attr, X, starts, strands = planted(20, L=60, seed=5)
    pos = build_pattern(attr, X, np.arange(20), starts, strands, len(MOTIF), "pos_0", 1)
    neg = build_pattern(attr, X, np.arange(20), starts, strands, len(MOTIF), "neg_0", -1)
    inst = pd.DataFrame({"seq": np.r_[np.arange(20), 0], "motif": ["m"] * 20 + ["d"],
                         "motif_id": "", "motif_index": [0] * 20 + [1],
                         "start": np.r_[starts, (starts[0] + 30) % 50],
                         "end": np.r_[starts, (starts[0] + 30) % 50] + len(MOTIF),
                         "strand": np.where(np.r_[strands, 1] > 0, "+", "-"),
                         "core": [True] * 20 + [False]})
    fwd = lambda i: "+" if strands[i] > 0 else "-"  # noqa: E731 - the pattern is in MOTIF's frame
    d0 = int(inst["start"].iloc[-1])
    hits = pd.DataFrame({"seq": [1, 2, 0, 3, 4], "pattern": ["pos_0"] * 3 + ["neg_0"] * 2,
                         "start": [starts[1], starts[2], d0, starts[3], 59 - len(MOTIF)],
                         "strand": [fwd(1), fwd(2), "+", fwd(3), "+"]})
    hits["end"] = hits["start"] + len(MOTIF)
    metrics, table = score_discovery([pos, neg], hits, inst, [{"name": "m", "id": ""},
                                                              {"name": "d", "id": ""}])
    assert table["truth_motif"].tolist() == ["m", "m"]
    # pos_0: 2 of 3 right (the third lies on the decoy d); neg_0: 1 of 2 (the other on background)
    assert metrics["hit_precision"] == pytest.approx(3 / 5)
    assert metrics["hit_precision_positive"] == pytest.approx(2 / 3)
    assert metrics["hit_precision_negative"] == pytest.approx(1 / 2)
    assert metrics["false_hits_on_other_instances"] == pytest.approx(1 / 2)
    assert metrics["hit_recall"] == pytest.approx(3 / 20)


def test_family_test_uses_jaspar_families_then_classes_then_tomtom():
    from seqlens.interpret.discovery.truth import family_test
    from seqlens.motifs.motif import Motif
    from seqlens.simulate.datasets import jaspar2016

    db = jaspar2016()  # read from a file: no annotations, so they come from JASPAR 2016
    # a copy of CEBPB's matrix without any annotation: only Tomtom (against all 519) can place it
    same = family_test([*db.values(), Motif(db["MA0466.2"].matrix.copy(), name="mine")])
    assert same("MA0466.2", "MA0836.1")  # CEBPB ~ CEBPD: C/EBP-related
    assert same("MA0079.3", "MA0733.1")  # SP1 ~ EGR4: three-zinc finger Kruppel-related
    assert same("MA0466.2", "MA0466.1")  # versions of one profile
    assert not same("MA0466.2", "MA0079.3")
    assert not same("MA0058.3", "MA0821.1")  # MAX (bHLH-ZIP) vs HES5 (Hairy-related): families differ
    assert same("mine", "MA0466.2") and not same("mine", "MA0079.3")
    assert not same("", "MA0466.2")


def test_score_discovery_family_level_counts_a_family_mate_decoy_hit():
    from seqlens.interpret.discovery import build_pattern, score_discovery
    from seqlens.interpret.discovery.truth import family_test
    from seqlens.simulate.datasets import get_motifs

    attr, X, starts, strands = planted(20, L=60, seed=5)
    pat = build_pattern(attr, X, np.arange(20), starts, strands, len(MOTIF), "pos_0", 1)
    # truth: the pattern's motif (CEBPB) in every sequence; a CEBPD decoy and an SP1 decoy elsewhere
    dec = (starts[:2] + 30) % 50
    inst = pd.DataFrame({"seq": np.r_[np.arange(20), 0, 1], "motif": ["CEBPB"] * 20 + ["CEBPD", "SP1"],
                         "motif_id": ["MA0466.2"] * 20 + ["MA0836.1", "MA0079.3"],
                         "motif_index": [0] * 20 + [1, 2], "start": np.r_[starts, dec],
                         "end": np.r_[starts, dec] + len(MOTIF),
                         "strand": np.where(np.r_[strands, 1, 1] > 0, "+", "-"),
                         "core": [True] * 20 + [False, False]})
    motifs = [{"name": "CEBPB", "id": "MA0466.2"}, {"name": "CEBPD", "id": "MA0836.1"},
              {"name": "SP1", "id": "MA0079.3"}]
    fwd = ["+" if s > 0 else "-" for s in strands]
    hits = pd.DataFrame({"seq": [2, 3, 4, 0, 1], "pattern": "pos_0",
                         "start": [starts[2], starts[3], starts[4], dec[0], dec[1]],
                         "strand": [fwd[2], fwd[3], fwd[4], "+", "+"]})
    hits["end"] = hits["start"] + len(MOTIF)
    # the pattern's best Tomtom match is CEBPD, not CEBPB
    matches = pd.DataFrame({"pattern": ["pos_0"], "rank": [0], "target": ["MA0836.1"],
                            "target_name": ["CEBPD"], "q_value": [0.01]})
    same = family_test(get_motifs(["MA0466.2", "MA0836.1", "MA0079.3"]))
    metrics, _ = score_discovery([pat], hits, inst, motifs, matches, families=same)
    assert metrics["core_recovered"] == 0 and metrics["core_recovered_family"] == 1
    assert metrics["recovered_family_cebpb"]
    # strict: 3 of 5 (CEBPD and SP1 decoys wrong); family: CEBPD's is right too, SP1's still wrong
    assert metrics["hit_precision"] == pytest.approx(3 / 5)
    assert metrics["hit_precision_family"] == pytest.approx(4 / 5)
    assert metrics["hit_precision_positive_family"] == pytest.approx(4 / 5)
    assert metrics["hit_recall"] == metrics["hit_recall_family"] == pytest.approx(3 / 20)
    without, _ = score_discovery([pat], hits, inst, motifs, matches)
    assert "hit_precision_family" not in without and without["hit_precision"] == pytest.approx(3 / 5)


# ------------------------------------------------------------------------------- HDF5 layout
def test_modisco_h5_round_trip(tmp_path):
    import h5py

    from seqlens.interpret.discovery import refine_sites

    attr, X, _, _ = planted(30, seed=10)
    patterns = find_patterns(attr, X, seqlets(attr, X, window=10, flank=3), min_seqlets=10)
    assert read_modisco_h5(write_modisco_h5(tmp_path / "s.h5", patterns, attr, X))[0].site_pwm is None
    refine_sites(patterns, attr, X)
    path = write_modisco_h5(tmp_path / "m.h5", patterns, attr, X)
    with h5py.File(path, "r") as fh:
        assert fh.attrs["window_size"] == 80 and list(fh["pos_patterns"]) == ["pattern_0"]
        g = fh["pos_patterns/pattern_0"]
        assert g["contrib_scores"].shape == (patterns[0].width, 4)
        assert g["seqlets/n_seqlets"][0] == 30
        assert g["seqlets/contrib_scores"].shape == (30, patterns[0].width, 4)
        np.testing.assert_allclose(g["seqlets/contrib_scores"][()].mean(0), patterns[0].cwm.T,
                                   atol=1e-6)
    back = read_modisco_h5(path)
    assert [p.name for p in back] == ["pos_0"]
    np.testing.assert_allclose(back[0].cwm, patterns[0].cwm)
    np.testing.assert_allclose(back[0].pwm, patterns[0].pwm)
    np.testing.assert_allclose(back[0].site_pwm, patterns[0].site_pwm)  # the sites' PWM kept
    assert back[0].n_sites == patterns[0].n_sites >= 30
    assert back[0].trim == patterns[0].trim
    cols = ["seq", "start", "end", "strand"]
    pd.testing.assert_frame_equal(back[0].seqlets[cols], patterns[0].seqlets[cols])
    with h5py.File(tmp_path / "other.h5", "w") as fh:
        fh["x"] = np.zeros(3)
    with pytest.raises(SeqlensError, match="not a tfmodisco-lite"):
        read_modisco_h5(tmp_path / "other.h5")


def test_max_seqlets_keeps_the_strongest():
    attr, X, _, _ = planted(30, seed=12)
    attr = attr * np.linspace(0.5, 2.0, 30)[:, None, None].astype(np.float32)
    full = seqlets(attr, X, window=10, random_state=0)
    top = seqlets(attr, X, window=10, max_seqlets=5, random_state=0)
    assert len(top) == 5
    assert sorted(top["seq"]) == sorted(full.nlargest(5, "score")["seq"])
    assert top["score"].is_monotonic_decreasing


def test_seqlets_magnitude_test_drops_weak_windows_of_the_other_sign():
    rng = np.random.default_rng(5)
    N, L = 40, 100
    X = onehot(["".join(rng.choice(list("ACGT"), L)) for _ in range(N)])
    attr = rng.normal(0, 0.01, X.shape).astype(np.float32)
    for i in range(N):  # a strong positive bump in every sequence
        attr[i, :, 10:18] += X[i, :, 10:18]
    for i in range(0, N, 4):  # and a weak negative one in every fourth
        attr[i, :, 60:68] -= 0.15 * X[i, :, 60:68]
    per_sign = seqlets(attr, X, window=8, flank=0, magnitude=False, random_state=0)
    both = seqlets(attr, X, window=8, flank=0, random_state=0)
    # each sign against its own null: the weak negatives pass (their null tail is narrow)
    assert sorted(per_sign.loc[per_sign["sign"] < 0, "seq"]) == list(range(0, N, 4))
    # against the null of |S|: only the strong positives, one threshold for both signs
    assert (both["sign"] > 0).all() and sorted(both["seq"]) == list(range(N))
    assert both.attrs["threshold_positive"] == -both.attrs["threshold_negative"]


def test_refine_sites_moves_the_pwm_from_the_seqlets_to_all_instances():
    from seqlens.interpret.discovery import build_pattern, refine_sites

    attr, X, starts, strands = planted(60, L=60, seed=11, noise=0.0)
    mutated = np.arange(0, 60, 4)  # 15 forward sites read GCTTACAG: A -> C at column 1
    for i in mutated:
        col = starts[i] + 1
        attr[i, 1, col], attr[i, 0, col] = attr[i, 0, col], 0.0
        X[i, :, col] = [0, 1, 0, 0]
    # the seqlets hold all 45 unmutated sites and 5 mutated ones
    members = np.r_[np.setdiff1d(np.arange(60), mutated), mutated[:5]]
    p = build_pattern(attr, X, members, starts[members], strands[members], len(MOTIF), "pos_0", 1)
    assert p.pwm[1, 1] == pytest.approx(5 / 50) and p.site_pwm is None
    assert refine_sites([p], attr, X)[0] is p
    assert p.n_sites == 60
    np.testing.assert_allclose(p.site_pwm[:, 1], [0.75, 0.25, 0, 0])
    np.testing.assert_allclose(np.delete(p.site_pwm, 1, axis=1), np.delete(p.pwm, 1, axis=1))
    assert p.motif().metadata["n_sites"] == 60
    np.testing.assert_allclose(p.motif().counts[:, 1], [45, 15, 0, 0])
    hits = call_hits([p], attr, X)
    assert sorted(hits["seq"]) == list(range(60))
    # with only the first 30 sequences there are 30 sites for 50 seqlets: the seqlets' PWM stays
    q = build_pattern(attr, X, members, starts[members], strands[members], len(MOTIF), "pos_0", 1)
    refine_sites([q], attr[:30], X[:30])
    assert q.site_pwm is None and q.n_sites == 0


def test_score_tail_is_the_exact_null_of_the_rounded_log_odds():
    from itertools import product

    from seqlens.interpret.discovery.hits import _log_odds, score_tail

    rng = np.random.default_rng(0)
    pwm = rng.dirichlet(np.ones(4), size=4).T  # (4, 4)
    bg = np.array([0.3, 0.2, 0.2, 0.3])
    tail = score_tail(pwm, bg, bin_size=0.1)
    steps = np.round(_log_odds(pwm, bg) / 0.1).astype(int)
    # every one of the 4^4 windows, its probability under the background and its score
    prob, score = {}, []
    for letters in product(range(4), repeat=4):
        s = sum(steps[a, j] for j, a in enumerate(letters))
        prob[s] = prob.get(s, 0.0) + np.prod(bg[list(letters)])
        score.append(s)
    for s in sorted(prob):
        want = sum(v for k, v in prob.items() if k >= s)
        assert tail(s * 0.1) == pytest.approx(want)
    assert tail(max(score) * 0.1 + 0.1) == 0.0 and tail(min(score) * 0.1 - 1) == 1.0
    assert tail(np.inf) == 0.0 and tail(-np.inf) == 1.0  # no threshold reachable / every window


def test_hit_threshold_from_the_background_null_rejects_near_matches_the_seqlets_admit():
    from seqlens.interpret.discovery import build_pattern

    attr, X, starts, strands = planted(60, L=60, seed=3, noise=0.0)
    # every 6th sequence also holds CATAACTC (4 of GATTACAG's 8 letters changed) that the model
    # reads as the motif, and those 10 windows are among the pattern's 70 seqlets
    near, rows = "CATAACTC", np.arange(0, 60, 6)
    at = np.where(starts[rows] < 30, starts[rows] + 20, starts[rows] - 20)
    for i, q in zip(rows, at):
        for j, c in enumerate(near):
            X[i, :, q + j] = np.eye(4)["ACGT".index(c)]
            attr[i, :, q + j] = np.eye(4)["ACGT".index(c)] * WEIGHTS[j]
    p = build_pattern(attr, X, np.r_[np.arange(60), rows], np.r_[starts, at],
                      np.r_[strands, np.ones(10, int)], len(MOTIF), "pos_0", 1)
    planted_sites = set(zip(range(60), starts))
    # the 5% quantile of the seqlets' scores is a near match's: all 10 become hits
    old = call_hits([p], attr, X, fdr=None, quantile=0.05)
    assert set(zip(old["seq"], old["start"])) == planted_sites | set(zip(rows, at))
    # against the null, a 4-mismatch window is a chance match (p ~ 2e-3 per window, ~13 expected
    # in the 6,360 windows): rejected; the 60 planted sites (p ~ 3e-5) are kept
    new = call_hits([p], attr, X)
    assert set(zip(new["seq"], new["start"])) == planted_sites
    t = new.attrs["thresholds"]["pos_0"]
    assert t["seq_p_value"] * 6360 <= 0.1 * 60 and t["span"] == (0, 8)


def test_hit_threshold_in_chunks_is_that_of_all_windows():
    from seqlens.interpret.discovery.hits import _background, _sequence_scores, score_tail

    attr, X, _, _ = planted(60, L=80, seed=4, noise=0.05)
    p = find_patterns(attr, X, seqlets(attr, X, window=10, flank=3), min_seqlets=10)[0]
    bg = _background(X, None)
    for fdr in (0.01, 0.1, 0.5):
        whole = call_hits([p], attr, X, fdr=fdr)
        span = whole.attrs["thresholds"]["pos_0"]["span"]
        pwm = p.scan_pwm[:, span[0]:span[1]]
        every = _sequence_scores(pwm, X, bg, 4096)  # all 2 x 73 x 60 windows at once
        want = fdr_threshold(every, score_tail(pwm, bg), fdr)
        assert whole.attrs["thresholds"]["pos_0"]["seq_score"] == pytest.approx(want, abs=0)
        # chunks of 7 sequences: the same threshold and hits
        chunked = call_hits([p], attr, X, fdr=fdr, batch_size=7)
        pd.testing.assert_frame_equal(chunked, whole)
        assert chunked.attrs["thresholds"] == whole.attrs["thresholds"]
    assert len(call_hits([p], attr, X, fdr=0.5)) > len(call_hits([p], attr, X, fdr=0.01))


def test_window_contributions_are_cosine_and_sum_of_each_window():
    from seqlens.interpret.discovery import build_pattern
    from seqlens.interpret.discovery.hits import _window_contributions

    attr, X, starts, strands = planted(12, L=50, seed=9, noise=0.3)
    rng = np.random.default_rng(0)
    n, s, i = rng.integers(0, 12, 200), rng.integers(0, 2, 200), rng.integers(0, 45, 200)
    for sign in (1, -1):
        p = build_pattern(attr, X, np.arange(12), starts, strands, len(MOTIF), "p", sign)
        cwm = p.cwm[:, 1:7]
        ws, wc = _window_contributions(p, (1, 7), attr, X, n, s, i, block=64)
        for k in range(200):  # each window by its definition; the - strand against the CWM's RC
            c = (attr * X)[n[k], :, i[k]:i[k] + 6].astype(np.float64)
            ref = cwm if s[k] == 0 else cwm[::-1, ::-1]
            want = (c * ref).sum() / (np.linalg.norm(c) * np.linalg.norm(cwm))
            assert ws[k] == pytest.approx(want, abs=1e-5)
            assert wc[k] == pytest.approx(c.sum() * sign, rel=1e-5, abs=1e-5)


def test_hit_fdr_and_scan_span_options():
    attr, X, _, _ = planted(30, seed=8)
    p = find_patterns(attr, X, seqlets(attr, X, window=10, flank=3), min_seqlets=10)[0]
    with pytest.raises(SeqlensError, match="fdr"):
        call_hits([p], attr, X, fdr=1.0)
    with pytest.raises(SeqlensError, match="trim_threshold"):
        call_hits([p], attr, X, trim_threshold=1.5)
    wide = call_hits([p], attr, X, trim_threshold=0.0, fdr=0.01)
    own = call_hits([p], attr, X, trim_threshold=None, fdr=0.01)
    assert (wide["end"] - wide["start"] == p.width).all()
    assert (own["end"] - own["start"] == p.trim[1] - p.trim[0]).all()
    assert len(own) == 30
    # whole-width windows hold the same sites (one near a sequence end does not fit)
    m = own.merge(wide, on="seq", suffixes=("", "_w"))
    assert len(m) >= 29 and ((m["start_w"] <= m["start"]) & (m["end"] <= m["end_w"])).all()
