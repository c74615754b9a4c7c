"""Tomtom comparison (memelite) wrapped for Motif objects."""

from pathlib import Path

import numpy as np
import pytest

from seqlens.alphabet import PROTEIN
from seqlens.io.motifs import read_jaspar
from seqlens.motifs import Motif
from seqlens.motifs.tomtom import COLUMNS, benjamini_hochberg, tomtom

JASPAR2016 = Path(__file__).resolve().parents[2] / "src" / "seqlens" / "data" / "jaspar2016_vertebrates.pfm"
KOO_EDDY = ["MA0151.1", "MA0466.2", "MA0477.1", "MA0062.2", "MA0496.1", "MA0058.3", "MA0052.3",
            "MA0502.1", "MA0079.3", "MA0083.3", "MA0137.3", "MA0095.2"]


@pytest.fixture(scope="module")
def db() -> list[Motif]:
    return read_jaspar(JASPAR2016)


@pytest.fixture(scope="module")
def by_id(db) -> dict[str, Motif]:
    return {m.name: m for m in db}


def test_self_match_ranks_first_with_smallest_p(db, by_id):
    sp1 = by_id["MA0079.3"]
    table = tomtom(sp1, db)
    assert list(table.columns) == COLUMNS
    assert len(table) == len(db)
    best, second = table.iloc[0], table.iloc[1]
    assert (best.target, best.target_name, best.strand) == ("MA0079.3", "SP1", "+")
    assert (best.offset, best.overlap) == (0, 11)
    assert best.p_value == table.p_value.min() and best.p_value < 1e-20
    assert second.p_value > 1e3 * best.p_value  # the next one (SP2) is far behind
    assert table.p_value.is_monotonic_increasing
    assert (table["query"] == "MA0079.3").all() and (table.query_name == "SP1").all()
    assert table.target_index.iloc[0] == db.index(sp1)


def test_every_koo_eddy_motif_finds_itself(db, by_id):
    table = tomtom([by_id[i] for i in KOO_EDDY], db, top_n=1)
    assert list(table["query"]) == KOO_EDDY
    assert list(table.target) == KOO_EDDY
    assert (table.e_value < 1e-5).all()


def test_reverse_complement_matches_on_minus_strand(db, by_id):
    sp1 = by_id["MA0079.3"]
    best = tomtom(sp1.reverse_complement(), db, top_n=1).iloc[0]
    assert (best["query"], best.target, best.strand, best.offset, best.overlap) == (
        "MA0079.3_rc", "MA0079.3", "-", 0, 11)
    # one strand only: the reverse complement no longer matches its source best
    forward_only = tomtom(sp1.reverse_complement(), db, reverse_complement=False)
    assert (forward_only.strand == "+").all()
    row = forward_only[forward_only.target == "MA0079.3"].iloc[0]
    assert row.p_value > 1e6 * best.p_value


def test_offset_and_overlap_of_a_sub_motif(db, by_id):
    sp1 = by_id["MA0079.3"]
    best = tomtom(sp1[2:9], db, top_n=1).iloc[0]
    assert (best.target, best.strand, best.offset, best.overlap) == ("MA0079.3", "+", 2, 7)
    # on the other strand the sub-motif sits at 11 - 9 = 2 from the start of the reversed target
    best_rc = tomtom(sp1[2:9].reverse_complement(), db, top_n=1).iloc[0]
    assert (best_rc.target, best_rc.strand, best_rc.offset, best_rc.overlap) == ("MA0079.3", "-", 2, 7)


def test_e_and_q_values(db, by_id):
    queries = [by_id["MA0095.2"], by_id["MA0083.3"]]
    table = tomtom(queries, db)
    assert len(table) == 2 * len(db)
    np.testing.assert_allclose(table.e_value, table.p_value * len(db))
    for _, group in table.groupby("query_index"):
        np.testing.assert_allclose(group.q_value, benjamini_hochberg(group.p_value.to_numpy()))
        assert group.q_value.is_monotonic_increasing  # sorted by p, so q is sorted too
        assert (group.q_value >= group.p_value).all() and (group.q_value <= 1).all()
    top = tomtom(queries, db, top_n=5)
    assert len(top) == 10 and list(top.query_index) == [0] * 5 + [1] * 5
    full_top = table.groupby("query_index").head(5).reset_index(drop=True)
    np.testing.assert_array_equal(top.target_index, full_top.target_index)
    np.testing.assert_allclose(top.q_value, full_top.q_value)  # q over all targets, not the top 5
    strict = tomtom(queries, db, max_e_value=0.01)
    assert len(strict) >= 2 and (strict.e_value <= 0.01).all()
    assert len(tomtom(queries, db, max_q_value=0.05)) == int((table.q_value <= 0.05).sum())
    assert len(tomtom(queries, db, max_p_value=1e-6)) == int((table.p_value <= 1e-6).sum())


def test_benjamini_hochberg_hand_computed():
    # sorted: .01 .03 .04 .5 -> p n / rank: .04 .06 .0533 .5 -> running min from the top end
    q = benjamini_hochberg([0.01, 0.04, 0.03, 0.5])
    np.testing.assert_allclose(q, [0.04, 0.16 / 3, 0.16 / 3, 0.5])
    np.testing.assert_allclose(benjamini_hochberg([[0.9, 0.8]]), [[0.9, 0.9]])
    assert benjamini_hochberg([1.0, 1.0]).max() == 1.0


def test_counts_and_probabilities_give_the_same_result(db, by_id):
    yy1 = by_id["MA0095.2"]
    as_probs = Motif(yy1.probabilities(), name="yy1p")
    a = tomtom(yy1, db, top_n=3)
    b = tomtom(as_probs, db, top_n=3)
    np.testing.assert_array_equal(a.target_index, b.target_index)
    np.testing.assert_allclose(a.p_value, b.p_value)


def test_protein_motifs_one_strand():
    rng = np.random.default_rng(0)
    prot = [Motif(rng.dirichlet(np.full(20, 0.3), size=8).T, name=f"p{i}", alphabet=PROTEIN)
            for i in range(30)]
    table = tomtom(prot[:3], prot, top_n=1)
    assert list(table.target) == ["p0", "p1", "p2"] and (table.strand == "+").all()
    with pytest.raises(ValueError, match="no reverse complement"):
        tomtom(prot[0], prot, reverse_complement=True)


def test_errors(db, by_id):
    with pytest.raises(ValueError, match="at least one query and one target"):
        tomtom([], db)
    with pytest.raises(ValueError, match="at least one query and one target"):
        tomtom(by_id["MA0079.3"], [])
    with pytest.raises(ValueError, match="alphabet"):
        tomtom(by_id["MA0079.3"], [Motif(np.full((20, 3), 0.05), name="p", alphabet=PROTEIN)])
    with pytest.raises(TypeError, match="Motif objects"):
        tomtom([np.eye(4)], db)
    with pytest.raises(ValueError, match="top_n"):
        tomtom(by_id["MA0079.3"], db, top_n=0)
    with pytest.warns(UserWarning, match="target motifs"):
        tomtom(by_id["MA0079.3"], db[:5])
