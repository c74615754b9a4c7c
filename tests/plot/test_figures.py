"""Every figure function: axes labelled (with units where a unit applies), a legend wherever
ground truth is shaded, titles naming what is shown. The matplotlib Figure objects are inspected."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from seqlens.errors import ParameterError  # noqa: E402
from seqlens.motifs.motif import Motif  # noqa: E402

L = 60
RNG = np.random.default_rng(0)
X = np.eye(4)[RNG.integers(0, 4, L)].T
TRUTH = np.full((4, L), 0.25)
TRUTH[:, 20:28] = np.eye(4)[[0, 1, 2, 3, 0, 1, 2, 3]].T


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _legend_texts(ax):
    leg = ax.get_legend()
    return [t.get_text() for t in leg.get_texts()] if leg is not None else []


def test_logo_labels_and_window():
    from seqlens.plot.logos import logo

    ax = logo(np.ones((4, 10)))
    assert ax.get_ylabel() == "attribution"
    ax = logo(Motif(np.eye(4)[:, [0, 1, 2]]))
    assert ax.get_ylabel() == "bits"
    ax = logo(np.arange(40.0).reshape(4, 10), window=(3, 6), start=100)
    assert ax.get_xlim() == (103, 106)
    assert len(ax.patches) == 4 and all(p.get_path().vertices[:, 0].min() >= 103 for p in ax.patches)
    with pytest.raises(ParameterError, match="logo window 5:12 is outside the sequence of length 10"):
        logo(np.ones((4, 10)), window=(5, 12))


def test_attribution_track_labels_and_shading_legend():
    from seqlens.plot.tracks import attribution_track

    ax = attribution_track(np.arange(L, dtype=float), truth=TRUTH, start=1000)
    assert ax.get_ylabel() == "attribution" and ax.get_xlabel() == "position (nt)"
    assert _legend_texts(ax) == ["ground-truth motif"]
    shaded = [p for p in ax.patches if p.get_label() == "ground-truth motif"]
    assert len(shaded) == 1 and shaded[0].get_x() == pytest.approx(1020)
    ax = attribution_track(np.arange(L, dtype=float), label="saliency (logit)")
    assert ax.get_ylabel() == "saliency (logit)" and ax.get_legend() is None


def test_attribution_figure_units_legend_title_window():
    from seqlens.plot.tracks import attribution_figure

    fig = attribution_figure(RNG.normal(size=(4, L)), X, TRUTH, title="saliency: seq 3", unit="sigmoid",
                             window=(10, 40))
    top, bottom = fig.axes
    assert top.get_title() == "saliency: seq 3"
    assert top.get_ylabel() == "attribution\n(observed base)"
    assert bottom.get_ylabel() == "observed base\n(sigmoid)" and bottom.get_xlabel() == "position (nt)"
    assert _legend_texts(top) == ["ground-truth motif"]
    assert top.get_xlim() == (10, 40)
    shaded = [p for p in top.patches if p.get_label() == "ground-truth motif"]
    assert shaded and shaded[0].get_x() == pytest.approx(20)
    untitled = attribution_figure(RNG.normal(size=(4, L)), window=(5, 15))
    assert untitled.axes[0].get_title() == "attribution map, positions 5-14"
    assert untitled.axes[0].get_ylabel() == "attribution\n(each base)"
    assert untitled.axes[1].get_ylabel() == "sum over bases\n(logit)"


def test_ism_heatmap_marks_the_observed_base():
    from seqlens.plot.tracks import ism_heatmap

    D = RNG.normal(size=(4, L)) * (1 - X)
    ax = ism_heatmap(D, X, start=200, title="ISM of seq 0")
    assert ax.get_title() == "ISM of seq 0"
    assert ax.get_ylabel() == "substituted\nbase"
    assert [t.get_text() for t in ax.get_yticklabels()] == list("ACGT")
    image = ax.images[0]
    np.testing.assert_array_equal(image.get_array(), D)
    lo, hi = image.get_clim()
    assert lo == -hi  # centred at 0
    dots = ax.collections[0].get_offsets()
    np.testing.assert_array_equal(dots[:, 1], X.argmax(0))
    np.testing.assert_allclose(dots[:, 0], 200 + np.arange(L) + 0.5)
    assert _legend_texts(ax) == ["observed base"]
    colorbar = ax.figure.axes[-1]
    assert colorbar.get_ylabel() == "Δ prediction (logit)"


def test_ism_figure_track_is_the_cost_of_mutating_the_observed_base():
    from seqlens.plot.tracks import ism_figure

    D = -np.ones((4, L)) * (1 - X)  # every substitution lowers the output by 1
    D[:, 22] = -3 * (1 - X[:, 22])
    fig = ism_figure(D, X, TRUTH, window=(10, 50), unit="logit")
    heat, track, bar = fig.axes
    assert heat.get_title() == "in-silico mutagenesis, positions 10-49"
    assert track.get_ylabel() == "-mean Δ of\nsubstitutions (logit)"
    assert bar.get_ylabel() == "Δ prediction (logit)"
    assert _legend_texts(track) == ["ground-truth motif"]
    heights = track.collections[0].get_paths()[0].vertices[:, 1]
    assert heights.max() == pytest.approx(3.0) and heights.min() == pytest.approx(0.0)
    assert heat.get_xlim() == (10, 50)


def test_filter_grid_distinguishes_matches_and_trims():
    from seqlens.plot.filters import MATCH_COLOR, NO_MATCH_COLOR, filter_logo_grid

    informative = np.full((4, 12), 0.25)
    informative[:, 4:8] = np.eye(4)
    motifs = [Motif(informative, name=f"filter{k}", metadata={"filter": k, "n_sites": 30 + k})
              for k in range(3)]
    matches = pd.DataFrame({"filter": [0, 1], "target": ["MA0139.1", "MA0079.3"],
                            "target_name": ["CTCF", "SP1"], "p_value": [1e-6, 0.01],
                            "q_value": [0.001, 0.4]})
    fig = filter_logo_grid(motifs, matches, ncols=3, cutoff=0.1)
    a, b, c = fig.axes
    assert a.get_title() == "filter0 (n=30)\nCTCF MA0139.1 q=0.001"
    assert b.get_title() == "filter1 (n=31) (no match)\nbest: SP1 MA0079.3 q=0.4"
    assert c.get_title() == "filter2 (n=32) (no match)\nno hit"
    assert matplotlib.colors.same_color(a.title.get_color(), MATCH_COLOR)
    assert matplotlib.colors.same_color(b.title.get_color(), NO_MATCH_COLOR)
    assert all(p.get_alpha() is None for p in a.patches) and all(p.get_alpha() == 0.4 for p in b.patches)
    assert a.get_ylabel() == "bits"
    assert a.get_xlim() == (0, 6)  # 12 columns trimmed to the 4 informative ones + 1 each side
    assert filter_logo_grid(motifs, matches, trim=None).axes[0].get_xlim() == (0, 12)
    # cutoff=None: every best hit counts
    assert "no match" not in filter_logo_grid(motifs, matches, cutoff=None).axes[1].get_title()


def test_design_principle_plots():
    from seqlens.plot.filters import plot_activation_comparison, plot_pool_size_sweep

    sweep = pd.DataFrame({"pool": [1, 4, 25], "match_fraction_mean": [0.2, 0.5, 0.9],
                          "match_fraction_std": [0.1] * 3, "coverage_mean": [0.4, 0.6, 0.8],
                          "coverage_std": [0.1] * 3, "test_auroc_mean": [0.9] * 3,
                          "test_auroc_std": [0.01] * 3})
    fig = plot_pool_size_sweep(sweep)
    ax, ax2 = fig.axes
    assert ax.get_xlabel() == "first-layer max-pool size P (CNN-P)" and ax.get_ylabel() == "fraction"
    assert ax2.get_ylabel() == "test AUROC" and "Pool-size sweep" in ax.get_title()
    assert _legend_texts(ax) == ["match fraction", "coverage", "test AUROC"]
    comp = pd.DataFrame({"model": ["cnn", "cnn"], "activation": ["relu", "exponential"],
                         "match_fraction_mean": [0.3, 0.8], "match_fraction_std": [0.1, 0.1]})
    ax = plot_activation_comparison(comp).axes[0]
    assert ax.get_ylabel() == "filter match fraction" and "activation" in ax.get_title()
    assert _legend_texts(ax) == ["relu", "exponential"]


def test_history_epoch_ticks_are_integers():
    from seqlens.plot.curves import plot_history

    hist = [{"epoch": e, "train_loss": 1 / e, "valid_loss": 1.2 / e, "valid_auroc": 0.5 + 0.1 * e}
            for e in (1, 2, 3)]
    fig = plot_history(hist, title="cnn run")
    loss, metric = fig.axes
    fig.canvas.draw()
    for ax in (loss, metric):
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks)
        assert ax.get_xlabel() == "epoch"
    assert loss.get_ylabel() == "loss" and metric.get_ylabel() == "validation metric"
    assert loss.get_title() == "loss per epoch" and fig._suptitle.get_text() == "cnn run"
    assert _legend_texts(loss) == ["train loss", "valid loss"]


def test_gia_figures_have_units_and_pattern_titles():
    from seqlens.plot import gia as pg

    unit = "GIA importance (Δ mean prediction, logit)"
    imp = pd.DataFrame({"pattern": ["GATA", "CACGTG"], "importance": [1.0, 0.2], "se": [0.1, 0.1]})
    ax = pg.plot_importance(imp).axes[0]
    assert ax.get_ylabel() == unit and ax.get_title() == "global importance of GATA, CACGTG"
    pos = pd.DataFrame({"position": [0, 10, 20], "importance": [0.1, 0.5, 0.2], "se": [0.01] * 3})
    ax = pg.plot_positional(pos, pattern="GATA").axes[0]
    assert ax.get_ylabel() == unit and ax.get_title() == "positional bias of GATA"
    assert ax.get_xlabel() == "start position of the pattern (nt)"
    cop = pd.DataFrame({"copies": [1, 2, 3], "importance": [1.0, 2.0, 3.0], "se": [0.1] * 3})
    ax = pg.plot_copies(cop, {"slope": 1.0, "intercept": 0.0, "r2": 1.0}, pattern="GATA").axes[0]
    assert ax.get_ylabel() == unit and ax.get_title() == "multiple sites of GATA"
    assert ax.get_xlabel() == "copies of the pattern" and "slope 1" in _legend_texts(ax)[0]
    sp = pd.DataFrame({"orientation": ["++", "++", "+-", "+-"], "distance": [0, 1, 0, 1],
                       "importance": [1.0, 2.0, 0.5, 0.4], "se": [0.1] * 4})
    ax = pg.plot_spacing(sp, patterns=("GATA", "CACGTG"), unit="sigmoid").axes[0]
    assert ax.get_title() == "spacing of GATA and CACGTG"
    assert ax.get_ylabel() == "GIA importance (Δ mean prediction, sigmoid)"
    assert _legend_texts(ax) == ["same (++)", "convergent (+-)"]
    sp.attrs.update(pattern_a=Motif(np.eye(4), name="MA0035.4", alt_name="GATA1"), pattern_b="TTT")
    assert pg.plot_spacing(sp).axes[0].get_title() == "spacing of GATA1 MA0035.4 (ACGT) and TTT"
    screen = pd.DataFrame({"kmer": ["GATA", "GATT", "CCCC"], "importance": [1.0, 0.5, 0.0], "se": [0.1] * 3})
    fig = pg.plot_kmer_screen(screen, top=2, motif=Motif(np.eye(4)))
    bars, logo_ax = fig.axes
    assert bars.get_xlabel() == unit and bars.get_ylabel() == "k-mer"
    assert bars.get_title() == "k-mer screen (top 2 of 3)"
    assert logo_ax.get_ylabel() == "bits" and logo_ax.get_title() == "aligned top k-mers: ACGT"
    assert len(logo_ax.patches) == 4  # a logo, not a heatmap
    mut = pd.DataFrame([{"offset": o, "letter": a, "delta": 0.0 if a == "GA"[o] else -1.0,
                         "is_reference": a == "GA"[o]} for o in range(2) for a in "ACGT"])
    fig = pg.plot_kmer_mutagenesis(mut)
    ax = fig.axes[0]
    assert ax.get_title() == "mutagenesis of GA (change in importance)"
    assert ax.get_ylabel() == "substituted letter" and "position in GA" in ax.get_xlabel()
    assert fig.axes[1].get_ylabel() == "Δ GIA importance (logit)"
    res = {"gia_motif": 1.0, "se_motif": 0.1, "gia_motif_gc": 1.5, "se_motif_gc": 0.1, "gia_gc": 0.2,
           "se_gc": 0.1, "t_statistic": 3.0, "p_value": 0.01}
    ax = pg.plot_gc_bias(res).axes[0]
    assert ax.get_ylabel() == unit and ax.get_title().startswith("GC bias\nWelch t = 3")
    hp = {"gia_loop": 1.0, "se_loop": 0.1, "gia_stem": 0.1, "se_stem": 0.1, "t_statistic": 2.0,
          "p_value": 0.05}
    ax = pg.plot_hairpin(hp).axes[0]
    assert ax.get_ylabel() == unit and ax.get_title().startswith("RNA hairpin")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["in loop", "in stem"]


def test_grouped_bars_labels():
    from seqlens.plot.bars import grouped_bars

    df = pd.DataFrame({"training": ["standard", "adversarial"], "test_auroc": [0.9, 0.88],
                       "saliency_auroc": [0.6, 0.8]})
    ax = grouped_bars(df, "training", ["test_auroc", "saliency_auroc"], title="robust training",
                      labels=["test AUROC", "saliency AUROC"]).axes[0]
    assert ax.get_ylabel() == "test AUROC / saliency AUROC" and ax.get_xlabel() == "training"
    assert ax.get_title() == "robust training" and _legend_texts(ax) == ["test AUROC", "saliency AUROC"]
    ax = grouped_bars(df, "training", ["test_auroc"], ylabel="AUROC").axes[0]
    assert ax.get_ylabel() == "AUROC"


def test_contact_map_labels_and_legend():
    from seqlens.plot.contacts import plot_contact_map

    pairs = pd.DataFrame({"i": [1, 2, 1], "j": [10, 12, 20], "score": [3.0, 2.0, 1.0]})
    truth = pd.DataFrame({"i": [1, 2], "j": [10, 12], "dist": [4.0, 12.0]})
    ax = plot_contact_map(pairs, truth, n_top=3, title="DHFR: potts, top L pairs")
    assert ax.get_xlabel() == "residue i" and ax.get_ylabel() == "residue j"
    assert ax.get_title() == "DHFR: potts, top L pairs"
    assert _legend_texts(ax) == ["true contact", "top 3 predicted"]


def test_pattern_figure_labels():
    from seqlens.interpret.discovery.patterns import Pattern
    from seqlens.plot.discovery import pattern_figure

    pwm = np.full((4, 8), 0.25)
    pwm[:, 2:6] = np.eye(4)
    p = Pattern("pos_0", 1, cwm=pwm * 0.5, hcwm=pwm * 0.4, pwm=pwm,
                seqlets=pd.DataFrame({"seq": [0, 1]}), trim=(2, 6))
    fig = pattern_figure(p)
    assert [ax.get_ylabel() for ax in fig.axes] == ["CWM\n(contribution)", "hyp. CWM\n(contribution)",
                                                    "PWM\n(bits)"]
    assert fig._suptitle.get_text() == "pos_0: 2 seqlets"
    assert fig.axes[2].get_xlabel() == "position in the pattern" and fig.axes[0].get_xlim() == (0, 4)


def test_interaction_plots():
    from seqlens.plot.interactions import plot_interaction_heatmap, plot_pair_scores

    M = pd.DataFrame([[0, 0.5], [0.5, 0]], index=["GATA", "SP1"], columns=["GATA", "SP1"])
    fig = plot_interaction_heatmap(M, true_pairs=[("GATA", "SP1")])
    assert fig.axes[0].get_title() == "GLIFAC motif interactions"
    assert fig.axes[1].get_ylabel() == "interaction (correlation)"
    table = pd.DataFrame({"motif_a": ["GATA"], "motif_b": ["SP1"], "score": [0.5], "true": [True]})
    ax = plot_pair_scores(table).axes[0]
    assert ax.get_xlabel() == "interaction score" and "true interactions" in ax.get_title()


def test_mutation_scatter_labels():
    from seqlens.plot.mutations import plot_mutation_scatter

    ax = plot_mutation_scatter([1, 2, 3, 4], [1, 3, 2, 4], title="DLG4", n_mutations=[1, 1, 2, 2]).axes[0]
    assert ax.get_xlabel() == "model score" and ax.get_ylabel() == "measured fitness"
    assert ax.get_title() == "DLG4\nSpearman 0.800 (n=4)"
    assert _legend_texts(ax) == ["single", "multiple"]


@pytest.mark.filterwarnings("ignore:surrogate did not converge")
def test_surrogate_plots_labels():
    from seqlens.interpret.surrogate import Surrogate
    from seqlens.plot.surrogate import (
        plot_additive_logo,
        plot_g_curve,
        plot_pairwise_heatmap,
        surrogate_figure,
    )

    codes = RNG.integers(0, 4, size=(300, 5))
    y = np.tanh(codes[:, 0] - codes[:, 3]) + 0.05 * RNG.normal(size=300)
    sur = Surrogate(kind="pairwise", max_epochs=2, random_state=0).fit(codes, y)
    ax = plot_additive_logo(sur, start=100).axes[0]
    assert ax.get_ylabel().startswith("theta (") and ax.get_xlabel() == "position"
    assert ax.get_title() == "additive surrogate" and ax.get_xlim() == (100, 105)
    fig = plot_pairwise_heatmap(sur)
    assert fig.axes[0].get_xlabel() == "position l'" and fig.axes[1].get_ylabel() == "||theta_ll'||"
    ax = plot_g_curve(sur, codes, y).axes[0]
    assert ax.get_xlabel() == "latent phenotype phi" and ax.get_ylabel() == "network output y"
    assert _legend_texts(ax) == ["variants", "g(phi)"]
    fig = surrogate_figure(sur, codes, y, title="seq 0")
    assert fig._suptitle.get_text() == "seq 0" and len(fig.axes) >= 3
