import numpy as np
import pytest

from seqlens.io.hdf5 import SPLITS, load_dataset, save_dataset
from seqlens.simulate import (
    INTERACTING_PAIRS,
    SimulationError,
    get_motifs,
    instance_table,
    jaspar2016,
    motif_interactions,
    multitask_motifs,
    regulatory_code,
    simulate_dataset,
)
from seqlens.simulate.datasets import INTERACTION_MOTIFS, MULTITASK_MOTIFS, REGULATORY_CORE
from seqlens.simulate.grammar import instance_mask, signal_mask

COUNT_P = np.array([0.50, 0.25, 0.17, 0.05, 0.03])


@pytest.fixture(scope="module")
def multitask():
    return multitask_motifs(n=3000, random_state=0)


@pytest.fixture(scope="module")
def regcode():
    return regulatory_code(n=2000, random_state=0)


def _per_sequence(ds, tab, split):
    return np.bincount(tab.loc[tab["split"] == split, "seq"], minlength=len(ds.split(split)))


def _check_truth(ds):
    """Ground truth marks exactly the instance spans, with the right (RC) matrices."""
    tab = instance_table(ds)
    motifs = {m.name: m for m in get_motifs([m["id"] for m in ds.metadata["motifs"]])}
    for split in SPLITS:
        sp = ds.split(split)
        t = tab[tab["split"] == split]
        assert np.array_equal(signal_mask(sp.truth), instance_mask(t, len(sp), ds.seq_length))
        assert np.all((sp.X * sp.truth).sum(axis=1) > 0)  # observed bases are possible
        for row in t.head(40).itertuples():
            m = motifs[row.motif_id]
            p = m.probabilities() if row.strand == "+" else m.reverse_complement().probabilities()
            np.testing.assert_allclose(sp.truth[row.seq, :, row.start:row.end], p, rtol=1e-6)
        # no two instances of a sequence overlap
        t = t.sort_values(["seq", "start"])
        same = t["seq"].to_numpy()[1:] == t["seq"].to_numpy()[:-1]
        assert np.all(t["start"].to_numpy()[1:][same] >= t["end"].to_numpy()[:-1][same])


def test_jaspar_ids_are_shipped_with_expected_names():
    db = jaspar2016()
    assert len(db) == 519
    for table in (MULTITASK_MOTIFS, REGULATORY_CORE):
        for name, ident in table.items():
            assert db[ident].alt_name.upper() == name.upper()
    for name, ident in INTERACTION_MOTIFS.items():
        assert name[:4].upper() in db[ident].alt_name.upper() or name in ("FOXN", "NFIB")
    with pytest.raises(KeyError, match="MA9999.1"):
        get_motifs(["MA9999.1"])


def test_multitask_shapes_splits_and_labels(multitask):
    ds = multitask
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (2100, 300, 600)
    assert ds.train.X.shape == (2100, 4, 200) and ds.train.Y.shape == (2100, 12)
    assert ds.metadata["tasks"] == list(MULTITASK_MOTIFS)
    assert [m["id"] for m in ds.metadata["motifs"]] == list(MULTITASK_MOTIFS.values())
    tab = instance_table(ds)
    for split in SPLITS:
        Y = ds.split(split).Y
        t = tab[tab["split"] == split]
        expected = np.zeros_like(Y)
        expected[t["seq"], t["motif_index"]] = 1
        assert np.array_equal(Y, expected)
        assert np.array_equal(Y.sum(axis=1), _per_sequence(ds, tab, split))  # distinct motifs


def test_multitask_label_frequencies_match_recipe(multitask):
    ds = multitask
    k = np.concatenate([ds.split(s).Y.sum(axis=1) for s in SPLITS]).astype(int)
    n = len(k)
    freq = np.bincount(k, minlength=6)[1:] / n
    assert k.min() >= 1 and k.max() <= 5
    assert np.all(np.abs(freq - COUNT_P) < 5 * np.sqrt(COUNT_P * (1 - COUNT_P) / n))
    # each motif is present with probability E[K] / 12
    p = (COUNT_P * np.arange(1, 6)).sum() / 12
    per_motif = np.concatenate([ds.split(s).Y for s in SPLITS]).mean(axis=0)
    assert np.all(np.abs(per_motif - p) < 5 * np.sqrt(p * (1 - p) / n))
    tab = instance_table(ds)
    assert abs((tab["strand"] == "-").mean() - 0.5) < 0.03


def test_multitask_truth(multitask):
    _check_truth(multitask)


def test_same_seed_same_dataset_different_seed_differs():
    a = multitask_motifs(n=200, length=100, random_state=5)
    b = multitask_motifs(n=200, length=100, random_state=5)
    c = multitask_motifs(n=200, length=100, random_state=6)
    for s in SPLITS:
        for attr in ("X", "Y", "truth"):
            assert np.array_equal(getattr(a.split(s), attr), getattr(b.split(s), attr))
    assert all(np.array_equal(a.extras[k], b.extras[k]) for k in a.extras)
    assert a.metadata == b.metadata and a.metadata["seed"] == 5
    assert not np.array_equal(a.train.X, c.train.X)
    r1, r2 = regulatory_code(n=100, random_state=1), regulatory_code(n=100, random_state=1)
    assert np.array_equal(r1.test.X, r2.test.X) and r1.metadata["decoy_ids"] == r2.metadata["decoy_ids"]
    i1, i2 = motif_interactions(n=100, random_state=1), motif_interactions(n=100, random_state=1)
    assert np.array_equal(i1.valid.truth, i2.valid.truth)


def test_regulatory_code_recipe(regcode):
    ds = regcode
    tab = instance_table(ds)
    Y = np.concatenate([ds.split(s).Y[:, 0] for s in SPLITS])
    assert Y.sum() == 1000 and ds.train.Y.shape == (1400, 1)
    assert len(ds.metadata["motifs"]) == 55 and len(set(ds.metadata["decoy_ids"])) == 50
    core_names = {k.upper() for k in REGULATORY_CORE}
    assert not any(m["jaspar_name"].upper() in core_names for m in ds.metadata["motifs"][5:])
    assert np.array_equal(tab["core"].to_numpy() == 1, tab["motif_index"].to_numpy() < 5)
    counts, labels = [], []
    for s in SPLITS:
        counts.append(_per_sequence(ds, tab, s))
        labels.append(ds.split(s).Y[:, 0])
        t = tab[tab["split"] == s]
        pos = ds.split(s).Y[t["seq"], 0] == 1
        assert np.all(t["core"].to_numpy()[pos] == 1)  # positives hold only core motifs
    counts, labels = np.concatenate(counts), np.concatenate(labels)
    assert counts.min() == 3 and counts.max() <= 7
    freq = np.bincount(counts - 3, minlength=5) / len(counts)
    assert np.all(np.abs(freq - COUNT_P) < 5 * np.sqrt(COUNT_P * (1 - COUNT_P) / len(counts)) + 1e-9)
    # negatives draw from 10 core + 100 decoy PWMs: core with probability 10 / 110 per instance
    neg = np.concatenate([ds.split(s).Y[tab.loc[tab["split"] == s, "seq"], 0] == 0 for s in SPLITS])
    neg_core = np.concatenate([tab.loc[tab["split"] == s, "core"].to_numpy() for s in SPLITS])[neg]
    p = 10 / 110
    assert abs(neg_core.mean() - p) < 5 * np.sqrt(p * (1 - p) / len(neg_core))
    _check_truth(ds)


def _rule_holds(t, pairs, spacing=None, orientation=None):
    """Whether a sequence's instances contain an interacting pair following the rule."""
    rows = list(t.itertuples())
    for a, b in pairs:
        for x in rows:
            for y in rows:
                if x.motif != a or y.motif != b:
                    continue
                gap = y.start - x.end if x.start < y.start else x.start - y.end
                if spacing is not None and not spacing[0] <= gap <= spacing[1]:
                    continue
                if orientation == "same" and x.strand != y.strand:
                    continue
                if orientation == "opposite" and x.strand == y.strand:
                    continue
                return True
    return False


@pytest.mark.parametrize("spacing,orientation", [(None, None), ((5, 12), "same"), ((0, 4), None)])
def test_motif_interactions_label_follows_pair_rule(spacing, orientation):
    ds = motif_interactions(n=400, random_state=2, spacing=spacing, orientation=orientation)
    assert ds.metadata["interacting_pairs"] == [list(p) for p in INTERACTING_PAIRS]
    assert ds.metadata["non_interacting"] == ["CEBPB", "YY1", "NFIB", "TEAD"]
    tab = instance_table(ds)
    n_pos = 0
    for s in SPLITS:
        Y = ds.split(s).Y[:, 0]
        n_pos += Y.sum()
        groups = dict(tuple(tab[tab["split"] == s].groupby("seq")))
        for i in range(len(Y)):
            assert _rule_holds(groups[i], INTERACTING_PAIRS, spacing, orientation) == bool(Y[i])
            assert 2 <= len(groups[i]) <= 4
    assert n_pos == 200
    if spacing is not None:  # hard negatives hold a complete pair that breaks the rule
        hard = tab[(tab["pair"] >= 0) & (tab["interacting"] == 0)]
        assert 0.3 < hard.groupby(["split", "seq"]).ngroups / 200 < 0.7
    _check_truth(ds)


def test_save_and_load_round_trip(tmp_path, regcode):
    path = save_dataset(tmp_path / "rc.h5", regcode)
    back = load_dataset(path)
    for s in SPLITS:
        assert np.array_equal(back.split(s).X, regcode.split(s).X)
        assert np.array_equal(back.split(s).truth, regcode.split(s).truth)
    assert back.metadata == regcode.metadata
    assert instance_table(back).equals(instance_table(regcode))


def test_impossible_dataset_requests():
    with pytest.raises(SimulationError, match="length is 40"):
        multitask_motifs(n=10, length=40)
    with pytest.raises(SimulationError, match="length is 50"):
        regulatory_code(n=10, length=50)
    with pytest.raises(SimulationError, match="do not fit"):
        motif_interactions(n=50, length=30)
    with pytest.raises(SimulationError, match="n must be at least 3"):
        multitask_motifs(n=2)
    with pytest.raises(SimulationError, match="unknown dataset"):
        simulate_dataset("nope")
    with pytest.raises(SimulationError, match="orientation"):
        motif_interactions(n=10, orientation="sideways")
    assert simulate_dataset("multitask_motifs", n=10, length=80, random_state=0).seq_length == 80


def test_dataset_with_gc_background():
    ds = multitask_motifs(n=300, length=120, random_state=0, background="gc", gc=0.8)
    assert ds.metadata["recipe"]["background"] == "gc (gc=0.8)"
    tab = instance_table(ds, "train")
    outside = ~instance_mask(tab, len(ds.train), 120)
    letters = ds.train.X.transpose(0, 2, 1)[outside]
    assert abs(letters[:, 1:3].sum(axis=1).mean() - 0.8) < 0.02
    assert np.array_equal(signal_mask(ds.train.truth), ~outside)
