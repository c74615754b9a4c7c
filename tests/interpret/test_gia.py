"""Global importance analysis on toy models with exactly known answers."""

import numpy as np
import pytest
import torch
from torch import nn

from seqlens.alphabet import one_hot, reverse_complement
from seqlens.interpret import gia
from seqlens.motifs.motif import Motif
from seqlens.shuffle import dinucleotide_shuffle  # noqa: F401  (numba warm-up shared with nulls)
from seqlens.simulate import background as bg

torch.set_num_threads(1)


def _match(X: torch.Tensor, kmer: str) -> torch.Tensor:
    """``(N, L)`` indicator that ``kmer`` starts at each position (forward strand)."""
    w = torch.as_tensor(one_hot(kmer)[0])  # (4, k)
    hits = torch.nn.functional.conv1d(X, w[None]) >= len(kmer) - 0.5  # (N, 1, L-k+1)
    hits = hits[:, 0].float()
    return torch.nn.functional.pad(hits, (0, len(kmer) - 1))


class KmerCount(nn.Module):
    """Output 0 = number of occurrences of ``kmer`` (+ ``gc_weight`` x number of G/C letters);
    output 1 = occurrences weighted by position ``i / L`` (positional toy)."""

    def __init__(self, kmer="GATA", gc_weight=0.0):
        super().__init__()
        self.kmer, self.gc_weight = kmer, gc_weight
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, X):
        m = _match(X, self.kmer)
        L = X.shape[-1]
        pos = torch.arange(L, dtype=X.dtype) / L
        count = m.sum(1) + self.gc_weight * X[:, 1:3].sum((1, 2))
        return torch.stack([count, (m * pos).sum(1)], dim=1) + self.dummy


class PairSpacing(nn.Module):
    """Output = number of (A, B) pairs, both forward, with B starting exactly ``gap`` after A ends."""

    def __init__(self, a="GATA", b="CAGCTG", gap=7):
        super().__init__()
        self.a, self.b, self.gap = a, b, gap
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, X):
        ia, ib = _match(X, self.a), _match(X, self.b)
        shift = len(self.a) + self.gap
        return (ia[:, :-shift] * ib[:, shift:]).sum(1, keepdim=True) + self.dummy


def _clean_nulls(n, length, kmers=("GATA",), seed=0):
    """Uniform random nulls without any occurrence of ``kmers`` (so f(null) = 0 exactly)."""
    X = bg.uniform(4 * n, length, random_state=seed)
    keep = np.ones(len(X), bool)
    for k in kmers:
        keep &= _match(torch.as_tensor(X), k).sum(1).numpy() == 0
    X = X[keep][:n]
    assert len(X) == n
    return X


@pytest.fixture(scope="module")
def nulls():
    return _clean_nulls(64, 40)


# ---------------------------------------------------------------- global importance, exact values

def test_kmer_count_gia_is_one_per_copy_and_zero_for_others(nulls):
    model = KmerCount()
    r = gia.global_importance(model, nulls, "GATA", 10, device="cpu")
    assert r.importance == 1.0 and r.se == 0.0 and r.n == 64
    np.testing.assert_array_equal(r.effects, 1.0)
    # letters that cannot take part in GATA: exactly zero
    assert gia.global_importance(model, nulls, "CCCC", 10, device="cpu").importance == 0.0
    # two and three copies
    two = gia.global_importance(model, nulls, ["GATA", "GATA"], [2, 20], device="cpu")
    assert two.importance == 2.0
    df, fit = gia.multiple_sites(model, nulls, "GATA", max_copies=5, device="cpu")
    np.testing.assert_allclose(df["importance"], np.arange(6))
    np.testing.assert_allclose(df["se"], 0.0)
    assert fit["r2"] == pytest.approx(1.0) and fit["slope"] == pytest.approx(1.0)
    assert fit["intercept"] == pytest.approx(0.0, abs=1e-9)


def test_strands_motif_consensus_sampled_and_iupac(nulls):
    model = KmerCount()
    # TATC on the minus strand is GATA on the plus strand
    assert gia.global_importance(model, nulls, "TATC", 5, strands="-", device="cpu").importance == 1.0
    # (on the plus strand TATC only makes GATA across a boundary with the null, e.g. GA|TA)
    assert gia.global_importance(model, nulls, "TATC", 5, strands="+", device="cpu").importance < 0.2
    probs = np.array([[.1, .7, .1, .7], [.1, .1, .1, .1], [.7, .1, .1, .1], [.1, .1, .7, .1]])
    motif = Motif(probs, name="gata")
    assert motif.consensus() == "GATA"
    assert gia.global_importance(model, nulls, motif, 5, device="cpu").importance == 1.0
    # sampled instances: expected importance = P(instance == GATA) = 0.7^4
    big = _clean_nulls(3000, 12, seed=1)
    r = gia.global_importance(model, big, motif, 4, sample=True, device="cpu", random_state=0)
    assert abs(r.importance - 0.7 ** 4) < 4 * r.se
    # IUPAC: GATW is GATA half of the time, GNTA a quarter (neither can make GATA with its flanks)
    r = gia.global_importance(model, big, "GATW", 4, device="cpu", random_state=0)
    assert abs(r.importance - 0.5) < 4 * r.se and r.se > 0
    r = gia.global_importance(model, big, "GNTA", 4, device="cpu", random_state=0)
    assert abs(r.importance - 0.25) < 4 * r.se


def test_pattern_instances_and_errors():
    x = gia.pattern_instances("GATA", 3)
    assert x.shape == (3, 4, 4)
    assert {"".join("ACGT"[i] for i in s.argmax(0)) for s in x} == {"GATA"}
    y = gia.pattern_instances("RY", 500, random_state=0)
    first = y[:, :, 0].argmax(1)
    assert set(first) == {0, 2} and set(y[:, :, 1].argmax(1)) == {1, 3}
    with pytest.raises(ValueError, match="invalid character 'Z' at position 2"):
        gia.pattern_instances("AZ", 1)
    with pytest.raises(ValueError, match="does not fit"):
        gia.embed_patterns(np.zeros((1, 4, 5), np.float32), "GATA", 3)
    with pytest.raises(ValueError, match="either patterns"):
        gia.global_importance(KmerCount(), np.zeros((1, 4, 5), np.float32))


def test_occlusion_removes_the_kmer_and_keeps_composition(nulls):
    model = KmerCount()
    X = gia.embed_patterns(nulls, "GATA", 10)
    for method in ("zeros", "random", "shuffle", "dinucleotide"):
        Xo = gia.occlude(X, 0, 20, method=method, random_state=0)
        np.testing.assert_array_equal(Xo[:, :, 20:], X[:, :, 20:])
        if method in ("shuffle", "dinucleotide"):
            np.testing.assert_array_equal(Xo[:, :, :20].sum(2), X[:, :, :20].sum(2))
    Xo = gia.occlude(X, 8, 16, "zeros")
    assert (Xo[:, :, 8:16] == 0).all()
    # GIA of the occlusion on nulls carrying GATA = -1 exactly (zeros cannot make a new match)
    r = gia.global_importance(model, X, intervention=lambda xb, rng: gia.occlude(xb, 8, 16, "zeros"),
                              device="cpu")
    assert r.importance == -1.0


# ---------------------------------------------------------------- null generators

def test_null_generators_preserve_their_statistics():
    rng = np.random.default_rng(0)
    X = bg.gc_content(200, 30, gc=0.7, random_state=1)
    X[:, :, 0] = 0
    X[:, 0, 0] = 1  # every real sequence starts with A
    prof = gia.null_sequences("profile", 500, X, random_state=0)
    assert prof.shape == (500, 4, 30)
    assert (prof[:, 0, 0] == 1).all()
    np.testing.assert_allclose(prof.mean(0)[:, 1:], bg.position_frequencies(X)[:, 1:], atol=0.09)

    sh = gia.null_sequences("shuffle", 400, X, random_state=0)
    np.testing.assert_array_equal(sh.sum(2), np.concatenate([X, X]).sum(2))  # letter counts per sequence
    assert not np.array_equal(sh[:200], X)

    di = gia.null_sequences("dinucleotide", 200, X, random_state=0)

    def dinucs(Z):
        a = Z.argmax(1)
        return np.stack([np.bincount(4 * s[:-1] + s[1:], minlength=16) for s in a])

    np.testing.assert_array_equal(dinucs(di), dinucs(X))

    un = gia.null_sequences("uniform", 2000, length=50, random_state=0)
    np.testing.assert_allclose(un.mean((0, 2)), 0.25, atol=0.01)
    assert (un.sum(1) == 1).all()

    gc = gia.null_sequences("gc", 2000, X, random_state=0)  # GC matched to X
    gc_x = X[:, 1:3].sum() / X.sum()
    assert abs(gc[:, 1:3].sum() / gc.sum() - gc_x) < 0.01
    assert abs(gia.null_sequences("gc", 1000, length=40, gc=0.3, random_state=rng)[:, 1:3].mean() * 2
               - 0.3) < 0.01

    for kind in ("profile", "shuffle", "dinucleotide", "uniform", "gc"):
        a = gia.null_sequences(kind, 10, X, random_state=5)
        np.testing.assert_array_equal(a, gia.null_sequences(kind, 10, X, random_state=5))
    with pytest.raises(ValueError, match="needs real sequences"):
        gia.null_sequences("profile", 10, length=20)
    with pytest.raises(ValueError, match="unknown null"):
        gia.null_sequences("bogus", 10, X)


def test_quantile_nulls_and_percentile_filter():
    model = KmerCount("GA")
    X = bg.uniform(400, 40, random_state=0)
    pred = gia.predict(model, X, device="cpu")
    low = gia.null_sequences("quantile", 100, X, model=model, quantile=(0, 0.25), shuffle_quantile=False,
                             device="cpu", random_state=0)
    assert gia.predict(model, low, device="cpu").max() <= np.quantile(pred, 0.25)
    low_sh = gia.null_sequences("quantile", 100, X, model=model, quantile=(0, 0.25), device="cpu",
                                random_state=0)
    assert low_sh.shape == (100, 4, 40)
    filt = gia.null_sequences("uniform", 500, length=40, model=model, filter_percentiles=(10, 90),
                              device="cpu", random_state=0)
    p_all = gia.predict(model, gia.null_sequences("uniform", 500, length=40, random_state=0), device="cpu")
    lo, hi = np.percentile(p_all, [10, 90])
    p = gia.predict(model, filt, device="cpu")
    assert p.min() >= lo and p.max() <= hi and 300 <= len(filt) < 500


# ---------------------------------------------------------------- experiments

def test_kmer_screen_finds_the_kmer_and_align(nulls):
    model = KmerCount()
    df = gia.kmer_screen(model, nulls[:16], k=4, device="cpu", batch_size=512)
    assert len(df) == 256
    assert df.loc[0, "kmer"] == "GATA" and df.loc[0, "importance"] == 1.0
    assert (df["importance"].iloc[1:] < 0.5).all()
    assert df.set_index("kmer").loc["CCCC", "importance"] == 0.0
    motif = gia.align_kmers(["GATAAG", "TGATAA", "ATAAGC", "CTTATC"])  # last is the rc of GATAAG
    assert "GATAA" in motif.consensus()


def test_kmer_mutagenesis(nulls):
    df = gia.kmer_mutagenesis(KmerCount(), nulls[:16], "GATA", device="cpu")
    assert len(df) == 16
    ref = df[df["is_reference"]]
    assert (ref["importance"] == 1.0).all() and (ref["delta"] == 0).all() and len(ref) == 4
    mut = df[~df["is_reference"]]
    assert (mut["delta"] < -0.5).all()


def test_positional_bias_follows_the_positional_weight(nulls):
    df = gia.positional_bias(KmerCount(), nulls, "GATA", target=1, device="cpu")
    assert list(df["position"]) == list(range(37))
    np.testing.assert_allclose(df["importance"], df["position"] / 40, atol=1e-6)


def test_spacing_peaks_at_the_pairwise_term():
    model = PairSpacing(gap=7)
    X = _clean_nulls(40, 50, kmers=("GATA", "CAGCTG"), seed=2)
    df = gia.spacing(model, X, "GATA", "CAGCTG", distances=range(0, 20), device="cpu")
    same = df[df["orientation"] == "++"].set_index("distance")["importance"]
    assert same.idxmax() == 7 and same[7] == 1.0
    assert (same.drop(7) == 0).all()
    # CAGCTG is palindromic, so the convergent orientation also pairs; divergent puts B first: none
    conv = df[df["orientation"] == "+-"].set_index("distance")["importance"]
    assert conv.idxmax() == 7
    div = df[df["orientation"] == "-+"]
    assert (div["importance"] == 0).all()
    assert df.attrs["importance_a"] == 0 and df.attrs["importance_b"] == 0
    # a non-palindromic partner: only the ++ orientation peaks
    model2 = PairSpacing(a="GATA", b="CCGTAA", gap=3)
    X2 = _clean_nulls(30, 40, kmers=("GATA", "CCGTAA"), seed=3)
    df2 = gia.spacing(model2, X2, "GATA", "CCGTAA", distances=range(0, 10), device="cpu")
    assert df2.loc[df2["importance"].idxmax(), ["orientation", "distance"]].tolist() == ["++", 3]
    assert (df2[df2["orientation"] != "++"]["importance"] < 0.1).all()  # only chance matches with nulls


def test_gc_bias_detects_a_gc_sensitive_model(nulls):
    biased = gia.gc_bias(KmerCount(gc_weight=0.2), nulls, "GATA", flank=8, device="cpu", random_state=0)
    assert biased["gia_motif"] == pytest.approx(1.0 + 0.2 * (1 - nulls[:, 1:3, 18:22].sum((1, 2)).mean()))
    assert biased["gia_gc"] > 0.5 and biased["gia_motif_gc"] > biased["gia_motif"] + 0.5
    assert biased["p_value"] < 1e-6
    plain = gia.gc_bias(KmerCount(), nulls, "GATA", flank=8, gc=1.0, device="cpu", random_state=0)
    assert plain["gia_motif"] == 1.0 and abs(plain["gia_motif_gc"] - 1.0) < 0.1 and plain["gia_gc"] < 0.1
    assert plain["p_value"] > 0.01


def test_hairpin_builds_a_paired_stem_loop(nulls):
    class Paired(nn.Module):
        """Output = number of positions i < 8 where X[start+i] pairs with X[start+total-1-i]."""

        def forward(self, X):
            comp = reverse_complement(X[:, :, 7:7 + 26])
            return ((X[:, :, 7:7 + 8] * comp[:, :, :8]).sum((1, 2)))[:, None]

    # stem 8, loop 10 (motif 4 + 6) -> total 26, centred in 40 at start 7
    res = gia.hairpin(Paired(), nulls, "GATA", stem=8, device="cpu", random_state=0)
    base = Paired()(torch.as_tensor(nulls)).mean().item()
    assert res["gia_hairpin"] == pytest.approx(8 - base)
    assert res["gia_loop"] == pytest.approx(8 - base) and res["gia_stem"] == pytest.approx(8 - base)
    counts = gia.hairpin(KmerCount(), nulls, "GATA", stem=8, device="cpu", random_state=0)
    assert counts["gia_unstructured"] == 1.0
    assert abs(counts["gia_loop"] - 1) < 0.3 and abs(counts["gia_stem"] - 1) < 0.3
    assert {"t_statistic", "p_value", "se_loop"} <= set(counts)


def test_random_state_reproducible(nulls):
    model = KmerCount()
    a = gia.global_importance(model, nulls, "GANA", 3, device="cpu", random_state=3)
    b = gia.global_importance(model, nulls, "GANA", 3, device="cpu", random_state=3)
    np.testing.assert_array_equal(a.effects, b.effects)


def test_plots_render(nulls, tmp_path):
    from seqlens.plot import gia as pg
    from seqlens.plot.curves import save_figure

    model = KmerCount()
    screen = gia.kmer_screen(model, nulls[:4], k=3, device="cpu")
    motif = gia.align_kmers(list(screen["kmer"][:5]))
    mut = gia.kmer_mutagenesis(model, nulls[:4], "GATA", device="cpu")
    pos = gia.positional_bias(model, nulls[:4], "GATA", positions=range(0, 30, 5), target=1, device="cpu")
    cop, fit = gia.multiple_sites(model, nulls[:4], "GATA", max_copies=3, device="cpu")
    sp = gia.spacing(model, nulls[:4], "GATA", "CCGT", distances=range(5), device="cpu")
    gcb = gia.gc_bias(model, nulls[:8], "GATA", device="cpu")
    hp = gia.hairpin(model, nulls[:8], "GATA", device="cpu")
    figs = [pg.plot_kmer_screen(screen, top=10, motif=motif), pg.plot_kmer_mutagenesis(mut),
            pg.plot_positional(pos), pg.plot_copies(cop, fit), pg.plot_spacing(sp), pg.plot_gc_bias(gcb),
            pg.plot_hairpin(hp)]
    for k, fig in enumerate(figs):
        path = save_figure(fig, tmp_path / f"f{k}.png")
        assert path.stat().st_size > 1000


def test_cli_gia(tmp_path, capsys):
    import json

    from seqlens.cli import main
    from seqlens.io.hdf5 import Dataset, Split, save_dataset
    from seqlens.models import build_model, save_model

    X = bg.uniform(60, 40, random_state=0)
    Y = np.zeros((60, 1), np.float32)
    save_dataset(tmp_path / "d.h5", Dataset(Split(X[:20], Y[:20]), Split(X[20:40], Y[20:40]),
                                            Split(X[40:], Y[40:])))
    model = build_model("cnn", random_state=0, seq_length=40, n_outputs=1)
    save_model(model, tmp_path / "run")
    base = ["gia", "--model", str(tmp_path / "run"), "--data", str(tmp_path / "d.h5"), "--n-null", "16",
            "--quiet", "--device", "cpu"]
    assert main(base + ["--experiment", "spacing", "--pattern", "GATA", "CAGCTG", "--distances", "0:6",
                        "--out", str(tmp_path / "sp")]) == 0
    m = json.loads((tmp_path / "sp" / "metrics.json").read_text())
    assert m["n_null"] == 16 and 0 <= m["best_distance_same"] < 6 and "max_importance_divergent" in m
    assert (tmp_path / "sp" / "spacing.png").exists() and (tmp_path / "sp" / "results.csv").exists()
    assert main(base + ["--experiment", "copies", "--pattern", "GATA", "--out", str(tmp_path / "c")]) == 0
    m = json.loads((tmp_path / "c" / "metrics.json").read_text())
    assert 0 <= m["r2"] <= 1
    assert "best_distance_same" in capsys.readouterr().out
    assert main(base + ["--experiment", "spacing", "--pattern", "GATA", "--out", str(tmp_path / "x")]) == 2
    assert "needs 2 --pattern" in capsys.readouterr().err
